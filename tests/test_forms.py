"""The one-stop-shop forms: issued by the kernel with the events that call for them, in the
circular in force that day, with the official wording, names for people and agencies, and
never an account id or an identity number."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from forms_support import AFTER, APPLICANT, BEFORE, COMMUNE, every_form, text_of, world
from signing_support import assert_signed_ok, nss_db, pki

from dossier import Actor
from dossier.errors import InvalidInput
from dossier.forms import FormSettings

__all__ = ["nss_db"]  # the pdfsig fixture, shared with the signing tests
HEADER = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
EXPECTED = {
    # kind → (title, wording the form must carry)
    "03/2025": {
        "form-01": ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
                    ["Tiếp nhận hồ sơ của: Lê Thị Hồng Nhung", "Thành phần hồ sơ nộp gồm",
                     "Bản chính giấy tờ", "Thời gian trả kết quả giải quyết hồ sơ",
                     "NGƯỜI TIẾP NHẬN HỒ SƠ", "Nguyễn Thị Lan", "Số: 01/GTN"]),
        "form-02": ("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
                    ["Yêu cầu Ông/Bà hoàn thiện hồ sơ gồm những nội dung như sau",
                     "Lý do: Thiếu bản chính", "NGƯỜI HƯỚNG DẪN", "Số: 01/YCBS"]),
        "form-03": ("PHIẾU TỪ CHỐI TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ",
                    ["thông báo không tiếp nhận, giải quyết hồ sơ này",
                     "Giấy tờ không đủ điều kiện chứng thực"]),
        "form-04": ("VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",
                    ["Kính gửi: Lê Thị Hồng Nhung", "Lý do: Cần xác minh thêm",
                     "đề nghị gia hạn thời gian giải quyết hồ sơ đến", "PHÓ CHỦ TỊCH",
                     "Trần Văn Bình", "Nơi nhận:"]),
        "form-05": ("THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
                    ["thông báo dừng giải quyết hồ sơ nêu trên",
                     "Lý do: Người yêu cầu đề nghị dừng", "Trần Văn Bình"]),
        "form-06": ("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
                    ["TÊN CƠ QUAN", "1. Giao: Bộ phận Một cửa", "Người giao: Nguyễn Thị Lan",
                     "Kèm theo Giấy tiếp nhận hồ sơ và hẹn trả kết quả số: 01/GTN"]),
        "form-07": ("SỔ THEO DÕI HỒ SƠ", ["Mã hồ sơ", "Lê Thị Hồng Nhung", "Tổng số hồ sơ: 1"]),
    },
    "01/2018": {
        "form-01": ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
                    ["Tiếp nhận hồ sơ của: Lê Thị Hồng Nhung", "Vào Sổ theo dõi hồ sơ"]),
        "form-02": ("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", ["Lý do: Thiếu bản chính"]),
        "form-03": ("PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
                    ["Xin thông báo cho Ông/Bà được biết và thực hiện"]),
        "form-04": ("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
                    ["Sự chậm trễ này đã gây phiền hà cho Ông/Bà", "Trần Văn Bình"]),
        "form-05": ("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
                    ["TÊN CƠ QUAN", "Người giao: Nguyễn Thị Lan"]),
        "form-06": ("SỔ THEO DÕI HỒ SƠ", ["Tổng số hồ sơ: 1"]),
    },
}


@pytest.fixture(scope="module", params=["03/2025", "01/2018"])
def forms(request: pytest.FixtureRequest) -> tuple[str, dict[str, bytes]]:
    w = world(AFTER if request.param == "03/2025" else BEFORE)
    try:
        return request.param, every_form(w)
    finally:
        w.engine.close()


def test_every_form_of_the_circular_is_issued_or_rendered(
        forms: tuple[str, dict[str, bytes]]) -> None:
    circular, found = forms
    assert sorted(found) == sorted(EXPECTED[circular])


@pytest.mark.parametrize("kind", [f"form-0{n}" for n in range(1, 8)])
def test_each_form_carries_its_title_header_and_wording(
        forms: tuple[str, dict[str, bytes]], kind: str, tmp_path: Path) -> None:
    circular, found = forms
    if kind not in EXPECTED[circular]:
        pytest.skip(f"Thông tư {circular} has no {kind}")
    title, wording = EXPECTED[circular][kind]
    text = " ".join(text_of(found[kind], tmp_path).split())
    assert title in text
    for line in (*HEADER, "ỦY BAN NHÂN DÂN TỈNH THỬ NGHIỆM", "XÃ THỬ NGHIỆM"):
        assert line in text, line
    assert "Thử Nghiệm, ngày" in text
    for words in wording:
        assert words in text, words
    # people and agencies by name: never an account, a code for the agency, an ID number
    for never in ("nv01", "ld01", "cv01", APPLICANT["id_number"], f"{COMMUNE},"):
        assert never not in text, never


def test_the_date_line_follows_the_decree(tmp_path: Path) -> None:
    w = world(AFTER)
    code = w.received()
    [form] = w.engine.documents(code)
    text = text_of(w.engine.read_document(code, form.sha256), tmp_path)
    assert "Thử Nghiệm, ngày 16 tháng 9 năm 2025" in text


def test_lines_never_overlap_so_diacritics_stay_clear(
        forms: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    """Lines one above the other never share height: their boxes (ascent to descent, marks
    included) stay apart, so a mark on a capital never touches the line above."""
    _, found = forms
    for kind, pdf in found.items():
        boxes = text_of(pdf, tmp_path, "-bbox-layout")
        for page in re.findall(r"<page.*?</page>", boxes, re.S):
            lines = [tuple(map(float, m)) for m in re.findall(
                r'<line xMin="([^"]+)" yMin="([^"]+)" xMax="([^"]+)" yMax="([^"]+)"', page)]
            for i, (x0, y0, x1, y1) in enumerate(lines):
                for (u0, v0, u1, v1) in lines[i + 1:]:
                    side_by_side = u0 >= x1 or x0 >= u1
                    shared = min(y1, v1) - max(y0, v0)
                    assert side_by_side or shared <= 0.5, (kind, (x0, y0, x1, y1),
                                                           (u0, v0, u1, v1))


def test_the_header_reads_in_order(forms: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    _, found = forms
    text = text_of(found["form-01"], tmp_path)
    at = [text.index(s) for s in ("ỦY BAN NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                                  "Độc lập - Tự do - Hạnh phúc", "GIẤY TIẾP NHẬN HỒ SƠ")]
    assert at == sorted(at)


def test_a_stop_before_the_2025_circular_issues_no_form() -> None:
    w = world(BEFORE)
    code = w.received()
    w.engine.fire(code, "stop", actor=w.leader, reason="Dừng")
    assert [d.kind for d in w.engine.documents(code)] == ["form-01"]
    assert "form" not in w.engine.history(code)[-1].data


def test_an_issued_form_is_the_document_its_event_numbered() -> None:
    w = world(AFTER)
    code = w.received()
    [doc] = w.engine.documents(code)
    event = w.engine.history(code)[-1]
    assert (doc.kind, doc.media_type, doc.number, doc.book, doc.signed_by) == (
        "form-01", "application/pdf", 1, "03/2025/TT-VPCP", "nv01")
    assert event.data["form"] == {"kind": "form-01", "circular": "03/2025/TT-VPCP",
                                  "number": 1}
    pdf = w.engine.read_document(code, doc.sha256)
    assert hashlib.sha256(pdf).hexdigest() == doc.sha256
    assert (event.data["actor_name"], event.data["actor_title"]) == (
        "Nguyễn Thị Lan", "Công chức Bộ phận Một cửa")
    assert w.engine.verify_audit(code)


def test_each_agency_numbers_each_form_in_its_own_series() -> None:
    w = world(AFTER)
    codes = [w.received() for _ in range(3)]
    assert [w.engine.documents(c)[0].number for c in codes] == [1, 2, 3]


def test_an_issued_form_renders_again_as_issued(tmp_path: Path) -> None:
    w = world(AFTER)
    code = w.received()
    [doc] = w.engine.documents(code)
    w.clock.advance(timedelta(days=3))
    issued = text_of(w.engine.read_document(code, doc.sha256), tmp_path)
    again = text_of(w.engine.render_form(code, "form-01"), tmp_path)
    assert again == issued
    html = w.engine.render_form(code, "form-01", format="html").decode()
    assert html.startswith("<!DOCTYPE html>")
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in html


def test_render_form_names_what_can_be_rendered() -> None:
    w = world(AFTER)
    code = w.received()
    with pytest.raises(InvalidInput, match="control sheet"):
        w.engine.render_form(code, "form-07")
    with pytest.raises(InvalidInput, match="not a form"):
        w.engine.render_form(code, "form-09")


def test_forms_signed_with_the_agencys_seal_validate(nss_db: Path, tmp_path: Path) -> None:
    w = world(pki().created_at, pki=pki())  # the shared test PKI is valid around its making
    code = w.received()
    [doc] = w.engine.documents(code)
    assert doc.provider == "seal"
    pdf = w.engine.read_document(code, doc.sha256)
    assert_signed_ok(pdf, nss_db, tmp_path)
    text = text_of(pdf, tmp_path)
    assert "Ký bởi: Nguyễn Văn Ký" in text
    assert "Cơ quan: UBND xã Thử Nghiệm" in text


def test_without_a_seal_forms_are_kept_unsigned() -> None:
    w = world(AFTER)
    code = w.received()
    [doc] = w.engine.documents(code)
    assert doc.provider == ""
    assert b"/ByteRange" not in w.engine.read_document(code, doc.sha256)


def test_the_tracking_book_exports_csv() -> None:
    w = world(AFTER)
    codes = [w.received() for _ in range(2)]
    raw = w.engine.tracking_book(COMMUNE, date(2025, 9, 1), date(2025, 9, 30), format="csv")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["TT", "Mã hồ sơ", "Tên thủ tục hành chính"]
    assert [r[1] for r in rows[1:]] == codes
    assert rows[1][4] == "Lê Thị Hồng Nhung"
    assert APPLICANT["id_number"] not in raw.decode("utf-8-sig")
    empty = w.engine.tracking_book(COMMUNE, date(2025, 8, 1), date(2025, 8, 31), format="csv")
    assert len(list(csv.reader(io.StringIO(empty.decode("utf-8-sig"))))) == 1


def test_an_agency_missing_from_the_directory_is_refused() -> None:
    w = world(AFTER)
    stranger = Actor("nv09", "clerk", "000.00.99.H12")
    with pytest.raises(InvalidInput, match="not in the agency directory"):
        w.engine.submit("2.000815", applicant=APPLICANT, channel="counter", actor=stranger)
    with pytest.raises(InvalidInput, match="not in the agency directory"):
        w.engine.tracking_book("000.00.99.H12", date(2025, 9, 1), date(2025, 9, 2))


def test_without_a_directory_the_code_stands_for_the_agency(tmp_path: Path) -> None:
    w = world(AFTER, directory=False)
    code = w.received()
    [doc] = w.engine.documents(code)
    text = text_of(w.engine.read_document(code, doc.sha256), tmp_path)
    assert COMMUNE in text


def test_a_person_without_a_name_leaves_the_line_blank_never_the_account(
        tmp_path: Path) -> None:
    w = world(AFTER)
    clerk = Actor("nv77", "clerk", COMMUNE)
    code = w.engine.submit("2.000815", applicant=APPLICANT, channel="counter",
                           actor=clerk).code
    w.engine.fire(code, "receive", actor=clerk)
    [doc] = w.engine.documents(code)
    assert "nv77" not in text_of(w.engine.read_document(code, doc.sha256), tmp_path)
    assert "nv77" not in text_of(w.engine.render_form(code, "form-06"), tmp_path)


def test_actor_names_are_checked_text() -> None:
    with pytest.raises(InvalidInput):
        Actor("nv01", "clerk", COMMUNE, name="Nguyễn\nVăn")
    assert Actor("nv01", "clerk", COMMUNE, name=" Lan ").name == "Lan"


def test_a_form_numbered_outside_engine_fire_is_made_by_the_worker() -> None:
    """Services and timers fire through the kernel in their own transactions: the event
    numbers the form at once (cheap), the worker's forms job makes it."""
    w = world(AFTER)
    code = w.submit()
    kernel = w.engine.kernel
    with kernel.transaction() as tx:
        kernel.fire(tx, code, "receive", w.clerk, {}, now=kernel.now())
    assert w.engine.documents(code) == []
    assert w.engine.history(code)[-1].data["form"]["number"] == 1
    assert w.engine.issue_pending_forms() == 1
    assert [d.kind for d in w.engine.documents(code)] == ["form-01"]
    assert w.engine.issue_pending_forms() == 0       # the scan moved on
    assert w.engine.issue_pending_forms(code) == 0   # and nothing is made twice


