"""How fast does ``Engine.fire`` go, next to the same work written by hand on ``sqlite3``?

Run ``python bench/transitions.py [--n 5000] [--dossiers 1000] [--rounds 3]``. It prints two
rates, in transitions per second, and their ratio (see ``bench/README.md``):

* **engine** — ``engine.fire(code, trigger, actor=…)`` on a SQLite file in a temp directory:
  one call, one transaction per transition, with everything ``fire`` does (authorisation, rule
  book, guards, trigger data, hash chain, optimistic lock, snapshot).
* **raw** — the least a hand-written program must do for the same transition, with the
  standard library's ``sqlite3`` on its own file with the same tables (WAL,
  ``synchronous=NORMAL``): ``BEGIN IMMEDIATE``, read the dossier row, a version-checked
  ``UPDATE``, an ``INSERT`` of an event row of the same size (its SHA-256 chained to the
  previous one), ``COMMIT``.

Both sides cycle the same moves over the same number of dossiers: ``request_supplement``
(from ``awaiting_reception``) and ``supplement`` (back again). Setting up the dossiers is not
timed; each side is warmed up, then timed for ``--rounds`` rounds of ``--n`` transitions, and
the best round counts. Speed is never asserted by the test suite: this script reports.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path, and this file's name would
# shadow the `transitions` package the engine imports: take the folder off the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from dossier import Actor, Engine, sample_path  # noqa: E402
from dossier.procedure import Procedure, load_procedure  # noqa: E402
from dossier.procedure.model import MAX_COPIES  # noqa: E402

PROCEDURE = "chung-thuc-ban-sao-dien-tu-2025-11.toml"  # in force from 1/11/2025 on
AGENCY = "000.00.12.H12"
REASON = "Thiếu bản chính giấy tờ cần chứng thực"
APPLICANT = {"name": "Nguyễn Văn A", "id_number": "001090012345"}
_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how the engine stores instants on SQLite


def _setup(path: Path, dossiers: int, audit_key: str | None = None,
           **options: Any) -> tuple[Engine, list[str]]:
    """A fresh engine database with ``dossiers`` submitted dossiers (awaiting reception);
    ``options`` go to :class:`Engine` (``bench/outbox.py`` passes ``sinks``)."""
    engine = Engine(f"sqlite:///{path}", audit_key=audit_key, **options)
    # the sample allows one supplement request (hướng dẫn một lần); the bench cycles many
    sample = load_procedure(sample_path(PROCEDURE)).model_dump()
    engine.register(Procedure.model_validate({**sample, "version": "bench",
                                              "max_supplement_requests": MAX_COPIES}))
    clerk = Actor(id="nv01", role="clerk", agency=AGENCY)
    codes = [engine.submit("2.000815", applicant=APPLICANT, channel="counter", actor=clerk).code
             for _ in range(dossiers)]
    return engine, codes


class Cycle:
    """Which move comes next for each dossier: ask for a supplement, then supplement."""

    def __init__(self, codes: list[str]) -> None:
        self.codes = codes
        self.waiting = [False] * len(codes)  # True while awaiting_supplement
        self.at = 0

    def next(self) -> tuple[int, str, bool]:
        index = self.at % len(self.codes)
        self.at += 1
        asked = self.waiting[index]
        self.waiting[index] = not asked
        return index, self.codes[index], asked


def engine_runner(engine: Engine, codes: list[str]) -> Callable[[int], None]:
    clerk = Actor(id="nv01", role="clerk", agency=AGENCY)
    cycle = Cycle(codes)
    fire = engine.fire

    def run(n: int) -> None:
        for _ in range(n):
            _, code, asked = cycle.next()
            if asked:
                fire(code, "supplement", actor=clerk)
            else:
                fire(code, "request_supplement", actor=clerk, reason=REASON)
    return run


def raw_runner(path: Path, codes: list[str]) -> Callable[[int], None]:
    """The same transitions by hand: one short DB-API transaction each."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    cur = conn.cursor()
    cycle = Cycle(codes)
    select = ("SELECT id, code, procedure_code, procedure_version, agency, channel, state,"
              " resume_state, owner, applicant, fee_due, paid_amount, version, event_count,"
              " head_hash, submitted_at, received_at, updated_at, closed_at"
              " FROM dossiers WHERE code = ?")
    update = ("UPDATE dossiers SET state = ?, resume_state = ?, paid_amount = ?, version = ?,"
              " event_count = ?, head_hash = ?, received_at = ?, updated_at = ?, closed_at = ?"
              " WHERE id = ? AND version = ?")
    insert = ("INSERT INTO events (dossier_id, seq, trigger, source, target, actor, role,"
              " on_behalf_of, at, data, prev_hash, hash)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    ask = json.dumps({"reason": REASON}, ensure_ascii=False)

    def run(n: int) -> None:
        for _ in range(n):
            _, code, asked = cycle.next()
            cur.execute("BEGIN IMMEDIATE")
            row = cur.execute(select, (code,)).fetchone()
            dossier_id, state, resume, version, count, head = (
                row[0], row[6], row[7], row[12], row[13], row[14])
            if asked:
                trigger, target, new_resume, data = "supplement", resume, None, "{}"
            else:
                trigger, target, new_resume, data = "request_supplement", \
                    "awaiting_supplement", state, ask
            at = datetime.now(UTC).strftime(_TIME)
            digest = hashlib.sha256(
                f"{code}|{count + 1}|{trigger}|{state}|{target}|nv01|{at}|{data}|{head}"
                .encode()).hexdigest()
            cur.execute(update, (target, new_resume, row[11], version + 1, count + 1, digest,
                                 row[16], at, row[18], dossier_id, version))
            if cur.rowcount != 1:
                cur.execute("ROLLBACK")
                raise RuntimeError(f"{code}: lost the optimistic lock")
            cur.execute(insert, (dossier_id, count + 1, trigger, state, target, "nv01",
                                 "clerk", None, at, data, head, digest))
            cur.execute("COMMIT")
    return run


def best_rate(run: Callable[[int], None], n: int, rounds: int, warmup: int) -> float:
    run(warmup)
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        run(n)
        best = max(best, n / (time.perf_counter() - started))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=5000, help="transitions per round")
    parser.add_argument("--dossiers", type=int, default=1000, help="dossiers to cycle over")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (best counts)")
    parser.add_argument("--warmup", type=int, default=500, help="untimed transitions first")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of one engine round")
    parser.add_argument("--keyed", action="store_true",
                        help="also time an engine with an audit key (HMAC-linked events)")
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()} ({sys.implementation.name}), "
          f"SQLite {sqlite3.sqlite_version}, {platform.machine()}")
    print(f"{args.n} transitions per round, {args.dossiers} dossiers, best of {args.rounds} "
          "rounds after a warm-up; one transaction per transition")
    with tempfile.TemporaryDirectory(prefix="dossier-bench-") as tmp:
        engine_db, raw_db = Path(tmp) / "engine.db", Path(tmp) / "raw.db"
        engine, codes = _setup(engine_db, args.dossiers)
        # the raw side gets the very same tables (made by the engine), then loses the engine
        raw_setup, raw_codes = _setup(raw_db, args.dossiers)
        raw_setup.close()

        fire = engine_runner(engine, codes)
        engine_rate = best_rate(fire, args.n, args.rounds, args.warmup)
        raw_rate = best_rate(raw_runner(raw_db, raw_codes), args.n, args.rounds, args.warmup)
        if args.profile:
            import cProfile
            import pstats
            profiler = cProfile.Profile()
            profiler.runcall(fire, args.n)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        ok = all(engine.verify_audit(code) for code in codes)
        engine.close()
        keyed_rate = None
        if args.keyed:
            import secrets

            keyed, keyed_codes = _setup(Path(tmp) / "keyed.db", args.dossiers,
                                        audit_key=secrets.token_hex(32))
            keyed_rate = best_rate(engine_runner(keyed, keyed_codes), args.n, args.rounds,
                                   args.warmup)
            ok = ok and all(keyed.verify_audit(code) for code in keyed_codes)
            keyed.close()

    print(f"engine.fire : {engine_rate:9,.0f} transitions/s  ({1e6 / engine_rate:6.1f} µs each)")
    print(f"raw sqlite3 : {raw_rate:9,.0f} transitions/s  ({1e6 / raw_rate:6.1f} µs each)")
    if keyed_rate is not None:
        print(f"keyed fire  : {keyed_rate:9,.0f} transitions/s  ({1e6 / keyed_rate:6.1f} µs "
              f"each); keyed/plain {keyed_rate / engine_rate:.2f}")
    print(f"ratio engine/raw: {engine_rate / raw_rate:.2f} (target >= 0.20); "
          f"audit chains verified: {ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
