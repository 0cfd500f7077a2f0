"""verify(): every way a signature can be wrong gives a clear reason, never a crash."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from io import BytesIO

import pytest
from fpdf import FPDF
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PageObject
from signing_support import pki, request, result_pdf

from dossier.errors import InvalidDocument
from dossier.signing import LocalSigner, SignatureReport, verify
from dossier.signing.testpki import TEST_PASSPHRASE, Issued
from dossier.testing import FrozenClock


def signed_by(holder: Issued, clock: FrozenClock | None = None) -> bytes:
    signer = LocalSigner.from_pkcs12(pki().pkcs12(holder), TEST_PASSPHRASE, clock=clock)
    return signer.sign(result_pdf(), request())


def only_reason(pdf: bytes, **options: object) -> str:
    roots = options.pop("roots", [pki().root.cert])
    reports = verify(pdf, roots, **options)  # type: ignore[arg-type]
    assert len(reports) == 1
    assert not reports[0].ok
    assert len(reports[0].reasons) == 1, reports[0].reasons
    return reports[0].reasons[0]


def test_an_untouched_signature_reports_everything_fine() -> None:
    (report,) = verify(signed_by(pki().signer), [pki().root.cert], crls=[pki().crl_der])
    assert report.ok
    assert report.intact
    assert report.valid
    assert report.trusted
    assert report.covers_whole_document
    assert report.modification_level == "none"
    assert report.signer == "Nguyễn Văn Ký"
    assert report.subfilter == "ETSI.CAdES.detached"
    assert report.field_name == "ChuKySo1"


def test_verify_works_inside_a_running_event_loop() -> None:
    signed = signed_by(pki().signer)

    async def main() -> list[SignatureReport]:  # e.g. an ASGI handler checking an upload
        return verify(signed, [pki().root.cert])

    (report,) = asyncio.run(main())
    assert report.ok, report.reasons


def test_a_flipped_byte_in_the_signed_content_is_reported_as_changed() -> None:
    signed = bytearray(signed_by(pki().signer))
    at = signed.index(b"stream\n") + 20  # inside the first (compressed) page content
    signed[at] ^= 0x01
    reason = only_reason(bytes(signed))
    assert "đã bị thay đổi" in reason
    assert "content was changed" in reason


def test_a_page_appended_after_signing_is_reported_as_a_modification() -> None:
    writer = IncrementalPdfFileWriter(BytesIO(signed_by(pki().signer)))
    content = writer.add_object(generic.StreamObject(stream_data=b"0 0 m 100 100 l S"))
    writer.insert_page(PageObject(contents=content, media_box=[0, 0, 595, 842]))
    out = BytesIO()
    writer.write(out)
    (report,) = verify(out.getvalue(), [pki().root.cert])
    assert report.intact
    assert report.valid
    assert not report.covers_whole_document
    assert report.modification_level == "other"
    assert any("modified after signing" in r for r in report.reasons)


def test_a_wrong_trust_root_is_reported_as_untrusted() -> None:
    reason = only_reason(signed_by(pki().signer), roots=[pki().tsa.cert])
    assert "does not chain to a trusted root" in reason


def test_trust_roots_may_be_given_as_pem_or_der_bytes() -> None:
    signed = signed_by(pki().signer)
    assert verify(signed, [pki().root.cert_pem])[0].trusted
    assert verify(signed, [pki().root.cert_der])[0].trusted


def test_an_expired_certificate_is_reported_with_its_end_date() -> None:
    expired = pki().expired_signer
    back_then = FrozenClock(expired.cert.not_valid_after_utc - timedelta(days=30))
    reason = only_reason(signed_by(expired, back_then))
    assert f"expired on {expired.cert.not_valid_after_utc:%Y-%m-%d}" in reason
    assert "hết hạn" in reason


def test_a_revoked_certificate_is_reported_with_its_revocation_date() -> None:
    reason = only_reason(signed_by(pki().revoked_signer), crls=[pki().crl_der])
    assert "revoked on" in reason
    assert "thu hồi" in reason


def test_garbage_in_the_signature_container_is_a_reason_not_an_exception() -> None:
    signed = bytearray(signed_by(pki().signer))
    at = signed.index(b"/Contents <") + len(b"/Contents <")
    signed[at:at + 40] = b"0" * 40
    (report,) = verify(bytes(signed), [pki().root.cert])
    assert not report.ok
    assert not report.valid


def replaced_in_update(pdf: bytes, old: bytes, new: bytes, *, in_xref: bool = False) -> bytes:
    """``pdf`` with ``old`` replaced (same length, so every offset stays) in the signing
    revision, or in its cross-reference table."""
    assert len(old) == len(new)
    start = pdf.rindex(b"\nxref\n") if in_xref else pdf.index(b"%%EOF")
    at = pdf.index(old, start)
    return pdf[:at] + new + pdf[at + len(old):]


def signature_xref_entry(pdf: bytes) -> bytes:
    """The cross-reference entry of the signature dictionary (``NNNNNNNNNN 00000 n``)."""
    found = re.search(rb"\n(\d+ 0 obj\n<<\n/Contents <)", pdf)
    assert found is not None
    return b"%010d 00000 n" % found.start(1)


@pytest.mark.parametrize(("old", "new"), [
    # each escaped as a pyHanko or decimal exception before verify() caught them
    (b"/Contents <3", b"/Contents <g"),  # PdfStreamError: not a hex digit
    (b"/M (D", b"/M <D"),  # PdfStreamError: a string turned into a bad hex string
    (b"/ByteRange [0 ", b"/ByteRange [. "),  # decimal.InvalidOperation
], ids=["contents-hex", "signing-time", "byte-range-number"])
def test_a_damaged_signature_dictionary_is_a_failed_report(old: bytes, new: bytes) -> None:
    damaged = replaced_in_update(signed_by(pki().signer), old, new)
    (report,) = verify(damaged, [pki().root.cert])
    assert not report.ok
    assert not report.valid
    assert "dữ liệu chữ ký hỏng" in report.reasons[0]
    assert "its data is damaged" in report.reasons[0]


def test_a_signature_whose_xref_entry_misses_it_is_a_failed_report() -> None:
    signed = signed_by(pki().signer)
    entry = signature_xref_entry(signed)
    moved = b"%010d" % (int(entry[:10]) + 1) + entry[10:]  # PdfReadError: wrong object
    (report,) = verify(replaced_in_update(signed, entry, moved, in_xref=True),
                       [pki().root.cert])
    assert not report.ok
    assert "its data is damaged" in report.reasons[0]


@pytest.mark.parametrize(("pattern", "new"), [
    (rb"/FitH null", b"/FitH -.-."),  # decimal.InvalidOperation in the catalog
    (rb"/SigFlags 3", b"/SigFlags ."),  # …and in the AcroForm dictionary
    (rb"(?<=/AcroForm \d\d 0 )R", b"X"),  # a reference that is not one
], ids=["catalog-number", "acroform-number", "catalog-reference"])
def test_a_damaged_catalog_or_form_is_an_invalid_document(pattern: bytes, new: bytes) -> None:
    signed = signed_by(pki().signer)
    found = re.compile(pattern).search(signed, signed.index(b"%%EOF"))
    assert found is not None
    damaged = replaced_in_update(signed, found.group(), new)
    with pytest.raises(InvalidDocument, match="the PDF is damaged: its signature fields"):
        verify(damaged, [pki().root.cert])


def test_a_damaged_cross_reference_table_is_an_invalid_document() -> None:
    signed = signed_by(pki().signer)
    entry = signature_xref_entry(signed)
    with pytest.raises(InvalidDocument, match="cross-reference table"):
        verify(replaced_in_update(signed, entry, b"\xcf" + entry[1:], in_xref=True),
               [pki().root.cert])


def test_a_pdf_without_signatures_has_no_reports() -> None:
    assert verify(result_pdf(), [pki().root.cert]) == []


def test_not_a_pdf_is_an_invalid_document() -> None:
    with pytest.raises(InvalidDocument, match="not a PDF"):
        verify(b"hello", [pki().root.cert])


def test_an_encrypted_pdf_is_an_invalid_document() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_encryption(owner_password="a", user_password="b")
    with pytest.raises(InvalidDocument, match="encrypted"):
        verify(bytes(pdf.output()), [pki().root.cert])
