"""`dossier demo` runs end to end, writes only inside --out, and can run again."""

from __future__ import annotations

import contextlib
import io
import re
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
                                                  "DEMO_SEAL_PASSPHRASE": "mat-khau-thu",
                                                  "DOSSIER_APPLICANT_KEY": "a" * 32,
                                                  "DEMO_CLERK_TOKEN": "c" * 64,
                                                  "DEMO_LEADER_TOKEN": "l" * 64,
                                                  "DEMO_CSRF_SECRET": "s" * 64})
    assert set(deployment.sinks) == {"partner", "citizens"}
    assert {a.id for a in deployment.web_tokens.values()} == {"clerk-xa", "leader-tinh"}
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


def test_demo_ends_with_ratings_the_quality_table_and_report_html(demo: DemoRun) -> None:
    printed = demo.printed
    quality = printed[printed.index("== service quality"):]
    assert "rate                Rất hài lòng (cd-0001)" in quality
    assert "rate                Không hài lòng (cd-0001)" in quality   # the late one
    assert "rate                Hài lòng (clerk-xa)" in quality        # at the counter
    assert "Chỉ số chất lượng phục vụ (QĐ 766/QĐ-TTg) — mọi cơ quan, 30/06/2025–05/08/2025" \
        in quality
    assert re.search(r"Tỷ lệ xử lý trước hạn, đúng hạn\s+8\s+10\s+80,0%", quality)
    assert re.search(r"Tỷ lệ hài lòng trong tiếp nhận, giải quyết\s+9\s+10\s+90,0%", quality)
    # 9 of the 13 came on paper, 5 of them digitised: the 4 chứng thực at the counter and the
    # building permit, which also reuses an earlier dossier's certified copy (the one reuse)
    assert "attach giay_to_dat, reused: the certified copy of 000.00.12.H12-250701-0001" \
        in printed
    assert re.search(r"Hồ sơ có thành phần được số hóa\s+5\s+9\s+55,6%", quality)
    assert re.search(r"Tái sử dụng dữ liệu số hóa\s+1\s+13\s+7,7%", quality)
    assert "Tổng điểm (ước tính)" in quality
    page = (demo.out / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 3
    assert f"report: {demo.out / 'report.html'}" in printed


def _demo_env(out: Path) -> dict[str, str]:
    """What ``set -a; . demo.env`` puts in the environment."""
    lines = (out / "demo.env").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.mark.slow
def test_dossier_serve_on_the_demo_s_output_looks_up_its_dossiers(demo: DemoRun) -> None:
    import json
    import os
    import re
    import sys
    import urllib.error
    import urllib.request

    pytest.importorskip("uvicorn", reason="dossier serve needs the web extra")
    hint = f"set -a; . {demo.out}/demo.env; set +a; dossier serve --config {demo.out}/dossier.toml"
    assert hint in demo.printed
    code = re.search(r"000\.00\.12\.H12-\d{6}-\d{4}", demo.printed)
    assert code is not None
    env = {**os.environ, **_demo_env(demo.out)}
    server = subprocess.Popen(
        [sys.executable, "-m", "dossier", "serve", "--config", str(demo.out / "dossier.toml"),
         "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log: list[str] = []
    try:
        assert server.stderr is not None
        for line in server.stderr:
            log.append(line)
            started = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            if started:
                base = started.group(1)
                break
        else:
            pytest.fail("dossier serve did not start:\n" + "".join(log))
        with urllib.request.urlopen(
                f"{base}/tra-cuu?code={code.group(0)}&id_number=001090012345",
                timeout=10) as page:
            text = page.read().decode()
            assert page.status == 200
        assert f"Hồ sơ {code.group(0)}" in text
        assert "Đã trả kết quả" in text
        request = urllib.request.Request(f"{base}/api/v1/dossiers?limit=2", headers={
            "Authorization": f"Bearer {env['DEMO_CLERK_TOKEN']}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            listed = json.loads(answer.read())
        assert listed["items"][0]["agency"] == "000.00.12.H12"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/api/v1/dossiers", timeout=10)
        assert refused.value.code == 401
        refused.value.close()
    finally:
        server.terminate()
        out, rest = server.communicate(timeout=20)
    access = "".join(log) + rest + out
    assert "GET /tra-cuu HTTP/1.1" in access       # the access log has the path…
    assert "001090012345" not in access            # …never the query string's ID number
