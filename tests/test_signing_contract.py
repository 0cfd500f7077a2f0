"""One contract every signer passes (run over each adapter, against the fake services).

Each harness pairs a signer with the remote side that finishes what it starts (the signer's
phone confirming, for the phone signer). Services, keys and the signed outputs are made once
per module: RSA key generation and signing are the slow parts.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from fpdf import FPDF
from signing_support import assert_signed_ok, nss_db, pki, result_pdf
from signing_support import request as sign_request

from dossier.errors import InvalidDocument
from dossier.signing.base import ChecksDocuments, KnowsHolder, Signer, Ticket, TicketStatus
from dossier.signing.csc import CscRemoteSigner
from dossier.signing.fakes import FakeCscService, FakePhoneService
from dossier.signing.local import LocalSigner
from dossier.signing.phone import PhoneConfirmSigner
from dossier.signing.testpki import TEST_PASSPHRASE
from dossier.signing.verify import verify

__all__ = ["nss_db"]
NOT_A_PDF = b"PK\x03\x04 a zip file"


class FullSigner(Signer, ChecksDocuments, KnowsHolder, Protocol):
    """The port with both optional capabilities: every signer here offers them."""


@dataclass(frozen=True)
class Harness:
    """A signer, the remote side's approval of a ticket it issued, and its certificate."""

    signer: FullSigner
    approve: Callable[[Ticket], None]
    holder: str  # the common name of the certificate that signs
    knows_holder: bool  # whether holder_name() must give it without a network call


def _nothing_to_approve(ticket: Ticket) -> None:
    """Nobody approves: a deferred CSC ticket carries its activation data (SAD) already."""


@pytest.fixture(scope="module")
def csc_service() -> Iterator[FakeCscService]:
    with FakeCscService(pki()) as service:
        yield service


@pytest.fixture(scope="module")
def phone_service() -> Iterator[FakePhoneService]:
    with FakePhoneService(pki()) as service:
        yield service


def local_harness(request: pytest.FixtureRequest) -> Harness:
    signer = LocalSigner.from_pkcs12(pki().pkcs12(pki().signer), TEST_PASSPHRASE)
    return Harness(signer=signer, approve=_nothing_to_approve, holder="Nguyễn Văn Ký",
                   knows_holder=True)


def csc_harness(request: pytest.FixtureRequest, *, deferred: bool = False) -> Harness:
    service: FakeCscService = request.getfixturevalue("csc_service")
    signer = CscRemoteSigner(service.url, token=service.token, pin=service.pin,
                             deferred=deferred)
    return Harness(signer=signer, approve=_nothing_to_approve, holder="Trần Thị Duyệt",
                   knows_holder=False)


def csc_deferred_harness(request: pytest.FixtureRequest) -> Harness:
    return csc_harness(request, deferred=True)


def phone_harness(request: pytest.FixtureRequest) -> Harness:
    service: FakePhoneService = request.getfixturevalue("phone_service")

    def confirm(ticket: Ticket) -> None:
        # the ticket id is derived from what is signed: a request identical to one already
        # confirmed (same document, same second) gets the same, finished, transaction back
        if ticket.transaction_id in service.waiting():
            service.confirm(ticket.transaction_id)

    signer = PhoneConfirmSigner(service.url, client_id=service.client_id,
                                client_secret=service.client_secret, user_id="signer")
    return Harness(signer=signer, approve=confirm, holder="Trần Thị Duyệt", knows_holder=False)


HARNESSES: dict[str, Callable[[pytest.FixtureRequest], Harness]] = {
    "local": local_harness, "csc": csc_harness, "csc-deferred": csc_deferred_harness,
    "phone": phone_harness}
#: The harnesses whose signer answers ``sign`` with a ticket.
TICKETING = ["csc-deferred", "phone"]


