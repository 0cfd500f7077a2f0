"""How much slower is the first fire after ``Engine()`` than a warm one?

Run ``python bench/coldstart.py [--rounds 7]`` (``--quick`` for fewer). Each round prepares a
SQLite database (in a separate process, not timed: the sample *lý lịch tư pháp* registered,
twelve dossiers submitted), then starts a **fresh interpreter** that does what a service does
when it starts, timing each part: ``import dossier``, ``Engine(url)`` (which now builds the
calendars' day tables for this year and the next), ``register`` of the procedure (as
``Engine.from_config`` does; it builds the rule book), then ``fire(code, "receive")`` on one
dossier after another (form 01 is numbered in each receive; its PDF is left to the worker,
``FormSettings(at_fire=False)``, as ``bench/transitions.py`` does). The figure is the first
receive over the median of the 3rd–12th (the warm ones): target ≤ 3.

Rounds alternate between a database in the temp directory and one on a RAM disk
(``/dev/shm``): on a disk, a process's first commit also creates SQLite's WAL file and syncs
it, a cost of SQLite and the disk, not of the engine, so the same child also times a first and
a later commit of plain ``sqlite3`` on a scratch file beside the database. Speed is never
asserted by the test suite: this script reports.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

from bench import pairs  # noqa: E402

TARGET = 3.0
_SETUP = """
import sys
from dossier import Actor, Engine, sample_path
from dossier.forms import FormSettings
from dossier.procedure import load_procedure
engine = Engine(sys.argv[1], form_settings=FormSettings(at_fire=False))
engine.register(load_procedure(sample_path("ly-lich-tu-phap.toml")))
clerk = Actor(id="nv01", role="clerk", agency="000.00.05.H12")
for _ in range(12):
    engine.submit("3.000333", applicant={"name": "Nguyễn Văn A"}, channel="counter",
                  actor=clerk)
engine.close()
"""
_CHILD = """
import json, sqlite3, statistics, sys, time
began = time.perf_counter()
from dossier import Actor, Engine, sample_path
from dossier.forms import FormSettings
from dossier.procedure import load_procedure
imported = time.perf_counter()
engine = Engine(sys.argv[1], form_settings=FormSettings(at_fire=False))
started = time.perf_counter()
engine.register(load_procedure(sample_path("ly-lich-tu-phap.toml")))
registered = time.perf_counter()
clerk = Actor(id="nv01", role="clerk", agency="000.00.05.H12")
fires = []
for code in engine.codes():
    at = time.perf_counter()
    engine.fire(code, "receive", actor=clerk)
    fires.append(time.perf_counter() - at)
engine.close()
scratch = sqlite3.connect(sys.argv[2], isolation_level=None)
scratch.execute("PRAGMA journal_mode=WAL")
scratch.execute("PRAGMA synchronous=NORMAL")
scratch.execute("CREATE TABLE t (a)")
scratch.close()
scratch = sqlite3.connect(sys.argv[2], isolation_level=None)
scratch.execute("PRAGMA synchronous=NORMAL")
commits = []
for _ in range(5):
    at = time.perf_counter()
    scratch.execute("BEGIN IMMEDIATE")
    scratch.execute("INSERT INTO t VALUES (1)")
    scratch.execute("COMMIT")
    commits.append(time.perf_counter() - at)
print(json.dumps({"import": imported - began, "engine": started - imported,
                  "register": registered - started, "first": fires[0],
                  "warm": statistics.median(fires[2:]), "sqlite_first": commits[0],
                  "sqlite_warm": statistics.median(commits[1:])}))
"""


def one(directory: str, source: Path = _HERE.parent) -> dict[str, float]:
    """A prepared database, then a fresh interpreter starting on it (importing the ``dossier``
    of ``source``, a checkout)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with tempfile.TemporaryDirectory(prefix="dossier-bench-", dir=directory) as tmp:
        url = f"sqlite:///{tmp}/dossier.db"
        subprocess.run([sys.executable, "-c", _SETUP, url], check=True, env=env,
                       stderr=subprocess.DEVNULL, cwd=source)
        out = subprocess.run([sys.executable, "-c", _CHILD, url, f"{tmp}/scratch.db"],
                             check=True, env=env, capture_output=True, text=True,
                             cwd=source).stdout
    return dict(json.loads(out.splitlines()[-1]))


def run(rounds: int, source: Path = _HERE.parent) -> list[pairs.Figure]:
    places = {"RAM disk": "/dev/shm", "temp dir": tempfile.gettempdir()}
    print(f"Python {platform.python_version()}, {platform.machine()}; {rounds} fresh "
          f"processes per place, alternating: " + ", ".join(f"{k} ({v})"
                                                           for k, v in places.items()))
    found: dict[str, list[dict[str, float]]] = {name: [] for name in places}

    def side(name: str) -> Callable[[], float]:
        def run_side() -> float:
            found[name].append(one(places[name], source))
            return found[name][-1]["first"]
        return run_side

    pairs.rounds([(name, side(name)) for name in places], rounds)
    figures = []
    for name, results in found.items():
        ratio = pairs.Ratios(tuple(r["first"] / r["warm"] for r in results), "processes")
        print(f"{name}: import dossier {pairs.median([r['import'] for r in results]) * 1e3:.0f}"
              f" ms, Engine() {pairs.median([r['engine'] for r in results]) * 1e3:.0f} ms, "
              f"register {pairs.median([r['register'] for r in results]) * 1e3:.1f} ms, first "
              f"receive {pairs.median([r['first'] for r in results]) * 1e3:.2f} ms, warm "
              f"{pairs.median([r['warm'] for r in results]) * 1e3:.2f} ms; plain sqlite3 "
              f"beside it: first commit "
              f"{pairs.median([r['sqlite_first'] for r in results]) * 1e3:.2f} ms, later "
              f"{pairs.median([r['sqlite_warm'] for r in results]) * 1e3:.3f} ms")
        print(pairs.line(f"first fire / warm fire ({name})", ratio, target=TARGET,
                         at_most=True))
        figures.append(pairs.Figure("coldstart", f"first / warm fire, {name}", ratio, TARGET,
                                    at_most=True))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7, help="fresh processes per place")
    parser.add_argument("--quick", action="store_true", help="--rounds 4")
    parser.add_argument("--source", type=Path, default=_HERE.parent,
                        help="the checkout whose dossier the children import (to compare)")
    args = parser.parse_args(argv)
    run(4 if args.quick else args.rounds, args.source)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
