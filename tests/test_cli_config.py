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
