"""How fast does the outbox deliver, and what does it cost every transition?

Run ``python bench/outbox.py [--n 3000] [--dossiers 500] [--rounds 7]``. Everything runs on
SQLite files in a temp directory, with an in-process sink that does nothing (so what is
measured is the engine's side: claim, load, acknowledge).

* **delivery** — ``--n`` events are written (not timed) to an engine with one sink, then
  ``engine.dispatch_outbox()`` is timed until it has delivered them all: messages per second
  through claim (one transaction per ``batch``), the sink call and the acknowledgement (one
  transaction per message). **end to end** adds the writing: ``--n`` transitions with their
  outbox rows, then their delivery, over the total time.
* **cost** — the lifecycle of ``bench/transitions.py`` (``request_supplement`` /
  ``supplement`` round-robin over ``--dossiers`` dossiers, one ``engine.fire`` per
  transition) on two engines, one without sinks and one with one sink, timed in interleaved
  A/B rounds (the order alternating) of ``--n`` transitions. The one-sink engine's outbox is
  dispatched between rounds (not timed), as a worker would. It prints the median of the
  per-round ratios with/without and their spread (min–max): the share of ``fire``'s speed
  kept with an outbox.

Speed is never asserted by the test suite: this script reports.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path: take it off (see transitions.py).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from dossier import Dossier  # noqa: E402
from dossier.sinks import Message  # noqa: E402


def _transitions_bench() -> Any:
    """``bench/transitions.py``, loaded under another name (its own would shadow the
    ``transitions`` package)."""
    spec = importlib.util.spec_from_file_location("bench_transitions",
                                                  _HERE / "transitions.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _transitions_bench()


class NoOpSink:
    """Wants everything, delivers nowhere."""

    delivered = 0

    def wants(self, message_type: str) -> bool:
        return True

    def deliver(self, message: Message, dossier: Dossier) -> None:
        self.delivered += 1


def delivery(tmp: Path, n: int, dossiers: int, rounds: int) -> tuple[float, float]:
    """Best rates (messages/s) of dispatch alone and of write + dispatch."""
    best_dispatch = best_total = 0.0
    for round_ in range(rounds):
        sink = NoOpSink()
        engine, codes = bench._setup(tmp / f"delivery-{round_}.db", dossiers,
                                     sinks={"noop": sink})
        engine.dispatch_outbox()  # the submit events: not part of the round
        before = sink.delivered
        fire = bench.engine_runner(engine, codes)
        started = time.perf_counter()
        fire(n)
        written = time.perf_counter()
        report = engine.dispatch_outbox()
        ended = time.perf_counter()
        assert report.delivered == n == sink.delivered - before, report
        engine.close()
        best_dispatch = max(best_dispatch, n / (ended - written))
        best_total = max(best_total, n / (ended - started))
    return best_dispatch, best_total


def cost(tmp: Path, n: int, dossiers: int, rounds: int, warmup: int) -> list[float]:
    """Per-round ratios: transitions/s with one sink over transitions/s without."""
    plain, plain_codes = bench._setup(tmp / "plain.db", dossiers)
    sinked, sinked_codes = bench._setup(tmp / "sinked.db", dossiers, sinks={"noop": NoOpSink()})
    runs = {"plain": bench.engine_runner(plain, plain_codes),
            "sinked": bench.engine_runner(sinked, sinked_codes)}
    for run in runs.values():
        run(warmup)
    sinked.dispatch_outbox()
    ratios = []
    for round_ in range(rounds):
        rates = {}
        for name in (("plain", "sinked") if round_ % 2 == 0 else ("sinked", "plain")):
            started = time.perf_counter()
            runs[name](n)
            rates[name] = n / (time.perf_counter() - started)
        sinked.dispatch_outbox()
        ratios.append(rates["sinked"] / rates["plain"])
        print(f"  round {round_ + 1}: without {rates['plain']:8,.0f}/s, with one sink "
              f"{rates['sinked']:8,.0f}/s, ratio {ratios[-1]:.2f}")
    plain.close()
    sinked.close()
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=3000, help="transitions/messages per round")
    parser.add_argument("--dossiers", type=int, default=500, help="dossiers to cycle over")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (A/B pairs for cost)")
    parser.add_argument("--warmup", type=int, default=500, help="untimed transitions first")
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()} ({sys.implementation.name}), "
          f"SQLite {sqlite3.sqlite_version}, {platform.machine()}")
    with tempfile.TemporaryDirectory(prefix="dossier-bench-") as tmp:
        dispatch_rate, total_rate = delivery(Path(tmp), args.n, args.dossiers,
                                             max(1, args.rounds // 2))
        print(f"delivery    : {dispatch_rate:9,.0f} messages/s dispatched "
              f"({1e6 / dispatch_rate:6.1f} µs each; best of {max(1, args.rounds // 2)})")
        print(f"end to end  : {total_rate:9,.0f} events/s written and delivered")
        print(f"cost on transitions.py's lifecycle, {args.n} transitions per side and round:")
        ratios = cost(Path(tmp), args.n, args.dossiers, args.rounds, args.warmup)
    print(f"ratio with one sink / without: {statistics.median(ratios):.2f} "
          f"(median of {len(ratios)} paired rounds; spread {min(ratios):.2f}–{max(ratios):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
