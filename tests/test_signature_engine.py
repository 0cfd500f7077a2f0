"""Signing in the engine (``dossier.signing.service``, through ``Engine``): results signed
locally, through CSC and on the signer's phone (polled, rejected and asked again, expired,
voided), certified e-copies numbered per agency and year, and every failure leaving the
dossier as it was.

The signers and the fake services are built once per module around one frozen clock, set
back to an office morning shortly before the test PKI was made (its certificates are valid
from a month before that) at the start of every test."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from signing_support import assert_signed_ok, nss_db, pdftotext, pki

from dossier import Actor, Engine
from dossier.clock import LOCAL_TZ
from dossier.documents.certified_copy import page_count
from dossier.errors import (
    GuardFailed,
    InvalidDocument,
    InvalidInput,
    PermissionDenied,
    SigningError,
    TransitionNotAllowed,
)
from dossier.payments.service import ReceiptSettings
from dossier.records import DocumentRecord, Dossier, SignatureRequest
from dossier.signing import (
    CscRemoteSigner,
    LocalSigner,
    PhoneConfirmSigner,
    PollResult,
    Signer,
    SignRequest,
    Ticket,
    verify,
)
from dossier.signing.fakes import FakeCscService, FakePhoneService
from dossier.signing.testpki import TEST_PASSPHRASE
from dossier.testing import FrozenClock
from tests.conftest import AGENCY, make_procedure

__all__ = ["nss_db"]

APPLICANT = "Lê Thị Hồng Nhung"
ID_NUMBER = "001190012345"
AGENCY_NAME = "Sở Tư pháp tỉnh Thử Nghiệm"
LOOKUP = "https://dichvucong.example.vn/tra-cuu"
TWO_COMPONENTS = "9.300001"


@dataclass
class Kit:
    start: datetime
    clock: FrozenClock
    csc: FakeCscService
    phone: FakePhoneService
    signers: dict[str, Signer]


def _office_morning(instant: datetime) -> datetime:
    """09:00 in Hà Nội on the latest weekday, not after ``instant``."""
    day = instant.astimezone(LOCAL_TZ).date()
    while True:
        at = datetime.combine(day, time(9), LOCAL_TZ)
        if day.weekday() < 5 and at <= instant:
            return at.astimezone(UTC)
        day -= timedelta(days=1)


@pytest.fixture(scope="module")
def kit() -> Iterator[Kit]:
    start = _office_morning(pki().created_at)
    clock = FrozenClock(start)
    with FakeCscService(pki(), clock=clock) as csc, \
            FakePhoneService(pki(), clock=clock) as phone:
        csc_options: dict[str, Any] = dict(token=csc.token, pin=csc.pin, clock=clock)
        signers: dict[str, Signer] = {
            "local": LocalSigner.from_pkcs12(pki().pkcs12(pki().signer), TEST_PASSPHRASE,
                                             clock=clock),
            "csc": CscRemoteSigner(csc.url, **csc_options),
            "csc-deferred": CscRemoteSigner(csc.url, deferred=True, **csc_options),
            "phone": PhoneConfirmSigner(phone.url, client_id=phone.client_id,
                                        client_secret=phone.client_secret, user_id="signer",
                                        clock=clock),
        }
        yield Kit(start=start, clock=clock, csc=csc, phone=phone, signers=signers)


@pytest.fixture
def clock(kit: Kit) -> FrozenClock:
    """Overrides conftest's clock: the engine and every signer share this one."""
    kit.clock.set(kit.start)
    kit.phone.requests.clear()
    kit.phone.fault = kit.csc.fault = None
    return kit.clock


