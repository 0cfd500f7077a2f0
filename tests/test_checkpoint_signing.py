"""Signed checkpoints: the agency's signer's detached CMS over the canonical statement (with an
RFC 3161 token when a TSA is configured), beside or instead of the audit key's MAC."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import make_procedure
from signing_support import pki

from dossier import Actor, AuditError, Engine, InvalidInput, SigningError
from dossier.audit import AuditKeys
from dossier.cli import main
from dossier.engine.checkpoints import FORMAT_1, canonical
from dossier.signing import LocalSigner
from dossier.signing.fakes import FakeTsaService
from dossier.signing.testpki import TEST_PASSPHRASE
from dossier.testing import FrozenClock

CODE = "9.900032"
KEY = "k" * 40
PROCEDURE = make_procedure(CODE, ["receive", "process", "return"])


def local(**options: Any) -> LocalSigner:
    return LocalSigner.from_pkcs12(pki().pkcs12(pki().signer), TEST_PASSPHRASE, **options)


def ledger(engine: Engine, clerk: Actor, dossiers: int = 2) -> Engine:
    engine.register(PROCEDURE)
    for _ in range(dossiers):
        d = engine.submit(CODE, applicant={"name": "Lý Thị H"}, channel="counter", actor=clerk)
        engine.fire(d.code, "receive", actor=clerk)
    return engine


@pytest.fixture
def keyed(clock: FrozenClock, clerk: Actor) -> Iterator[Engine]:
    engine = ledger(Engine.in_memory(clock=clock, audit_key=KEY), clerk)
    yield engine
    engine.close()


@pytest.fixture
def keyless(clock: FrozenClock, clerk: Actor, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.delenv("DOSSIER_AUDIT_KEY", raising=False)
    engine = ledger(Engine.in_memory(clock=clock), clerk)
    yield engine
    engine.close()


def openssl_verify(statement: dict[str, Any], tmp_path: Path) -> bool:
    """OpenSSL's verdict on the checkpoint's CMS over its canonical bytes, trusting the root."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: the independent check cannot run")
    (tmp_path / "statement.bin").write_bytes(canonical(statement))
    (tmp_path / "checkpoint.p7s").write_bytes(base64.b64decode(statement["cms"]))
    (tmp_path / "root.pem").write_bytes(pki().root.cert_pem)
    done = subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER",
         "-in", str(tmp_path / "checkpoint.p7s"), "-content", str(tmp_path / "statement.bin"),
         "-CAfile", str(tmp_path / "root.pem"), "-purpose", "any", "-out", "/dev/null"],
        capture_output=True, text=True, check=False)
    return done.returncode == 0


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_signed_checkpoint_carries_the_mac_and_the_cms_and_names_its_signer(
        keyed: Engine, tmp_path: Path) -> None:
    statement = keyed.audit_checkpoint(signer=local())
    assert statement["format"] == "dossier-checkpoint/2"
    assert {"mac", "key_id", "cms"} <= set(statement)
    report = keyed.verify_checkpoint(statement, trust=[pki().root.cert])
    assert report.ok
    assert report.mac_checked
    assert report.signature is not None
    assert (report.signature.signer, report.signature.organisation) == (
        "Nguyễn Văn Ký", "UBND xã Thử Nghiệm")
    assert report.signature.chain_checked
    assert openssl_verify(statement, tmp_path)


