"""PAdES plumbing shared by every signer: open the PDF, lay out the field, reserve the space.

All signers put a PAdES baseline signature (subfilter ``ETSI.CAdES.detached``) into a new
field in an incremental update. The space for the CMS container is computed from the
certificates and key size instead of pyHanko's default dry-run signature, which would sign
twice (and, for a remote signer, cannot be done at all).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import LayoutError
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_signer import PdfSigningSession, PdfTBSDocument
from pyhanko_certvalidator.registry import SimpleCertificateStore

from dossier.errors import DossierError, InvalidDocument, SigningError
from dossier.signing.base import SignRequest
from dossier.signing.stamp import holder_of, stamp_for, stamp_text_params

MD_ALGORITHM = "sha256"
#: Signed attributes, SignerInfo and SignedData framing, with room to spare.
_CMS_OVERHEAD = 3072

log = logging.getLogger("dossier.signing")

#: What pyHanko's (lazy) PDF parser and the libraries under it raise on damaged bytes:
#: ``PdfError`` and its read/stream/xref-header kinds, ``ValueError`` (asn1crypto, bad
#: hex, ``UnicodeDecodeError``), ``KeyError``/``IndexError``/``TypeError`` (a dictionary,
#: array or object of the wrong shape), ``AssertionError`` (pyHanko asserts the type of
#: what it reads, e.g. that the page tree root is a dictionary), ``ArithmeticError``
#: (``decimal.InvalidOperation`` on a mangled number), ``EOFError`` (a truncated stream) and
#: ``RecursionError`` (a reference cycle or absurd nesting in a hostile file).
PARSE_ERRORS: tuple[type[Exception], ...] = (
    PdfError, ValueError, KeyError, IndexError, TypeError, AssertionError, ArithmeticError,
    EOFError, RecursionError)

DAMAGED_HINT = "re-export or re-scan it"


@contextmanager
def reading_pdf(what: str, hint: str = DAMAGED_HINT) -> Iterator[None]:
    """Turn any failure of the parsing done inside the block into InvalidDocument.

    Only for blocks that parse or validate untrusted PDF bytes: pyHanko parses lazily, so a
    damaged byte surfaces wherever an object is first touched, as whichever exception the
    code at hand happens to raise. The caller must only ever see the library's errors.
    Kinds outside :data:`PARSE_ERRORS` (an ``AttributeError`` on a null object, say) are
    translated too, but logged with their traceback, so that a genuine bug in our code or
    pyHanko's still leaves a trace instead of passing for a damaged file.
    """
    try:
        yield
    except DossierError:
        raise
    except PARSE_ERRORS as exc:
        raise InvalidDocument(_damaged(what, exc, hint)) from exc
    except Exception as exc:
        log.warning("unexpected %s while reading %s; treated as a damaged PDF",
                    type(exc).__name__, what, exc_info=True)
        raise InvalidDocument(_damaged(what, exc, hint)) from exc


def _damaged(what: str, exc: Exception, hint: str) -> str:
    # only the exception's kind: pyHanko's messages may quote bytes of the document, which
    # can hold a citizen ID; the full error stays on the exception chain (__cause__)
    return f"the PDF is damaged: {what} cannot be read ({type(exc).__name__}); {hint}"


def open_pdf(pdf: bytes) -> IncrementalPdfFileWriter:
    """An incremental writer over ``pdf``; raise InvalidDocument for anything unusable."""
    if not isinstance(pdf, bytes | bytearray) or b"%PDF-" not in bytes(pdf[:1024]):
        raise InvalidDocument("the input is not a PDF (no %PDF- header); pass the PDF bytes")
    with reading_pdf("its structure (header, cross-reference table, trailer)"):
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        # the trailer's /Encrypt is resolved lazily: part of reading the file
        encrypted = writer.security_handler is not None
    if encrypted:
        raise InvalidDocument(
            "the PDF is encrypted (password-protected); save an unprotected copy and sign that")
    return writer


def asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def cert_store(chain: list[asn1_x509.Certificate]) -> SimpleCertificateStore:
    store = SimpleCertificateStore()  # type: ignore[no-untyped-call]
    store.register_multiple(chain)
    return store


def signature_size(cert: x509.Certificate) -> int:
    """Bytes of a raw signature made with ``cert``'s key."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return (key.key_size + 7) // 8
    if isinstance(key, ec.EllipticCurvePublicKey):
        return 2 * ((key.curve.key_size + 7) // 8) + 9  # DER-encoded (r, s)
    return 512


def bytes_to_reserve(certs: list[asn1_x509.Certificate], signature_bytes: int,
                     timestamp_bytes: int = 0) -> int:
    """Hex characters to reserve for the CMS container (twice its DER size, plus margin)."""
    der = sum(len(c.dump()) for c in certs) + signature_bytes + timestamp_bytes + _CMS_OVERHEAD
    return 2 * der


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str | int) -> bytes:
    return base64.b64decode(str(text), validate=True)