@pytest.fixture
def signatures(engine: Engine, kit: Kit, db_url: str) -> Iterator[Engine]:
    """A second engine on the same database, with the signers (as a worker would be)."""
    engine.register(make_procedure(TWO_COMPONENTS, ["receive", "digitise", "certify", "return"],
                                   components=[
        {"id": "ban_chinh", "name": "Giấy khai sinh", "form": "original",
         "must_digitise": True, "may_certify": True},
        {"id": "ban_phu", "name": "Sổ hộ khẩu", "form": "original", "required": False,
         "may_certify": True},
        {"id": "to_khai", "name": "Tờ khai", "form": "original", "required": False}]))
    signing = Engine(db_url, clock=kit.clock, signers=kit.signers,
                     receipts=ReceiptSettings(agency_names={AGENCY: AGENCY_NAME}))
    yield signing
    signing.close()


def awaiting_signature(engine: Engine, clerk: Actor, specialist: Actor) -> str:
    """A criminal-record request (3.000333), received, paid and approved."""
    code = engine.submit("3.000333", applicant={"name": APPLICANT, "id_number": ID_NUMBER},
                         channel="counter", actor=clerk, fee_basis={"copies": 1}).code
    engine.fire(code, "receive", actor=clerk)
    engine.fire(code, "pay", actor=clerk, amount=200_000)
    assert engine.fire(code, "approve", actor=specialist).state == "awaiting_signature"
    return code


def scanned(pages: int = 1, label: str = "Scanned original") -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=14)
    for number in range(pages):
        pdf.add_page()
        pdf.cell(text=f"{label}, page {number + 1}")
    return bytes(pdf.output())


def certifying(engine: Engine, clerk: Actor, original: bytes, *, pages: int = 1,
               filename: str = "ban-chinh.pdf") -> str:
    """An e-copy request (2.000815) with ``original`` stored, digitised and paid."""
    code = engine.submit("2.000815", applicant={"name": "Phạm Văn Bản"}, channel="counter",
                         actor=clerk, fee_basis={"pages": pages}).code
    engine.fire(code, "receive", actor=clerk)
    engine.attach(code, "ban_chinh", original, filename, actor=clerk)
    engine.fire(code, "digitise", actor=clerk)
    engine.fire(code, "pay", actor=clerk, amount=engine.get(code).fee_due)
    assert engine.get(code).state == "certifying"
    return code


def snapshot(engine: Engine, signatures: Engine, code: str) -> tuple[Any, ...]:
    return (engine.get(code), engine.history(code), signatures.documents(code),
            signatures.signature_requests(code))


def requested(signatures: Engine, code: str, leader: Actor,
              signer: str = "phone") -> SignatureRequest:
    outcome = signatures.sign_result(code, actor=leader, signer=signer)
    assert isinstance(outcome, SignatureRequest)
    return outcome


def signed_documents(signatures: Engine, code: str) -> list[DocumentRecord]:
    """The dossier's signed results and certified copies (not the forms its events issued)."""
    return [d for d in signatures.documents(code) if d.kind in ("result", "certified_copy")]


def signed_result(signatures: Engine, code: str) -> bytes:
    [doc] = [d for d in signatures.documents(code) if d.kind == "result"]
    return signatures.read_document(code, doc.sha256)


# --- results signed at once -----------------------------------------------------------------

def test_a_local_signature_fires_sign_and_stores_a_verifiable_result(
        engine: Engine, signatures: Engine, clerk: Actor, specialist: Actor,
        leader: Actor, clock: FrozenClock, nss_db: Path, tmp_path: Path) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    after = signatures.sign_result(code, actor=leader, signer="local",
                                   lookup_url=f"{LOOKUP}?ma={code}")
    assert isinstance(after, Dossier)
    assert after.state == "awaiting_return"
    [doc] = signed_documents(signatures, code)
    assert (doc.kind, doc.signed_by, doc.provider, doc.media_type, doc.created_at) == (
        "result", "ld01", "local", "application/pdf", clock.now())
    event = engine.history(code)[-1]
    assert (event.trigger, event.actor, event.role, event.on_behalf_of) == (
        "sign", "ld01", "leader", None)
    assert event.data["document"] == doc.sha256
    pdf = signatures.read_document(code, doc.sha256)
    assert hashlib.sha256(pdf).hexdigest() == doc.sha256
    assert_signed_ok(pdf, nss_db, tmp_path)
    [report] = verify(pdf, [pki().root.cert], crls=[pki().crl_der])
    assert (report.valid, report.trusted, report.subfilter) == (
        True, True, "ETSI.CAdES.detached")
    assert report.signer == "Nguyễn Văn Ký"
    text = pdftotext(pdf, tmp_path)
    assert code in text
    assert APPLICANT in text
    assert engine.verify_audit(code)


