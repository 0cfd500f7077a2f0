"""Loading signing keys and checking that a certificate may sign documents.

Messages name a certificate by its common name only: Vietnamese certificates may carry the
holder's citizen ID in other subject fields (``UID=CCCD:…``), which must not reach logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from dossier.errors import SignerCredentialError

#: Extended key usages that allow document signing (when the extension is present at all).
SIGNING_EKUS = frozenset({
    ObjectIdentifier("1.3.6.1.4.1.311.10.3.12"),  # Microsoft Document Signing
    ObjectIdentifier("1.3.6.1.5.5.7.3.36"),  # id-kp-documentSigning (RFC 9336)
    ObjectIdentifier("1.2.840.113583.1.1.5"),  # Adobe Authentic Documents Trust
    ExtendedKeyUsageOID.EMAIL_PROTECTION,  # common on Vietnamese personal certificates
    ExtendedKeyUsageOID.CLIENT_AUTH,  # likewise
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
})

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, kw_only=True)
class KeyMaterial:
    """A private key, its certificate and the CA certificates to send along."""

    key: PrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def common_name(cert: x509.Certificate) -> str:
    """The subject's CN (``"?"`` when absent): the only part of a subject we ever show."""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else "?"
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def organisation_name(cert: x509.Certificate) -> str:
    """The subject's O (``""`` when absent): an agency's or company's name, never a person's ID."""
    names = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    value = names[0].value if names else ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def check_signing_certificate(cert: x509.Certificate, now: datetime) -> None:
    """Raise :class:`SignerCredentialError` unless ``cert`` may sign documents at ``now``.

    Checked: the validity period, that it is not a CA certificate (basicConstraints cA), the
    key usage (digitalSignature or nonRepudiation) and, if the certificate restricts its
    extended key usage, that one of :data:`SIGNING_EKUS` is there.
    """
    cn = common_name(cert)
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if is_ca:
        # a CA's key certifies others; documents signed with it would not name a holder, and
        # a CA certificate often carries digitalSignature too, so key usage alone lets it by
        raise SignerCredentialError(
            f"certificate {cn!r} is a certification authority's (basicConstraints cA=true), "
            "not a person's or an agency's; configure the holder's own signing certificate")
    if now < cert.not_valid_before_utc:
        raise SignerCredentialError(
            f"certificate {cn!r} is not valid before "
            f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC; check the server clock or "
            "wait until it takes effect")
    if now > cert.not_valid_after_utc:
        raise SignerCredentialError(
            f"certificate {cn!r} expired on {cert.not_valid_after_utc:%Y-%m-%d} UTC; renew it "
            "with the certification authority (gia hạn chứng thư số) and load the new one")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        raise SignerCredentialError(
            f"certificate {cn!r} may not sign: its key usage has neither digitalSignature nor "
            "nonRepudiation; ask the certification authority for a signing certificate")
    try:
        ekus = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        ekus = None
    if ekus is not None and not ekus & SIGNING_EKUS:
        raise SignerCredentialError(
            f"certificate {cn!r} is restricted to other purposes (extended key usage "
            f"{', '.join(sorted(o.dotted_string for o in ekus))}); use a document-signing "
            "certificate")


def _check_key(key: object, cert: x509.Certificate) -> PrivateKey:
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SignerCredentialError(
            f"unsupported key type {type(key).__name__}; use an RSA or EC signing key")
    if key.public_key() != cert.public_key():
        raise SignerCredentialError(
            f"the private key does not belong to certificate {common_name(cert)!r}; "
            "export the key together with its own certificate")
    return key


def load_pkcs12(data: bytes, passphrase: bytes | str | None) -> KeyMaterial:
    """Open a PKCS#12 (.p12/.pfx) file; a wrong passphrase raises SignerCredentialError."""
    secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
    except (ValueError, TypeError) as exc:
        raise SignerCredentialError(
            "cannot open the PKCS#12 file: the passphrase is wrong or the file is not a "
            "PKCS#12 (.p12/.pfx) key file; check both and try again") from exc
    if key is None or cert is None:
        raise SignerCredentialError(
            "the PKCS#12 file holds no private key with its certificate; export the signing "
            "key together with its certificate")
    return KeyMaterial(key=_check_key(key, cert), cert=cert, chain=tuple(extra))


def load_pem(key_pem: bytes, cert_pem: bytes, chain_pem: bytes = b"",
             passphrase: bytes | str | None = None) -> KeyMaterial:
    """Read a PEM private key, its PEM certificate and optional PEM CA certificates."""
    secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
    try:
        key = serialization.load_pem_private_key(key_pem, secret)
    except (ValueError, TypeError) as exc:
        raise SignerCredentialError(
            "cannot read the PEM private key: wrong passphrase, or not a PEM key") from exc
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        chain = tuple(x509.load_pem_x509_certificates(chain_pem)) if chain_pem.strip() else ()
    except ValueError as exc:
        raise SignerCredentialError("cannot read the PEM certificate or chain") from exc
    return KeyMaterial(key=_check_key(key, cert), cert=cert, chain=chain)
