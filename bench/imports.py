"""What does ``import dossier`` cost, next to the two libraries the engine cannot do without?

Run ``python bench/imports.py [--rounds 15]``. Each round starts fresh interpreters
(``python -c …``, from the project root) for:

* **import dossier** — the time of the import statement alone, measured inside the child, and
  how many modules it adds to ``sys.modules``;
* **baseline** — ``import sqlalchemy, transitions`` measured the same way: the database layer
  and the state machine, which any engine of this kind imports;
* **dossier validate** — the wall time of ``python -m dossier validate
  samples/ly-lich-tu-phap.toml`` as a shell runs it, interpreter start-up included (a plain
  ``python -c pass`` is timed too, for reference).

The sides are interleaved (their order alternates from round to round) after one warm-up
round, so that a busy machine slows both alike. It prints the medians and, last, the median
of the per-round ratios dossier/baseline (target <= 1.5). It also says which of the heavy
optional parts (PDF signing, PDF rendering, the HTTP client, migrations, the ORM models) a
bare ``import dossier`` drags in. Speed is never asserted by the test suite: this script
reports.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Run as a script, this folder comes first on sys.path (bench/transitions.py would shadow the
# `transitions` package): take it off. The children run from the project root for the same
# reason, and so import this checkout's dossier.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
ROOT = _HERE.parent
SAMPLE = Path("samples") / "ly-lich-tu-phap.toml"

# Not needed to validate a procedure file, nor to import the library.
HEAVY = ("pyhanko", "fpdf", "aiohttp", "alembic", "sqlmodel")

_CHILD = """
import sys, time
before = set(sys.modules)
began = time.perf_counter()
import {modules}
elapsed = time.perf_counter() - began
heavy = [name for name in {heavy!r} if name in sys.modules]
print(elapsed, len(set(sys.modules) - before), ",".join(heavy) or "-")
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # With PYTHONDONTWRITEBYTECODE (CI sets it) every child would compile the checkout's
    # modules again and the figure would be the compiler's; an installed package has its .pyc.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True)
    if done.returncode:
        raise SystemExit(f"python {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def _import(modules: str, env: dict[str, str]) -> tuple[float, int, list[str]]:
    """Seconds of ``import modules`` in a fresh interpreter, modules added, heavy ones among."""
    seconds, count, heavy = _run(["-c", _CHILD.format(modules=modules, heavy=HEAVY)],
                                 env).split()
    return float(seconds), int(count), [] if heavy == "-" else heavy.split(",")


def _wall(args: list[str], env: dict[str, str]) -> tuple[float, int, list[str]]:
    """Wall seconds of ``python args`` as a shell would run it."""
    began = time.perf_counter()
    _run(args, env)
    return time.perf_counter() - began, 0, []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    env = _env()
    sides: dict[str, Callable[[], tuple[float, int, list[str]]]] = {
        "dossier": lambda: _import("dossier", env),
        "baseline": lambda: _import("sqlalchemy, transitions", env),
        "validate": lambda: _wall(["-m", "dossier", "validate", str(SAMPLE)], env),
        "python": lambda: _wall(["-c", "pass"], env),
    }
    for run in sides.values():  # warm-up: .pyc files, the page cache
        run()
    times: dict[str, list[float]] = {name: [] for name in sides}
    counts: dict[str, int] = {}
    heavy: list[str] = []
    order = list(sides)
    for _ in range(args.rounds):
        for name in order:
            seconds, count, found = sides[name]()
            times[name].append(seconds)
            counts[name] = count
            if name == "dossier":
                heavy = found
        order.reverse()

    def line(label: str, name: str, note: str) -> None:
        print(f"{label:<42}{statistics.median(times[name]) * 1000:8.1f} ms   {note}")

    print(f"Python {platform.python_version()} ({sys.executable}); {args.rounds} rounds, "
          "sides interleaved, medians")
    line("import dossier", "dossier", f"{counts['dossier']} modules")
    line("import sqlalchemy, transitions (baseline)", "baseline", f"{counts['baseline']} modules")
    line(f"dossier validate {SAMPLE.name}", "validate", "wall, start-up included")
    line("python -c pass", "python", "wall: the start-up alone")
    print("import dossier loads "
          + (", ".join(heavy) if heavy else f"none of {', '.join(HEAVY)}"))
    ratios = [d / b for d, b in zip(times["dossier"], times["baseline"], strict=True)]
    print(f"ratio import dossier / baseline: {statistics.median(ratios):.2f} "
          "(median of paired ratios; target <= 1.5)")


if __name__ == "__main__":
    main()