def test_csc_signs_a_given_document_at_once(
        engine: Engine, signatures: Engine, kit: Kit, clerk: Actor, specialist: Actor,
        leader: Actor, nss_db: Path, tmp_path: Path) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    given = scanned(label="Phieu ly lich tu phap so 1")
    hashes_before = len(kit.csc.signed_hashes)
    after = signatures.sign_result(code, actor=leader, signer="csc", document=given)
    assert isinstance(after, Dossier)
    assert after.state == "awaiting_return"
    assert len(kit.csc.signed_hashes) == hashes_before + 1  # only a digest went out
    pdf = signed_result(signatures, code)
    assert pdf.startswith(given)  # signed as an incremental update of the given document
    assert_signed_ok(pdf, nss_db, tmp_path)
    assert verify(pdf, [pki().root.cert])[0].signer == "Trần Thị Duyệt"
    assert signed_documents(signatures, code)[0].provider == "csc"
    assert signatures.signature_requests(code) == []


# --- remote requests --------------------------------------------------------------------------

def test_a_phone_signature_is_pending_until_confirmed_then_signed_by_system_for_the_leader(
        engine: Engine, signatures: Engine, kit: Kit, clerk: Actor, specialist: Actor,
        leader: Actor, clock: FrozenClock, nss_db: Path, tmp_path: Path) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    before = engine.get(code)
    request = requested(signatures, code, leader)
    assert (request.state, request.provider, request.requested_by) == (
        "pending", "phone", "ld01")
    assert request.expires_at == clock.now() + timedelta(seconds=300)
    assert engine.get(code) == before
    assert signatures.signature_requests(code) == [request]
    assert kit.phone.waiting() == [request.transaction_id]

    assert signatures.poll_signatures()["pending"] == 1
    kit.phone.confirm(request.transaction_id)
    clock.advance(timedelta(seconds=40))
    counts = signatures.poll_signatures()
    assert counts["signed"] == 1
    assert sum(counts.values()) == 1

    assert engine.get(code).state == "awaiting_return"
    [doc] = signed_documents(signatures, code)
    assert (doc.signed_by, doc.provider) == ("ld01", "phone")
    event = engine.history(code)[-1]
    assert (event.trigger, event.actor, event.role, event.on_behalf_of) == (
        "sign", "system", "system", "ld01")
    assert event.data["document"] == doc.sha256
    [done] = signatures.signature_requests(code)
    assert (done.state, done.document_sha256, done.resolved_at) == (
        "signed", doc.sha256, clock.now())
    assert_signed_ok(signatures.read_document(code, doc.sha256), nss_db, tmp_path)


def test_a_rejected_request_leaves_the_dossier_and_a_new_request_gets_signed(
        engine: Engine, signatures: Engine, kit: Kit, clerk: Actor, specialist: Actor,
        leader: Actor, clock: FrozenClock) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    before = engine.get(code)
    first = requested(signatures, code, leader)
    kit.phone.reject(first.transaction_id, "Nội dung chưa đúng")
    assert signatures.poll_signatures()["rejected"] == 1
    assert engine.get(code) == before
    assert signed_documents(signatures, code) == []
    [rejected] = signatures.signature_requests(code)
    assert (rejected.state, rejected.reason) == ("rejected", "Nội dung chưa đúng")

    clock.advance(timedelta(minutes=2))
    second = requested(signatures, code, leader)
    kit.phone.confirm(second.transaction_id)
    assert signatures.poll_signatures()["signed"] == 1
    assert [r.state for r in signatures.signature_requests(code)] == ["rejected", "signed"]
    assert [e.trigger for e in engine.history(code)].count("sign") == 1
    assert engine.get(code).state == "awaiting_return"


