"""The command line with a deployment file, and database URLs that don't surprise."""

from __future__ import annotations

from pathlib import Path

import pytest

from dossier.cli import main

SAMPLES = Path(__file__).parents[1] / "samples"


def config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "dossier.toml"
    path.write_text(f'''database = "sqlite:///state/dossier.db"
audit_key = {{ env = "TEST_AUDIT_KEY" }}
procedures = ["{SAMPLES}/*.toml"]

[[agencies]]
code = "000.00.12.H12"
name = "Ủy ban nhân dân xã Thử Nghiệm"
short_name = "UBND xã Thử Nghim"
{extra}''', encoding="utf-8")
    (tmp_path / "state").mkdir(exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_AUDIT_KEY", "a-province-audit-key-0123456789abcdef")
    monkeypatch.delenv("DOSSIER_CONFIG", raising=False)
    monkeypatch.delenv("DOSSIER_DATABASE_URL", raising=False)


def test_check_config_describes_the_deployment(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path)
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}: ok" in out
    assert "000.00.12.H12  UBND xã Thử Nghim" in out
    assert "gateways   -" in out
    assert "audit key  set" in out
    assert not (tmp_path / "state" / "dossier.db").exists()  # checking opens no database


def test_check_config_lists_every_problem(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path, '[gateways.vnpay]\nkind = "vnpay"\ntmn_code = "X"\n'
                            'secret = "inline-secret-value"\n[worker]\nsweep = 3\n')
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[1:] == [f"{path}: worker.sweep: unknown key (check its spelling)"]
    path = config(tmp_path, '[gateways.vnpay]\nkind = "vnpay"\ntmn_code = "X"\n'
                            'secret = "inline-secret-value"\n')
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err
    assert "gateways.vnpay.secret: secrets come from the environment" in err
    assert "inline-secret-value" not in err


def test_the_environment_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DOSSIER_CONFIG", str(config(tmp_path)))
    assert main(["check-config"]) == 0
    assert main(["validate"]) == 0  # the configuration's procedures
    assert "ok (" in capsys.readouterr().out


def test_commands_use_the_configured_database(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path)
    assert main(["db", "upgrade", "--config", str(path)]) == 0
    assert (tmp_path / "state" / "dossier.db").exists()
    assert main(["verify-audit", "--config", str(path)]) == 0
    assert "0 intact, 0 broken" in capsys.readouterr().out


def test_read_only_commands_create_nothing(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "dosier.db"
    for command in (["verify-audit"], ["audit", "checkpoint", "--out", "-"]):
        assert main([*command, "--database", f"sqlite:///{missing}"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"dossier: error: no database at {missing} (nothing was created); "
                       "check --database, or create one with `dossier db upgrade`"]
        assert not missing.exists()


def test_a_missing_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/no/such/folder/dossier.db"
    assert main(["db", "upgrade", "--database", url]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"dossier: error: cannot open database {tmp_path}/no/such/folder/dossier.db: "
                   f"folder {tmp_path}/no/such/folder does not exist"]


def test_checkpoints_signed_and_checked_through_the_configuration(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    from dossier.signing.testpki import TEST_PASSPHRASE, shared_test_pki

    pki = shared_test_pki()
    (tmp_path / "leader.p12").write_bytes(pki.pkcs12(pki.signer))
    (tmp_path / "root.pem").write_bytes(pki.root.cert.public_bytes(Encoding.PEM))
    monkeypatch.setenv("LEADER_PASS", TEST_PASSPHRASE.decode())
    path = config(tmp_path, '''signer = "leader"

[signers.leader]
kind = "local"
p12_file = "leader.p12"
passphrase = { env = "LEADER_PASS" }

[checkpoints]
signer = "leader"
trust_files = ["root.pem"]
''')
    assert main(["db", "upgrade", "--config", str(path)]) == 0
    out = tmp_path / "checkpoint.json"
    assert main(["audit", "checkpoint", "--config", str(path), "--out", str(out)]) == 0
    assert '"cms"' in out.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["verify-audit", "--config", str(path), "--checkpoint", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "signer" in printed
    assert "every dossier of it is intact" in printed


def test_a_checkpoint_signer_must_sign_at_once(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path, '''
[checkpoints]
signer = "nobody"
''')
    assert main(["check-config", str(path)]) == 1
    assert "checkpoints.signer: no [signers.nobody] in this file" in capsys.readouterr().err


def test_the_worker_delivers_through_the_configured_sinks(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """dossier.toml names a webhook and a mail notifier; `worker --once` runs every job and
    the receivers get the events (the webhook's signature checks with the reference library)."""
    from standardwebhooks import Webhook

    from dossier.actors import Actor
    from dossier.engine import Engine
    from dossier.sinks.fakes import FakeSmtpServer, LoopbackReceiver
    from dossier.sinks.webhook import generate_secret
    from tests.conftest import make_procedure

    secret = generate_secret()
    monkeypatch.setenv("PARTNER_SECRET", secret)
    with LoopbackReceiver() as hook, FakeSmtpServer() as smtp:
        path = config(tmp_path, f'''
[sinks.partner]
kind = "webhook"
url = "{hook.url}"
secret = {{ env = "PARTNER_SECRET" }}

[notifiers.mail]
kind = "smtp"
host = "127.0.0.1"
port = {smtp.port}
sender = "motcua@xa.example.vn"

[sinks.citizens]
kind = "notify"
notifier = "mail"
''')
        engine = Engine.from_config(path)
        try:
            engine.register(make_procedure("9.000003", ["receive", "process", "return"]))
            clerk = Actor(id="nv01", role="clerk", agency="000.00.12.H12")
            code = engine.submit("9.000003", channel="counter", actor=clerk,
                                 applicant={"name": "Trần Thị B", "email": "b@example.vn",
                                            "id_number": "001090012345"}).code
            engine.fire(code, "receive", actor=clerk)
        finally:
            engine.close()
        capsys.readouterr()
        assert main(["worker", "--config", str(path), "--once"]) == 0
        printed = capsys.readouterr().out
        assert "outbox: 3 delivered, 0 failed, 0 dead" in printed  # 2 webhook, 1 mail
        types = [r.json()["type"] for r in hook.requests]
        assert types == ["dossier.submit", "dossier.receive"]
        for request in hook.requests:
            Webhook(secret).verify(request.body, dict(request.headers))
            assert b"001090012345" not in request.body
        (mail,) = smtp.messages
        assert mail["To"] == "b@example.vn"
        assert code in mail.get_content()