@pytest.fixture(scope="module", params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Harness:
    return HARNESSES[request.param](request)


def sign_to_the_end(harness: Harness, pdf: bytes) -> bytes:
    """Sign; for a ticket, have the remote side approve it and poll it, as the engine does
    (from the ticket's stored JSON, on the same signer)."""
    outcome = harness.signer.sign(pdf, sign_request())
    if isinstance(outcome, bytes):
        return outcome
    assert isinstance(outcome, Ticket)
    assert outcome.provider == harness.signer.provider
    harness.approve(outcome)
    stored = json.loads(json.dumps(outcome.to_json()))
    result = harness.signer.poll(Ticket.from_json(stored))
    assert result.status is TicketStatus.SIGNED, result.reason
    assert result.final
    assert result.pdf is not None
    return result.pdf


@pytest.fixture(scope="module")
def signed(harness: Harness) -> bytes:
    return sign_to_the_end(harness, result_pdf())


@pytest.fixture(scope="module")
def poppler(request: pytest.FixtureRequest) -> Path:
    """The NSS database for pdfsig, or a skip when poppler or NSS tools are not installed."""
    missing = [tool for tool in ("pdfsig", "certutil") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (poppler-utils, libnss3-tools)")
    nss: Path = request.getfixturevalue("nss_db")
    return nss


def test_every_signer_implements_the_port_and_its_capabilities(harness: Harness) -> None:
    assert isinstance(harness.signer, Signer)
    assert isinstance(harness.signer, ChecksDocuments)
    assert isinstance(harness.signer, KnowsHolder)
    assert harness.signer.provider


def test_the_signed_pdf_verifies_against_the_test_root(harness: Harness,
                                                       signed: bytes) -> None:
    (report,) = verify(signed, [pki().root.cert], crls=[pki().crl_der])
    assert report.ok, report.reasons
    assert report.subfilter == "ETSI.CAdES.detached"
    assert report.intact
    assert report.valid
    assert report.trusted
    assert report.covers_whole_document
    assert report.signer == harness.holder
    assert signed.startswith(result_pdf())  # an incremental update: the original stays


def test_poppler_accepts_the_signed_pdf(signed: bytes, poppler: Path, tmp_path: Path) -> None:
    assert_signed_ok(signed, poppler, tmp_path)


def test_the_holder_is_named_only_when_known_locally_and_then_truly(
        harness: Harness) -> None:
    expected = harness.holder if harness.knows_holder else None
    assert harness.signer.holder_name() == expected


def test_sign_and_poll_work_inside_a_running_event_loop(harness: Harness) -> None:
    async def main() -> bytes:  # as an ASGI handler calling the blocking port directly
        return sign_to_the_end(harness, result_pdf())

    (report,) = verify(asyncio.run(main()), [pki().root.cert])
    assert report.ok, report.reasons


def test_a_document_that_is_a_pdf_passes_the_check(harness: Harness) -> None:
    harness.signer.check_document(result_pdf())


@pytest.mark.parametrize("pdf", [NOT_A_PDF, b"%PDF-1.7\n garbage without objects or xref"],
                         ids=["not-a-pdf", "damaged"])
def test_an_unusable_document_fails_the_check(harness: Harness, pdf: bytes) -> None:
    with pytest.raises(InvalidDocument):
        harness.signer.check_document(pdf)


def test_an_encrypted_pdf_fails_the_check(harness: Harness) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_encryption(owner_password="chu-so-huu", user_password="nguoi-dung")
    with pytest.raises(InvalidDocument, match="encrypted"):
        harness.signer.check_document(bytes(pdf.output()))


def test_signing_something_that_is_not_a_pdf_is_an_invalid_document(
        harness: Harness) -> None:
    with pytest.raises(InvalidDocument, match="not a PDF"):
        harness.signer.sign(NOT_A_PDF, sign_request())


@pytest.mark.parametrize("harness", TICKETING, indirect=True)
def test_a_ticket_survives_its_json_round_trip(harness: Harness) -> None:
    # its own field: the request left pending is not the one another test confirms
    ticket = harness.signer.sign(result_pdf(), sign_request(field_name="ChuKySoVe"))
    assert isinstance(ticket, Ticket)
    again = Ticket.from_json(json.loads(json.dumps(ticket.to_json())))
    assert again == ticket
    assert again.provider == harness.signer.provider