def test_an_unconfirmed_request_expires_and_the_leader_can_sign_another_way(
        engine: Engine, signatures: Engine, clerk: Actor, specialist: Actor,
        leader: Actor, clock: FrozenClock) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    before = engine.get(code)
    requested(signatures, code, leader)
    clock.advance(timedelta(seconds=301))
    assert signatures.poll_signatures()["expired"] == 1
    [expired] = signatures.signature_requests(code)
    assert expired.state == "expired"
    assert expired.reason
    assert engine.get(code) == before
    after = signatures.sign_result(code, actor=leader, signer="local")
    assert isinstance(after, Dossier)
    assert after.state == "awaiting_return"


def test_a_deferred_csc_signature_is_completed_by_the_poll(
        engine: Engine, signatures: Engine, clerk: Actor, specialist: Actor,
        leader: Actor, nss_db: Path, tmp_path: Path) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    request = requested(signatures, code, leader, signer="csc-deferred")
    assert request.provider == "csc-deferred"
    assert signatures.poll_signatures()["signed"] == 1
    assert engine.history(code)[-1].on_behalf_of == "ld01"
    assert_signed_ok(signed_result(signatures, code), nss_db, tmp_path)


def test_a_lapsed_request_is_asked_about_before_the_leader_signs_again(
        engine: Engine, signatures: Engine, clerk: Actor, specialist: Actor,
        leader: Actor, clock: FrozenClock) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    requested(signatures, code, leader)
    clock.advance(timedelta(seconds=301))  # nobody polled in between
    after = signatures.sign_result(code, actor=leader, signer="local")
    assert isinstance(after, Dossier)
    assert after.state == "awaiting_return"
    assert [r.state for r in signatures.signature_requests(code)] == ["expired"]
    assert [d.provider for d in signed_documents(signatures, code)] == ["local"]


class RacingSigner:
    """Lets another poller complete the same request while this one asks the service."""

    provider = "phone"

    def __init__(self, real: Signer, rival: Engine) -> None:
        self.real, self.rival = real, rival

    def sign(self, pdf: bytes, request: SignRequest) -> bytes | Ticket:
        return self.real.sign(pdf, request)

    def poll(self, ticket: Ticket) -> PollResult:
        self.rival.signature_callback("phone", ticket.transaction_id)
        return self.real.poll(ticket)


def test_a_request_resolved_by_another_poller_meanwhile_is_skipped(
        engine: Engine, signatures: Engine, kit: Kit, clerk: Actor, specialist: Actor,
        leader: Actor) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    request = requested(signatures, code, leader)
    kit.phone.confirm(request.transaction_id)
    racing = Engine(engine.db.url.render_as_string(hide_password=False), clock=kit.clock,
                    signers={"phone": RacingSigner(kit.signers["phone"], signatures)})
    counts = racing.poll_signatures()
    racing.close()
    assert counts["skipped"] == 1
    assert sum(counts.values()) == 1
    assert [e.trigger for e in engine.history(code)].count("sign") == 1
    assert len(signed_documents(signatures, code)) == 1
    assert engine.history(code)[-1].actor == "system"


def test_polling_twice_and_a_late_callback_fire_sign_once(
        engine: Engine, signatures: Engine, kit: Kit, clerk: Actor, specialist: Actor,
        leader: Actor) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    request = requested(signatures, code, leader)
    kit.phone.confirm(request.transaction_id)
    assert signatures.poll_signatures()["signed"] == 1
    settled = snapshot(engine, signatures, code)
    assert sum(signatures.poll_signatures().values()) == 0
    assert signatures.signature_callback("phone", request.transaction_id).state == "signed"
    assert snapshot(engine, signatures, code) == settled
    assert [e.trigger for e in engine.history(code)].count("sign") == 1


