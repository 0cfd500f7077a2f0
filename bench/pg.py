"""The engine on PostgreSQL: the lifecycle against hand-written SQL, and fires against pgbench.

Run ``python bench/pg.py [--rounds 7] [--seconds 3]`` (``--quick`` for fewer). Unless
``PGHOST`` is set (or ``--url`` given), it starts its own throwaway cluster with
``pg_virtualenv -t`` and runs inside it. Three parts, each in interleaved rounds (the order of
the sides turns around every round) reporting the median of the per-round ratios and their
spread:

1. **lifecycle** — ``bench/transitions.py``'s five steps of the fee-bearing, signed sample
   (receive, pay, approve, sign with a signed result handed in, return) through the engine,
   next to :mod:`bench.raw` on psycopg doing the same writes: per-step times and raw/engine.
2. **fires vs pgbench** — the four steps of a fee-less procedure signed on paper
   (:mod:`bench.pgload`), one transaction each, by 1 and by 4 engine processes, next to
   ``pgbench -M prepared`` with 1 and 4 clients sending the same statements on the same
   tables (targets: engine/pgbench ≥ 0.6 with one process, ≥ 0.4 with four), and the client
   CPU per fire of the engine processes (target ≤ 300 µs).
3. **driver floor** — the same step by hand on psycopg, no engine: five statements (BEGIN,
   SELECT, UPDATE, INSERT, COMMIT), four (the update and the insert in one statement, as the
   engine sends them), and the four in pipeline mode; what a Python client pays before any
   engine code runs.

``--profile`` adds a cProfile of one engine process firing, summed by layer. ``--trace``
prints the statements the engine sends for each step. ``--against DIR`` runs part 2 with the
engine processes of another checkout too, interleaved (``--fires-only``: part 2 alone).
Speed is never asserted by the test suite: this script reports.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

from bench import pairs, pgload, transitions  # noqa: E402
from bench.raw import RawLifecycle  # noqa: E402

TARGET_ONE, TARGET_FOUR, TARGET_CPU_US = 0.6, 0.4, 300.0
_CHILD = "DOSSIER_BENCH_IN_CLUSTER"


def server_url(database: str) -> str:
    user = os.environ.get("PGUSER", "postgres")
    password = os.environ.get("PGPASSWORD", "")
    auth = f"{user}:{password}@" if password else f"{user}@"
    return (f"postgresql+psycopg://{auth}{os.environ.get('PGHOST', 'localhost')}:"
            f"{os.environ.get('PGPORT', '5432')}/{database}")


def fresh_database(name: str) -> str:
    import psycopg

    admin = server_url(os.environ.get("PGDATABASE", "postgres")).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url(name)


def settle(url: str) -> None:
    """VACUUM ANALYZE after the set-up's inserts, now, so that autovacuum does not do it
    during the first timed rounds (on two cores it takes the CPU both sides need)."""
    import psycopg

    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def psycopg_connection(url: str) -> Any:
    import psycopg

    from dossier.store import database

    # the engine's setting (psycopg's default, 5, where it has none)
    threshold = getattr(database, "PREPARE_THRESHOLD", 5)
    return psycopg.connect(url.replace("+psycopg", ""), prepare_threshold=threshold)


# --- 1. the lifecycle ------------------------------------------------------------------------

def lifecycle(per_round: int, rounds: int) -> pairs.Figure:
    print(f"\n1. lifecycle of the fee-bearing, signed sample: {rounds} rounds of {per_round}"
          " per side")
    signed = transitions.signed_result()
    count = per_round * (rounds + 1)
    engine, engine_codes = transitions._setup(fresh_database("bench_engine"), count)
    raw_url = fresh_database("bench_raw")
    raw_setup, raw_codes = transitions._setup(raw_url, count)
    transitions.EngineLifecycle(raw_setup, signed).run(raw_codes[:1], time.perf_counter)
    html = transitions.receipt_html(raw_setup, raw_codes[0])
    raw_setup.close()
    conn = psycopg_connection(raw_url)
    raw = RawLifecycle(conn, postgres=True, signed_pdf=signed, receipt_html=html)
    ours = transitions.EngineLifecycle(engine, signed)
    ours.run(engine_codes[:per_round], time.perf_counter)
    raw.run(raw_codes[1:per_round], time.perf_counter)
    timings = transitions.compare(lambda c: ours.run(c, time.perf_counter),
                                  lambda c: raw.run(c, time.perf_counter),
                                  engine_codes[per_round:], raw_codes[per_round:], per_round,
                                  rounds)
    total = transitions.report(*timings, per_round, "PostgreSQL")
    print(f"audit chains verified: {all(engine.verify_audit(c) for c in engine_codes)}")
    engine.close()
    conn.close()
    return pairs.Figure("pg", "lifecycle raw/engine, PostgreSQL", total, transitions.TARGET)


# --- 2. fires against pgbench ----------------------------------------------------------------

def fires(rounds: int, seconds: float, against: Path | None = None) -> list[pairs.Figure]:
    print(f"\n2. fires against pgbench: {rounds} rounds of {seconds:g} s per side and setting")
    url = fresh_database("bench_fires")
    from dossier import Actor, Engine
    from dossier.forms import FormSettings

    engine = Engine(url, form_settings=FormSettings(at_fire=False))
    engine.register(pgload.procedure())
    clerk = Actor(id="cl01", role="clerk", agency=pgload.AGENCY)
    template = engine.submit(pgload.PROCEDURE["code"], applicant={"name": "B"},
                             channel="counter", actor=clerk).code
    # pgbench's dossiers: copies of a submitted one, enough for each lifecycle to find a row
    # that has seldom been updated, as the engine's processes do (a few rows updated over
    # and over would slow pgbench down with dead row versions)
    per_client = 25_000
    with engine.kernel.transaction() as tx:
        first, last = tx.one(
            "WITH made AS (INSERT INTO dossiers (code, procedure_code, procedure_version,"
            " agency, channel, state, owner, applicant, fee_basis, fee_due, paid_amount,"
            " version, event_count, head_hash, submitted_at, updated_at, step_due, extended)"
            " SELECT 'PGB-' || i, procedure_code, procedure_version, agency, channel, state,"
            " owner, applicant, fee_basis, fee_due, paid_amount, version, event_count,"
            " head_hash, submitted_at, updated_at, step_due, extended"
            " FROM generate_series(1, ?) AS i, dossiers WHERE code = ? ORDER BY i"
            " RETURNING id) SELECT MIN(id), MAX(id) FROM made", (4 * per_client, template))
    engine.close()
    assert last - first + 1 == 4 * per_client, "the copies' ids are not consecutive"
    pgbench_ids = [first]
    figures: list[pairs.Figure] = []
    # lifecycles each process holds ready; each tops its stock up after every window
    processes = pgload.EngineProcesses(url, 4, int(1000 * seconds))
    others = None if against is None else pgload.EngineProcesses(url, 4, int(1000 * seconds),
                                                                 source=against)
    settle(url)
    with tempfile.TemporaryDirectory(prefix="dossier-bench-") as tmp:
        script = Path(tmp) / "lifecycle.sql"
        script.write_text(pgload.pgbench_script(pgbench_ids[0], per_client))
        database = pgload.pg_env_database(url)
        for clients in (1, 4):
            cpu: list[float] = []

            def engine_side(clients: int = clients, cpu: list[float] = cpu) -> float:
                windows = processes.window(seconds, clients)
                cpu.append(pgload.cpu_per_fire(windows) * 1e6)
                return pgload.fires_per_second(windows)

            def pgbench_side(clients: int = clients) -> float:
                steps = len(pgload.STEPS)
                return pgload.run_pgbench(script, database, clients, seconds) * steps

            other_cpu: list[float] = []

            def other_side(clients: int = clients, cpu: list[float] = other_cpu) -> float:
                assert others is not None
                windows = others.window(seconds, clients)
                cpu.append(pgload.cpu_per_fire(windows) * 1e6)
                return pgload.fires_per_second(windows)

            sides = [("engine", engine_side), ("pgbench", pgbench_side)]
            if others is not None:
                sides.append(("other", other_side))
            for _, side in sides:
                side()  # warm-up (not counted): connections, prepared statements
            cpu.clear()
            other_cpu.clear()
            runs = pairs.rounds(sides, rounds)
            if others is not None:
                print(f"{clients} process(es) of {against}: {pairs.median(runs['other']):,.0f}"
                      f" fires/s, client CPU {pairs.median(other_cpu):.0f} µs per fire; "
                      f"against pgbench {pairs.ratios(runs['other'], runs['pgbench'])}; "
                      f"this checkout / that one {pairs.ratios(runs['engine'], runs['other'])}")
            ratio = pairs.ratios(runs["engine"], runs["pgbench"])
            print(f"{clients} process{'es' if clients > 1 else ''}: engine "
                  f"{pairs.median(runs['engine']):,.0f} fires/s, pgbench "
                  f"{pairs.median(runs['pgbench']):,.0f} fires/s, engine client CPU "
                  f"{pairs.median(cpu):.0f} µs per fire "
                  f"({min(cpu):.0f}–{max(cpu):.0f})")
            target = TARGET_ONE if clients == 1 else TARGET_FOUR
            print(pairs.line(f"engine/pgbench, {clients} process(es)", ratio, target=target))
            figures.append(pairs.Figure("pg", f"fires engine/pgbench, {clients} proc", ratio,
                                        target))
            if clients == 1:
                figures.append(pairs.Figure("pg", "client CPU µs per fire, 1 proc",
                                            pairs.Ratios(tuple(cpu), "windows"),
                                            TARGET_CPU_US,
                                            at_most=True))
    processes.close()
    if others is not None:
        others.close()
    return figures


# --- 3. the driver's floor -------------------------------------------------------------------

def driver_floor(rounds: int, seconds: float) -> None:
    print(f"\n3. the driver's floor: one step by hand on psycopg, {rounds} rounds of "
          f"{seconds:g} s")
    conn = psycopg_connection(server_url("bench_fires"))
    ids = [r[0] for r in conn.execute("SELECT id FROM dossiers ORDER BY id LIMIT 500")]
    conn.commit()
    select = f"SELECT {pgload._COLUMNS} FROM dossiers WHERE id = %s"
    update = ("UPDATE dossiers SET version = %s, event_count = %s, head_hash = %s,"
              " updated_at = now(), state = 'awaiting_return' WHERE id = %s AND version = %s")
    columns = ("INSERT INTO events (dossier_id, seq, trigger, source, target, actor, role,"
               " on_behalf_of, at, data, prev_hash, hash, key_id)")
    insert = (f"{columns} VALUES (%s, %s, 'sign', 'a', 'b', 'ld01', 'leader', NULL, now(),"
              " '{}', %s, %s, NULL) RETURNING id")
    combined = (f"WITH changed AS ({update} RETURNING id) {columns} SELECT id, %s, 'sign', 'a',"
                " 'b', 'ld01', 'leader', NULL, now(), '{}', %s, %s, NULL FROM changed"
                " RETURNING id")
    at = [0]

    def step(kind: str) -> None:
        dossier_id = ids[at[0] % len(ids)]
        at[0] += 1
        hashed = os.urandom(32).hex()
        if kind == "pipeline":
            with conn.pipeline():
                row = conn.execute(select, (dossier_id,)).fetchone()
                conn.execute(combined, (row[12] + 1, row[13] + 1, hashed, dossier_id, row[12],
                                        row[13] + 1, row[14], hashed))
                conn.commit()
            return
        row = conn.execute(select, (dossier_id,)).fetchone()
        if kind == "five":
            conn.execute(update, (row[12] + 1, row[13] + 1, hashed, dossier_id, row[12]))
            conn.execute(insert, (dossier_id, row[13] + 1, row[14], hashed)).fetchone()
        else:
            conn.execute(combined, (row[12] + 1, row[13] + 1, hashed, dossier_id, row[12],
                                    row[13] + 1, row[14], hashed)).fetchone()
        conn.commit()

    cpu: dict[str, list[float]] = {"five": [], "four": [], "pipeline": []}

    def side(kind: str) -> Callable[[], float]:
        def run() -> float:
            began, used, done = time.perf_counter(), time.process_time(), 0
            while time.perf_counter() - began < seconds:
                step(kind)
                done += 1
            cpu[kind].append((time.process_time() - used) / done * 1e6)
            return done / (time.perf_counter() - began)
        return run

    runs = pairs.rounds([(kind, side(kind)) for kind in cpu], rounds)
    for kind, label in (("five", "5 statements"), ("four", "update+insert in one"),
                        ("pipeline", "one, pipelined")):
        print(f"{label:<22} {pairs.median(runs[kind]):7,.0f} steps/s, client CPU "
              f"{pairs.median(cpu[kind]):4.0f} µs per step")
    print(f"one statement / five: {pairs.ratios(runs['four'], runs['five'])}; "
          f"pipelined / not: {pairs.ratios(runs['pipeline'], runs['four'])}")
    conn.close()


# --- profile and trace -----------------------------------------------------------------------

_LAYERS = (("psycopg", "psycopg (driver)"), ("sqlalchemy", "SQLAlchemy pool"),
           ("dossier/store", "dossier.store"), ("dossier/engine", "dossier.engine"),
           ("dossier", "dossier (rules, records)"), ("transitions", "transitions"))


def profile(seconds: float) -> None:
    from dossier import Actor, Engine
    from dossier.forms import FormSettings

    engine = Engine(server_url("bench_fires"), form_settings=FormSettings(at_fire=False))
    engine.register(pgload.procedure())
    actors = {role: Actor(id=f"{role[:2]}01", role=role, agency=pgload.AGENCY)
              for role in ("clerk", "specialist", "leader")}
    codes = [engine.submit(pgload.PROCEDURE["code"], applicant={"name": "P"},
                           channel="counter", actor=actors["clerk"]).code for _ in range(3000)]

    def fire_for() -> int:
        began, fired = time.perf_counter(), 0
        while time.perf_counter() - began < seconds / 2 and codes:
            code = codes.pop()
            for trigger, role, _ in pgload.STEPS:
                engine.fire(code, trigger, actor=actors[role])
            fired += len(pgload.STEPS)
        return fired

    fire_for()
    wall, cpu = time.perf_counter(), time.process_time()
    fired = fire_for()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"\nprofile of one process: {fired} fires in {wall:.1f} s, {wall / fired * 1e6:.0f} µs "
          f"each, of which {cpu / fired * 1e6:.0f} µs of its own CPU; the rest it waits for "
          "the server")
    profiler = cProfile.Profile(time.process_time)  # CPU time, not waiting
    fired = profiler.runcall(fire_for)
    stats = pstats.Stats(profiler)
    by_layer: dict[str, float] = {}
    for (file, _, _), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        layer = next((label for key, label in _LAYERS if f"/{key}/" in file
                      or f"/{key}." in file), "Python and the rest (C calls, stdlib)")
        by_layer[layer] = by_layer.get(layer, 0.0) + own
    total = sum(by_layer.values())
    print(f"CPU by layer under cProfile ({fired} fires; µs per fire, own time; cProfile slows "
          "Python code down more than C code):")
    for layer, own in sorted(by_layer.items(), key=lambda item: -item[1]):
        print(f"  {layer:<40} {own / fired * 1e6:6.0f}  ({own / total:4.0%})")
    stats.sort_stats("tottime").print_stats(20)
    engine.close()


def trace() -> None:
    import psycopg

    from dossier import Actor, Engine
    from dossier.forms import FormSettings

    engine = Engine(fresh_database("bench_trace"), form_settings=FormSettings(at_fire=False))
    engine.register(pgload.procedure())
    actors = {role: Actor(id=f"{role[:2]}01", role=role, agency=pgload.AGENCY)
              for role in ("clerk", "specialist", "leader")}
    code = engine.submit(pgload.PROCEDURE["code"], applicant={"name": "T"}, channel="counter",
                         actor=actors["clerk"]).code
    sent = psycopg.Cursor.execute

    def execute(cursor: Any, query: Any, params: Any = None, **options: Any) -> Any:
        print(f"    {query}")
        return sent(cursor, query, params, **options)

    psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    for trigger, role, _ in pgload.STEPS:
        print(f"{trigger}:")
        engine.fire(code, trigger, actor=actors[role])
    psycopg.Cursor.execute = sent  # type: ignore[method-assign]
    engine.close()


# --- running it ------------------------------------------------------------------------------

@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The engine warns once per Engine that it has no audit key: not news here."""
    import logging

    logger = logging.getLogger("dossier")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def run(quick: bool, rounds: int, seconds: float, per_round: int, *,
        profile_too: bool = False, against: Path | None = None) -> list[pairs.Figure]:
    """All three parts inside a cluster (``PGHOST`` set); the figures with targets."""
    print(f"Python {platform.python_version()}, PostgreSQL at {os.environ.get('PGHOST')}:"
          f"{os.environ.get('PGPORT')}, {platform.machine()}, {os.cpu_count()} CPUs")
    with quiet():
        figures = [lifecycle(per_round, rounds)]
        figures += fires(rounds, seconds, against)
        driver_floor(3 if quick else rounds, 1.0 if quick else seconds)
        if profile_too:
            profile(seconds)
    return figures


