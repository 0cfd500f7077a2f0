"""Remote signers against the fake services: CSC (two-phase, resumable) and phone-confirm."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from signing_support import assert_signed_ok, nss_db, pki, request, result_pdf

from dossier.errors import (
    InvalidDocument,
    RemoteSigningError,
    SignerCredentialError,
    SigningError,
)
from dossier.signing import CscRemoteSigner, PhoneConfirmSigner, Ticket, TicketStatus, verify
from dossier.signing.fakes import FakeCscService, FakePhoneService
from dossier.testing import FrozenClock

__all__ = ["nss_db"]
SIGNER = "Trần Thị Duyệt"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def csc(clock: FrozenClock) -> Iterator[FakeCscService]:
    with FakeCscService(pki(), clock=clock) as service:
        yield service


@pytest.fixture
def phone(clock: FrozenClock) -> Iterator[FakePhoneService]:
    with FakePhoneService(pki(), clock=clock) as service:
        yield service


def csc_signer(service: FakeCscService, clock: FrozenClock, **options: object) -> CscRemoteSigner:
    values: dict[str, object] = dict(token=service.token, pin=service.pin, clock=clock)
    values.update(options)
    return CscRemoteSigner(service.url, **values)  # type: ignore[arg-type]


def phone_signer(service: FakePhoneService, clock: FrozenClock,
                 **options: object) -> PhoneConfirmSigner:
    values: dict[str, object] = dict(client_id=service.client_id,
                                     client_secret=service.client_secret, user_id="signer",
                                     clock=clock)
    values.update(options)
    return PhoneConfirmSigner(service.url, **values)  # type: ignore[arg-type]


# -- CSC -------------------------------------------------------------------------------------

def test_csc_signs_at_once_and_only_a_digest_reaches_the_service(
        csc: FakeCscService, clock: FrozenClock, nss_db: Path, tmp_path: Path) -> None:
    signed = csc_signer(csc, clock).sign(result_pdf(), request())
    assert isinstance(signed, bytes)
    assert_signed_ok(signed, nss_db, tmp_path)
    assert [len(base64.b64decode(h)) for h in csc.signed_hashes] == [32]


def test_csc_two_phase_resumes_from_stored_ticket_state_on_a_new_signer(
        csc: FakeCscService, clock: FrozenClock, nss_db: Path, tmp_path: Path) -> None:
    ticket = csc_signer(csc, clock, deferred=True).sign(result_pdf(), request())
    assert isinstance(ticket, Ticket)
    assert csc.signed_hashes == []  # authorised, not signed yet
    stored = json.dumps(ticket.to_json())  # as the engine keeps it across a restart

    fresh = csc_signer(csc, clock, timestamper=pki().timestamper())
    outcome = fresh.poll(Ticket.from_json(json.loads(stored)))
    assert outcome.status is TicketStatus.SIGNED
    assert outcome.pdf is not None
    assert_signed_ok(outcome.pdf, nss_db, tmp_path, timestamped=True)


def test_a_csc_ticket_whose_sad_lapsed_is_expired(csc: FakeCscService,
                                                  clock: FrozenClock) -> None:
    ticket = csc_signer(csc, clock, deferred=True).sign(result_pdf(), request())
    assert isinstance(ticket, Ticket)
    clock.advance(timedelta(seconds=csc.sad_lifetime + 1))
    assert csc_signer(csc, clock).poll(ticket).status is TicketStatus.EXPIRED


def test_csc_lists_credentials_when_none_is_configured(csc: FakeCscService,
                                                       clock: FrozenClock) -> None:
    signed = csc_signer(csc, clock, credential_id=None).sign(result_pdf(), request())
    assert isinstance(signed, bytes)
    assert verify(signed, [pki().root.cert])[0].signer == SIGNER


def test_a_wrong_csc_pin_is_a_remote_signing_error(csc: FakeCscService,
                                                   clock: FrozenClock) -> None:
    with pytest.raises(RemoteSigningError, match="HTTP 400: The PIN is invalid"):
        csc_signer(csc, clock, pin="000000").sign(result_pdf(), request())


def test_a_garbage_csc_signature_is_caught_before_it_reaches_the_pdf(
        csc: FakeCscService, clock: FrozenClock) -> None:
    csc.fault = "garbage"
    with pytest.raises(RemoteSigningError, match="does not verify"):
        csc_signer(csc, clock).sign(result_pdf(), request())


def test_a_csc_answer_that_is_not_json_is_a_remote_signing_error(
        csc: FakeCscService, clock: FrozenClock) -> None:
    csc.fault = "not-json"
    with pytest.raises(RemoteSigningError, match="unusable"):
        csc_signer(csc, clock).sign(result_pdf(), request())


def test_a_slow_csc_service_times_out_as_a_remote_signing_error(
        csc: FakeCscService, clock: FrozenClock) -> None:
    csc.fault, csc.delay = "slow", 1.5
    with pytest.raises(RemoteSigningError):
        csc_signer(csc, clock, timeout=1).sign(result_pdf(), request())


def test_an_unreachable_csc_service_is_a_remote_signing_error(clock: FrozenClock) -> None:
    signer = CscRemoteSigner("http://127.0.0.1:9", token="t", pin="1", clock=clock, timeout=2)
    with pytest.raises(RemoteSigningError, match="cannot be reached"):
        signer.sign(result_pdf(), request())


def test_remote_errors_keep_their_type_and_message_inside_a_running_event_loop(
        clock: FrozenClock) -> None:
    signer = CscRemoteSigner("http://127.0.0.1:9", token="t", pin="1", clock=clock, timeout=2)

    async def main() -> None:  # the signature is made on a private thread, the error crosses
        signer.sign(result_pdf(), request())

    with pytest.raises(RemoteSigningError, match="cannot be reached"):
        asyncio.run(main())


def test_a_csc_credential_with_an_expired_certificate_is_refused(
        csc: FakeCscService, clock: FrozenClock) -> None:
    csc.credentials["cred-001"] = pki().expired_signer
    with pytest.raises(SignerCredentialError, match="expired"):
        csc_signer(csc, clock).sign(result_pdf(), request())


def test_a_csc_account_with_several_credentials_and_none_configured_is_refused(
        csc: FakeCscService, clock: FrozenClock) -> None:
    csc.credentials["cred-002"] = pki().signer
    with pytest.raises(SignerCredentialError, match="configure credential_id") as caught:
        csc_signer(csc, clock).sign(result_pdf(), request())
    assert "'cred-001'" in str(caught.value)
    assert "'cred-002'" in str(caught.value)
    assert csc.signed_hashes == []
    # naming the credential settles it
    signed = csc_signer(csc, clock, credential_id="cred-001").sign(result_pdf(), request())
    assert isinstance(signed, bytes)
    assert verify(signed, [pki().root.cert])[0].signer == SIGNER


def test_a_csc_credential_holding_a_ca_certificate_is_refused(
        csc: FakeCscService, clock: FrozenClock) -> None:
    # the issuing CA's certificate has digitalSignature too: only basicConstraints tells
    csc.credentials["cred-001"] = pki().intermediate
    with pytest.raises(SignerCredentialError, match="certification authority"):
        csc_signer(csc, clock).sign(result_pdf(), request())
    assert csc.signed_hashes == []


def test_a_csc_credential_without_a_signing_key_usage_is_refused(
        csc: FakeCscService, clock: FrozenClock) -> None:
    csc.credentials["cred-001"] = pki().no_usage_signer
    with pytest.raises(SignerCredentialError, match="neither digitalSignature nor"):
        csc_signer(csc, clock).sign(result_pdf(), request())
    assert csc.signed_hashes == []


def assert_local_failure(caught: pytest.ExceptionInfo[SigningError],
                         csc: FakeCscService) -> None:
    """Blamed on the document, not the service (which the engine would poll for a day)."""
    assert not isinstance(caught.value, RemoteSigningError)
    assert csc.signed_hashes == []


def test_a_pdf_that_opens_but_cannot_be_prepared_is_an_invalid_document_not_a_remote_error(
        csc: FakeCscService, clock: FrozenClock) -> None:
    # the catalog's page tree points at an object that is no page tree: the file opens
    # (pyHanko reads lazily), and breaks only when the signature field is laid out
    damaged = result_pdf().replace(b"/Pages 1 0 R", b"/Pages 5 0 R", 1)
    signer = csc_signer(csc, clock)
    signer.check_document(damaged)
    with pytest.raises(InvalidDocument, match="the PDF is damaged") as caught:
        signer.sign(damaged, request())
    assert_local_failure(caught, csc)


def test_a_field_already_signed_is_a_signing_error_not_a_remote_error(
        csc: FakeCscService, clock: FrozenClock) -> None:
    signed = csc_signer(csc, clock).sign(result_pdf(), request())
    assert isinstance(signed, bytes)
    csc.signed_hashes.clear()
    with pytest.raises(SigningError, match="cannot be prepared for signing") as caught:
        csc_signer(csc, clock).sign(signed, request())  # the same field name again
    assert_local_failure(caught, csc)


def test_a_csc_ticket_with_damaged_state_is_a_signing_error_not_a_remote_error(
        csc: FakeCscService, clock: FrozenClock) -> None:
    ticket = csc_signer(csc, clock, deferred=True).sign(result_pdf(), request())
    assert isinstance(ticket, Ticket)
    state = dict(ticket.state)
    del state["sad"]
    broken = Ticket(provider=ticket.provider, transaction_id=ticket.transaction_id,
                    expires_at=ticket.expires_at, state=state)
    with pytest.raises(SigningError, match="stored state") as caught:
        csc_signer(csc, clock).poll(broken)
    assert_local_failure(caught, csc)


@pytest.mark.parametrize(("key", "value"), [
    ("certs", None),                      # gone: the signer's certificates
    ("pdf", "bm90IGEgcGRm"),              # "not a pdf": the prepared document is garbage
    ("region_start", "not a number"),
])
def test_a_phone_ticket_damaged_in_storage_is_a_signing_error_not_a_remote_error(
        phone: FakePhoneService, clock: FrozenClock, key: str, value: str | None) -> None:
    # finishing is our own work on what we stored: a damaged ticket is not the service's
    # fault, so the engine does not poll it again for a day
    signer = phone_signer(phone, clock)
    ticket = signer.sign(result_pdf(), request())
    assert isinstance(ticket, Ticket)
    phone.confirm(ticket.transaction_id)
    state = dict(ticket.state)
    if value is None:
        state.pop(key, None)
    else:
        state[key] = value
    broken = Ticket(provider=ticket.provider, transaction_id=ticket.transaction_id,
                    expires_at=ticket.expires_at, state=state)
    with pytest.raises(SigningError) as caught:
        phone_signer(phone, clock).poll(broken)
    assert not isinstance(caught.value, RemoteSigningError)


# -- phone confirmation --------------------------------------------------------------------

def test_phone_signature_is_pending_until_confirmed_then_signed(
        phone: FakePhoneService, clock: FrozenClock, nss_db: Path, tmp_path: Path) -> None:
    signer = phone_signer(phone, clock)
    ticket = signer.sign(result_pdf(), request())
    assert ticket.expires_at == clock.now() + timedelta(seconds=300)
    assert signer.poll(ticket).status is TicketStatus.PENDING
    assert phone.waiting() == [ticket.transaction_id]
    # only the digest of the signed attributes went to the service, never the PDF
    signed_attrs = base64.b64decode(str(ticket.state["signed_attrs"]))
    assert phone.requests[ticket.transaction_id].digest == hashlib.sha256(signed_attrs).digest()

    phone.confirm(ticket.transaction_id)
    outcome = phone_signer(phone, clock).poll(Ticket.from_json(ticket.to_json()))
    assert outcome.status is TicketStatus.SIGNED
    assert outcome.pdf is not None
    assert_signed_ok(outcome.pdf, nss_db, tmp_path)


def test_a_rejected_phone_request_is_reported_with_its_reason(
        phone: FakePhoneService, clock: FrozenClock) -> None:
    signer = phone_signer(phone, clock)
    ticket = signer.sign(result_pdf(), request())
    phone.reject(ticket.transaction_id, "Sai nội dung")
    outcome = signer.poll(ticket)
    assert outcome.status is TicketStatus.REJECTED
    assert outcome.reason == "Sai nội dung"
    assert outcome.final
    assert outcome.pdf is None


def test_a_phone_request_left_unanswered_expires_after_five_minutes(
        phone: FakePhoneService, clock: FrozenClock) -> None:
    signer = phone_signer(phone, clock)
    ticket = signer.sign(result_pdf(), request())
    clock.advance(timedelta(minutes=4, seconds=59))
    assert signer.poll(ticket).status is TicketStatus.PENDING
    clock.advance(timedelta(seconds=1))
    outcome = signer.poll(ticket)
    assert outcome.status is TicketStatus.EXPIRED
    assert "in time" in outcome.reason


def test_a_phone_request_the_service_lets_lapse_is_expired(
        phone: FakePhoneService, clock: FrozenClock) -> None:
    signer = phone_signer(phone, clock)
    ticket = signer.sign(result_pdf(), request())
    phone.expire(ticket.transaction_id)
    assert signer.poll(ticket).status is TicketStatus.EXPIRED


def test_after_a_rejection_a_new_request_can_be_confirmed(
        phone: FakePhoneService, clock: FrozenClock, nss_db: Path, tmp_path: Path) -> None:
    signer = phone_signer(phone, clock)
    first = signer.sign(result_pdf(), request())
    phone.reject(first.transaction_id)
    assert signer.poll(first).status is TicketStatus.REJECTED

    clock.advance(timedelta(minutes=1))
    second = signer.sign(result_pdf(), request())
    assert second.transaction_id != first.transaction_id  # a new signing time, a new digest
    phone.confirm(second.transaction_id)
    outcome = signer.poll(second)
    assert outcome.status is TicketStatus.SIGNED
    assert outcome.pdf is not None
    assert_signed_ok(outcome.pdf, nss_db, tmp_path)


def test_a_garbage_phone_signature_is_a_remote_signing_error(
        phone: FakePhoneService, clock: FrozenClock) -> None:
    signer = phone_signer(phone, clock)
    ticket = signer.sign(result_pdf(), request())
    phone.fault = "garbage"
    phone.confirm(ticket.transaction_id)
    with pytest.raises(RemoteSigningError, match="does not verify"):
        signer.poll(ticket)


def test_wrong_client_credentials_are_a_remote_signing_error_without_the_user_id(
        phone: FakePhoneService, clock: FrozenClock) -> None:
    signer = phone_signer(phone, clock, client_secret="sai", user_id="001090012345")
    with pytest.raises(RemoteSigningError, match="HTTP 401") as caught:
        signer.sign(result_pdf(), request())
    assert "001090012345" not in str(caught.value)


def test_a_phone_service_answering_html_is_a_remote_signing_error(
        phone: FakePhoneService, clock: FrozenClock) -> None:
    signer = phone_signer(phone, clock)
    ticket = signer.sign(result_pdf(), request())
    phone.fault = "not-json"
    with pytest.raises(RemoteSigningError, match="did not answer JSON"):
        signer.poll(ticket)


def test_a_slow_phone_service_times_out(phone: FakePhoneService, clock: FrozenClock) -> None:
    phone.fault, phone.delay = "slow", 1.5
    with pytest.raises(RemoteSigningError, match="did not answer within"):
        phone_signer(phone, clock, timeout=1).sign(result_pdf(), request())
