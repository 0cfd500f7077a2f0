"""How fast are deadline computations, and does their cost stay flat as the amount grows?

Run ``python bench/calendar.py [--n 200000] [--rounds 3]``. It prints, in computations per
second (best of ``--rounds``):

* **mixed** — ``WorkingCalendar.add`` over a precomputed mix of starts (any time of day, any
  day of 2024–2027), units (working hours, working days, calendar days, same day) and amounts
  (0–60), with and without a cut-off. The target is ≥ 200,000/s on a 2-core machine.
* **1 vs 1,000 working days** — the same starts, ``add(start, 1, "working_days")`` next to
  ``add(start, 1000, "working_days")``; their ratio should be ≈ 1 (no day-by-day loop).
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
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

# Run as a script, this folder comes first on sys.path and this file would shadow the
# standard library's `calendar` module: take the folder off the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from dossier.calendar import WorkingCalendar  # noqa: E402
from dossier.clock import LOCAL_TZ  # noqa: E402

UNITS = ("working_hours", "working_days", "calendar_days", "same_day")


def _starts(n: int, seed: int = 7) -> list[datetime]:
    rng = random.Random(seed)
    first = datetime(2024, 1, 1, tzinfo=LOCAL_TZ)
    span = int((datetime(2027, 12, 31, tzinfo=LOCAL_TZ) - first).total_seconds())
    return [first + timedelta(seconds=rng.randrange(span)) for _ in range(n)]


def _best(rounds: int, n: int, run: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - began)
    return n / best


def _day_by_day(calendar: WorkingCalendar, start: date, days: int) -> date:
    """The naive way: walk the days one by one."""
    day = start
    while days:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            days -= 1
    return day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="computations per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n = args.n

    calendar = WorkingCalendar.vietnam()
    starts = _starts(n)
    rng = random.Random(11)
    mixed = [(s, rng.randrange(61), rng.choice(UNITS),
              rng.choice((None, clock_time(15, 0), "16:00"))) for s in starts]
    calendar.add(starts[0], 1000, "working_days")  # warm the year tables (2024–2031)

    add = calendar.add

    def run_mixed() -> None:
        for start, amount, unit, cutoff in mixed:
            add(start, amount, unit, cutoff)

    def run_days(amount: int) -> Callable[[], None]:
        def run() -> None:
            for start in starts:
                add(start, amount, "working_days")
        return run

    few = starts[: max(1, n // 100)]

    def run_naive() -> None:
        for start in few:
            _day_by_day(calendar, start.date(), 1000)

    rate_mixed = _best(args.rounds, n, run_mixed)
    rate_1 = _best(args.rounds, n, run_days(1))
    rate_1000 = _best(args.rounds, n, run_days(1000))
    rate_naive = _best(args.rounds, len(few), run_naive)

    print(f"Python {platform.python_version()} on {platform.machine()}, "
          f"{args.rounds} rounds of {n:,} computations, best round")
    print(f"mixed units and amounts     {rate_mixed:>12,.0f} /s   (target >= 200,000/s)")
    print(f"add 1 working day           {rate_1:>12,.0f} /s")
    print(f"add 1,000 working days      {rate_1000:>12,.0f} /s")
    print(f"ratio time(1,000) / time(1) {rate_1 / rate_1000:>12.2f}     (target ~1)")
    print(f"baseline: day-by-day loop, 1,000 working days {rate_naive:>10,.0f} /s")
    print(f"ratio calendar / day-by-day at 1,000 days      {rate_1000 / rate_naive:>10.0f}x")


if __name__ == "__main__":
    main()