def in_cluster(python_args: list[str]) -> int:
    """Run ``python python_args…`` again inside a throwaway ``pg_virtualenv -t`` cluster."""
    if shutil.which("pg_virtualenv") is None or os.environ.get(_CHILD):
        print("no cluster: install postgresql-common (pg_virtualenv), or set PGHOST",
              file=sys.stderr)
        return 2
    env = {**os.environ, _CHILD: "1"}
    command = ["pg_virtualenv", "-t", sys.executable, *python_args]
    return subprocess.run(command, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per part")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of a fire window")
    parser.add_argument("--per-round", type=int, default=60, help="lifecycles per round")
    parser.add_argument("--quick", action="store_true", help="--rounds 5 --seconds 2")
    parser.add_argument("--profile", action="store_true", help="also profile one process")
    parser.add_argument("--trace", action="store_true", help="print the engine's statements")
    parser.add_argument("--against", type=Path, default=None,
                        help="another checkout: part 2 also runs its engine, interleaved")
    parser.add_argument("--fires-only", action="store_true", help="part 2 only")
    args = parser.parse_args(argv)
    if not os.environ.get("PGHOST"):
        return in_cluster([str(Path(__file__).resolve()), *(sys.argv[1:] if argv is None
                                                             else argv)])
    if args.trace:
        with quiet():
            trace()
        return 0
    if args.quick:
        args.rounds, args.seconds, args.per_round = 5, 2.0, 30
    if args.fires_only:
        with quiet():
            fires(args.rounds, args.seconds, args.against)
        return 0
    run(args.quick, args.rounds, args.seconds, args.per_round, profile_too=args.profile,
        against=args.against)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