def test_a_callback_polls_its_request_at_once(
        engine: Engine, signatures: Engine, kit: Kit, clerk: Actor, specialist: Actor,
        leader: Actor) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    request = requested(signatures, code, leader)
    assert signatures.signature_callback("phone", request.transaction_id).state == "pending"
    kit.phone.confirm(request.transaction_id)
    assert signatures.signature_callback("phone", request.transaction_id).state == "signed"
    assert engine.get(code).state == "awaiting_return"
    with pytest.raises(InvalidInput, match="no signature request"):
        signatures.signature_callback("phone", "not-a-transaction")


def test_while_a_request_is_pending_no_other_signature_is_made(
        engine: Engine, signatures: Engine, clerk: Actor, specialist: Actor,
        leader: Actor) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    requested(signatures, code, leader)
    before = snapshot(engine, signatures, code)
    with pytest.raises(TransitionNotAllowed, match="pending"):
        signatures.sign_result(code, actor=leader, signer="local")
    assert snapshot(engine, signatures, code) == before


def test_an_unreachable_service_leaves_the_request_pending_and_logs_no_personal_data(
        engine: Engine, signatures: Engine, kit: Kit, clerk: Actor, specialist: Actor,
        leader: Actor, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="dossier")
    code = awaiting_signature(engine, clerk, specialist)
    request = requested(signatures, code, leader)
    kit.phone.confirm(request.transaction_id)
    kit.phone.fault = "error"
    before = snapshot(engine, signatures, code)
    assert signatures.poll_signatures()["errors"] == 1
    assert snapshot(engine, signatures, code) == before
    kit.phone.fault = None
    assert signatures.poll_signatures()["signed"] == 1
    assert "RemoteSigningError" in caplog.text
    assert APPLICANT not in caplog.text
    assert ID_NUMBER not in caplog.text


def test_a_request_whose_dossier_was_withdrawn_is_void(
        engine: Engine, signatures: Engine, kit: Kit, clerk: Actor, specialist: Actor,
        leader: Actor) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    request = requested(signatures, code, leader)
    engine.fire(code, "withdraw", actor=clerk, reason="Người nộp rút hồ sơ")
    kit.phone.confirm(request.transaction_id)
    assert signatures.poll_signatures()["expired"] == 1
    [void] = signatures.signature_requests(code)
    assert void.state == "expired"
    assert "withdrawn" in (void.reason or "")
    assert signed_documents(signatures, code) == []
    assert engine.get(code).state == "withdrawn"


# --- refusals leave everything as it was --------------------------------------------------------

@pytest.mark.parametrize("who", ["specialist", "other_leader", "citizen"])
def test_someone_without_the_sign_role_in_the_agency_is_refused(
        engine: Engine, signatures: Engine, kit: Kit, clerk: Actor, specialist: Actor,
        who: str) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    actor = {"specialist": specialist,
             "other_leader": Actor(id="ld99", role="leader", agency="000.00.99.H99"),
             "citizen": Actor(id="cd01", role="citizen")}[who]
    before = snapshot(engine, signatures, code)
    for signer in ("local", "phone"):
        with pytest.raises(PermissionDenied):
            signatures.sign_result(code, actor=actor, signer=signer)
    assert snapshot(engine, signatures, code) == before
    assert kit.phone.requests == {}


@pytest.mark.parametrize("signer", ["local", "phone"])
def test_a_document_that_is_not_a_pdf_is_invalid_document(
        engine: Engine, signatures: Engine, kit: Kit, clerk: Actor, specialist: Actor,
        leader: Actor, signer: str) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    before = snapshot(engine, signatures, code)
    with pytest.raises(InvalidDocument, match="not a PDF"):
        signatures.sign_result(code, actor=leader, signer=signer,
                               document=b"\xff\xd8\xff\xe0 a JPEG photo of the result")
    assert snapshot(engine, signatures, code) == before
    assert kit.phone.requests == {}


def test_unknown_signers_and_empty_documents_are_invalid_input(
        engine: Engine, signatures: Engine, clerk: Actor, specialist: Actor,
        leader: Actor) -> None:
    code = awaiting_signature(engine, clerk, specialist)
    before = snapshot(engine, signatures, code)
    with pytest.raises(InvalidInput, match="no signer named 'vnpt'"):
        signatures.sign_result(code, actor=leader, signer="vnpt")
    with pytest.raises(InvalidInput, match="non-empty bytes"):
        signatures.sign_result(code, actor=leader, signer="local", document=b"")
    assert snapshot(engine, signatures, code) == before


