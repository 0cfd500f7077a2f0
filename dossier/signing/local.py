"""``LocalSigner``: a PAdES signer holding its key in memory (PKCS#12 or PEM).

Levels: B-B by default; B-T with a time-stamping authority (``tsa_url=`` or
``timestamper=``); B-LT with a ``validation_context`` (the chain is validated before signing
and its validation data goes into the document security store). It also signs statements
(:meth:`LocalSigner.sign_statement`: a detached CMS, timestamped by the same TSA).

It is fast because it does once what stock pyHanko does per call: the key is parsed and
checked when the signer is made (not re-read from DER, with its costly RSA consistency check,
for every signature), the signature space is computed from the certificates instead of by a
dry-run signature, and the stamp's font is loaded once per process. See ``bench/signing.py``.

pyHanko's signing is async; :meth:`LocalSigner.sign` runs it with
:func:`~dossier.signing.blocking.run_blocking`, so it also works inside a running event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import attributes, signers
from pyhanko.sign.attributes import SignedAttributeProviderSpec
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator import ValidationContext

from dossier.clock import Clock, SystemClock, require_aware
from dossier.errors import InvalidInput, RemoteSigningError, SignerCredentialError, SigningError
from dossier.signing import pades, statements
from dossier.signing.base import PollResult, SignRequest, Ticket
from dossier.signing.blocking import run_blocking
from dossier.signing.credentials import (
    KeyMaterial,
    PrivateKey,
    check_signing_certificate,
    common_name,
    load_pem,
    load_pkcs12,
)


class _KeySigner(signers.Signer):
    """pyHanko's Signer over an already-parsed key (stock SimpleSigner re-parses per call),
    whose signing-certificate attribute (ESS, the certificate's hash and issuer) is built
    once: asn1crypto takes ≈1.5 ms to build it, for every signature the same."""

    def __init__(self, material: KeyMaterial) -> None:
        chain = [pades.asn1_cert(c) for c in material.chain]
        super().__init__(signing_cert=pades.asn1_cert(material.cert),
                         cert_registry=pades.cert_store(chain))
        self._key: PrivateKey = material.key
        self.certs = [self.signing_cert, *chain]
        self._certificate_attribute = _Once(
            attributes.SigningCertificateV2Provider(signing_cert=self.signing_cert))

    async def signed_attrs(self, *args: Any, **kwargs: Any) -> cms.CMSAttributes:
        # the same attributes, parsed back from their DER: pyHanko copies them into the
        # SignerInfo (to tag them), and asn1crypto copies a parsed value as bytes but a value
        # built in Python object by object (≈5 % of a signature)
        attrs = await super().signed_attrs(*args, **kwargs)
        return cms.CMSAttributes.load(attrs.dump())

    def _signed_attr_provider_spec(self, attr_settings: Any, timestamper: Any = None,
                                   use_cades: bool = False,
                                   is_pdf_sig: bool = True) -> SignedAttributeProviderSpec:
        # (pyHanko's internal hook; tests/test_signing_local.py and the statements' tests
        # verify what it makes)
        spec = super()._signed_attr_provider_spec(
            attr_settings, timestamper=timestamper, use_cades=use_cades,
            is_pdf_sig=is_pdf_sig)
        return _WithCertificateOnce(spec, self._certificate_attribute)

    async def async_sign_raw(self, data: bytes, digest_algorithm: str,
                             dry_run: bool = False) -> bytes:
        algorithm = hashes.SHA256() if digest_algorithm == "sha256" else \
            getattr(hashes, digest_algorithm.upper())()
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), algorithm)
        return self._key.sign(data, ec.ECDSA(algorithm))


class _Once(attributes.CMSAttributeProvider):
    """A provider whose attribute does not change: built on first use, then handed out."""

    def __init__(self, provider: attributes.CMSAttributeProvider) -> None:
        self.attribute_type = provider.attribute_type
        self._provider = provider
        self._attribute: cms.CMSAttribute | None = None

    async def get_attribute(self, dry_run: bool = False) -> cms.CMSAttribute | None:
        if self._attribute is None:
            self._attribute = await self._provider.get_attribute(dry_run=dry_run)
        return self._attribute


class _WithCertificateOnce(SignedAttributeProviderSpec):
    """pyHanko's own signed attributes, with the signing-certificate one built once."""

    def __init__(self, spec: SignedAttributeProviderSpec, certificate: _Once) -> None:
        self._spec = spec
        self._certificate = certificate

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str,
                              ) -> Iterator[attributes.CMSAttributeProvider]:
        for provider in self._spec.signed_attr_providers(data_digest, digest_algorithm):
            if isinstance(provider, attributes.SigningCertificateV2Provider):
                yield self._certificate
            else:
                yield provider


