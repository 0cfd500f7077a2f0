"""Signing statements: a detached CMS (SignsStatements), an RFC 3161 token from an HTTP TSA, and
`verify_statement` — checked against OpenSSL, which knows nothing of our code."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import socket
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms, keys
from cryptography.hazmat.primitives import serialization
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from signing_support import pki

from dossier.errors import RemoteSigningError, SignerCredentialError
from dossier.signing import CscRemoteSigner, LocalSigner, SignsStatements
from dossier.signing.fakes import FakeCscService, FakeTsaService
from dossier.signing.statements import sign, verify_statement
from dossier.signing.testpki import TEST_PASSPHRASE, Issued
from dossier.testing import FrozenClock

STATEMENT = '{"agencies":{"000.00.12.H12":{"dossiers":3}},"format":"thử"}'.encode()


def local(**options: object) -> LocalSigner:
    return LocalSigner.from_pkcs12(pki().pkcs12(pki().signer), TEST_PASSPHRASE, **options)


def openssl_accepts(signature: bytes, statement: bytes, tmp_path: Path) -> bool:
    """``openssl cms -verify`` of the detached signature over ``statement``, trusting the
    test root only."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: the independent check cannot run")
    (tmp_path / "statement.bin").write_bytes(statement)
    (tmp_path / "statement.p7s").write_bytes(signature)
    (tmp_path / "root.pem").write_bytes(pki().root.cert_pem)
    done = subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER",
         "-in", str(tmp_path / "statement.p7s"), "-content", str(tmp_path / "statement.bin"),
         "-CAfile", str(tmp_path / "root.pem"), "-purpose", "any", "-out", "/dev/null"],
        capture_output=True, text=True, check=False)
    return done.returncode == 0 and "Verification successful" in done.stderr


def signer_info(signature: bytes) -> cms.SignerInfo:
    [info] = cms.ContentInfo.load(signature)["content"]["signer_infos"]
    return info


