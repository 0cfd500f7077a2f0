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
    assert "audit chains intact: 13/13" in printed
    assert (out / "dossier.db").exists()
    sheets = sorted((out / "phieu-kiem-soat").glob("*.html"))
    assert len(sheets) == 13
    assert "Phiếu kiểm soát quá trình giải quyết hồ sơ" in sheets[0].read_text(encoding="utf-8")


def test_demo_shows_deadlines_timers_and_an_apology_letter(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "hẹn trả 11:16 15/07/2025" in printed          # 10 working days from reception
    assert "worker sweep: 1 sla_warning" in printed
    assert "worker sweep: 1 overdue" in printed
    assert "worker sweep: 1 supplement_expired" in printed
    assert "xin lỗi, hẹn lại 16:00 21/07/2025" in printed
    assert "returned on time: 8/10 (80%)" in printed
    [letter] = (out / "phieu-xin-loi").glob("*.html")
    text = letter.read_text(encoding="utf-8")
    assert "Phiếu xin lỗi và hẹn lại ngày trả kết quả" in text
    assert "16:00 21/07/2025" in text
    receipts = list((out / "giay-tiep-nhan").glob("*.html"))
    assert len(receipts) == 12                            # every received dossier
    sheet = (out / "phieu-kiem-soat" / letter.name).read_text(encoding="utf-8")
    assert "Quá hạn" in sheet
    assert "hẹn lại: 16:00 21/07/2025" in sheet
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


def test_demo_pays_online_and_at_the_counter(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path / "d")]) == 0
    printed = capsys.readouterr()
    assert "pay (vnpay)" in printed.out
    assert "pay (tiền mặt)" in printed.out
    assert '"RspCode":"02"' in printed.out      # the replayed callback changed nothing
    assert '"RspCode":"97"' in printed.out      # the forged one neither
    assert "paid through MoMo before reception" in printed.out
    assert "online payment rate: 3/11 paid dossiers (27%)" in printed.out
    assert "callbacks kept for review: 1" in printed.out
    assert printed.err == ""
