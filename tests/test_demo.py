"""`dossier demo` runs end to end, writes only inside --out, and can run again."""

from __future__ import annotations

from pathlib import Path

import pytest

from dossier.cli import main


def test_demo_returns_dossiers_and_writes_inside_out(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "-> returned" in printed
    assert "audit chains intact: 9/9" in printed
    assert (out / "dossier.db").exists()
    sheets = sorted((out / "phieu-kiem-soat").glob("*.html"))
    assert len(sheets) == 9
    assert "Phiếu kiểm soát quá trình giải quyết hồ sơ" in sheets[0].read_text(encoding="utf-8")
    assert {p.name for p in tmp_path.iterdir()} == {"demo"}


def test_demo_rerun_starts_fresh(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    first = capsys.readouterr().out
    assert main(["demo", "--out", str(out)]) == 0
    assert capsys.readouterr().out == first


def test_demo_never_prints_citizen_id_numbers(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path / "d")]) == 0
    assert "001090012345" not in capsys.readouterr().out
