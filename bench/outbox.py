"""How fast does the outbox deliver, and what does it cost every transition?

Run ``python bench/outbox.py [--per-round 100] [--rounds 7]`` (``--quick`` for fewer).
Everything runs on SQLite files in a temp directory, with an in-process sink that does nothing
(so what is measured is the engine's side: claim, load, acknowledge), on
``bench/transitions.py``'s lifecycle (receive, pay, approve, sign, return: five events and
five messages per dossier, plus the receipt's second transaction).

* **delivery** — the events of ``--per-round`` lifecycles are written (not timed), then
  ``engine.dispatch_outbox()`` is timed until it has delivered them all: messages per second
  through claim (one transaction per 100), the sink call and the acknowledgement (one
  transaction per message).
* **cost** — the lifecycles on two engines, one without sinks and one with one sink, in
  interleaved rounds (the order turning around every round); the one-sink engine's outbox is
  dispatched between rounds, untimed, as a worker would. It prints the median of the
  per-round ratios of speed with/without and their spread: the share of ``fire``'s speed kept
  with an outbox.

Speed is never asserted by the test suite: this script reports.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

from bench import pairs, transitions  # noqa: E402
from dossier import Dossier  # noqa: E402
from dossier.sinks import Message  # noqa: E402


class NoOpSink:
    """Wants everything, delivers nowhere."""

    delivered = 0

    def wants(self, message_type: str) -> bool:
        return True

    def deliver(self, message: Message, dossier: Dossier) -> None:
        self.delivered += 1


def delivery(tmp: Path, per_round: int, rounds: int, signed: bytes) -> list[float]:
    """Messages per second of dispatch alone, one figure per round."""
    sink = NoOpSink()
    engine, codes = transitions._setup(tmp / "delivery.db", per_round * rounds,
                                       sinks={"noop": sink})
    engine.dispatch_outbox()  # the submit events: not part of any round
    lifecycle = transitions.EngineLifecycle(engine, signed)
    rates = []
    for round_ in range(rounds):
        lifecycle.run(codes[round_ * per_round:(round_ + 1) * per_round], time.perf_counter)
        before = sink.delivered
        began = time.perf_counter()
        report = engine.dispatch_outbox()
        elapsed = time.perf_counter() - began
        assert report.delivered == sink.delivered - before > 0, report
        rates.append(report.delivered / elapsed)
    engine.close()
    return rates


def cost(tmp: Path, per_round: int, rounds: int, signed: bytes) -> pairs.Ratios:
    """Per-round ratios: lifecycle speed with one sink over speed without."""
    count = per_round * (rounds + 1)
    plain, plain_codes = transitions._setup(tmp / "plain.db", count)
    sinked, sinked_codes = transitions._setup(tmp / "sinked.db", count,
                                              sinks={"noop": NoOpSink()})
    lifecycles = {"plain": (transitions.EngineLifecycle(plain, signed), iter(plain_codes)),
                  "sinked": (transitions.EngineLifecycle(sinked, signed), iter(sinked_codes))}

    def side(name: str) -> Callable[[], float]:
        lifecycle, codes = lifecycles[name]

        def run() -> float:
            batch = [next(codes) for _ in range(per_round)]
            seconds = sum(lifecycle.run(batch, time.perf_counter).values())
            if name == "sinked":
                sinked.dispatch_outbox()  # a worker's job, not the fire's
            return seconds
        return run

    side("plain")()
    side("sinked")()  # warm-up rounds
    runs = pairs.rounds([("plain", side("plain")), ("sinked", side("sinked"))], rounds)
    plain.close()
    sinked.close()
    return pairs.ratios(runs["plain"], runs["sinked"])


def run(per_round: int, rounds: int) -> pairs.Figure:
    print(f"Python {platform.python_version()} ({sys.implementation.name}), "
          f"SQLite {sqlite3.sqlite_version}, {platform.machine()}; {rounds} rounds of "
          f"{per_round} lifecycles")
    signed = transitions.signed_result()
    with tempfile.TemporaryDirectory(prefix="dossier-bench-") as tmp:
        rates = delivery(Path(tmp), per_round, max(3, rounds // 2), signed)
        print(f"delivery: {pairs.median(rates):,.0f} messages/s dispatched "
              f"({1e6 / pairs.median(rates):.0f} µs each; median of {len(rates)} rounds, "
              f"{min(rates):,.0f}–{max(rates):,.0f})")
        ratio = cost(Path(tmp), per_round, rounds, signed)
    print(f"lifecycle speed with one sink / without: {ratio} (for information)")
    return pairs.Figure("outbox", "lifecycle with a sink / without", ratio, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--per-round", type=int, default=100, help="lifecycles per round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (A/B pairs for cost)")
    parser.add_argument("--quick", action="store_true", help="--per-round 40 --rounds 5")
    args = parser.parse_args(argv)
    if args.quick:
        args.per_round, args.rounds = 40, 5
    run(args.per_round, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
