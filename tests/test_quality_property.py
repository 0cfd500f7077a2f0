"""Random small sets of dossiers: the SQL report against a Python reference that reads each
dossier through the engine and applies the same formulas (dossier.quality.indicators)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quality_support import (
    COMMUNE_1,
    COMMUNE_2,
    FULL,
    OFFLINE,
    OTHER,
    PARTIAL,
    PROVINCE,
    Province,
    at,
    directory,
    register,
    staff,
)

from dossier import Actor, Engine, ReuseKind, ReuseSource
from dossier.clock import LOCAL_TZ
from dossier.quality import PAUSED_STATES, QualitySection
from dossier.testing import FrozenClock

STEPS = {FULL: ["receive", "approve", "return_result"],
         PARTIAL: ["receive", "pay", "approve", "return_result"],
         OFFLINE: ["receive", "digitise", "certify", "return_result"]}
LEVELS = {FULL: "full_online", PARTIAL: "partial_online", OFFLINE: "offline"}


@dataclass(frozen=True)
class Story:
    procedure: str
    agency: str
    online: bool
    steps: int          # how many of the procedure's steps are done on 8/9 or on the day
    day: int            # the day of September the last step (the return) happens
    rating: int | None
    scan: int | None    # which of two shared documents is attached (None: none)
    reuse: bool         # that document is taken from the citizen's data store, not scanned


stories = st.lists(st.builds(
    Story, procedure=st.sampled_from([FULL, PARTIAL, OFFLINE]),
    agency=st.sampled_from([COMMUNE_1, COMMUNE_2, OTHER]), online=st.booleans(),
    steps=st.integers(0, 4), day=st.integers(8, 29), rating=st.none() | st.integers(1, 3),
    scan=st.none() | st.integers(0, 1), reuse=st.booleans()), min_size=1, max_size=7)


def play(engine: Engine, clock: FrozenClock, plan: list[Story]) -> list[str]:
    """Submit and receive everything on 8/9; finish each dossier on its day."""
    p = Province(engine, clock)
    clock.set(at(8, hour=8))
    finishing: list[tuple[int, str, list[str], Story]] = []
    for n, story in enumerate(plan):
        name = f"d{n}"
        online = story.online and story.procedure != OFFLINE
        p.submit(name, story.procedure, story.agency, "online" if online else "counter",
                 owner=f"cd{n:02d}")
        # one of two shared documents (uploaded, or reused from the data store), or the
        # dossier's own scan (digitise needs a file)
        scan = f"shared {story.scan}" if story.scan is not None else \
            f"own {n}" if story.procedure == OFFLINE else None
        if scan is not None:
            content = f"%PDF-1.4 {scan}".encode()
            source = ReuseSource(kind=ReuseKind.DATA_STORE, reference=f"KDL-{story.scan}",
                                 sha256=hashlib.sha256(content).hexdigest()) \
                if story.reuse and story.scan is not None else None
            by = Actor(id=f"cd{n:02d}", role="citizen") if online else \
                staff("clerk", story.agency)
            engine.attach(p.d[name].code, "ban_chinh", content, "scan.pdf", actor=by,
                          reused_from=source)
        todo = STEPS[story.procedure][:story.steps]
        now, later = (todo, []) if len(todo) < len(STEPS[story.procedure]) else \
            (todo[:-1], todo[-1:])
        p.run(name, *now)
        if later:
            finishing.append((story.day, name, later, story))
    for day, name, later, story in sorted(finishing, key=lambda f: f[:2]):
        clock.set(max(clock.now(), at(day, hour=10)))
        p.run(name, *later)
        if story.rating is not None:
            engine.rate(p.d[name].code, actor=staff("clerk", story.agency), level=story.rating)
    clock.set(at(2, month=10))
    return [p.d[f"d{n}"].code for n in range(len(plan))]


def reference(engine: Engine, codes: list[str], agencies: set[str] | None, start: date,
              end: date) -> dict[str, tuple[int, int]]:
    """The indicators by reading every dossier (the formulas of dossier.quality)."""
    start_at = datetime.combine(start, time(0), LOCAL_TZ)
    end_at = datetime.combine(end + timedelta(days=1), time(0), LOCAL_TZ)
    cut = min(end_at, engine.clock.now())
    c: dict[str, int] = {}

    def add(key: str, yes: bool = True) -> None:
        c[key] = c.get(key, 0) + int(yes)

    for code in codes:
        d = engine.get(code)
        if agencies is not None and d.agency not in agencies:
            continue
        events = engine.history(code)
        history = [e.trigger for e in events]
        # the records' meaning, read from the events: reused = attached from a store;
        # digitised = received on paper and scanned at digitise, or reused
        reuse = any(e.trigger == "attach" and "reused_from" in e.data for e in events)
        paper = d.channel != "online"
        rating = engine.rating(code)
        if d.closed_at is not None and start_at <= d.closed_at < end_at:
            returned = d.state == "returned"
            add("returned", returned)
            add(d.deadlines.timeliness or "none")
            add("rated", rating is not None)
            if rating is not None:
                add(rating.level.key)
        if (d.due_at is not None and d.due_at < cut and d.received_at is not None
                and d.received_at < cut and (d.closed_at is None or d.closed_at >= cut)
                and not (d.closed_at is None and d.state in PAUSED_STATES)):
            add("overdue_open")
        if start_at <= d.submitted_at < end_at:
            add("submitted")
            level = engine.procedure(d.procedure_code, d.procedure_version).service_level
            if level.value != "offline":
                add(f"{level.value}.total")
                add(f"{level.value}.online", d.channel == "online")
            add("fee_bearing", d.fee_due > 0)
            add("paid_online", d.fee_due > 0 and any(
                p.consumed_at is not None and p.method in ("online", "transfer")
                for p in engine.payments(code)))
            add("paper", paper)
            add("digitised", paper and ("digitise" in history or reuse))
            add("reused", reuse)
            add("certified", "certify" in history)
    g = c.get
    judged = sum(g(k, 0) for k in ("early", "on_time", "late", "overdue_open"))
    ratings = sum(g(k, 0) for k in ("very_satisfied", "satisfied", "dissatisfied"))
    return {
        "tien_do.on_time_rate": (g("early", 0) + g("on_time", 0), judged),
        "tien_do.late": (g("late", 0), judged),
        "tien_do.overdue_open": (g("overdue_open", 0), judged),
        "truc_tuyen.full_online": (g("full_online.online", 0), g("full_online.total", 0)),
        "truc_tuyen.partial_online": (g("partial_online.online", 0),
                                      g("partial_online.total", 0)),
        "truc_tuyen.online_payment": (g("paid_online", 0), g("fee_bearing", 0)),
        "so_hoa.digitised": (g("digitised", 0), g("paper", 0)),
        "so_hoa.reused_data": (g("reused", 0), g("submitted", 0)),
        "so_hoa.certified_copies": (0, g("certified", 0)),
        "hai_long.satisfaction": (g("returned", 0) - g("dissatisfied", 0), g("returned", 0)),
        "hai_long.rated": (g("rated", 0), g("returned", 0)),
        "hai_long.dissatisfied": (g("dissatisfied", 0), ratings),
    }


def measured(section: QualitySection, keys: list[str]) -> dict[str, tuple[int, int]]:
    out = {}
    for key in keys:
        group, name = key.split(".")
        indicator = getattr(getattr(section, group), name)
        out[key] = (indicator.numerator, indicator.denominator)
    return out


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(plan=stories, end_day=st.integers(9, 30), whole=st.booleans())
def test_the_sql_report_matches_a_python_reference(plan: list[Story], end_day: int,
                                                   whole: bool) -> None:
    clock = FrozenClock(datetime(2025, 9, 8, 1, 0, tzinfo=UTC))
    engine = Engine.in_memory(clock=clock, agencies=directory())
    try:
        register(engine)
        codes = play(engine, clock, plan)
        start, end = date(2025, 9, 1), date(2025, 9, end_day)
        agency = None if whole else PROVINCE
        report = engine.quality_report(agency, start=start, end=end)
        scope = None if whole else {PROVINCE, COMMUNE_1, COMMUNE_2}
        expected = reference(engine, codes, scope, start, end)
        assert measured(report.total, list(expected)) == expected
        for code, section in report.by_agency.items():
            assert measured(section, list(expected)) == reference(engine, codes, {code},
                                                                  start, end)
    finally:
        engine.close()
