"""Interrupted ("two-phase") signing for remote signers: digest now, signature later.

Phase one lays out the signature field and stamp, reserves the space, digests the byte
range and builds the CMS signed attributes; only the SHA-256 of those attributes leaves the
machine. Everything needed to finish is returned as a JSON-ready dict (the ticket's state),
so phase two can run in another process after a restart: it wraps the remote signature
value into the CMS container (adding a signature timestamp for B-T) and writes it into the
reserved space with pyHanko's ``PdfTBSDocument.async_finish_signing``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from pyhanko.sign import signers
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko.sign.timestamps import TimeStamper

from dossier.errors import RemoteSigningError, SigningError
from dossier.signing import pades
from dossier.signing.base import SignRequest, StateValue

#: Room for a signature timestamp token added in phase two (B-T).
TIMESTAMP_ALLOWANCE = 8192


@dataclass(frozen=True)
class Started:
    """Phase one's result: the digest to have signed remotely and the state to keep."""

    digest: bytes
    state: dict[str, StateValue]

    @property
    def digest_b64(self) -> str:
        return pades.b64(self.digest)


async def start(pdf: bytes, request: SignRequest, *, cert: x509.Certificate,
                chain: list[x509.Certificate], signed_at: datetime,
                with_timestamp: bool = False) -> Started:
    """Phase one for a signer whose key lives elsewhere (only ``cert`` and ``chain`` here)."""
    certs = [pades.asn1_cert(c) for c in (cert, *chain)]
    size = pades.signature_size(cert)
    placeholder = signers.ExternalSigner(certs[0], pades.cert_store(certs[1:]),
                                         signature_value=bytes(size))
    reserve = pades.bytes_to_reserve(certs, size, TIMESTAMP_ALLOWANCE if with_timestamp else 0)
    prepared = await pades.prepare(pdf, request, placeholder, signed_at=signed_at,
                                   bytes_reserved=reserve)
    attrs = await placeholder.signed_attrs(
        prepared.document_digest, pades.MD_ALGORITHM,
        attr_settings=PdfCMSSignedAttributes(signing_time=signed_at), use_pades=True)
    attrs_der = attrs.dump()
    state: dict[str, StateValue] = {
        "pdf": pades.b64(prepared.output.getvalue()),
        "document_digest": pades.b64(prepared.document_digest),
        "region_start": prepared.region[0],
        "region_end": prepared.region[1],
        "signed_attrs": pades.b64(attrs_der),
        "certs": ",".join(pades.b64(c.dump()) for c in certs),
        "signed_at": signed_at.isoformat(),
    }
    return Started(digest=hashlib.sha256(attrs_der).digest(), state=state)


def certificates(state: dict[str, StateValue]) -> list[asn1_x509.Certificate]:
    """The signer's certificate and chain recorded in phase one."""
    return [asn1_x509.Certificate.load(pades.unb64(part))
            for part in str(state["certs"]).split(",")]


def signed_attributes(state: dict[str, StateValue]) -> cms.CMSAttributes:
    return cms.CMSAttributes.load(pades.unb64(state["signed_attrs"]))


def check_signature(state: dict[str, StateValue], signature: bytes, service: str) -> None:
    """Raise RemoteSigningError unless ``signature`` is the signer's over the signed attributes.

    A remote service that answers with garbage, or signs with another key, is caught here
    instead of producing a PDF whose signature does not verify.
    """
    cert = x509.load_der_x509_certificate(certificates(state)[0].dump())
    digest = hashlib.sha256(pades.unb64(state["signed_attrs"])).digest()
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        else:
            raise InvalidSignature
    except (InvalidSignature, ValueError) as exc:
        raise RemoteSigningError(
            f"{service} returned a signature that does not verify against the signer's "
            "certificate (garbage or the wrong key); request the signature again") from exc


async def finish(state: dict[str, StateValue], signer: signers.Signer,
                 timestamper: TimeStamper | None, service: str) -> bytes:
    """Phase two: have ``signer`` produce the CMS over the stored attributes, embed it.

    ``signer`` is a pyHanko signer whose raw signature comes from the remote side: pyHanko's
    ``CSCSigner`` (which calls ``signatures/signHash``) or an ``ExternalSigner`` holding a
    value already fetched.
    """
    try:
        attributes = signed_attributes(state)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise _damaged_ticket(exc) from exc
    signed = await signer.async_sign_prescribed_attributes(
        pades.MD_ALGORITHM, attributes, timestamper=timestamper)
    signer_info = signed["content"]["signer_infos"][0]
    check_signature(state, signer_info["signature"].native, service)
    # from here on the work is ours, on what we stored: a failure is a damaged ticket or
    # document, never the service's fault (which the engine would poll again for a day)
    try:
        prepared = pades.unb64(state["pdf"])
        digest = PreparedByteRangeDigest(
            document_digest=pades.unb64(state["document_digest"]),
            reserved_region_start=int(state["region_start"]),
            reserved_region_end=int(state["region_end"]))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise _damaged_ticket(exc) from exc
    # the stored document must still be the one whose digest was signed: else the signature
    # would be embedded into other bytes (a ticket damaged or altered in storage)
    start, end = digest.reserved_region_start, digest.reserved_region_end
    if hashlib.new(pades.MD_ALGORITHM, prepared[:start] + prepared[end:]).digest() \
            != digest.document_digest:
        raise SigningError("the signing ticket's stored document is not the one that was "
                           "signed (damaged or altered in storage); request the signature "
                           "again")
    output = BytesIO(prepared)
    with pades.reading_pdf("the prepared document of the ticket",
                           "request the signature again"):
        await PdfTBSDocument.async_finish_signing(output, digest, signed)
    return output.getvalue()


def _damaged_ticket(exc: Exception) -> SigningError:
    return SigningError(f"the signing ticket's stored state is incomplete or damaged "
                        f"({type(exc).__name__}); request the signature again")


def external_signer(state: dict[str, StateValue], signature: bytes) -> signers.ExternalSigner:
    """A pyHanko signer that embeds a signature value fetched from a remote service."""
    certs = certificates(state)
    return signers.ExternalSigner(certs[0], pades.cert_store(certs[1:]),
                                  signature_value=signature)
