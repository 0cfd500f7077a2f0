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
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import pairs  # noqa: E402

TARGET = 1.5
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


def run(rounds: int) -> list[pairs.Figure]:
    env = _env()
    sides: dict[str, Callable[[], tuple[float, int, list[str]]]] = {
        "dossier": lambda: _import("dossier", env),
        "baseline": lambda: _import("sqlalchemy, transitions", env),
        "validate": lambda: _wall(["-m", "dossier", "validate", str(SAMPLE)], env),
        "python": lambda: _wall(["-c", "pass"], env),
    }
    for run_side in sides.values():  # warm-up: .pyc files, the page cache
        run_side()
    counts: dict[str, int] = {}
    heavy: list[str] = []

    def timed(name: str) -> Callable[[], float]:
        def run_side() -> float:
            nonlocal heavy
            seconds, count, found = sides[name]()
            counts[name] = count
            if name == "dossier":
                heavy = found
            return seconds
        return run_side

    times = pairs.rounds([(name, timed(name)) for name in sides], rounds)

    def line(label: str, name: str, note: str) -> None:
        print(f"{label:<42}{statistics.median(times[name]) * 1000:8.1f} ms   {note}")

    print(f"Python {platform.python_version()} ({sys.executable}); {rounds} rounds, "
          "sides interleaved, medians")
    line("import dossier", "dossier", f"{counts['dossier']} modules")
    line("import sqlalchemy, transitions (baseline)", "baseline", f"{counts['baseline']} modules")
    line(f"dossier validate {SAMPLE.name}", "validate", "wall, start-up included")
    line("python -c pass", "python", "wall: the start-up alone")
    print("import dossier loads "
          + (", ".join(heavy) if heavy else f"none of {', '.join(HEAVY)}"))
    ratio = pairs.ratios(times["dossier"], times["baseline"])
    print(pairs.line("import dossier / baseline", ratio, target=TARGET, at_most=True))
    return [pairs.Figure("imports", "import dossier / sqlalchemy+transitions", ratio, TARGET,
                         at_most=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="--rounds 5")
    args = parser.parse_args(argv)
    run(5 if args.quick else args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