def test_forms_left_to_the_worker_are_numbered_at_fire_and_made_by_its_job() -> None:
    """``FormSettings(at_fire=False)``: an API process returns after the commit; the number is
    taken in the transaction all the same and the worker makes the PDF."""
    w = world(AFTER, settings=FormSettings(at_fire=False))
    code = w.received()
    assert w.engine.documents(code) == []
    assert w.engine.history(code)[-1].data["form"]["number"] == 1
    assert w.engine.issue_pending_forms() == 1
    [doc] = w.engine.documents(code)
    assert (doc.kind, doc.number) == ("form-01", 1)
    assert w.engine.verify_audit(code)


def test_the_worker_catches_up_on_more_events_than_one_page() -> None:
    w = world(AFTER, settings=FormSettings(at_fire=False))
    codes = [w.received() for _ in range(5)]
    assert w.engine._forms.issue(limit=2) == 5    # 10 events, read two at a time
    assert all(len(w.engine.documents(code)) == 1 for code in codes)
    assert w.engine.issue_pending_forms() == 0


def test_a_run_of_the_forms_job_stops_when_its_time_is_up() -> None:
    """A backlog must not hold a worker that is asked to stop: the run ends after its
    budget and the next one goes on from where it stopped."""
    w = world(AFTER, settings=FormSettings(at_fire=False))
    codes = [w.received() for _ in range(3)]
    assert w.engine._forms.issue(limit=2, budget=0) == 1    # one page, then time is up
    assert w.engine._forms.issue(limit=2) == 2
    assert all(len(w.engine.documents(code)) == 1 for code in codes)