def foreign(holder: Issued, data: bytes, signed_at: datetime) -> bytes:
    """A CMS made by pyHanko's own SimpleSigner, with none of LocalSigner's checks."""
    key = keys.PrivateKeyInfo.load(holder.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    store = SimpleCertificateStore.from_certs([pki().intermediate.asn1_cert,
                                               pki().root.asn1_cert])
    simple = signers.SimpleSigner(signing_cert=holder.asn1_cert, signing_key=key,
                                  cert_registry=store)
    return asyncio.run(sign(simple, data, signed_at=signed_at, timestamper=None))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_local_and_csc_signers_sign_statements() -> None:
    assert isinstance(local(), SignsStatements)
    assert issubclass(CscRemoteSigner, SignsStatements)


def test_a_statement_signature_is_a_detached_sha256_cms_with_the_chain() -> None:
    signature = local().sign_statement(STATEMENT)
    signed_data = cms.ContentInfo.load(signature)["content"]
    assert signed_data["encap_content_info"]["content_type"].native == "data"
    assert signed_data["encap_content_info"]["content"].native is None  # detached
    info = signer_info(signature)
    assert info["digest_algorithm"]["algorithm"].native == "sha256"
    attributes = {a["type"].native: a["values"][0] for a in info["signed_attrs"]}
    assert {"content_type", "signing_time", "message_digest"} <= set(attributes)
    assert attributes["message_digest"].native == hashlib.sha256(STATEMENT).digest()
    subjects = {c.chosen["tbs_certificate"]["subject"].native["common_name"]
                for c in signed_data["certificates"]}
    assert subjects == {"Nguyễn Văn Ký", "Dossier Test Issuing CA", "Dossier Test Root CA"}


def test_openssl_and_we_accept_a_statement_signature(tmp_path: Path) -> None:
    signature = local().sign_statement(STATEMENT)
    assert openssl_accepts(signature, STATEMENT, tmp_path)
    found = verify_statement(STATEMENT, signature, trust=[pki().root.cert])
    assert found.ok, found.problems
    assert (found.signer, found.organisation) == ("Nguyễn Văn Ký", "UBND xã Thử Nghiệm")
    assert found.chain_checked
    assert found.timestamped_at is None


def test_a_flipped_byte_in_the_statement_fails_openssl_and_us(tmp_path: Path) -> None:
    signature = local().sign_statement(STATEMENT)
    flipped = bytearray(STATEMENT)
    flipped[10] ^= 0x01
    assert not openssl_accepts(signature, bytes(flipped), tmp_path)
    found = verify_statement(bytes(flipped), signature, trust=[pki().root.cert])
    assert not found.ok
    assert "the statement was altered" in found.problems[0]


def test_without_trust_anchors_the_chain_is_said_not_checked() -> None:
    found = verify_statement(STATEMENT, local().sign_statement(STATEMENT))
    assert found.ok
    assert not found.chain_checked


def test_a_signature_whose_chain_ends_elsewhere_is_refused() -> None:
    found = verify_statement(STATEMENT, local().sign_statement(STATEMENT),
                             trust=[pki().remote_signer.cert])
    assert found.problems == ("the signer's certificate does not chain to any of the trust "
                              "anchors given",)


def test_the_signing_time_comes_from_the_signers_clock() -> None:
    clock = FrozenClock(pki().created_at - timedelta(days=2))
    found = verify_statement(STATEMENT, local(clock=clock).sign_statement(STATEMENT))
    assert found.signed_at == clock.now()


def test_a_certificate_expired_since_still_verifies_what_it_signed_while_valid() -> None:
    while_valid = pki().created_at - timedelta(days=600)
    signer = LocalSigner.from_pkcs12(pki().pkcs12(pki().expired_signer), TEST_PASSPHRASE,
                                     clock=FrozenClock(while_valid))
    found = verify_statement(STATEMENT, signer.sign_statement(STATEMENT),
                             trust=[pki().root.cert])
    assert found.ok, found.problems


def test_a_signature_made_outside_the_certificates_validity_is_refused() -> None:
    signature = foreign(pki().expired_signer, STATEMENT, pki().created_at)
    [problem] = verify_statement(STATEMENT, signature).problems
    assert "was not valid at the time of signing" in problem


def test_a_certificate_without_signing_key_usage_is_refused() -> None:
    signature = foreign(pki().no_usage_signer, STATEMENT, pki().created_at)
    [problem] = verify_statement(STATEMENT, signature).problems
    assert "neither digitalSignature nor nonRepudiation" in problem


@pytest.mark.parametrize("damage", [b"", b"not a CMS", "truncate", "trailing"])
def test_damaged_signatures_are_problems_not_crashes(damage: bytes | str) -> None:
    good = local().sign_statement(STATEMENT)
    signature = {"truncate": good[:-40], "trailing": good + b"\x00"}.get(damage, damage)
    found = verify_statement(STATEMENT, signature)  # type: ignore[arg-type]
    assert not found.ok
    assert found.signer == "?"


# --- RFC 3161 ------------------------------------------------------------------------------


def test_with_a_tsa_the_signature_value_is_timestamped_at_the_tsas_time(tmp_path: Path) -> None:
    tsa_time = pki().created_at + timedelta(hours=3, microseconds=250_000)
    with FakeTsaService(pki(), clock=FrozenClock(tsa_time)) as tsa:
        signature = local(tsa_url=tsa.tsa_url).sign_statement(STATEMENT)
    info = signer_info(signature)
    [token] = [a["values"][0] for a in info["unsigned_attrs"]
               if a["type"].native == "signature_time_stamp_token"]
    tst_info = token["content"]["encap_content_info"]["content"].parsed
    imprint = tst_info["message_imprint"]
    # the token stamps this signature value: checked here without our verifier
    assert imprint["hashed_message"].native == hashlib.new(
        imprint["hash_algorithm"]["algorithm"].native, info["signature"].native).digest()
    found = verify_statement(STATEMENT, signature, trust=[pki().root.cert])
    assert found.ok, found.problems
    assert found.timestamped_at == tsa_time == tst_info["gen_time"].native
    assert found.timestamp_authority == "Dossier Test TSA"
    assert openssl_accepts(signature, STATEMENT, tmp_path)


def test_a_token_moved_from_another_signature_is_refused() -> None:
    with FakeTsaService(pki()) as tsa:
        stamped = local(tsa_url=tsa.tsa_url).sign_statement(STATEMENT)
        other = local(tsa_url=tsa.tsa_url).sign_statement(STATEMENT + b" ")
    # graft the other statement's token onto this signature: its imprint is of another value
    info = cms.ContentInfo.load(stamped)
    info["content"]["signer_infos"][0]["unsigned_attrs"] = \
        signer_info(other)["unsigned_attrs"].copy()
    found = verify_statement(STATEMENT, info.dump(force=True))
    assert found.problems == ("the timestamp token's message imprint is not the digest of "
                              "this signature value: it stamps another signature",)


def test_a_tsa_that_is_down_is_a_remote_signing_error() -> None:
    signer = local(tsa_url=f"http://127.0.0.1:{closed_port()}/", tsa_timeout=2)
    with pytest.raises(RemoteSigningError, match="time-stamping authority did not answer"):
        signer.sign_statement(STATEMENT)


def test_an_expired_signer_refuses_to_sign_a_statement() -> None:
    clock = FrozenClock(pki().created_at - timedelta(days=600))
    signer = LocalSigner.from_pkcs12(pki().pkcs12(pki().expired_signer), TEST_PASSPHRASE,
                                     clock=clock)
    clock.set(pki().created_at)
    with pytest.raises(SignerCredentialError, match="expired"):
        signer.sign_statement(STATEMENT)


# --- the CSC signer --------------------------------------------------------------------------


def test_a_csc_signer_signs_statements_through_sign_hash(tmp_path: Path) -> None:
    with FakeCscService(pki(), scal=2) as csc:
        signer = CscRemoteSigner(csc.url, token=csc.token, pin=csc.pin, deferred=True)
        signature = signer.sign_statement(STATEMENT)
    found = verify_statement(STATEMENT, signature, trust=[pki().root.cert])
    assert found.ok, found.problems
    assert found.signer == "Trần Thị Duyệt"
    assert openssl_accepts(signature, STATEMENT, tmp_path)


def test_a_csc_service_answering_garbage_gives_no_signature() -> None:
    with FakeCscService(pki()) as csc:
        csc.fault = "garbage"
        signer = CscRemoteSigner(csc.url, token=csc.token, pin=csc.pin)
        with pytest.raises(RemoteSigningError, match="does not check out"):
            signer.sign_statement(STATEMENT)
