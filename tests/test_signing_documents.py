"""Result documents from templates, and certified e-copies (original + lời chứng), signed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fpdf import FPDF
from signing_support import (
    DOSSIER_CODE,
    assert_signed_ok,
    nss_db,
    pdftotext,
    pki,
    request,
    result_pdf,
)

from dossier.documents.certified_copy import (
    CertificationStatement,
    build_certified_copy,
    page_count,
)
from dossier.errors import InvalidDocument, InvalidInput
from dossier.signing import LocalSigner, verify
from dossier.signing.testpki import TEST_PASSPHRASE

__all__ = ["nss_db"]


def statement(**overrides: object) -> CertificationStatement:
    values: dict[str, object] = dict(
        number=125, book="01/2025-SCT/BS", certified_at=pki().created_at - timedelta(hours=1),
        certifier_name="Phạm Thị Chứng", certifier_title="Phó Chủ tịch UBND xã",
        agency="UBND xã Thử Nghiệm", dossier_code=DOSSIER_CODE,
        document_name="Giấy khai sinh")
    values.update(overrides)
    return CertificationStatement(**values)  # type: ignore[arg-type]


def scanned_original(pages: int = 2) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=14)
    for number in range(pages):
        pdf.add_page()
        pdf.cell(text=f"Scanned original, page {number + 1}")
    return bytes(pdf.output())


def test_the_result_page_has_extractable_vietnamese_text(tmp_path: Path) -> None:
    text = pdftotext(result_pdf(), tmp_path)
    assert "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in text
    assert "Lê Thị Hồng Nhung" in text
    assert DOSSIER_CODE in text
    assert "ngày 08 tháng 9 năm 2025" in text


def test_a_certified_copy_is_the_original_plus_a_statement_page(tmp_path: Path) -> None:
    original = scanned_original(2)
    copy = build_certified_copy(original, statement())
    assert page_count(copy) == 3
    assert copy.startswith(original)  # the original stays byte for byte
    text = pdftotext(copy, tmp_path, "-f", "3")
    assert "LỜI CHỨNG" in text
    assert "Chứng thực bản sao đúng với bản chính" in text
    assert "125" in text
    assert "01/2025-SCT/BS" in text
    assert "Phạm Thị Chứng" in text
    assert "3 trang (2 trang bản chính" in text


def test_a_signed_certified_copy_passes_both_checkers(nss_db: Path, tmp_path: Path) -> None:
    copy = build_certified_copy(scanned_original(1), statement())
    signer = LocalSigner.from_pkcs12(pki().pkcs12(pki().signer), TEST_PASSPHRASE)
    signed = signer.sign(copy, request(reason="Chứng thực bản sao"))
    assert_signed_ok(signed, nss_db, tmp_path)
    assert verify(signed, [pki().root.cert])[0].signer == "Nguyễn Văn Ký"


def test_a_certified_copy_of_something_that_is_not_a_pdf_is_refused() -> None:
    with pytest.raises(InvalidDocument, match="not a PDF"):
        build_certified_copy(b"\xff\xd8\xff\xe0 a JPEG", statement())


def test_a_certified_copy_of_an_encrypted_pdf_is_refused() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_encryption(owner_password="a", user_password="b")
    with pytest.raises(InvalidDocument, match="encrypted"):
        build_certified_copy(bytes(pdf.output()), statement())


def test_a_statement_needs_a_number_and_a_book() -> None:
    with pytest.raises(InvalidInput, match="starts at 1"):
        statement(number=0)
    with pytest.raises(InvalidInput, match="quyển số"):
        statement(book=" ")
