"""Does the sweep's cost follow what is due, or what is open? And how long does it hold the
write lock?

Run ``python bench/sweep.py [--due 1000] [--rounds 5] [--small 10000] [--large 1000000]``
(``--quick`` for smaller). It builds two SQLite databases in a temp directory (not timed),
each with ``--rounds`` groups of ``--due`` dossiers of the sample *lý lịch tư pháp* received
by the engine (submit, receive, pay: three events each, with their payment and receipt), one
group a month apart, **scattered** among open dossiers up to ``--small`` / ``--large``: the
filler rows are copies of such a dossier, with its three events each, whose timers lie
months ahead, inserted in 50 chunks between the engine's dossiers so that the due rows and
their events are spread over the whole table and index.

Round ``r`` sweeps group ``r`` (every dossier of it is overdue at that instant, nothing else
is due) with a **new** ``Engine`` on each database (new connections: SQLite's page cache is
empty; nothing is read before the timer starts), small and large in an order that turns
around each round. It prints both sweep times, the median of the per-round ratios
large/small with their spread (target ≤ 1.3: the ``next_timer_at`` index finds the due rows,
so the cost follows what is due), and the longest write transaction of any sweep (target:
≈50 ms or less, the batch's time budget plus its commit). Speed is never asserted by the
test suite: this script reports.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

from bench import pairs  # noqa: E402
from dossier import Actor, Engine  # noqa: E402
from dossier.clock import LOCAL_TZ  # noqa: E402
from dossier.forms import FormSettings  # noqa: E402
from dossier.procedure import load_procedure  # noqa: E402
from dossier.resources import sample_path  # noqa: E402
from dossier.testing import FrozenClock  # noqa: E402

AGENCY = "000.00.05.H12"
FIRST_RECEIVED = datetime(2025, 9, 8, 9, 0, tzinfo=LOCAL_TZ)   # a Monday
CHUNKS = 50
TARGET_RATIO, TARGET_LOCK_MS = 1.3, 50.0
_FILL_TIMERS = "2026-09-01 02:00:00.000000"  # after every group's appointment


def _received_at(group: int) -> datetime:
    return FIRST_RECEIVED + timedelta(weeks=4 * group)


def _fill(conn: sqlite3.Connection, template: int, start: int, count: int) -> None:
    """``count`` copies of dossier ``template`` with its events, timers months ahead."""
    last = conn.execute("SELECT MAX(id) FROM dossiers").fetchone()[0]
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
        " INSERT INTO dossiers (code, procedure_code, procedure_version, agency, channel,"
        " state, owner, applicant, fee_basis, fee_due, paid_amount, version, event_count,"
        " head_hash, submitted_at, received_at, updated_at, clock_started_at, due_at,"
        " appointment_at, warning_at, step_due, extended, next_timer_at)"
        " SELECT 'FILL-' || i, procedure_code, procedure_version, agency, channel, state,"
        " owner, applicant, fee_basis, fee_due, paid_amount, version, event_count, head_hash,"
        " submitted_at, received_at, updated_at, clock_started_at, ?, ?, ?, step_due,"
        " extended, strftime('%Y-%m-%d %H:%M:%f000', ?, '+' || (i % 5000) || ' minutes')"
        " FROM n, (SELECT * FROM dossiers WHERE id = ?)",
        (start, start + count - 1, _FILL_TIMERS, _FILL_TIMERS, _FILL_TIMERS, _FILL_TIMERS,
         template))
    conn.execute(
        "INSERT INTO events (dossier_id, seq, trigger, source, target, actor, role,"
        " on_behalf_of, at, data, prev_hash, hash, key_id)"
        " SELECT d.id, e.seq, e.trigger, e.source, e.target, e.actor, e.role, e.on_behalf_of,"
        " e.at, e.data, e.prev_hash, e.hash, e.key_id FROM dossiers d, events e"
        " WHERE d.id > ? AND e.dossier_id = ? ORDER BY d.id, e.seq", (last, template))


def build(path: Path, groups: int, due: int, size: int) -> list[datetime]:
    """The database; for each group, the instant its dossiers are all overdue."""
    clock = FrozenClock(FIRST_RECEIVED)
    engine = Engine(f"sqlite:///{path}", clock=clock,
                    form_settings=FormSettings(at_fire=False))
    engine.register(load_procedure(sample_path("ly-lich-tu-phap.toml")))
    clerk = Actor(id="nv01", role="clerk", agency=AGENCY)

    def received(group: int) -> str:
        clock.set(_received_at(group))
        code = engine.submit("3.000333", applicant={"name": "Nguyễn Văn A"},
                             channel="counter", actor=clerk).code
        engine.fire(code, "receive", actor=clerk)
        engine.fire(code, "pay", actor=clerk, method="cash", amount=200_000)
        return code

    template = engine.get(received(0)).id
    filler, made = size - groups * due - 1, 1
    conn = sqlite3.connect(path, isolation_level=None)
    for chunk in range(CHUNKS):
        count = filler * (chunk + 1) // CHUNKS - filler * chunk // CHUNKS
        conn.execute("BEGIN IMMEDIATE")
        _fill(conn, template, made, count)
        conn.execute("COMMIT")
        made += count
        for group in range(groups):
            wanted = due * (chunk + 1) // CHUNKS - due * chunk // CHUNKS
            for _ in range(wanted - (1 if chunk == group == 0 else 0)):
                received(group)
    engine.close()
    due_at = [datetime.fromisoformat(row[0] + "+00:00") + timedelta(minutes=1) for row in
              conn.execute("SELECT MAX(appointment_at) FROM dossiers WHERE code NOT LIKE"
                           " 'FILL-%' GROUP BY substr(received_at, 1, 10) ORDER BY 1")]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert len(due_at) == groups, due_at
    return due_at


@contextmanager
def timed_transactions(engine: Engine, held: list[float]) -> Iterator[None]:
    """Record how long each of the engine's transactions lasts (BEGIN IMMEDIATE to COMMIT)."""
    db = engine.kernel.db
    real = db.transaction

    @contextmanager
    def timed(*, write: bool = True) -> Iterator[Any]:
        began = time.perf_counter()
        with real(write=write) as tx:
            yield tx
        held.append(time.perf_counter() - began)

    db.transaction = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        db.transaction = real  # type: ignore[method-assign]


