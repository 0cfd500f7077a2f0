"""Detached CMS signatures over statements (ledger checkpoints): made with pyHanko, checked here.

:func:`sign` makes what :class:`~dossier.signing.base.SignsStatements` promises with any pyHanko
signer (a key in memory, a CSC service): pyHanko's ``async_sign_general_data``, detached,
SHA-256, with the signing time given, and a signature timestamp when there is a TSA.

:func:`verify_statement` checks one, each failure a line in
:attr:`~dossier.signing.base.StatementSignature.problems` (in English: these go to auditors'
logs, not to citizens), never an exception, whatever the bytes:

1. the form: a SignedData with one SignerInfo, no content of its own (id-data, detached),
   signed attributes, a digest algorithm of the SHA-2 family, the signer's certificate;
2. integrity: the message-digest attribute is the digest of the statement, and the signature
   over the signed attributes verifies with the certificate's key (pyHanko's
   ``validate_sig_integrity``, which also checks content-type, CMS algorithm protection and
   signing-certificate-v2);
3. the RFC 3161 token, when there is one: its own digest and signature, its message imprint
   equal to the digest of the signature value, the TSA certificate's timeStamping usage and
   validity at the token's time;
4. the signer's certificate at the time of signing (the token's time when there is one, else
   the signing-time the signer claims): in its validity period, key usage digitalSignature or
   nonRepudiation, not a CA, a document-signing extended key usage if it restricts them;
5. only with trust anchors: the signer's and the TSA's certificates validated up to one of
   them at that time (pyhanko-certvalidator; the certificates in the CMS serve as
   intermediates). Revocation is not checked: nothing is fetched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.sign import signers
from pyhanko.sign.general import (
    MultivaluedAttributeError,
    NonexistentAttributeError,
    extract_certificate_info,
    extract_signer_info,
    find_unique_cms_attribute,
)
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathError, ValidationError

from dossier.errors import InvalidInput, RemoteSigningError
from dossier.signing.base import StatementSignature
from dossier.signing.blocking import run_blocking
from dossier.signing.credentials import SIGNING_EKUS, common_name, organisation_name

MD_ALGORITHM = "sha256"
_DIGESTS = frozenset({"sha256", "sha384", "sha512"})
_TOKEN = "signature_time_stamp_token"


async def sign(signer: signers.Signer, data: bytes, *, signed_at: datetime,
               timestamper: TimeStamper | None) -> bytes:
    """A detached CMS SignedData over ``data``, DER, by ``signer`` (see ``SignsStatements``)."""
    try:
        info = await signer.async_sign_general_data(
            data, MD_ALGORITHM, detached=True, timestamper=timestamper,
            signed_attr_settings=PdfCMSSignedAttributes(signing_time=signed_at))
    except TimestampRequestError as exc:
        raise RemoteSigningError(
            f"the time-stamping authority did not answer usably ({exc}); check the TSA URL "
            "and try again, or sign without a timestamp") from exc
    return bytes(info.dump())


def verify_statement(data: bytes, signature: bytes, *,
                     trust: Sequence[x509.Certificate] | None = None) -> StatementSignature:
    """Check ``signature`` (a DER detached CMS) over exactly ``data``; see the module
    docstring for what is checked. ``trust`` are the anchors the signer's and the TSA's
    certificates must chain to; without them the chains are not checked (and the answer
    says so: ``chain_checked`` is False)."""
    anchors = None if trust is None else [_asn1(cert) for cert in trust]
    try:
        found = _Findings(bytes(data), bytes(signature))
    except _Unusable as exc:
        return _unusable(str(exc), anchors is not None)
    except Exception as exc:  # asn1crypto parses lazily: damaged DER fails anywhere, any kind
        return _unusable(f"the CMS signature cannot be read ({type(exc).__name__})",
                         anchors is not None)
    if anchors is not None and found.when is not None:
        try:
            found.problems += run_blocking(_chains(found, anchors))
        except Exception as exc:  # a certificate odd enough to break path building
            found.problems.append(f"the certificate chains cannot be checked "
                                  f"({type(exc).__name__})")
    return found.result(chain_checked=anchors is not None)


class _Unusable(Exception):
    """A CMS that reads but is not the kind of signature checked here (the message says why)."""


def _unusable(problem: str, chain_checked: bool) -> StatementSignature:
    return StatementSignature(signer="?", chain_checked=chain_checked, problems=(problem,))


def _asn1(cert: object) -> asn1_x509.Certificate:
    if not isinstance(cert, x509.Certificate):
        raise InvalidInput("trust anchors must be cryptography.x509.Certificate objects "
                           "(x509.load_pem_x509_certificates reads a PEM file)")
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _crypto(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


class _Findings:
    """Steps 1 to 4 of the module docstring, on parsed input (any exception: unreadable)."""

    def __init__(self, data: bytes, signature: bytes) -> None:
        self.problems: list[str] = []
        self.timestamped_at: datetime | None = None
        self.tsa: asn1_x509.Certificate | None = None
        self.tsa_others: list[asn1_x509.Certificate] = []
        info = cms.ContentInfo.load(signature, strict=True)
        if info["content_type"].native != "signed_data":
            raise _Unusable("the CMS is not a SignedData")
        signed_data = info["content"]
        signer_info = extract_signer_info(signed_data)
        certs = extract_certificate_info(signed_data)
        self.cert, self.others = certs.signer_cert, list(certs.other_certs)
        self.signer = _crypto(self.cert)
        content = signed_data["encap_content_info"]
        if content["content_type"].native != "data" or not isinstance(content["content"],
                                                                      core.Void):
            self.problems.append("the CMS is not a detached signature over data (it carries "
                                 "content of its own, or another content type)")
        self.signed_at = self._integrity(signer_info, data)
        self._timestamp(signer_info)
        self.when = self.timestamped_at or self.signed_at
        if self.when is None:
            self.problems.append("the CMS has neither a signing-time nor a timestamp: the "
                                 "certificate cannot be checked at the time of signing")
        else:
            self.problems += _certificate_problems(self.signer, self.when)

    def _integrity(self, signer_info: cms.SignerInfo, data: bytes) -> datetime | None:
        algorithm = signer_info["digest_algorithm"]["algorithm"].native
        if algorithm not in _DIGESTS:
            raise _Unusable(f"the CMS digest algorithm {algorithm} is not accepted (SHA-2 only)")
        if isinstance(signer_info["signed_attrs"], core.Void):
            raise _Unusable("the CMS has no signed attributes (no message digest, no signing "
                            "time)")
        intact, valid = validate_sig_integrity(
            signer_info, self.cert, expected_content_type="data",
            actual_digest=hashlib.new(algorithm, data).digest())
        if not intact:
            self.problems.append("the message digest in the signature is not the digest of "
                                 "the statement: the statement was altered after signing")
        if not valid:
            self.problems.append("the signature value does not verify with the signer's "
                                 "certificate")
        try:
            when: datetime = find_unique_cms_attribute(signer_info["signed_attrs"],
                                                       "signing_time").native
        except NonexistentAttributeError:
            return None
        except MultivaluedAttributeError:
            raise _Unusable("the CMS has several signing-time attributes") from None
        return when

    def _timestamp(self, signer_info: cms.SignerInfo) -> None:
        unsigned = signer_info["unsigned_attrs"]
        tokens = [] if isinstance(unsigned, core.Void) else [
            value for attribute in unsigned if attribute["type"].native == _TOKEN
            for value in attribute["values"]]
        if not tokens:
            return
        if len(tokens) > 1:
            self.problems.append("the CMS carries several signature timestamps")
        token = tokens[0]["content"]
        content = token["encap_content_info"]
        tst_info = content["content"].parsed
        if content["content_type"].native != "tst_info" or not isinstance(tst_info,
                                                                          tsp.TSTInfo):
            raise _Unusable("the timestamp token holds no TSTInfo")
        tsa_info = extract_signer_info(token)
        certs = extract_certificate_info(token)
        self.tsa, self.tsa_others = certs.signer_cert, list(certs.other_certs)
        algorithm = tsa_info["digest_algorithm"]["algorithm"].native
        intact, valid = validate_sig_integrity(
            tsa_info, self.tsa, expected_content_type="tst_info",
            actual_digest=hashlib.new(algorithm, bytes(content["content"])).digest())
        if not (intact and valid):
            self.problems.append("the timestamp token's own signature does not verify")
        imprint = tst_info["message_imprint"]
        expected = hashlib.new(imprint["hash_algorithm"]["algorithm"].native,
                               signer_info["signature"].native).digest()
        if imprint["hashed_message"].native != expected:
            self.problems.append("the timestamp token's message imprint is not the digest of "
                                 "this signature value: it stamps another signature")
        stamped_at: datetime = tst_info["gen_time"].native
        self.timestamped_at = stamped_at
        tsa = _crypto(self.tsa)
        if not _valid_at(tsa, stamped_at):
            self.problems.append(f"the TSA certificate {common_name(tsa)!r} was not valid at "
                                 "the token's time")
        if ExtendedKeyUsageOID.TIME_STAMPING not in _ekus(tsa):
            self.problems.append(f"the certificate {common_name(tsa)!r} that signed the "
                                 "timestamp is not a TSA's (no timeStamping extended key usage)")

    def result(self, *, chain_checked: bool) -> StatementSignature:
        return StatementSignature(
            signer=common_name(self.signer), organisation=organisation_name(self.signer),
            signed_at=self.signed_at, timestamped_at=self.timestamped_at,
            timestamp_authority=common_name(_crypto(self.tsa)) if self.tsa else "",
            chain_checked=chain_checked, problems=tuple(self.problems))


def _valid_at(cert: x509.Certificate, when: datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def _ekus(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    try:
        return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return set()


def _certificate_problems(cert: x509.Certificate, when: datetime) -> list[str]:
    """The rules :func:`~dossier.signing.credentials.check_signing_certificate` applies
    before signing, applied at the time of signing, worded for whoever checks."""
    name, problems = common_name(cert), []
    if not _valid_at(cert, when):
        problems.append(f"the signer's certificate {name!r} was not valid at the time of "
                        f"signing ({when:%Y-%m-%d %H:%M:%S} UTC; valid "
                        f"{cert.not_valid_before_utc:%Y-%m-%d} to "
                        f"{cert.not_valid_after_utc:%Y-%m-%d})")
    try:
        usage: x509.KeyUsage | None = cert.extensions.get_extension_for_class(
            x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        problems.append(f"the signer's certificate {name!r} may not sign: its key usage has "
                        "neither digitalSignature nor nonRepudiation")
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if is_ca:
        problems.append(f"the signer's certificate {name!r} is a certification authority's")
    ekus = _ekus(cert)
    if ekus and not ekus & SIGNING_EKUS:
        problems.append(f"the signer's certificate {name!r} is restricted to other purposes "
                        "than signing documents (extended key usage)")
    return problems


async def _chains(found: _Findings, anchors: list[asn1_x509.Certificate]) -> list[str]:
    assert found.when is not None
    problems = await _chain(found.cert, found.others, anchors, found.when, "signer's")
    if found.tsa is not None and found.timestamped_at is not None:
        problems += await _chain(found.tsa, found.tsa_others, anchors, found.timestamped_at,
                                 "TSA's")
    return problems


async def _chain(cert: asn1_x509.Certificate, others: list[asn1_x509.Certificate],
                 anchors: list[asn1_x509.Certificate], when: datetime, whose: str) -> list[str]:
    context = ValidationContext(trust_roots=anchors, other_certs=others, allow_fetching=False,
                                revocation_mode="soft-fail", moment=when)
    validator = CertificateValidator(cert, intermediate_certs=others,
                                     validation_context=context)
    # only the error's kind in the message: certvalidator's texts quote whole subjects,
    # which on Vietnamese certificates may hold a citizen ID
    try:
        await validator.async_validate_path()
    except PathBuildingError:
        return [f"the {whose} certificate does not chain to any of the trust anchors given"]
    except (PathError, ValidationError) as exc:
        return [f"the {whose} certificate chain does not validate at "
                f"{when:%Y-%m-%d %H:%M:%S} UTC ({type(exc).__name__})"]
    return []