def test_signing_before_approval_is_transition_not_allowed(
        engine: Engine, signatures: Engine, clerk: Actor, leader: Actor) -> None:
    code = engine.submit("3.000333", applicant={"name": APPLICANT}, channel="counter",
                         actor=clerk, fee_basis={"copies": 1}).code
    engine.fire(code, "receive", actor=clerk)
    engine.fire(code, "pay", actor=clerk, amount=200_000)
    before = snapshot(engine, signatures, code)
    with pytest.raises(TransitionNotAllowed):
        signatures.sign_result(code, actor=leader, signer="local")
    assert snapshot(engine, signatures, code) == before


# --- certified e-copies ------------------------------------------------------------------------

def test_certified_copies_are_numbered_per_agency_and_year_and_fire_certify(
        engine: Engine, signatures: Engine, clerk: Actor, certifier: Actor,
        clock: FrozenClock, nss_db: Path, tmp_path: Path) -> None:
    year = clock.now().astimezone(LOCAL_TZ).year
    originals = [scanned(2), scanned(1, "Another original")]
    codes = [certifying(engine, clerk, originals[0], pages=2),
             certifying(engine, clerk, originals[1])]
    for code in codes:
        after = signatures.certify_copy(code, "ban_chinh", actor=certifier, signer="local",
                                        certifier_name="Phạm Thị Chứng")
        assert after.state == "awaiting_return"
        event = engine.history(code)[-1]
        assert (event.trigger, event.actor) == ("certify", "ct01")
    docs = [signed_documents(signatures, code)[0] for code in codes]
    assert [(d.kind, d.component, d.number, d.book) for d in docs] == [
        ("certified_copy", "ban_chinh", 1, f"01/{year}-SCT/BS"),
        ("certified_copy", "ban_chinh", 2, f"01/{year}-SCT/BS")]
    copy = signatures.read_document(codes[0], docs[0].sha256)
    assert copy.startswith(originals[0])  # the original's bytes are untouched
    assert page_count(copy) == 3
    assert_signed_ok(copy, nss_db, tmp_path)
    text = pdftotext(copy, tmp_path, "-f", "3")
    assert "Chứng thực bản sao đúng với bản chính" in text
    assert "Phạm Thị Chứng" in text
    assert "CÔNG CHỨC TƯ PHÁP - HỘ TỊCH" in text
    assert f"01/{year}-SCT/BS" in text
    assert AGENCY_NAME in text


def test_each_agency_and_each_year_has_its_own_certification_numbers(
        engine: Engine, signatures: Engine, clerk: Actor, certifier: Actor,
        clock: FrozenClock) -> None:
    other = "000.00.99.H99"
    other_clerk = Actor(id="nv99", role="clerk", agency=other)
    other_certifier = Actor(id="ct99", role="certifier", agency=other)
    signatures.certify_copy(certifying(engine, clerk, scanned()), "ban_chinh",
                            actor=certifier, signer="local")
    code = certifying(engine, other_clerk, scanned())
    signatures.certify_copy(code, "ban_chinh", actor=other_certifier, signer="local")
    assert signed_documents(signatures, code)[0].number == 1
    next_year = clock.now().astimezone(LOCAL_TZ).year + 1
    clock.set(datetime(next_year, 1, 5, 2, 0, tzinfo=UTC))
    code = certifying(engine, clerk, scanned())
    signatures.certify_copy(code, "ban_chinh", actor=certifier, signer="local")
    doc = signed_documents(signatures, code)[0]
    assert (doc.number, doc.book) == (1, f"01/{next_year}-SCT/BS")


