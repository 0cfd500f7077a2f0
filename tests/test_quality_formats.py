"""The quality report rendered (JSON, CSV, table, HTML with charts), `dossier report`, and the
portal-sync indicator from the outbox."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import AGENCY, make_procedure
from quality_support import PROVINCE, build, directory, signers

from dossier import Actor, Engine
from dossier.cli import main
from dossier.engine import OutboxSettings
from dossier.quality import QualityReport
from dossier.reports import CSV_HEADER, render_csv, render_html, render_table
from dossier.sinks import DeliveryFailed
from dossier.sinks.portal import PortalRecord, PortalSyncSink
from dossier.testing import FrozenClock

SEPTEMBER = {"start": date(2025, 9, 1), "end": date(2025, 9, 30)}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QualityReport]:
    from datetime import UTC, datetime

    clock = FrozenClock(datetime(2025, 9, 8, 2, 0, tzinfo=UTC))
    url = f"sqlite:///{tmp_path_factory.mktemp('q') / 'dossier.db'}"
    engine = Engine(url, clock=clock, agencies=directory(),
                    signers=signers(clock))  # type: ignore[arg-type]
    build(engine, clock)
    yield engine.quality_report(PROVINCE, **SEPTEMBER)
    engine.close()


def test_json_round_trips(report: QualityReport) -> None:
    data = json.loads(json.dumps(report.as_dict()))
    assert data == report.as_dict()
    total = data["total"]["groups"]["tien_do"]["indicators"]["on_time_rate"]
    assert (total["numerator"], total["denominator"]) == (4, 6)
    assert data["estimate"] is True
    assert data["by_agency"]["000.00.12.H12"]["name"] == "UBND xã Một"
    assert data["on_time_by_month"][0]["month"] == "2025-09"


def test_csv_has_its_header_and_a_row_per_indicator_and_scope(report: QualityReport) -> None:
    rows = list(csv.reader(io.StringIO(render_csv(report))))
    assert tuple(rows[0]) == CSV_HEADER
    on_time = [r for r in rows if r[4] == "on_time_rate"]
    assert [(r[0], r[1], r[6], r[7]) for r in on_time] == [
        ("total", "", "4", "6"), ("agency", "000.00.12.H12", "3", "5"),
        ("agency", "000.00.13.H12", "1", "1"),
        *[("procedure", code, *nd) for code, nd in
          (("1.000001", ("1", "2")), ("1.000002", ("1", "2")), ("1.000003", ("1", "1")),
           ("1.000004", ("1", "1")))]]
    assert rows[-1][0] == "month"


def test_the_table_shows_groups_scores_and_scopes(report: QualityReport) -> None:
    table = render_table(report)
    assert "Sở Tư pháp tỉnh Thử (000.00.05.H12 và 2 đơn vị trực thuộc)" in table
    assert re.search(r"Tỷ lệ xử lý trước hạn, đúng hạn\s+4\s+6\s+66,7%", table)
    assert "Tổng điểm (ước tính)" in table
    assert "chưa đo được" in table
    assert "Theo cơ quan" in table
    assert "Theo thủ tục" in table


def test_html_is_one_file_with_a_chart_per_question_and_no_external_url(
        report: QualityReport) -> None:
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 3
    assert page.count('role="img"') == 3
    for title in ("Điểm ước tính theo nhóm chỉ số", "Tỷ lệ trả kết quả đúng hạn theo tháng",
                  "Tỷ lệ trực tuyến theo thủ tục"):
        assert f"<title>{title}</title>" in page
    assert not re.search(r"(https?:)?//[a-z0-9]", page, re.IGNORECASE)
    assert "<script" not in page
    assert "<link" not in page
    assert "ước tính" in page


def _cli(args: Sequence[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def database(tmp_path: Path, clock: FrozenClock) -> str:
    url = f"sqlite:///{tmp_path / 'dossier.db'}"
    engine = Engine(url, clock=clock, agencies=directory(),
                    signers=signers(clock))  # type: ignore[arg-type]
    build(engine, clock)
    engine.close()
    return url


@pytest.mark.parametrize("form", ["table", "json", "csv", "html"])
def test_dossier_report_renders_each_format(database: str, tmp_path: Path, form: str) -> None:
    out = tmp_path / f"report.{form}"
    code, printed, errors = _cli(["report", "--database", database, "--from", "2025-09-01",
                                  "--to", "2025-09-30", "--agency", "000.00.12.H12",
                                  "--format", form, "--out", str(out)])
    assert (code, printed) == (0, "")
    assert "report written" in errors
    text = out.read_text(encoding="utf-8")
    if form == "json":
        assert json.loads(text)["agencies"] == ["000.00.12.H12"]
    elif form == "csv":
        assert text.startswith(",".join(CSV_HEADER))
    elif form == "html":
        assert "<svg" in text
    else:
        assert "Tỷ lệ xử lý trước hạn, đúng hạn" in text


def test_dossier_report_is_read_only(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    code, _, errors = _cli(["report", "--database", f"sqlite:///{missing}", "--from",
                            "2025-09-01", "--to", "2025-09-30"])
    assert code == 1
    assert "no database" in errors
    assert not missing.exists()


def test_dossier_report_refuses_a_bad_date(database: str) -> None:
    with pytest.raises(SystemExit):
        _cli(["report", "--database", database, "--from", "01/09/2025", "--to", "2025-09-30"])


class _Portal:
    """A portal client that refuses the status records of one dossier."""

    def __init__(self, refuse: str) -> None:
        self.refuse = refuse

    def push(self, records: Sequence[PortalRecord]) -> None:
        if any(r.code == self.refuse for r in records):
            raise DeliveryFailed("the portal refused it", permanent=True)


def test_portal_sync_counts_dossiers_without_undelivered_portal_messages(
        db_url: str, clock: FrozenClock) -> None:
    clerk = Actor(id="nv01", role="clerk", agency=AGENCY)
    engine = Engine(db_url, clock=clock, outbox=OutboxSettings(retention=timedelta(0)),
                    sinks={"dvcqg": PortalSyncSink(_Portal(refuse="?"))})
    try:
        engine.register(make_procedure("1.000001", ["receive", "process", "return"]))
        codes = [engine.submit("1.000001", applicant={"name": "A"}, channel="counter",
                               actor=clerk).code for _ in range(3)]
        for code in codes:
            engine.fire(code, "receive", actor=clerk)
        sink = engine.kernel.sinks["dvcqg"]
        assert isinstance(sink, PortalSyncSink)
        sink.client = _Portal(refuse=codes[1])
        clock.advance(timedelta(minutes=1))
        engine.dispatch_outbox()                  # delivered rows pruned at once (retention 0)
        report = engine.quality_report(start=date(2025, 9, 1), end=date(2025, 9, 30))
        synced = report.cong_khai.portal_synced
        assert synced.measured
        assert (synced.numerator, synced.denominator) == (2, 3)
        assert report.cong_khai.score == pytest.approx(18 * 2 / 3)
    finally:
        engine.close()
