"""Check the signatures in a PDF: one :class:`SignatureReport` per signature, never a crash.

Every problem becomes a reason in the report, in Vietnamese and English (``"… / …"``):
changed content, a signature that does not verify, changes appended after signing, an
untrusted, expired or revoked certificate, a bad timestamp; a signature whose dictionary or
container is damaged too. Only input that is not a usable PDF at all (not a PDF, encrypted,
or its structure or list of fields damaged) raises :class:`~dossier.errors.InvalidDocument`;
nothing else ever escapes, whatever the bytes (``tests/test_signing_fuzz.py``).

:func:`verify` blocks; it is safe inside a running event loop (pyHanko's validation runs
through :func:`~dossier.signing.blocking.run_blocking`).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import TypeAlias

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from dossier.clock import require_aware
from dossier.errors import InvalidDocument
from dossier.signing.blocking import run_blocking
from dossier.signing.credentials import common_name
from dossier.signing.pades import reading_pdf

#: Changes after a signature that keep it acceptable (later signatures, validation data).
_HARMLESS = {ModificationLevel.NONE, ModificationLevel.LTA_UPDATES,
             ModificationLevel.FORM_FILLING}
Certificate: TypeAlias = "x509.Certificate | asn1_x509.Certificate | bytes"


@dataclass(frozen=True, kw_only=True)
class SignatureReport:
    """What one signature is worth. ``ok`` when there is no reason to doubt it."""

    field_name: str
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_document: bool
    signer: str
    signing_time: datetime | None
    timestamped: bool
    modification_level: str
    subfilter: str
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.reasons


def _asn1(cert: Certificate) -> asn1_x509.Certificate:
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    if isinstance(cert, x509.Certificate):
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    if cert.lstrip().startswith(b"-----BEGIN"):
        der = x509.load_pem_x509_certificate(cert).public_bytes(serialization.Encoding.DER)
        return asn1_x509.Certificate.load(der)
    return asn1_x509.Certificate.load(cert)


def _open(pdf: bytes) -> PdfFileReader:
    if not isinstance(pdf, bytes | bytearray) or b"%PDF-" not in bytes(pdf[:1024]):
        raise InvalidDocument("the input is not a PDF (no %PDF- header)")
    with reading_pdf("its structure (header, cross-reference table, trailer)"):
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        # the trailer's /Encrypt is resolved lazily: part of reading the file
        encrypted = reader.encrypted
    if encrypted:
        raise InvalidDocument("the PDF is encrypted; signatures in it cannot be checked here")
    return reader


def verify(pdf: bytes, trust_roots: Iterable[Certificate], *, crls: Iterable[bytes] = (),
           at: datetime | None = None) -> list[SignatureReport]:
    """Check every signature (not document timestamps) in ``pdf`` against ``trust_roots``.

    ``crls`` are DER CRLs to check revocation with (nothing is fetched from the network);
    ``at`` is the validation time (default: now). Raises only
    :class:`~dossier.errors.DossierError` kinds: :class:`~dossier.errors.InvalidDocument`
    when the file's structure or its list of signature fields cannot be read.
    """
    reader = _open(pdf)
    roots = [_asn1(c) for c in trust_roots]
    crl_list = list(crls)
    moment = require_aware(at, "at") if at is not None else None
    with reading_pdf("its signature fields (catalog, AcroForm)"):
        fields = list(enumerate_sig_fields(reader, filled_status=True))
    found: list[tuple[int, EmbeddedPdfSignature]] = []
    broken: list[SignatureReport] = []
    for name, sig_obj, sig_field in fields:
        subfilter = ""
        try:
            # each field is parsed on first touch: a damaged signature dictionary or
            # container is a finding about that signature, not about the whole file
            sig_dict = sig_obj.get_object()
            if sig_dict.get("/Type") == "/DocTimeStamp":
                continue
            subfilter = str(sig_dict.get("/SubFilter", ""))
            sig = EmbeddedPdfSignature(reader, sig_field, name)
            found.append((sig.signed_revision, sig))
        except Exception as exc:  # pyHanko raises many kinds on damaged input (see _check)
            broken.append(_damaged(str(name), subfilter, exc))
    found.sort(key=lambda pair: pair[0])
    return [_check(sig, roots, crl_list, moment) for _, sig in found] + broken


def _damaged(name: str, subfilter: str, exc: Exception) -> SignatureReport:
    return SignatureReport(
        field_name=name, intact=False, valid=False, trusted=False,
        covers_whole_document=False, signer="?", signing_time=None, timestamped=False,
        modification_level="unknown", subfilter=subfilter.lstrip("/"),
        reasons=("Không kiểm tra được chữ ký (dữ liệu chữ ký hỏng) / the signature cannot "
                 f"be checked, its data is damaged ({type(exc).__name__}: {exc})",))


def _context(roots: list[asn1_x509.Certificate], crls: list[bytes],
             moment: datetime | None) -> ValidationContext:
    return ValidationContext(trust_roots=roots, crls=crls, allow_fetching=False,
                             revocation_mode="soft-fail", moment=moment)


def _check(sig: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate], crls: list[bytes],
           moment: datetime | None) -> SignatureReport:
    name = str(sig.field_name)
    subfilter = ""
    try:
        subfilter = str(sig.sig_object.get("/SubFilter", "")).lstrip("/")
        # not pyHanko's sync validate_pdf_signature: its asyncio.run fails inside a running
        # event loop, and that failure would read as a damaged signature
        status = run_blocking(_validate(sig, roots, crls, moment))
        # asn1crypto parses lazily and is more lenient than `cryptography`: a certificate
        # that validated can still fail to load here
        cert = x509.load_der_x509_certificate(status.signing_cert.dump())
    except Exception as exc:  # pyHanko raises many kinds on damaged input: all are "invalid"
        return _damaged(name, subfilter, exc)
    return _report(name, subfilter, status, cert, moment)


async def _validate(sig: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate],
                    crls: list[bytes], moment: datetime | None) -> PdfSignatureStatus:
    # as pyHanko's sync wrapper does, release what the contexts opened in the loop that
    # opened it (nothing today: fetching is off)
    async with aclosing(_context(roots, crls, moment)) as signer_context, \
            aclosing(_context(roots, crls, moment)) as ts_context:
        return await async_validate_pdf_signature(
            sig, signer_validation_context=signer_context, ts_validation_context=ts_context,
            key_usage_settings=KeyUsageConstraints(
                key_usage={"digital_signature", "non_repudiation"}))


def _report(name: str, subfilter: str, status: PdfSignatureStatus, cert: x509.Certificate,
            moment: datetime | None) -> SignatureReport:
    reasons: list[str] = []
    signer = common_name(cert)
    if not status.intact:
        reasons.append("Nội dung đã bị thay đổi sau khi ký / the signed content was changed "
                       "(its digest does not match)")
    if not status.valid:
        reasons.append("Chữ ký không hợp lệ về mặt mật mã / the cryptographic signature does "
                       "not verify")
    level = status.modification_level
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    if not whole and (level is None or level not in _HARMLESS):
        reasons.append("Tài liệu bị sửa đổi sau khi ký (thêm nội dung không được ký) / the "
                       "document was modified after signing (unsigned content was added)")
    ts = status.timestamp_validity
    signing_time = ts.timestamp if ts is not None else status.signer_reported_dt
    if ts is not None and not (ts.intact and ts.valid and ts.trusted):
        reasons.append("Dấu thời gian không hợp lệ hoặc không được tin cậy / the timestamp "
                       "token is invalid or not trusted")
    if status.intact and status.valid and not status.trusted:
        when = status.validation_time or moment
        if status.revocation_details is not None:
            details = status.revocation_details
            who = "của cơ quan cấp" if details.ca_revoked else ""
            reasons.append(f"Chứng thư số {who} đã bị thu hồi ngày "
                           f"{details.revocation_date:%d/%m/%Y} / the "
                           f"{'issuing CA' if details.ca_revoked else 'signer'} certificate "
                           f"was revoked on {details.revocation_date:%Y-%m-%d}".replace("  ", " "))
        elif when is not None and when > cert.not_valid_after_utc:
            reasons.append(f"Chứng thư số đã hết hạn ngày {cert.not_valid_after_utc:%d/%m/%Y} "
                           f"/ the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}")
        elif when is not None and when < cert.not_valid_before_utc:
            reasons.append("Chứng thư số chưa có hiệu lực / the certificate is not yet valid")
        else:
            indication = status.trust_problem_indic
            detail = str(indication) if indication is not None else "no path"
            reasons.append("Chứng thư số không dẫn tới chứng thư gốc tin cậy / the certificate "
                           f"does not chain to a trusted root ({detail})")
    return SignatureReport(
        field_name=name, intact=status.intact, valid=status.valid, trusted=status.trusted,
        covers_whole_document=whole, signer=signer, signing_time=signing_time,
        timestamped=ts is not None,
        modification_level=level.name.lower() if level is not None else "unknown",
        subfilter=subfilter, reasons=tuple(reasons))