def test_a_component_without_a_stored_original_is_guard_failed_and_takes_no_number(
        engine: Engine, signatures: Engine, clerk: Actor, certifier: Actor) -> None:
    code = engine.submit(TWO_COMPONENTS, applicant={"name": "Phạm Văn Bản"},
                         channel="counter", actor=clerk).code
    engine.fire(code, "receive", actor=clerk)
    engine.attach(code, "ban_chinh", scanned(), "ban-chinh.pdf", actor=clerk)
    engine.fire(code, "digitise", actor=clerk)
    before = snapshot(engine, signatures, code)
    with pytest.raises(GuardFailed) as caught:
        signatures.certify_copy(code, "ban_phu", actor=certifier, signer="local")
    assert (caught.value.guard, caught.value.missing) == ("originals_stored", ("ban_phu",))
    for component in ("to_khai", "khong_co"):
        with pytest.raises(InvalidInput, match="cannot be certified"):
            signatures.certify_copy(code, component, actor=certifier, signer="local")
    assert snapshot(engine, signatures, code) == before
    # the optional ban_phu has no original: certify fires with the copy of ban_chinh
    after = signatures.certify_copy(code, "ban_chinh", actor=certifier, signer="local")
    assert after.state == "awaiting_return"
    assert signed_documents(signatures, code)[0].number == 1


def test_certify_fires_once_every_stored_certifiable_component_has_its_copy(
        engine: Engine, signatures: Engine, clerk: Actor, certifier: Actor) -> None:
    code = engine.submit(TWO_COMPONENTS, applicant={"name": "Phạm Văn Bản"},
                         channel="counter", actor=clerk).code
    engine.fire(code, "receive", actor=clerk)
    engine.attach(code, "ban_chinh", scanned(), "ban-chinh.pdf", actor=clerk)
    engine.attach(code, "ban_phu", scanned(2), "ban-phu.pdf", actor=clerk)
    engine.fire(code, "digitise", actor=clerk)
    first = signatures.certify_copy(code, "ban_chinh", actor=certifier, signer="local")
    assert first.state == "certifying"
    assert "certify" not in [e.trigger for e in engine.history(code)]
    with pytest.raises(TransitionNotAllowed, match="already certified"):
        signatures.certify_copy(code, "ban_chinh", actor=certifier, signer="local")
    second = signatures.certify_copy(code, "ban_phu", actor=certifier, signer="local")
    assert second.state == "awaiting_return"
    assert [(d.component, d.number) for d in signed_documents(signatures, code)] == [
        ("ban_chinh", 1), ("ban_phu", 2)]


def test_an_original_that_is_not_a_pdf_is_invalid_document_and_takes_no_number(
        engine: Engine, signatures: Engine, clerk: Actor, certifier: Actor) -> None:
    code = certifying(engine, clerk, b"\xff\xd8\xff\xe0 a JPEG scan", filename="scan.jpg")
    before = snapshot(engine, signatures, code)
    with pytest.raises(InvalidDocument, match="not a PDF"):
        signatures.certify_copy(code, "ban_chinh", actor=certifier, signer="local")
    assert snapshot(engine, signatures, code) == before
    code = certifying(engine, clerk, scanned())
    signatures.certify_copy(code, "ban_chinh", actor=certifier, signer="local")
    assert signed_documents(signatures, code)[0].number == 1


def test_a_certifier_needs_an_immediate_signer_and_the_number_is_left_unused(
        engine: Engine, signatures: Engine, clerk: Actor, certifier: Actor) -> None:
    code = certifying(engine, clerk, scanned())
    before = snapshot(engine, signatures, code)
    with pytest.raises(SigningError, match="signs at once"):
        signatures.certify_copy(code, "ban_chinh", actor=certifier, signer="phone",
                                certifier_name="Phạm Thị Chứng")
    assert snapshot(engine, signatures, code) == before
    signatures.certify_copy(code, "ban_chinh", actor=certifier, signer="local")
    assert signed_documents(signatures, code)[0].number == 2  # 1 is a gap, as in a paper book