def sweep(path: Path, at: datetime, due: int, held: list[float]) -> float:
    """Seconds of one sweep by a new engine; every dossier of the group must fire."""
    engine = Engine(f"sqlite:///{path}", clock=FrozenClock(at))
    try:
        with timed_transactions(engine, held):
            began = time.perf_counter()
            report = engine.sweep(at)
            elapsed = time.perf_counter() - began
    finally:
        engine.close()
    if report.fired != {"overdue": due}:
        raise SystemExit(f"expected {due} overdue events, the sweep fired {report}")
    return elapsed


def run(due: int, rounds: int, small: int, large: int,
        directory: str | None = None) -> list[pairs.Figure]:
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"{platform.machine()}; {rounds} groups of {due:,} due dossiers scattered among "
          f"{small:,} and {large:,} open ones")
    held: list[float] = []
    with tempfile.TemporaryDirectory(prefix="dossier-bench-", dir=directory) as tmp:
        paths, instants = {}, {}
        for size in (small, large):
            paths[size] = Path(tmp) / f"open-{size}.db"
            began = time.perf_counter()
            instants[size] = build(paths[size], rounds, due, size)
            print(f"{size:>10,} open dossiers built in {time.perf_counter() - began:.0f} s "
                  f"({paths[size].stat().st_size / 2**20:,.0f} MiB)")
        group = {small: iter(range(rounds)), large: iter(range(rounds))}

        def side(size: int) -> Any:
            def run_side() -> float:
                return sweep(paths[size], instants[size][next(group[size])], due, held)
            return run_side

        runs = pairs.rounds([("small", side(small)), ("large", side(large))], rounds)
    ratio = pairs.ratios(runs["large"], runs["small"])
    for name, size in (("small", small), ("large", large)):
        print(f"{size:>10,} open: sweep {pairs.median(runs[name]) * 1e3:7.0f} ms "
              f"({due / pairs.median(runs[name]):,.0f} timers/s)")
    longest = pairs.Ratios((max(held) * 1e3,), f"the longest of {len(held)} transactions")
    print(f"write transactions: {len(held)}, longest {max(held) * 1e3:.0f} ms, median "
          f"{pairs.median(held) * 1e3:.0f} ms (target ≤ {TARGET_LOCK_MS:g} ms)")
    print(pairs.line(f"sweep {large:,} / {small:,} open", ratio, target=TARGET_RATIO,
                     at_most=True))
    return [pairs.Figure("sweep", f"{large // 1000:,}k / {small // 1000:,}k open", ratio,
                         TARGET_RATIO, at_most=True),
            pairs.Figure("sweep", "longest write lock held, ms", longest, TARGET_LOCK_MS,
                         at_most=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--due", type=int, default=1000, help="due dossiers per group")
    parser.add_argument("--rounds", type=int, default=5, help="groups, one swept per round")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true",
                        help="--due 300 --rounds 3 --large 200000")
    parser.add_argument("--no-budget", action="store_true",
                        help="batches of 500 whatever they take (the sweep before its budget)")
    args = parser.parse_args(argv)
    if args.no_budget:
        from dossier.engine import timers

        timers.BATCH_SECONDS = 1e9  # type: ignore[attr-defined]
    if args.quick:
        args.due, args.rounds, args.large = 300, 3, 200_000
    run(args.due, args.rounds, args.small, args.large)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