class LocalSigner:
    """Signs at once with a key held in memory (a PKCS#12 file or PEM key + chain).

    The certificate's validity period and key usage are checked at construction
    (:class:`~dossier.errors.SignerCredentialError` says what is wrong). ``clock`` gives the
    signing time when the request does not carry one.
    """

    provider = "local"

    def __init__(self, material: KeyMaterial, *, clock: Clock | None = None,
                 timestamper: TimeStamper | None = None, tsa_url: str | None = None,
                 tsa_timeout: int = 10,
                 validation_context: ValidationContext | None = None) -> None:
        self._clock = clock or SystemClock()
        check_signing_certificate(material.cert, self._clock.now())
        if timestamper is not None and tsa_url is not None:
            raise SignerCredentialError("give either timestamper or tsa_url, not both")
        self._timestamper = timestamper or (
            HTTPTimeStamper(tsa_url, timeout=tsa_timeout) if tsa_url else None)
        self._validation_context = validation_context
        self._signer = _KeySigner(material)
        self._timestamp_bytes: int | None = None
        self.certificate = material.cert

    @classmethod
    def from_pkcs12(cls, data: bytes | Path, passphrase: bytes | str | None,
                    **options: Any) -> LocalSigner:
        """From PKCS#12 bytes or a .p12/.pfx path; options as for the constructor."""
        raw = data.read_bytes() if isinstance(data, Path) else data
        return cls(load_pkcs12(raw, passphrase), **options)

    @classmethod
    def from_pem(cls, key_pem: bytes, cert_pem: bytes, chain_pem: bytes = b"",
                 passphrase: bytes | str | None = None, **options: Any) -> LocalSigner:
        """From a PEM private key, its certificate and the CA chain."""
        return cls(load_pem(key_pem, cert_pem, chain_pem, passphrase), **options)

    @property
    def level(self) -> str:
        """The PAdES baseline level this signer produces: ``B-B``, ``B-T`` or ``B-LT``."""
        if self._validation_context is not None:
            return "B-LT"
        return "B-T" if self._timestamper is not None else "B-B"

    def sign(self, pdf: bytes, request: SignRequest) -> bytes:
        """Return ``pdf`` with a PAdES signature in a new field (an incremental update)."""
        signed_at = require_aware(request.signed_at or self._clock.now(), "signing time")
        check_signing_certificate(self.certificate, signed_at)
        # opened (checked) before the TSA is asked for its token size: a bad PDF is
        # InvalidDocument, not a network error
        writer = pades.open_pdf(pdf)
        try:
            return run_blocking(self._sign(pdf, request, signed_at, writer))
        except TimestampRequestError as exc:
            raise RemoteSigningError(
                f"the time-stamping authority did not answer usably ({exc}); check the TSA "
                "URL and try again, or sign without a timestamp (B-B)") from exc
        except PyHankoSigningError as exc:
            raise SigningError(f"signing failed: {exc}") from exc

    def sign_statement(self, data: bytes) -> bytes:
        """A detached CMS signature over ``data`` (DER), signed now by the signer's clock, with
        an RFC 3161 signature timestamp when this signer has a TSA; see
        :class:`~dossier.signing.base.SignsStatements`. A TSA that does not answer is a
        :class:`~dossier.errors.RemoteSigningError`."""
        if not isinstance(data, bytes | bytearray):
            raise InvalidInput("sign_statement() takes the statement's bytes")
        signed_at = require_aware(self._clock.now(), "signing time")
        check_signing_certificate(self.certificate, signed_at)
        try:
            return run_blocking(statements.sign(self._signer, bytes(data), signed_at=signed_at,
                                                timestamper=self._timestamper))
        except PyHankoSigningError as exc:
            raise SigningError(f"signing the statement failed: {exc}") from exc

    def check_document(self, pdf: bytes) -> None:
        """Raise :class:`~dossier.errors.InvalidDocument` unless ``pdf`` can be signed."""
        pades.open_pdf(pdf)

    def holder_name(self) -> str | None:
        """The common name in the certificate: the key is here, so it is known without asking."""
        return common_name(self.certificate)

    def poll(self, ticket: Ticket) -> PollResult:
        """A local signer never issues tickets; polling one is a programming error."""
        raise SigningError(
            f"LocalSigner signs at once and issues no tickets; route ticket "
            f"{ticket.transaction_id!r} to its provider {ticket.provider!r}")

    async def _sign(self, pdf: bytes, request: SignRequest, signed_at: datetime,
                    writer: IncrementalPdfFileWriter) -> bytes:
        reserve = pades.bytes_to_reserve(self._signer.certs,
                                         pades.signature_size(self.certificate),
                                         await self._timestamp_size())
        prepared = await pades.prepare(pdf, request, self._signer, signed_at=signed_at,
                                       bytes_reserved=reserve, timestamper=self._timestamper,
                                       validation_context=self._validation_context,
                                       writer=writer)
        post = await prepared.tbs.perform_signature(
            prepared.document_digest, PdfCMSSignedAttributes(signing_time=signed_at))
        await post.post_signature_processing(prepared.output)
        return prepared.output.getvalue()

    async def _timestamp_size(self) -> int:
        # one real token tells the size of all (TSA certificates included); asked once
        if self._timestamper is None:
            return 0
        if self._timestamp_bytes is None:
            token = await self._timestamper.async_dummy_response(pades.MD_ALGORITHM)
            self._timestamp_bytes = len(token.dump()) + 512
        return self._timestamp_bytes
