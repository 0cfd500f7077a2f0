"""engine.quality_report: every QĐ 766 indicator's numerator and denominator on a province
of hand-made dossiers (tests/quality_support.py), on SQLite and PostgreSQL.

September 2025, every dossier received on Monday 8/9 and due on 22/9:

====  ========  =======  ========  ==============================================
name  agency    proc.    channel   what happens
====  ========  =======  ========  ==============================================
d1    xã Một    full     online    returned 8/9 (early), rated "Rất hài lòng"
d2    xã Một    full     counter   returned 25/9 (late), rated "Không hài lòng" by a clerk
d3    xã Một    partial  online    fee paid by transfer, still processing: overdue at 30/9
d4    xã Một    partial  counter   fee paid cash, returned 22/9 (on time)
d5    xã Hai    partial  counter   waiting for the fee since 8/9: paused, not judged
d6    xã Hai    offline  counter   scan attached, digitised (a digitised record), certified
                                   (paper), early
d7    other     full     online    returned 8/9 (early), unrated
d10   xã Một    signed   counter   result signed digitally, returned 8/9 (early)
d11   xã Hai    offline  counter   the same document attached from the citizen's data store
                                   (a reused record), not received
d9    xã Một    full     counter   submitted 2/10: outside the period
====  ========  =======  ========  ==============================================
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from conftest import AGENCY
from quality_support import (
    COMMUNE_1,
    COMMUNE_2,
    FROM_DATA_STORE,
    FULL,
    OFFLINE,
    OTHER,
    PARTIAL,
    PROVINCE,
    SCAN,
    SIGNED,
    Province,
    build,
    directory,
    signers,
)

from dossier import Actor, Engine
from dossier.errors import InvalidInput
from dossier.quality import Indicator
from dossier.testing import FrozenClock

SEPTEMBER = {"start": date(2025, 9, 1), "end": date(2025, 9, 30)}


@pytest.fixture
def province(db_url: str, clock: FrozenClock) -> Iterator[Province]:
    engine = Engine(db_url, clock=clock, agencies=directory(),
                    signers=signers(clock))  # type: ignore[arg-type]
    try:
        yield build(engine, clock)
    finally:
        engine.close()


def pair(indicator: Indicator) -> tuple[int, int]:
    return indicator.numerator, indicator.denominator


def test_every_indicator_over_all_agencies(province: Province) -> None:
    r = province.engine.quality_report(**SEPTEMBER)
    t = r.tien_do      # judged: 6 returned (d1 d2 d4 d6 d7 d10) + 1 open overdue (d3)
    assert pair(t.early) == (4, 7)
    assert pair(t.on_time) == (1, 7)
    assert pair(t.late) == (1, 7)
    assert pair(t.overdue_open) == (1, 7)
    assert pair(t.on_time_rate) == (5, 7)
    assert t.on_time_rate.rate == pytest.approx(5 / 7)
    o = r.truc_tuyen   # 9 submitted in September: d1-d7, d10, d11
    assert pair(o.full_online) == (2, 3)           # d1 d7 of d1 d2 d7
    assert pair(o.partial_online) == (1, 3)        # d3 of d3 d4 d5
    assert pair(o.online_rate) == (3, 6)
    assert pair(o.online_payment) == (1, 3)        # d3 paid by transfer of d3 d4 d5
    assert pair(o.procedures_paying_online) == (1, 1)
    s = r.so_hoa       # 6 of them on paper: d2 d4 d5 d6 d10 d11
    assert pair(s.digitised) == (2, 6)             # d6 scanned, d11 reused
    assert pair(s.electronic_result) == (1, 6)     # d10
    assert pair(s.reused_data) == (1, 9)           # d11, of every channel
    assert pair(s.certified_copies) == (0, 1)      # d6 certified on paper
    h = r.hai_long
    assert pair(h.satisfaction) == (5, 6)
    assert pair(h.rated) == (2, 6)
    assert pair(h.very_satisfied) == (1, 2)
    assert pair(h.satisfied) == (0, 2)
    assert pair(h.dissatisfied) == (1, 2)
    assert not h.complaints_on_time.measured
    assert h.complaints_on_time.rate is None
    assert not r.cong_khai.portal_synced.measured  # no portal sink
    assert (r.total.submitted, r.total.returned) == (9, 6)


def test_an_agency_rolls_up_the_agencies_below_it(province: Province) -> None:
    r = province.engine.quality_report(PROVINCE, **SEPTEMBER)
    assert r.agencies == (PROVINCE, COMMUNE_1, COMMUNE_2)
    assert set(r.by_agency) == {COMMUNE_1, COMMUNE_2}   # d7 (other agency) is out
    assert pair(r.tien_do.on_time_rate) == (4, 6)
    assert pair(r.by_agency[COMMUNE_1].tien_do.on_time_rate) == (3, 5)
    assert pair(r.by_agency[COMMUNE_2].tien_do.on_time_rate) == (1, 1)
    assert pair(r.truc_tuyen.full_online) == (1, 2)
    assert r.agency_names[COMMUNE_1] == "UBND xã Một"
    leaf = province.engine.quality_report(COMMUNE_2, **SEPTEMBER)
    assert leaf.agencies == (COMMUNE_2,)
    assert pair(leaf.so_hoa.digitised) == (2, 3)


def test_per_procedure_and_one_procedure(province: Province) -> None:
    r = province.engine.quality_report(**SEPTEMBER)
    assert set(r.by_procedure) == {FULL, PARTIAL, OFFLINE, SIGNED}
    assert pair(r.by_procedure[FULL].tien_do.on_time_rate) == (2, 3)
    assert pair(r.by_procedure[PARTIAL].tien_do.on_time_rate) == (1, 2)
    assert pair(r.by_procedure[PARTIAL].truc_tuyen.online_payment) == (1, 3)
    only = province.engine.quality_report(procedure=OFFLINE, **SEPTEMBER)
    assert set(only.by_procedure) == {OFFLINE}
    assert pair(only.so_hoa.certified_copies) == (0, 1)
    assert only.procedure_names[OFFLINE].startswith("Thủ tục thử")


def test_an_online_reuse_counts_as_reuse_but_online_dossiers_are_not_digitised(
        province: Province) -> None:
    # d3 (online, processing): its owner attaches a document from their data store
    engine = province.engine
    engine.attach(province.d["d3"].code, "ban_chinh", SCAN, "ban-chinh.pdf",
                  actor=Actor(id="cd02", role="citizen"), reused_from=FROM_DATA_STORE)
    s = engine.quality_report(**SEPTEMBER).so_hoa
    assert pair(s.reused_data) == (2, 9)           # d3 d11
    assert pair(s.digitised) == (2, 6)             # the paper base: d3 is not in it


def test_paused_dossiers_are_not_judged_while_paused(province: Province) -> None:
    # d5 waits for its fee (awaiting_payment) past its due date: not in the on-time base
    r = province.engine.quality_report(COMMUNE_2, **SEPTEMBER)
    assert pair(r.tien_do.overdue_open) == (0, 1)


def test_the_period_bounds_what_is_counted(province: Province) -> None:
    engine = province.engine
    october = engine.quality_report(start=date(2025, 10, 1), end=date(2025, 10, 31))
    assert october.total.submitted == 1                   # d9
    assert october.total.returned == 0
    assert pair(october.tien_do.overdue_open) == (1, 1)   # d3, still open and overdue
    before_due = engine.quality_report(start=date(2025, 9, 1), end=date(2025, 9, 15))
    assert pair(before_due.tien_do.on_time_rate) == (4, 4)  # d3 not yet overdue on 15/9
    assert [(p.month, pair(p.on_time)) for p in
            engine.quality_report(**SEPTEMBER).on_time_by_month] == [("2025-09", (5, 6))]


def test_scores_are_estimates_from_the_766_weights(province: Province) -> None:
    r = province.engine.quality_report(**SEPTEMBER)
    assert r.tien_do.weight == 20
    assert r.tien_do.score == pytest.approx(20 * 5 / 7)
    assert r.hai_long.score == pytest.approx(18 * 5 / 6)   # complaints: not measured
    assert r.cong_khai.score is None
    assert r.score.points == 100 - 18
    assert r.score.score == pytest.approx(sum(g.score or 0 for g in r.total.groups.values()))


def test_an_unknown_agency_is_its_own_scope_and_dates_are_checked(province: Province) -> None:
    engine = province.engine
    assert engine.quality_report(AGENCY[:-1] + "9", **SEPTEMBER).total.submitted == 0
    assert engine.quality_report(OTHER, **SEPTEMBER).total.submitted == 1
    with pytest.raises(InvalidInput, match="before start"):
        engine.quality_report(start=date(2025, 9, 2), end=date(2025, 9, 1))
    with pytest.raises(InvalidInput, match="must be a date"):
        engine.quality_report(start="2025-09-01", end=date(2025, 9, 1))  # type: ignore[arg-type]
