"""Shared pieces of the signing tests: the test PKI, sample PDFs, and the two independent checks
every signed output must pass (our ``verify`` and poppler's ``pdfsig`` with an NSS database
trusting the test root)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest

from dossier.documents.pdf import render_result
from dossier.signing import SignRequest, verify
from dossier.signing.testpki import TestPki, shared_test_pki

DECIDED_AT = datetime(2025, 9, 8, 2, 0, tzinfo=UTC)
DOSSIER_CODE = "H12.22-250908-0001"
LOOKUP_URL = f"https://dichvucong.example.vn/tra-cuu?ma={DOSSIER_CODE}"


def pki() -> TestPki:
    return shared_test_pki()


@cache
def result_pdf() -> bytes:
    """A one-page unsigned result document."""
    return render_result(dossier_code=DOSSIER_CODE,
                         procedure_name="Chứng thực bản sao từ bản chính",
                         applicant_name="Lê Thị Hồng Nhung", agency="UBND xã Thử Nghiệm",
                         decided_at=DECIDED_AT, lookup_url=LOOKUP_URL)


def request(**overrides: object) -> SignRequest:
    values: dict[str, object] = dict(dossier_code=DOSSIER_CODE, lookup_url=LOOKUP_URL,
                                     location="Hà Nội")
    values.update(overrides)
    return SignRequest(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def nss_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NSS database that trusts the test root (for ``pdfsig -nssdir``)."""
    folder = tmp_path_factory.mktemp("nssdb")
    root = folder / "root.pem"
    root.write_bytes(pki().root.cert_pem)
    subprocess.run(["certutil", "-N", "--empty-password", "-d", f"sql:{folder}"], check=True,
                   capture_output=True)
    # trusted for S/MIME too: NSS checks document signers for the e-mail signer usage
    subprocess.run(["certutil", "-A", "-n", "root", "-t", "C,C,C", "-i", str(root),
                    "-d", f"sql:{folder}"], check=True, capture_output=True)
    return folder


def pdfsig(pdf: bytes, nss: Path, tmp_path: Path) -> str:
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(path)],
                          capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def pdftotext(pdf: bytes, tmp_path: Path, *options: str) -> str:
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", *options, str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def assert_signed_ok(pdf: bytes, nss: Path, tmp_path: Path, *, signatures: int = 1,
                     timestamped: bool = False, whole: bool = True,
                     pdfsig_trusted: int | None = None) -> None:
    """Both checks agree: every signature is PAdES, intact, valid and trusted."""
    reports = verify(pdf, [pki().root.cert], crls=[pki().crl_der])
    assert len(reports) == signatures
    for report in reports:
        assert report.ok, report.reasons
        assert report.subfilter == "ETSI.CAdES.detached"
        assert report.intact
        assert report.valid
        assert report.trusted
        assert report.timestamped is timestamped
    # B-LT adds its validation data in a later revision: harmless, but not "whole"
    assert reports[-1].covers_whole_document is whole
    out = pdfsig(pdf, nss, tmp_path)
    assert out.count("Signature Type: ETSI.CAdES.detached") == signatures, out
    assert out.count("Signature Validation: Signature is Valid.") == signatures, out
    trusted = signatures if pdfsig_trusted is None else pdfsig_trusted
    assert out.count("Certificate Validation: Certificate is Trusted.") >= trusted, out
