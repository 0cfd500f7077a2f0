"""How fast are deadline computations, and does their cost stay flat as the amount grows?

Run ``python bench/calendar.py [--n 200000] [--rounds 5]``. It prints, in computations per
second (the median of ``--rounds`` rounds in which the four sides take turns, the order
turning around every round):

* **mixed** — ``WorkingCalendar.add`` over a precomputed mix of starts (any time of day, any
  day of 2024–2027), units (working hours, working days, calendar days, same day) and amounts
  (0–60), with and without a cut-off. The target is ≥ 200,000/s on a 2-core machine.
* **1 vs 1,000 working days** — the same starts, ``add(start, 1, "working_days")`` next to
  ``add(start, 1000, "working_days")``; the median of the per-round ratios of their times
  should be ≈ 1 (target ≤ 1.2: no day-by-day loop).
* **baseline** — in the same run, the day-by-day loop the calendar avoids (step a day at a
  time, skipping non-working days) for 1,000 working days, and how many times faster the
  calendar is.

Speed is never asserted by the test suite: this script reports.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

# Run as a script, this folder comes first on sys.path and this file would shadow the
# standard library's `calendar` module: take the folder off the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

from bench import pairs  # noqa: E402
from dossier.calendar import WorkingCalendar  # noqa: E402
from dossier.clock import LOCAL_TZ  # noqa: E402

UNITS = ("working_hours", "working_days", "calendar_days", "same_day")
TARGET_MIXED, TARGET_FLAT = 200_000, 1.2


def _starts(n: int, seed: int = 7) -> list[datetime]:
    rng = random.Random(seed)
    first = datetime(2024, 1, 1, tzinfo=LOCAL_TZ)
    span = int((datetime(2027, 12, 31, tzinfo=LOCAL_TZ) - first).total_seconds())
    return [first + timedelta(seconds=rng.randrange(span)) for _ in range(n)]


def _day_by_day(calendar: WorkingCalendar, start: date, days: int) -> date:
    """The naive way: walk the days one by one."""
    day = start
    while days:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            days -= 1
    return day


def run(n: int, rounds: int) -> list[pairs.Figure]:
    calendar = WorkingCalendar.vietnam()
    starts = _starts(n)
    rng = random.Random(11)
    mixed = [(s, rng.randrange(61), rng.choice(UNITS),
              rng.choice((None, clock_time(15, 0), "16:00"))) for s in starts]
    calendar.add(starts[0], 1000, "working_days")  # warm the year tables (2024–2031)

    add = calendar.add
    few = starts[: max(1, n // 100)]

    def timed(work: Callable[[], None], count: int) -> Callable[[], float]:
        return lambda: count / pairs.seconds(work)  # computations per second

    def run_mixed() -> None:
        for start, amount, unit, cutoff in mixed:
            add(start, amount, unit, cutoff)

    def run_days(amount: int) -> Callable[[], None]:
        def run_it() -> None:
            for start in starts:
                add(start, amount, "working_days")
        return run_it

    def run_naive() -> None:
        for start in few:
            _day_by_day(calendar, start.date(), 1000)

    rates = pairs.rounds([("mixed", timed(run_mixed, n)), ("1", timed(run_days(1), n)),
                          ("1000", timed(run_days(1000), n)),
                          ("naive", timed(run_naive, len(few)))], rounds)
    print(f"Python {platform.python_version()} on {platform.machine()}, "
          f"{rounds} interleaved rounds of {n:,} computations, medians")
    mixed_rate = pairs.Ratios(tuple(r / 1000 for r in rates["mixed"]), "rounds")
    print(f"mixed units and amounts     {pairs.median(rates['mixed']):>12,.0f} /s   "
          f"(target >= {TARGET_MIXED:,}/s)")
    print(f"add 1 working day           {pairs.median(rates['1']):>12,.0f} /s")
    print(f"add 1,000 working days      {pairs.median(rates['1000']):>12,.0f} /s")
    flat = pairs.ratios(rates["1"], rates["1000"])
    print(pairs.line("time(1,000) / time(1)", flat, target=TARGET_FLAT, at_most=True))
    print(f"baseline: day-by-day loop, 1,000 working days {pairs.median(rates['naive']):>10,.0f}"
          f" /s; calendar / day-by-day: {pairs.ratios(rates['1000'], rates['naive'])}")
    return [pairs.Figure("calendar", "mixed add(), thousands per s", mixed_rate,
                         TARGET_MIXED / 1000),
            pairs.Figure("calendar", "time(1,000 days) / time(1 day)", flat, TARGET_FLAT,
                         at_most=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="computations per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="--n 50000 --rounds 3")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.rounds = 50_000, 3
    run(args.n, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
