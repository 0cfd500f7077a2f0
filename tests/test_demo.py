"""`dossier demo` runs end to end, writes only inside --out, and can run again."""

from __future__ import annotations

import contextlib
import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from dossier.cli import main
from dossier.signing import verify


@dataclass(frozen=True)
class DemoRun:
    root: Path
    out: Path
    printed: str
    errors: str


def _run(root: Path) -> DemoRun:
    out = root / "demo"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        assert main(["demo", "--out", str(out)]) == 0
    return DemoRun(root=root, out=out, printed=stdout.getvalue(), errors=stderr.getvalue())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """One demo run shared by the tests of this module (it signs a dozen PDFs)."""
    return _run(tmp_path_factory.mktemp("demo"))


def test_demo_returns_dossiers_and_writes_inside_out(demo: DemoRun) -> None:
    assert "-> returned" in demo.printed
    assert "audit chains intact: 14/14" in demo.printed
    assert (demo.out / "dossier.db").exists()
    sheets = sorted((demo.out / "bieu-mau").glob("*-form-06.html"))
    assert len(sheets) == 14
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in sheets[0].read_text(encoding="utf-8")
    assert {p.name for p in demo.root.iterdir()} == {"demo"}
    assert demo.errors == ""


def test_demo_issues_every_form_and_writes_them_under_bieu_mau(demo: DemoRun) -> None:
    folder = demo.out / "bieu-mau"
    assert "form-01 × 13, form-02 × 2, form-03 × 2, form-04 × 1, form-05 × 1" in demo.printed
    for kind in ("form-01", "form-02", "form-03", "form-04", "form-05"):
        assert list(folder.glob(f"*-{kind}-so-*.pdf")), kind
    assert len(list(folder.glob("*-form-06.pdf"))) == 14
    assert len(list(folder.glob("so-theo-doi-*-form-07.pdf"))) == 2
    assert len(list(folder.glob("so-theo-doi-*-form-07.csv"))) == 2
    [stop] = folder.glob("*-form-05-so-*.pdf")
    text = subprocess.run(["pdftotext", str(stop), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ" in text
    assert "Ký bởi: Nguyễn Văn Ký" in text            # the commune's seal
    assert "leader-xa" not in text
    receipts = list((demo.out / "bien-lai").glob("*.pdf"))
    assert len(receipts) == 11
    for path in (stop, *receipts):
        assert "001090012345" not in subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_demo_rerun_starts_fresh(demo: DemoRun, tmp_path: Path) -> None:
    again = _run(demo.root)
    assert again.printed == demo.printed
    assert len(list((again.out / "ky-so").glob("*.pdf"))) == 10


def test_demo_never_prints_citizen_id_numbers(demo: DemoRun) -> None:
    assert "001090012345" not in demo.printed + demo.errors


def test_demo_shows_deadlines_timers_and_an_apology_letter(demo: DemoRun) -> None:
    printed, out = demo.printed, demo.out
    assert "hẹn trả 11:16 15/07/2025" in printed          # 10 working days from reception
    assert "worker sweep: 1 sla_warning" in printed
    assert "worker sweep: 1 overdue" in printed
    assert "worker sweep: 1 supplement_expired" in printed
    assert "xin lỗi, hẹn lại 16:00 21/07/2025" in printed
    assert "returned on time: 8/10 (80%)" in printed
    [letter] = (out / "bieu-mau").glob("*-form-04-so-*.pdf")
    text = " ".join(subprocess.run(["pdftotext", str(letter), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text   # Thông tư 01/2018, July
    assert "16 giờ 00 phút, ngày 21 tháng 7 năm 2025" in text
    assert len(list((out / "bieu-mau").glob("*-form-01-so-*.pdf"))) == 13
    code = letter.name[:len("000.00.05.H12-250702-0002")]
    sheet = (out / "bieu-mau" / f"{code}-form-06.html").read_text(encoding="utf-8")
    assert "Quá hạn" in sheet


def test_demo_pays_online_and_at_the_counter(demo: DemoRun) -> None:
    printed = demo.printed
    assert "pay (vnpay)" in printed
    assert "pay (tiền mặt)" in printed
    assert '"RspCode":"02"' in printed      # the replayed callback changed nothing
    assert '"RspCode":"97"' in printed      # the forged one neither
    assert "paid through MoMo before reception" in printed
    assert "online payment rate: 3/11 paid dossiers (27%)" in printed
    assert "callbacks kept for review: 1" in printed


def test_demo_signs_every_result_and_certifies_copies(demo: DemoRun) -> None:
    printed, folder = demo.printed, demo.out / "ky-so"
    for signer in ("local", "csc", "phone"):
        assert f"sign ({signer})" in printed
    assert "rejected on the phone, asked again" in printed
    assert "certify (số 1)" in printed
    assert "5 results, 5 certified copies" in printed
    # the demo's PKI is its own: trust the root it writes next to the PDFs
    trust = (folder / "test-root.pem").read_bytes()
    pdfs = sorted(folder.glob("*.pdf"))
    assert len(pdfs) == 10
    for pdf in pdfs:
        [report] = verify(pdf.read_bytes(), [trust])
        assert report.ok, (pdf.name, report.reasons)
        assert report.subfilter == "ETSI.CAdES.detached"
    copy = next(p for p in pdfs if "ban-sao" in p.name)
    text = subprocess.run(["pdftotext", str(copy), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Chứng thực bản sao đúng với bản chính" in text


def test_demo_keys_the_ledger_signs_a_checkpoint_and_catches_an_edited_row(demo: DemoRun) -> None:
    import json

    printed = demo.printed
    assert "checkpoint: 14 dossiers in 2 agencies" in printed
    assert "verified: intact" in printed
    assert "signed (detached CMS) by Nguyễn Văn Ký (UBND xã Thử Nghiệm); chain checked" \
        in printed
    assert "verify_audit names the field (paid_amount)" in printed
    statement = json.loads((demo.out / "checkpoint.json").read_text(encoding="utf-8"))
    assert statement["format"] == "dossier-checkpoint/2"
    assert len(statement["mac"]) == 64
    assert len(statement["key_id"]) == 16
    assert statement["cms"]
    assert not list(demo.out.glob("tamper-copy*"))


def test_demo_runs_from_its_own_config_and_delivers_its_events(demo: DemoRun) -> None:
    import re

    from dossier.config import load_deployment

    printed = demo.printed
    config = demo.out / "dossier.toml"
    assert f"config: {config}" in printed
    deployment = load_deployment(config, environ={"DOSSIER_AUDIT_KEY": "k" * 32,
                                                  "DEMO_WEBHOOK_SECRET": "whsec_" + "A" * 32,
                                                  "DEMO_SEAL_PASSPHRASE": "mat-khau-thu"})
    assert set(deployment.sinks) == {"partner", "citizens"}
    sent = re.search(r"webhook \(sink partner, on 127.0.0.1\): (\d+) messages, (\d+) with a "
                     r"valid Standard Webhooks signature; .*submit 14", printed)
    assert sent is not None
    assert sent.group(1) == sent.group(2)
    assert "e-mails to applicants" in printed
    assert "13 × Hồ sơ … đã được tiếp nhận" in printed
    assert "Xin lỗi và hẹn lại ngày trả kết quả hồ sơ …" in printed


def test_demo_shows_work_queues_with_an_assignment(demo: DemoRun) -> None:
    printed = demo.printed
    assert "assign              leader-tinh giao cho specialist-tinh" in printed
    clerk = printed.index("work queue of clerk-tinh (clerk): 1")
    officer = printed.index("work queue of specialist-tinh (specialist): 1", clerk)
    assert "awaiting_reception   chưa tiếp nhận" in printed[clerk:officer]
    assert "* 000.00.05.H12-" in printed[officer:officer + 200]