def test_only_the_certifier_of_the_agency_certifies(
        engine: Engine, signatures: Engine, clerk: Actor, leader: Actor) -> None:
    code = certifying(engine, clerk, scanned())
    before = snapshot(engine, signatures, code)
    for actor in (leader, Actor(id="ct99", role="certifier", agency="000.00.99.H99")):
        with pytest.raises(PermissionDenied):
            signatures.certify_copy(code, "ban_chinh", actor=actor, signer="local")
    assert snapshot(engine, signatures, code) == before


# --- inside a running event loop (an ASGI application) -------------------------------------


def test_sign_result_works_when_called_inside_a_running_event_loop(
        engine: Engine, signatures: Engine, clerk: Actor, specialist: Actor,
        leader: Actor, nss_db: Path, tmp_path: Path) -> None:
    code = awaiting_signature(engine, clerk, specialist)

    async def handler() -> Dossier | SignatureRequest:  # as an ASGI view would call it
        return signatures.sign_result(code, actor=leader, signer="local")

    after = asyncio.run(handler())
    assert isinstance(after, Dossier)
    assert after.state == "awaiting_return"
    [doc] = signed_documents(signatures, code)
    assert_signed_ok(signatures.read_document(code, doc.sha256), nss_db, tmp_path)


def test_a_remote_signature_completes_when_polled_inside_a_running_event_loop(
        engine: Engine, signatures: Engine, kit: Kit, clerk: Actor, specialist: Actor,
        leader: Actor) -> None:
    code = awaiting_signature(engine, clerk, specialist)

    async def request_then_poll() -> dict[str, int]:
        request = signatures.sign_result(code, actor=leader, signer="phone")
        assert isinstance(request, SignatureRequest)
        kit.phone.confirm(request.transaction_id)
        return signatures.poll_signatures()

    assert asyncio.run(request_then_poll())["signed"] == 1
    assert engine.get(code).state == "awaiting_return"


def test_certify_copy_works_when_called_inside_a_running_event_loop(
        engine: Engine, signatures: Engine, clerk: Actor, certifier: Actor) -> None:
    code = certifying(engine, clerk, scanned(1))

    async def handler() -> Dossier:
        return signatures.certify_copy(code, "ban_chinh", actor=certifier, signer="local")

    assert asyncio.run(handler()).state == "awaiting_return"


def test_the_statement_needs_the_certifiers_name_never_the_account(
        engine: Engine, signatures: Engine, clerk: Actor, certifier: Actor) -> None:
    code = certifying(engine, clerk, scanned())
    with pytest.raises(InvalidInput, match="certifier's full name"):
        signatures.certify_copy(code, "ban_chinh", actor=certifier, signer="phone")
    named = Actor(certifier.id, "certifier", certifier.agency, name="Phạm Thị Chứng",
                  title="Phó Chủ tịch Ủy ban nhân dân xã")
    signatures.certify_copy(code, "ban_chinh", actor=named, signer="local")
    [copy] = signed_documents(signatures, code)
    text = pdftotext(signatures.read_document(code, copy.sha256), Path(tempfile.mkdtemp()))
    assert "Phạm Thị Chứng" in text
    assert "PHÓ CHỦ TỊCH ỦY BAN NHÂN DÂN XÃ" in text
    assert certifier.id not in text


def test_the_stamp_names_the_certificates_holder_not_the_caller(
        engine: Engine, signatures: Engine, clerk: Actor, specialist: Actor,
        tmp_path: Path) -> None:
    """The leader is "Lê Văn Lãnh đạo" in the engine; the CSC service's certificate says
    Trần Thị Duyệt of UBND xã Thử Nghiệm, and so does the stamp."""
    code = awaiting_signature(engine, clerk, specialist)
    leader = Actor("ld01", "leader", clerk.agency, name="Lê Văn Lãnh đạo", title="Chủ tịch")
    signatures.sign_result(code, actor=leader, signer="csc")
    text = pdftotext(signed_result(signatures, code), tmp_path)
    assert "Ký bởi: Trần Thị Duyệt" in text
    assert "Cơ quan: UBND xã Thử Nghiệm" in text
    assert "Lê Văn Lãnh đạo" not in text
