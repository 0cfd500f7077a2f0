"""Does the sweep's cost depend on how many dossiers are open, or only on how many are due?

Run ``python bench/sweep.py [--due 1000] [--small 10000] [--large 1000000] [--rounds 3]``.
For each size it builds a SQLite database (in a temp directory) holding ``--due`` received
dossiers whose appointment has passed, plus open dossiers whose timers lie in the future, up
to the size; then it times ``engine.sweep(now)``, which finds the due rows through the
``next_timer_at`` index and fires one ``overdue`` event on each (one hash-chained event and
one version-checked update per dossier). Setting up is not timed; each round sweeps a fresh
copy of the database.

It prints the sweep time for each size and the ratio large/small (target ≤ 1.5: the index,
not a table scan, finds the due rows). The small database is the baseline measured in the
same run. Speed is never asserted by the test suite: this script reports.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

# Run as a script, this folder comes first on sys.path: take it off (see transitions.py).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from dossier import Actor, Engine  # noqa: E402
from dossier.clock import LOCAL_TZ  # noqa: E402
from dossier.procedure import load_procedure  # noqa: E402
from dossier.resources import sample_path  # noqa: E402
from dossier.testing import FrozenClock  # noqa: E402

AGENCY = "000.00.05.H12"
RECEIVED = datetime(2025, 9, 8, 9, 0, tzinfo=LOCAL_TZ)     # a Monday
SWEEP_AT = datetime(2025, 9, 23, 9, 0, tzinfo=LOCAL_TZ)    # after the 10-working-day limit


def _build(path: Path, due: int, size: int) -> None:
    clock = FrozenClock(RECEIVED)
    engine = Engine(f"sqlite:///{path}", clock=clock)
    engine.register(load_procedure(sample_path("ly-lich-tu-phap.toml")))
    clerk = Actor(id="nv01", role="clerk", agency=AGENCY)
    for _ in range(due):
        code = engine.submit("3.000333", applicant={"name": "Nguyễn Văn A"}, channel="counter",
                             actor=clerk).code
        engine.fire(code, "receive", actor=clerk)
    template = engine.get(code)
    engine.close()
    # the other open dossiers: copies of a received one whose timers lie months ahead
    filler = size - due
    with sqlite3.connect(path) as conn:
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO dossiers (code, procedure_code, procedure_version, agency, channel,"
            " state, owner, applicant, fee_basis, fee_due, paid_amount, version, event_count,"
            " head_hash, submitted_at, received_at, updated_at, clock_started_at, due_at,"
            " appointment_at, warning_at, step_due, extended, next_timer_at)"
            " SELECT 'FILL-' || i, procedure_code, procedure_version, agency, channel, state,"
            " owner, applicant, fee_basis, fee_due, paid_amount, version, event_count,"
            " head_hash, submitted_at, received_at, updated_at, clock_started_at, '2026-03-02"
            " 02:00:00.000000', '2026-03-02 02:00:00.000000', '2026-02-27 02:00:00.000000',"
            " step_due, extended,"
            " strftime('%Y-%m-%d %H:%M:%f000', '2025-12-01', '+' || (i % 5000) || ' minutes')"
            " FROM n, (SELECT * FROM dossiers WHERE code = ?)",
            (filler, template.code))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _time_sweep(source: Path, work: Path, due: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        for suffix in ("", "-wal", "-shm"):
            target = Path(f"{work}{suffix}")
            target.unlink(missing_ok=True)
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", target)
        engine = Engine(f"sqlite:///{work}", clock=FrozenClock(SWEEP_AT))
        engine.get(engine.codes(AGENCY)[0])  # open the pool before timing
        began = time.perf_counter()
        report = engine.sweep(SWEEP_AT)
        elapsed = time.perf_counter() - began
        engine.close()
        if report.fired != {"overdue": due}:
            raise SystemExit(f"expected {due} overdue events, the sweep fired {report}")
        best = min(best, elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
          f"{args.due:,} due timers; best of {args.rounds} sweeps")
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (args.small, args.large):
            source = Path(tmp) / f"source-{size}.db"
            began = time.perf_counter()
            _build(source, args.due, size)
            built = time.perf_counter() - began
            times[size] = _time_sweep(source, Path(tmp) / "work.db", args.due, args.rounds)
            print(f"{size:>10,} open dossiers: sweep {times[size] * 1000:8.1f} ms "
                  f"({args.due / times[size]:,.0f} timers/s; built in {built:.1f} s)")
            for leftover in Path(tmp).glob("*"):
                leftover.unlink()
    ratio = times[args.large] / times[args.small]
    print(f"ratio {args.large:,} / {args.small:,}: {ratio:.2f}   (target <= 1.5)")


if __name__ == "__main__":
    main()
