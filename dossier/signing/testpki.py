"""A throw-away PKI for tests and the demo, made with `cryptography`.

::

    Dossier Test Root CA
    └── Dossier Test Issuing CA            (also signs the CRL)
        ├── signer            Nguyễn Văn Ký       digitalSignature + nonRepudiation, doc-signing +
        │                                                 emailProtection EKUs
        ├── remote_signer     Trần Thị Duyệt      same, held by the fake CSC / phone services
        ├── expired_signer    (signer's key)      valid two years ago for one year
        ├── revoked_signer    (signer's key)      listed on ``crl``
        ├── no_usage_signer   (signer's key)      keyEncipherment only: must be refused
        └── tsa               Dossier Test TSA    timeStamping EKU (critical)

RSA-2048 keys are slow to make, so :func:`shared_test_pki` builds the whole set once per process and
the variants share the signer's key. Nothing here is fit for production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from dossier.clock import Clock, SystemClock

#: Microsoft "Document Signing" and RFC 9336 id-kp-documentSigning.
MS_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
#: The passphrase of every PKCS#12 file this module writes, unless one is given.
TEST_PASSPHRASE = b"mat-khau-thu"
#: Where the end-entity certificates say their CRL is (nothing listens there).
CRL_URL = "http://crl.dossier.invalid/issuing-ca.crl"


@dataclass(frozen=True, kw_only=True)
class Issued:
    """A certificate with its private key."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    @property
    def asn1_cert(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.cert_der)


@dataclass(frozen=True, kw_only=True)
class TestPki:
    """The test hierarchy (see the module docstring). ``created_at`` anchors every validity."""

    __test__ = False  # not a pytest test class, whatever its name

    created_at: datetime
    root: Issued
    intermediate: Issued
    signer: Issued
    remote_signer: Issued
    expired_signer: Issued
    revoked_signer: Issued
    no_usage_signer: Issued
    tsa: Issued
    crl_der: bytes

    @property
    def chain(self) -> list[x509.Certificate]:
        """CA certificates to send along with a signer's: intermediate, then root."""
        return [self.intermediate.cert, self.root.cert]

    def pkcs12(self, holder: Issued, passphrase: bytes = TEST_PASSPHRASE) -> bytes:
        """``holder``'s key, certificate and the chain as an encrypted PKCS#12 file."""
        return pkcs12.serialize_key_and_certificates(
            b"dossier-test", holder.key, holder.cert, self.chain,
            serialization.BestAvailableEncryption(passphrase))

    def timestamper(self, at: datetime | None = None) -> DummyTimeStamper:
        """An in-process RFC 3161 time-stamping authority signing with the test TSA key; its
        tokens say ``at`` when given, else the system time."""
        key_info = asn1_keys.PrivateKeyInfo.load(self.tsa.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        store = SimpleCertificateStore()  # type: ignore[no-untyped-call]
        store.register_multiple([self.intermediate.asn1_cert, self.root.asn1_cert])
        return DummyTimeStamper(tsa_cert=self.tsa.asn1_cert, tsa_key=key_info,
                                certs_to_embed=store, fixed_dt=at)


def _name(common_name: str, organisation: str = "Dossier Test") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(subject: x509.Name, key: rsa.RSAPrivateKey, issuer: Issued | None, *,
           not_before: datetime, not_after: datetime, ca: bool = False,
           usage: str = "sign", eku: list[ObjectIdentifier] | None = None) -> Issued:
    issuer_name = issuer.cert.subject if issuer else subject
    issuer_key = issuer.key if issuer else key
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False)
    flags = dict(digital_signature=False, content_commitment=False, key_encipherment=False,
                 data_encipherment=False, key_agreement=False, key_cert_sign=False,
                 crl_sign=False, encipher_only=False, decipher_only=False)
    if ca:
        flags.update(key_cert_sign=True, crl_sign=True, digital_signature=True)
    elif usage == "sign":
        flags.update(digital_signature=True, content_commitment=True)
    else:
        flags.update(key_encipherment=True)
    builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
    if not ca:
        # declared so that validators check revocation; never fetched (tests pass the CRL)
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(CRL_URL)], relative_name=None,
            reasons=None, crl_issuer=None)]), critical=False)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku),
                                        critical=eku == [ExtendedKeyUsageOID.TIME_STAMPING])
    return Issued(cert=builder.sign(issuer_key, hashes.SHA256()), key=key)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def build_test_pki(clock: Clock | None = None) -> TestPki:
    """Make a fresh hierarchy valid around ``clock.now()`` (five RSA-2048 keys: ~0.5 s)."""
    now = (clock or SystemClock()).now().replace(microsecond=0)
    start, end = now - timedelta(days=30), now + timedelta(days=3 * 365)
    root = _issue(_name("Dossier Test Root CA"), _new_key(), None,
                  not_before=now - timedelta(days=5 * 365), not_after=now + timedelta(days=3650),
                  ca=True)
    inter = _issue(_name("Dossier Test Issuing CA"), _new_key(), root,
                   not_before=now - timedelta(days=4 * 365),
                   not_after=now + timedelta(days=5 * 365), ca=True)
    # emailProtection too: poppler's NSS checks signer certificates for the e-mail signer
    # usage, as Vietnamese CAs' certificates allow
    doc_eku = [MS_DOCUMENT_SIGNING, DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]
    key = _new_key()
    agency = "UBND xã Thử Nghiệm"

    def person(cn: str) -> x509.Name:
        return _name(cn, agency)

    signer = _issue(person("Nguyễn Văn Ký"), key, inter, not_before=start, not_after=end,
                    eku=doc_eku)
    remote = _issue(person("Trần Thị Duyệt"), _new_key(), inter, not_before=start,
                    not_after=end, eku=doc_eku)
    expired = _issue(person("Nguyễn Văn Ký (hết hạn)"), key, inter,
                     not_before=now - timedelta(days=730), not_after=now - timedelta(days=365),
                     eku=doc_eku)
    revoked = _issue(person("Nguyễn Văn Ký (thu hồi)"), key, inter, not_before=start,
                     not_after=end, eku=doc_eku)
    no_usage = _issue(person("Nguyễn Văn Ký (sai mục đích)"), key, inter, not_before=start,
                      not_after=end, usage="encipher")
    tsa = _issue(_name("Dossier Test TSA"), _new_key(), inter, not_before=start, not_after=end,
                 eku=[ExtendedKeyUsageOID.TIME_STAMPING])
    revoked_entry = (x509.RevokedCertificateBuilder()
                     .serial_number(revoked.cert.serial_number)
                     .revocation_date(now - timedelta(days=1))
                     .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise),
                                    critical=False).build())
    crl = (x509.CertificateRevocationListBuilder().issuer_name(inter.cert.subject)
           .last_update(now - timedelta(hours=1)).next_update(now + timedelta(days=7))
           .add_revoked_certificate(revoked_entry)
           .add_extension(x509.CRLNumber(1), critical=False)
           .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
               inter.key.public_key()), critical=False)
           .sign(inter.key, hashes.SHA256()))
    return TestPki(created_at=now, root=root, intermediate=inter, signer=signer,
                   remote_signer=remote, expired_signer=expired, revoked_signer=revoked,
                   no_usage_signer=no_usage, tsa=tsa,
                   crl_der=crl.public_bytes(serialization.Encoding.DER))


@cache
def shared_test_pki() -> TestPki:
    """The process-wide test PKI, built on first use with the system clock."""
    return build_test_pki()
