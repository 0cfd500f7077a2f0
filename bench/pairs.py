"""Interleaved rounds and paired ratios: how every bench compares two sides on a busy machine.

A shared machine speeds up and slows down by tens of percent within minutes, so the best (or
the mean) of one side's rounds, taken before the other side's, compares two different
machines. Here each *round* runs every side once, in an order that turns around every round
(A B, B A, A B…), and the figure is the **median of the per-round ratios**, printed with
their spread (lowest–highest): a slow patch slows both members of a pair alike.

::

    runs = rounds([("engine", time_engine), ("raw", time_raw)], 7)
    ratio = ratios(runs["raw"], runs["engine"])          # per-round raw time / engine time
    print(line("engine/raw", ratio, at_least=0.2))
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Ratios:
    """Per-round ratios of two sides measured in the same rounds."""

    values: tuple[float, ...]
    what: str = "pairs"      # what each value comes from, for the printed line

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def __str__(self) -> str:
        digits = 0 if self.median >= 100 else 2
        if len(self.values) == 1:
            return f"{self.median:.{digits}f} ({self.what})"
        return (f"{self.median:.{digits}f} (median of {len(self.values)} {self.what}, "
                f"{self.low:.{digits}f}–{self.high:.{digits}f})")


def rounds(sides: Sequence[tuple[str, Callable[[], float]]], count: int,
           ) -> dict[str, list[float]]:
    """Run every side once per round, the order turned around each round, and collect what
    each run returns (a duration or a rate), by side."""
    results: dict[str, list[float]] = {name: [] for name, _ in sides}
    for number in range(count):
        for name, run in (sides if number % 2 == 0 else list(reversed(sides))):
            results[name].append(run())
    return results


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> Ratios:
    """``numerators[i] / denominators[i]`` for every round ``i``."""
    return Ratios(tuple(a / b for a, b in zip(numerators, denominators, strict=True)))


def seconds(work: Callable[[], object]) -> float:
    """The wall time of one call of ``work``."""
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@dataclass(frozen=True)
class Figure:
    """One row of the summary table: what was measured, against which target (None: shown
    for information)."""

    bench: str
    name: str
    measured: Ratios
    target: float | None
    at_most: bool = False    # the target is a ceiling (≤), not a floor (≥)

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        value = self.measured.median
        return value <= self.target if self.at_most else value >= self.target

    def row(self) -> str:
        target = "—" if self.target is None else \
            f"{'≤' if self.at_most else '≥'} {self.target:g}"
        verdict = {None: "info", True: "met", False: "MISSED"}[self.met]
        return (f"{self.bench:<11} {self.name:<36} {target:<7} {self.measured!s:<44} "
                f"{verdict}")


def line(name: str, measured: Ratios, *, target: float, at_most: bool = False) -> str:
    """The closing line every bench prints for a figure with a target."""
    sign = "≤" if at_most else "≥"
    return f"{name}: {measured} (target {sign} {target:g})"


def table(figures: Sequence[Figure]) -> str:
    """The summary table of :mod:`bench.__main__`."""
    head = (f"{'bench':<11} {'figure':<36} {'target':<7} "
            f"{'measured: median (spread)':<44} verdict")
    return "\n".join([head, "-" * len(head), *(f.row() for f in figures)])