@dataclass
class Prepared:
    """A document in its final pre-signing state (the signature's bytes are still zeros)."""

    tbs: PdfTBSDocument
    session: PdfSigningSession
    document_digest: bytes
    region: tuple[int, int]
    output: BytesIO
    signed_at: datetime


async def prepare(pdf: bytes, request: SignRequest, signer: signers.Signer, *,
                  signed_at: datetime, bytes_reserved: int,
                  timestamper: object | None = None,
                  validation_context: object | None = None,
                  writer: IncrementalPdfFileWriter | None = None) -> Prepared:
    """Add the field, its stamp and the empty signature; digest the byte range.

    ``validation_context`` (a pyHanko ``ValidationContext``) turns on B-LT: the signer's
    chain is validated now and the validation data goes into the document security store.
    ``writer`` is ``open_pdf(pdf)`` when the caller opened it already (to check it).
    """
    writer = writer or open_pdf(pdf)
    field_spec = fields.SigFieldSpec(
        sig_field_name=request.field_name,
        on_page=request.page,
        box=request.box if request.visible else None)
    meta = signers.PdfSignatureMetadata(
        field_name=request.field_name, md_algorithm=MD_ALGORITHM,
        subfilter=fields.SigSeedSubFilter.PADES, reason=request.reason or None,
        location=request.location or None,
        validation_context=validation_context,  # type: ignore[arg-type]
        embed_validation_info=validation_context is not None,
        # key usage was checked when the signer was made (either of the two suffices)
        signer_key_usage=set())
    # the stamp names the certificate's holder: the one about to sign (for a remote signer,
    # the certificate its service returned), never a name from the request
    assert signer.signing_cert is not None
    holder = holder_of(signer.signing_cert)
    pdf_signer = signers.PdfSigner(meta, signer, timestamper=timestamper,  # type: ignore[arg-type]
                                   stamp_style=stamp_for(request, holder),
                                   new_field_spec=field_spec)
    # pyHanko reads the pages, the AcroForm and the existing fields only now (lazily), so a
    # damaged file that opened fine can still fail here. Translated here, at the edge, so that
    # no caller mistakes it for something else: a remote signer runs this inside its network
    # error mapping, which would otherwise blame the service and have the request retried.
    try:
        session = pdf_signer.init_signing_session(writer)
        session.system_time = signed_at  # the injected clock, not pyHanko's wall clock
        validation_info = await session.perform_presign_validation(writer)
        tbs = session.prepare_tbs_document(
            validation_info=validation_info, bytes_reserved=bytes_reserved,
            appearance_text_params=stamp_text_params(request, holder, signed_at)
            if request.visible
            else None)
        digest, output = tbs.digest_tbs_document()
    except (PyHankoSigningError, LayoutError) as exc:
        # pyHanko's own refusals (the field is already signed, the page does not exist, the
        # chain does not validate for B-LT, the stamp does not fit): the request, not the file
        raise SigningError(f"the PDF cannot be prepared for signing: {exc}") from exc
    except PARSE_ERRORS as exc:
        raise InvalidDocument(_damaged("its pages or form fields", exc, DAMAGED_HINT)) \
            from exc
    assert isinstance(output, BytesIO)  # pyHanko makes one when given no output stream
    return Prepared(tbs=tbs, session=session, document_digest=digest.document_digest,
                    region=(digest.reserved_region_start, digest.reserved_region_end),
                    output=output, signed_at=signed_at)
