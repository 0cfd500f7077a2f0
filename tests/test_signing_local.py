"""LocalSigner: PAdES B-B / B-T / B-LT, the Vietnamese stamp, and refusing bad credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fpdf import FPDF
from pyhanko_certvalidator import ValidationContext
from signing_support import (
    DOSSIER_CODE,
    assert_signed_ok,
    nss_db,
    pdftotext,
    pki,
    request,
    result_pdf,
)

from dossier.errors import InvalidDocument, RemoteSigningError, SignerCredentialError, SigningError
from dossier.signing import LocalSigner, Ticket, verify
from dossier.signing.fakes import FakeTsaService
from dossier.signing.testpki import TEST_PASSPHRASE
from dossier.testing import FrozenClock

__all__ = ["nss_db"]


def local(**options: object) -> LocalSigner:
    return LocalSigner.from_pkcs12(pki().pkcs12(pki().signer), TEST_PASSPHRASE, **options)


def test_local_signer_makes_a_pades_b_b_signature_both_checkers_accept(
        nss_db: Path, tmp_path: Path) -> None:
    signer = local()
    assert signer.level == "B-B"
    assert_signed_ok(signer.sign(result_pdf(), request()), nss_db, tmp_path)


def test_local_signer_with_an_http_tsa_makes_b_t(nss_db: Path, tmp_path: Path) -> None:
    with FakeTsaService(pki()) as tsa:
        signer = local(tsa_url=tsa.tsa_url)
        assert signer.level == "B-T"
        signed = signer.sign(result_pdf(), request())
    assert_signed_ok(signed, nss_db, tmp_path, timestamped=True)


def test_local_signer_with_a_validation_context_embeds_validation_data(
        nss_db: Path, tmp_path: Path) -> None:
    context = ValidationContext(trust_roots=[pki().root.asn1_cert], crls=[pki().crl_der],
                                allow_fetching=False)
    signer = local(timestamper=pki().timestamper(), validation_context=context)
    assert signer.level == "B-LT"
    signed = signer.sign(result_pdf(), request())
    assert b"/DSS" in signed
    assert_signed_ok(signed, nss_db, tmp_path, timestamped=True, whole=False)
    assert verify(signed, [pki().root.cert])[0].modification_level == "lta_updates"


def test_pem_key_and_chain_work_like_pkcs12(nss_db: Path, tmp_path: Path) -> None:
    chain = pki().intermediate.cert_pem + pki().root.cert_pem
    signer = LocalSigner.from_pem(pki().signer.key_pem, pki().signer.cert_pem, chain)
    assert_signed_ok(signer.sign(result_pdf(), request()), nss_db, tmp_path)


def test_a_second_signature_keeps_the_first_valid(nss_db: Path, tmp_path: Path) -> None:
    once = local().sign(result_pdf(), request())
    twice = local().sign(once, request(field_name="ChuKySo2", box=(40, 40, 280, 135)))
    # poppler 22's NSS code reports the same certificate, met a second time in one file, as
    # "Unknown issue"; our verify checks the trust of both
    assert_signed_ok(twice, nss_db, tmp_path, signatures=2, pdfsig_trusted=1)


def test_the_stamp_shows_signer_agency_and_local_time_in_vietnamese(tmp_path: Path) -> None:
    day = pki().created_at - timedelta(days=1)
    signed_at = datetime(day.year, day.month, day.day, 2, 30, 15, tzinfo=UTC)  # 09:30:15 VN
    signed = local().sign(result_pdf(), request(signed_at=signed_at))
    text = pdftotext(signed, tmp_path)
    assert "Ký bởi: Nguyễn Văn Ký" in text
    assert "Cơ quan: UBND xã Thử Nghiệm" in text
    assert f"Thời gian ký: {signed_at:%d/%m/%Y} 09:30:15" in text
    assert verify(signed, [pki().root.cert])[0].signing_time is not None


def holder(common_name: str, organisation: str) -> LocalSigner:
    """A local signer whose certificate (issued by the test CA) names ``common_name`` of
    ``organisation``: what the stamp prints."""
    from dossier.signing.testpki import DOCUMENT_SIGNING, _issue, _name, _new_key

    now = pki().created_at
    issued = _issue(_name(common_name, organisation), _new_key(), pki().intermediate,
                    not_before=now - timedelta(days=30), not_after=now + timedelta(days=365),
                    eku=[DOCUMENT_SIGNING])
    return LocalSigner.from_pem(issued.key_pem, issued.cert_pem,
                                pki().intermediate.cert_pem + pki().root.cert_pem)


def test_a_vietnamese_stamp_embeds_the_font_subset_made_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator

    def no_subsetting(self: object) -> None:
        raise AssertionError("the font was subset for this document")

    signer = holder("Đặng Thị Ửng — “Quý”", "Ủy ban nhân dân phường Ô Chợ Dừa")
    monkeypatch.setattr(GlyphAccumulator, "_extract_subset", no_subsetting)
    signed = signer.sign(result_pdf(), request())
    text = pdftotext(signed, tmp_path)
    assert "Ký bởi: Đặng Thị Ửng — “Quý”" in text
    assert "Cơ quan: Ủy ban nhân dân phường Ô Chợ Dừa" in text
    assert verify(signed, [pki().root.cert])[0].ok


def test_a_stamp_with_letters_beyond_vietnamese_still_shows_them(tmp_path: Path) -> None:
    signed = holder("Nguyễn Văn Ký (Ωmega)", "UBND xã Thử Nghiệm").sign(result_pdf(),
                                                                          request())
    assert "Ký bởi: Nguyễn Văn Ký (Ωmega)" in pdftotext(signed, tmp_path)
    assert verify(signed, [pki().root.cert])[0].ok


def test_the_stamp_carries_a_qr_code_for_the_lookup_url() -> None:
    signed = local().sign(result_pdf(), request())
    assert b"/QR" in signed
    plain = local().sign(result_pdf(), request(lookup_url="", dossier_code=""))
    assert b"/QR" not in plain


def test_an_invisible_signature_has_no_stamp(tmp_path: Path) -> None:
    signed = local().sign(result_pdf(), request(visible=False))
    assert "Ký bởi" not in pdftotext(signed, tmp_path)
    assert verify(signed, [pki().root.cert])[0].ok


def test_the_signing_time_comes_from_the_injected_clock() -> None:
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=1))
    signed = local(clock=clock).sign(result_pdf(), request())
    report = verify(signed, [pki().root.cert])[0]
    assert report.signing_time == clock.now()


def test_a_wrong_passphrase_is_a_credential_error() -> None:
    with pytest.raises(SignerCredentialError, match="passphrase is wrong"):
        LocalSigner.from_pkcs12(pki().pkcs12(pki().signer), b"not-it")


def test_an_expired_certificate_is_refused_with_the_date() -> None:
    with pytest.raises(SignerCredentialError, match=r"expired on .* renew"):
        LocalSigner.from_pkcs12(pki().pkcs12(pki().expired_signer), TEST_PASSPHRASE)


def test_a_certificate_without_signing_key_usage_is_refused() -> None:
    with pytest.raises(SignerCredentialError, match="neither digitalSignature nor"):
        LocalSigner.from_pkcs12(pki().pkcs12(pki().no_usage_signer), TEST_PASSPHRASE)


def test_a_key_that_does_not_match_the_certificate_is_refused() -> None:
    with pytest.raises(SignerCredentialError, match="does not belong"):
        LocalSigner.from_pem(pki().tsa.key_pem, pki().signer.cert_pem)


def test_not_a_pdf_is_an_invalid_document() -> None:
    with pytest.raises(InvalidDocument, match="not a PDF"):
        local().sign(b"PK\x03\x04 a zip file", request())


def test_a_damaged_pdf_is_an_invalid_document() -> None:
    with pytest.raises(InvalidDocument):
        local().sign(b"%PDF-1.7\n garbage without objects or xref", request())


def test_an_encrypted_pdf_is_an_invalid_document() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_encryption(owner_password="chu-so-huu", user_password="nguoi-dung")
    with pytest.raises(InvalidDocument, match="encrypted"):
        local().sign(bytes(pdf.output()), request())


def test_an_unreachable_tsa_is_a_remote_signing_error() -> None:
    signer = local(tsa_url="http://127.0.0.1:9/tsa", tsa_timeout=2)
    with pytest.raises(RemoteSigningError, match="time-stamping authority"):
        signer.sign(result_pdf(), request())


def test_signing_an_existing_field_name_twice_is_a_signing_error() -> None:
    once = local().sign(result_pdf(), request())
    with pytest.raises(SigningError):
        local().sign(once, request())


def test_a_local_signer_never_polls() -> None:
    ticket = Ticket(provider="phone", transaction_id="t1",
                    expires_at=datetime.now(UTC) + timedelta(minutes=5))
    with pytest.raises(SigningError, match="issues no tickets"):
        local().poll(ticket)


def test_the_dossier_code_reaches_the_qr_stamp_without_a_url(tmp_path: Path) -> None:
    signed = local().sign(result_pdf(), request(lookup_url=""))
    assert b"/QR" in signed
    assert DOSSIER_CODE in pdftotext(result_pdf(), tmp_path)
