"""The README's code blocks run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _block(marker: str) -> str:
    match = re.search(rf"<!-- {marker}:.*?-->\n```python\n(.*?)```", README, re.S)
    assert match, f"README has no python block marked {marker}"
    return match.group(1)


def test_quickstart_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = _block("quickstart")
    assert len(code.strip().splitlines()) <= 15
    exec(compile(code, "README.md quickstart", "exec"), {})
    assert (tmp_path / "dossiers.db").exists()


def test_agency_test_example_passes() -> None:
    namespace: dict[str, object] = {}
    exec(compile(_block("agency-test"), "README.md agency test", "exec"), namespace)
    test = namespace["test_certified_copy_is_returned_after_payment"]
    assert callable(test)
    test()


def test_deadlines_example_runs_as_written() -> None:
    exec(compile(_block("deadlines"), "README.md deadlines", "exec"), {})


def test_outbox_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(_block("outbox"), "README.md outbox", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1:] for line in lines[:2]] == [
        ["dossier.submit", "awaiting_reception"], ["dossier.receive", "digitising"]]
    assert lines[2] == "2 delivered, 0 failed, 0 dead, 0 pruned"


def test_quality_example_runs_as_written() -> None:
    namespace: dict[str, object] = {}
    exec(compile(_block("quality"), "README.md quality", "exec"), namespace)
    assert "<svg" in str(namespace["page"])
    assert "Tỷ lệ hài lòng" in str(namespace["table"])


def test_deployment_file_checks_as_written(tmp_path: Path) -> None:
    from dossier.config import load_deployment
    from dossier.signing.testpki import TEST_PASSPHRASE, shared_test_pki
    from dossier.sinks.webhook import generate_secret

    match = re.search(r"<!-- deployment:.*?-->\n```toml\n(.*?)```", README, re.S)
    assert match, "README has no toml block marked deployment"
    pki = shared_test_pki()
    (tmp_path / "leader.p12").write_bytes(pki.pkcs12(pki.signer))
    path = tmp_path / "dossier.toml"
    path.write_text(match.group(1), encoding="utf-8")
    deployment = load_deployment(path, environ={
        "DOSSIER_AUDIT_KEY": "k" * 40, "VNPAY_HASH_SECRET": "s" * 32,
        "LEADER_P12_PASSPHRASE": TEST_PASSPHRASE.decode(),
        "PARTNER_WEBHOOK_SECRET": generate_secret()})
    assert deployment.default_signers == {"000.00.12.H12": "leader"}
    assert deployment.gateways.agencies_of("vnpay") == {"000.00.12.H12"}
    assert deployment.worker.metrics_port == 9464


def test_finding_work_example_runs_as_written() -> None:
    exec(compile(_block("finding"), "README.md finding work", "exec"), {})