@pytest.mark.parametrize(("symbols", "message"), [
    ({"receipt": "BL"}, "'receipt' is not a form use"),
    ({"reception": ""}, "1-16 printable ASCII"),
    ({"reception": "GIẤY"}, "1-16 printable ASCII"),
    ({"reception": "G TN"}, "no spaces"),
    ({"reception": "X" * 17}, "1-16 printable ASCII"),
])
def test_form_symbols_are_checked(symbols: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        FormSettings(symbols=symbols)


def test_the_cli_exports_the_tracking_book(tmp_path: Path) -> None:
    from forms_support import agencies, procedure

    from dossier import Engine
    from dossier.cli import main
    from dossier.testing import FrozenClock

    url = f"sqlite:///{tmp_path / 'book.db'}"
    engine = Engine(url, clock=FrozenClock(AFTER), agencies=agencies())
    engine.register(procedure())
    clerk = Actor("nv01", "clerk", COMMUNE, name="Nguyễn Thị Lan")
    code = engine.submit("2.000815", applicant=APPLICANT, channel="counter", actor=clerk).code
    engine.fire(code, "receive", actor=clerk)
    engine.close()
    out = tmp_path / "so.csv"
    assert main(["forms", "book", "--database", url, "--agency", COMMUNE, "--from",
                 "2025-09-01", "--to", "2025-09-30", "--format", "csv", "--out",
                 str(out)]) == 0
    assert code in out.read_text(encoding="utf-8-sig")