def test_the_mac_and_the_cms_are_over_the_same_canonical_bytes(keyed: Engine) -> None:
    statement = keyed.audit_checkpoint(signer=local())
    body = json.dumps({k: v for k, v in statement.items() if k not in ("mac", "cms")},
                      ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    assert canonical(statement) == body
    assert statement["mac"] == hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest()


def test_a_flipped_byte_in_the_statement_fails_openssl_and_us(
        keyless: Engine, tmp_path: Path) -> None:
    statement = keyless.audit_checkpoint(signer=local())
    [agency] = statement["agencies"].values()
    root = agency["merkle_root"]
    agency["merkle_root"] = ("0" if root[0] != "0" else "1") + root[1:]
    assert not openssl_verify(statement, tmp_path)
    with pytest.raises(AuditError, match=r"CMS signature does not check out: the message "
                                         r"digest .* the statement was altered"):
        keyless.verify_checkpoint(statement, trust=[pki().root.cert])


def test_without_an_audit_key_a_signed_checkpoint_needs_the_trust_anchors(
        keyless: Engine) -> None:
    statement = keyless.audit_checkpoint(signer=local())
    assert "mac" not in statement
    assert "key_id" not in statement
    report = keyless.verify_checkpoint(statement, trust=[pki().root.cert])
    assert report.ok
    assert not report.mac_checked
    # a certificate with the agency's name can be made by anyone: unanchored, it proves nothing
    with pytest.raises(AuditError, match=r"nothing authenticates .*give the trust anchors"):
        keyless.verify_checkpoint(statement)


def test_with_the_key_and_no_trust_the_signer_is_reported_chain_unchecked(
        keyed: Engine) -> None:
    report = keyed.verify_checkpoint(keyed.audit_checkpoint(signer=local()))
    assert report.ok
    assert report.mac_checked
    assert report.signature is not None
    assert not report.signature.chain_checked


def test_trust_anchors_require_a_signature(keyed: Engine) -> None:
    with pytest.raises(AuditError, match="not signed"):
        keyed.verify_checkpoint(keyed.audit_checkpoint(), trust=[pki().root.cert])


def test_a_signature_chaining_elsewhere_is_refused(keyed: Engine) -> None:
    statement = keyed.audit_checkpoint(signer=local())
    with pytest.raises(AuditError, match="does not chain to any of the trust anchors"):
        keyed.verify_checkpoint(statement, trust=[pki().remote_signer.cert])


@pytest.mark.parametrize("cms", ["not base64!", base64.b64encode(b"not a CMS").decode()])
def test_a_damaged_cms_is_refused(keyed: Engine, cms: str) -> None:
    statement = keyed.audit_checkpoint(signer=local())
    statement["cms"] = cms
    with pytest.raises(AuditError, match=r"not base64|cannot be read"):
        keyed.verify_checkpoint(statement)


def test_a_timestamped_checkpoint_reports_the_tsas_time(keyless: Engine) -> None:
    tsa_time = pki().created_at + timedelta(minutes=5)
    with FakeTsaService(pki(), clock=FrozenClock(tsa_time)) as tsa:
        statement = keyless.audit_checkpoint(signer=local(tsa_url=tsa.tsa_url))
    report = keyless.verify_checkpoint(statement, trust=[pki().root.cert])
    assert report.signature is not None
    assert report.signature.timestamped_at == tsa_time
    assert report.signature.timestamp_authority == "Dossier Test TSA"


def test_a_tsa_that_is_down_gives_no_checkpoint(keyed: Engine) -> None:
    signer = local(tsa_url=f"http://127.0.0.1:{closed_port()}/", tsa_timeout=2)
    with pytest.raises(SigningError, match="time-stamping authority did not answer"):
        keyed.audit_checkpoint(signer=signer)


class GarbageSigner:
    def sign_statement(self, data: bytes) -> bytes:
        return b"\x30\x03\x02\x01\x00"


def test_a_signer_whose_cms_does_not_verify_gives_no_checkpoint(keyed: Engine) -> None:
    with pytest.raises(SigningError, match="does not check out"):
        keyed.audit_checkpoint(signer=GarbageSigner())


def test_a_signer_must_sign_statements(keyed: Engine) -> None:
    with pytest.raises(InvalidInput, match="SignsStatements"):
        keyed.audit_checkpoint(signer=object())  # type: ignore[arg-type]


def test_a_first_format_checkpoint_still_verifies(keyed: Engine) -> None:
    statement = keyed.audit_checkpoint()
    del statement["mac"]
    statement["format"] = FORMAT_1
    body = canonical(statement)
    statement["mac"] = hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest()
    assert json.loads(body)["key_id"] == AuditKeys.of(KEY).current.id  # type: ignore[union-attr]
    report = keyed.verify_checkpoint(statement)
    assert report.ok
    assert report.mac_checked
    assert report.signature is None


# --- the commands ----------------------------------------------------------------------------


@pytest.fixture
def p12(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "agency.p12"
    path.write_bytes(pki().pkcs12(pki().signer))
    monkeypatch.setenv("AGENCY_P12_PASSPHRASE", TEST_PASSPHRASE.decode())
    return path


@pytest.fixture
def database(sqlite_url: str, clock: FrozenClock, clerk: Actor,
             monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("DOSSIER_AUDIT_KEY", raising=False)
    ledger(Engine(sqlite_url, clock=clock), clerk).close()
    return sqlite_url


def test_the_commands_sign_with_a_p12_and_a_tsa_and_verify_against_a_root(
        database: str, p12: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, root = tmp_path / "checkpoint.json", tmp_path / "root.pem"
    root.write_bytes(pki().root.cert_pem)
    with FakeTsaService(pki()) as tsa:
        assert main(["audit", "checkpoint", "--database", database, "--out", str(out),
                     "--sign-p12", str(p12), "--sign-passphrase-env", "AGENCY_P12_PASSPHRASE",
                     "--tsa-url", tsa.tsa_url]) == 0
    assert "with a CMS signature" in capsys.readouterr().out
    assert main(["verify-audit", "--database", database, "--checkpoint", str(out),
                 "--trust", str(root)]) == 0
    printed = capsys.readouterr().out
    assert "signer Nguyễn Văn Ký (UBND xã Thử Nghiệm)" in printed
    assert "chain checked up to a --trust certificate" in printed
    assert "RFC 3161 timestamp" in printed
    assert "by Dossier Test TSA" in printed
    assert "every dossier of it is intact" in printed


def test_the_command_writes_no_file_when_the_tsa_is_down(
        database: str, p12: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "checkpoint.json"
    assert main(["audit", "checkpoint", "--database", database, "--out", str(out),
                 "--sign-p12", str(p12), "--sign-passphrase-env", "AGENCY_P12_PASSPHRASE",
                 "--tsa-url", f"http://127.0.0.1:{closed_port()}/"]) == 1
    assert "time-stamping authority did not answer" in capsys.readouterr().err
    assert not out.exists()


def test_the_passphrase_comes_only_from_the_named_environment_variable(
        database: str, p12: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "checkpoint.json"
    assert main(["audit", "checkpoint", "--database", database, "--out", str(out),
                 "--sign-p12", str(p12), "--sign-passphrase-env", "NOT_SET_ANYWHERE"]) == 1
    assert "NOT_SET_ANYWHERE, which is not set" in capsys.readouterr().err
    assert not out.exists()
