"""Finding work among a million open dossiers: the engine next to hand-written indexed SQL.

Run ``python bench/queries.py [--rows 1000000] [--small 10000] [--agencies 50] [--rounds 15]``.
It builds two SQLite databases in a temp directory (not timed; the large one takes a minute
or two): ``--small`` and ``--rows`` open dossiers spread over ``--agencies`` agencies, in every
step of the *lý lịch tư pháp* procedure, a third of those at a staff step assigned to one of
five officers, each with an applicant ID number indexed by its keyed digest. Rows are written
with one ``executemany`` in one transaction, the indexes made afterwards.

``--postgres URL`` builds them as two schemas of that server instead (replacing
``bench_small`` and ``bench_large``). Then, on the large database, each measure times the
engine and the hand-written query on the same database in the same run, interleaved round by
round (so a busy machine slows both alike), and prints the medians and the **median of the
paired ratios** (see ``bench/README.md``):

* **queue** — ``engine.queue(specialist, limit=50)``: the 50 most urgent dossiers of the
  specialist's agency (assigned to them first, then unassigned), as snapshots with the
  working time left. Hand-written: the least a program must do for the same screen — one
  ``UNION ALL`` of the same four index ranges fetching the same columns as plain tuples, and
  the working time left of each (``WorkingCalendar.remaining_text``); the SQL alone is
  printed too. Target: engine rate ≥ 0.5 × the hand-written rate; and the engine's time on
  the large database ≤ 1.5 × its time on the small one.
* **applicant** — ``engine.find(applicant_id=…)`` next to ``SELECT … WHERE
  applicant_key_digest = ?``; the large/small growth, target ≤ 1.5 (an index lookup).
* **paging** — every one of an agency's dossiers, 500 a page with keyset cursors, next to one
  raw ``SELECT`` of all of them in the same order (target: total ≤ 2 × the single scan), and
  next to that single scan turned into the same snapshots (what paging itself costs).

Speed is never asserted by the test suite: this script reports.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path: take it off (see transitions.py).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from dossier import Actor, Engine  # noqa: E402
from dossier.applicant_keys import ApplicantKeys  # noqa: E402
from dossier.procedure import load_procedure  # noqa: E402
from dossier.resources import sample_path  # noqa: E402
from dossier.store.repository import _DOSSIER_COLUMNS, _dossier  # noqa: E402
from dossier.testing import FrozenClock  # noqa: E402

KEY = "bench-applicant-key-0123456789abcdef"
START = datetime(2025, 7, 1, 1, 0, tzinfo=UTC)
NOW = datetime(2025, 9, 8, 2, 0, tzinfo=UTC)
# (state, step, role that does it) — one row in ten of each, two awaiting reception
MIX = [("awaiting_reception", "receive", "clerk")] * 2 + [
    ("awaiting_payment", "pay", "clerk"), ("processing", "process", "specialist"),
    ("processing", "process", "specialist"), ("processing", "process", "specialist"),
    ("processing", "process", "specialist"), ("awaiting_signature", "sign", "leader"),
    ("awaiting_return", "return", "clerk"), ("awaiting_supplement", "", "")]
PREFIX = {"clerk": "nv", "specialist": "cv", "leader": "ld"}
COLUMNS = ("code, procedure_code, procedure_version, agency, channel, state, resume_state,"
           " owner, applicant, fee_basis, fee_due, paid_amount, version, event_count,"
           " head_hash, submitted_at, received_at, updated_at, closed_at, clock_started_at,"
           " due_at, appointment_at, warning_at, step_due, paused_at, supplement_due_at,"
           " warned_for, overdue_for, extended, timeliness, next_timer_at, assignee,"
           " step_role, step_due_at, applicant_key_digest")


def agency(i: int) -> str:
    return f"000.00.{i:02d}.H12"


def _t(instant: datetime | None) -> str | None:
    """An instant as the engine stores it on SQLite."""
    return None if instant is None else instant.isoformat(" ", "microseconds")[:-6]


def _rows(count: int, agencies: int, version: str) -> Iterator[tuple[Any, ...]]:
    keys = ApplicantKeys.of(KEY)
    span = (NOW - START) / count
    for i in range(count):
        state, step, role = MIX[(i // agencies) % len(MIX)]
        submitted = START + span * i
        received = None if state == "awaiting_reception" else submitted + timedelta(hours=1)
        due = received + timedelta(days=14) if received else None
        steps = {} if received is None else {
            "pay": received + timedelta(hours=2), "process": received + timedelta(days=10),
            "sign": received + timedelta(days=11), "return": received + timedelta(days=12)}
        paused = received + timedelta(days=2) if state == "awaiting_supplement" else None
        supplement_due = paused + timedelta(days=7) if paused else None
        step_due = supplement_due if paused else steps.get(step)
        turn = i // (agencies * len(MIX))  # how many rows of this kind came before
        assigned = f"{PREFIX[role]}{turn % 5 + 1:02d}" if role and turn % 3 == 0 else None
        number = f"{i:012d}"
        yield (f"{agency(i % agencies)}-B-{i:07d}", "3.000333", version, agency(i % agencies),
               "counter", state, "processing" if paused else None, None,
               json.dumps({"id_number": number, "name": "Nguyễn Văn An"}, ensure_ascii=False),
               "{}", 200_000, 0 if state in ("awaiting_reception", "awaiting_payment")
               else 200_000, 3, 3, "0" * 64, _t(submitted), _t(received),
               _t(received or submitted), None, _t(received), _t(due), _t(due), None,
               json.dumps({k: v.isoformat() for k, v in steps.items()}), _t(paused),
               _t(supplement_due), None, None, 0, None, _t(supplement_due or due), assigned,
               role or None, _t(step_due), keys.digest(number))


class Store:
    """Where the two databases live: SQLite files in a temp folder, or two schemas of a
    PostgreSQL server (``--postgres URL``); and how a hand-written program talks to them."""

    def __init__(self, folder: Path, postgres: str | None) -> None:
        self.folder, self.postgres = folder, postgres
        self.mark = "%s" if postgres else "?"

    def url(self, name: str) -> str:
        if self.postgres is None:
            return f"sqlite:///{self.folder / name}.db"
        sep = "&" if "?" in self.postgres else "?"
        return f"{self.postgres}{sep}options=-csearch_path%3Dbench_{name}"

    def connect(self, name: str) -> Any:
        """A DB-API connection in autocommit mode, as a hand-written program would open it."""
        if self.postgres is None:
            conn = sqlite3.connect(self.folder / f"{name}.db", isolation_level=None)
            conn.execute("PRAGMA cache_size=-65536")  # what the engine's connections use
            return conn
        import psycopg

        conn = psycopg.connect(self.postgres.replace("postgresql+psycopg://", "postgresql://"),
                               autocommit=True, options=f"-csearch_path=bench_{name}")
        conn.execute("SET TIME ZONE 'UTC'")
        return conn

    def build(self, name: str, count: int, agencies: int) -> None:
        """``count`` open dossiers: the schema by the engine, the rows in bulk, then the
        indexes (each in one sorted pass)."""
        if self.postgres is not None:
            admin = self.connect("x")
            admin.execute(f"DROP SCHEMA IF EXISTS bench_{name} CASCADE")
            admin.execute(f"CREATE SCHEMA bench_{name}")
            admin.close()
        engine = Engine(self.url(name), clock=FrozenClock(START), applicant_key=KEY)
        version = engine.register(load_procedure(sample_path("ly-lich-tu-phap.toml"))).version
        engine.close()
        conn = self.connect(name)
        rows = _rows(count, agencies, version)
        if self.postgres is None:
            indexes = [r[0] for r in conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'dossiers'"
                " AND sql IS NOT NULL")]
            conn.execute("BEGIN")
            for sql in indexes:
                conn.execute(f"DROP INDEX {sql.split()[2]}")
            marks = ", ".join("?" for _ in COLUMNS.split(","))
            conn.executemany(f"INSERT INTO dossiers ({COLUMNS}) VALUES ({marks})", rows)
            for sql in indexes:
                conn.execute(sql)
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            indexes = [r[0] for r in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename = 'dossiers' AND indexname LIKE 'ix_%'")]
            with conn.transaction():
                for sql in indexes:
                    conn.execute(f"DROP INDEX {sql.split()[2]}")
                with conn.cursor().copy(f"COPY dossiers ({COLUMNS}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                for sql in indexes:
                    conn.execute(sql)
            conn.execute("VACUUM ANALYZE dossiers")
        conn.close()


def raw_queue(store: Store, conn: Any, where: str, actor_id: str, limit: int) -> list[Any]:
    """The hand-written work queue: the four index ranges in one statement (each row ends with
    its step's due instant); each ordered as the index is, so that PostgreSQL reads it in
    order (see dossier/store/search.py)."""
    m = store.mark
    parts = [(f"assignee = {m} AND step_due_at IS NOT NULL", "step_due_at, id"),
             (f"assignee = {m} AND step_due_at IS NULL", "step_due_at, id"),
             ("assignee IS NULL AND step_due_at IS NOT NULL", "assignee, step_due_at, id"),
             ("assignee IS NULL AND step_due_at IS NULL", "assignee, step_due_at, id")]
    sql = " UNION ALL ".join(
        f"SELECT * FROM (SELECT {_DOSSIER_COLUMNS}, step_due_at, {n} AS g FROM dossiers"
        f" WHERE {where} AND {extra} ORDER BY {order} LIMIT {limit}) AS g{n}"
        for n, (extra, order) in enumerate(parts)) + f" ORDER BY g, step_due_at, id LIMIT {limit}"
    return conn.execute(sql, (actor_id, actor_id)).fetchall()


def paired(rounds: int, a: Callable[[], object], b: Callable[[], object],
           repeat: int) -> tuple[float, float, float]:
    """Medians of ``a``'s and ``b``'s time per call, and the median of the per-round ratios
    b/a (``a``'s rate over ``b``'s), interleaving the two round by round."""
    a(), b()  # warm caches
    times_a: list[float] = []
    times_b: list[float] = []
    for _ in range(rounds):
        for fn, into in ((a, times_a), (b, times_b)):
            start = time.perf_counter()
            for _ in range(repeat):
                fn()
            into.append((time.perf_counter() - start) / repeat)
    ratios = [tb / ta for ta, tb in zip(times_a, times_b, strict=True)]
    return statistics.median(times_a), statistics.median(times_b), statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="open dossiers in the large database (default 1,000,000)")
    parser.add_argument("--small", type=int, default=10_000,
                        help="open dossiers in the small one, the growth baseline (10,000)")
    parser.add_argument("--agencies", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--postgres", metavar="URL",
                        help="build both databases as schemas bench_small and bench_large of "
                             "this PostgreSQL server (replaced) instead of SQLite files")
    args = parser.parse_args()
    where = "PostgreSQL" if args.postgres else f"SQLite {sqlite3.sqlite_version}"
    print(f"Python {platform.python_version()}, {where}; {args.rows:,} and {args.small:,} "
          f"open dossiers, {args.agencies} agencies, {args.rounds} rounds")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp), args.postgres)
        for name, count in (("small", args.small), ("large", args.rows)):
            started = time.perf_counter()
            store.build(name, count, args.agencies)
            print(f"built {name}: {count:,} rows in {time.perf_counter() - started:.1f} s")
        run(store, args)


def run(store: Store, args: argparse.Namespace) -> None:
    clock = FrozenClock(NOW)
    engines = {name: Engine(store.url(name), clock=clock, applicant_key=KEY, create=False)
               for name in ("small", "large")}
    large, conn, m = engines["large"], store.connect("large"), store.mark
    home = agency(7)
    specialist = Actor(id="cv01", role="specialist", agency=home)
    where = f"agency = '{home}' AND step_role = 'specialist'"
    calendar = large.calendar_for(home)

    def engine_queue(engine: Engine) -> Callable[[], object]:
        return lambda: engine.queue(specialist, limit=50)

    def instant(value: Any) -> datetime:
        return value if isinstance(value, datetime) else datetime.fromisoformat(value + "+00:00")

    def hand_written() -> list[tuple[Any, str | None]]:
        return [(row, None if row[-2] is None else calendar.remaining_text(NOW, instant(row[-2])))
                for row in raw_queue(store, conn, where, "cv01", 50)]

    items = large.queue(specialist, limit=50).items
    assert [i.dossier.code for i in items] == [r[1] for r, _ in hand_written()], "not the same"
    assert [i.remaining_text for i in items] == [text for _, text in hand_written()]
    t_engine, t_raw, ratio = paired(args.rounds, engine_queue(large), hand_written, 20)
    _, t_sql, sql_ratio = paired(args.rounds, engine_queue(large),
                                 lambda: raw_queue(store, conn, where, "cv01", 50), 20)
    print(f"queue of 50      engine {t_engine * 1e3:7.3f} ms  hand-written {t_raw * 1e3:7.3f}"
          f" ms  rate ratio engine/hand-written {ratio:.2f} (target >= 0.5)")
    print(f"                 (the SQL alone {t_sql * 1e3:7.3f} ms: ratio {sql_ratio:.2f})")
    t_small, t_large, growth = paired(args.rounds, engine_queue(engines["small"]),
                                      engine_queue(large), 20)
    print(f"queue growth     small {t_small * 1e3:7.3f} ms  large {t_large * 1e3:7.3f} ms"
          f"  large/small {growth:.2f} (target <= 1.5)")

    number = f"{4242:012d}"
    digest = ApplicantKeys.of(KEY).digest(number)
    by_digest = f"SELECT {_DOSSIER_COLUMNS} FROM dossiers WHERE applicant_key_digest = {m}"
    plan = conn.execute(("EXPLAIN " if store.postgres else "EXPLAIN QUERY PLAN ") + by_digest,
                        (digest,)).fetchall()
    assert [d.code for d in large.find(applicant_id=number).items] == [
        r[1] for r in conn.execute(by_digest, (digest,)).fetchall()]
    t_engine, t_raw, ratio = paired(
        args.rounds, lambda: large.find(applicant_id=number),
        lambda: conn.execute(by_digest, (digest,)).fetchall(), 50)
    print(f"applicant        engine {t_engine * 1e3:7.3f} ms  hand-written {t_raw * 1e3:7.3f}"
          f" ms  rate ratio {ratio:.2f}  ({plan[0][-1].strip()})")
    t_small, t_large, growth = paired(
        args.rounds, lambda: engines["small"].find(applicant_id=number),
        lambda: large.find(applicant_id=number), 50)
    print(f"applicant growth small {t_small * 1e3:7.3f} ms  large {t_large * 1e3:7.3f} ms"
          f"  large/small {growth:.2f} (target <= 1.5)")

    def page_all() -> int:
        seen, after = 0, None
        while True:
            page = large.find(agency=home, order="submitted", limit=500, after=after)
            seen += len(page.items)
            if page.next is None:
                return seen
            after = page.next

    every = f"SELECT {_DOSSIER_COLUMNS} FROM dossiers WHERE agency = {m} ORDER BY submitted_at, id"

    def scan() -> int:
        return len(conn.execute(every, (home,)).fetchall())

    def scan_to_snapshots() -> int:
        with large.db.transaction(write=False) as tx:
            return len([_dossier(tx, row) for row in tx.all(every.replace(m, "?"), (home,))])

    assert page_all() == scan() == scan_to_snapshots()
    rounds = max(3, args.rounds // 3)
    t_engine, t_raw, ratio = paired(rounds, page_all, scan, 1)
    print(f"paging {scan():,}  engine {t_engine * 1e3:7.1f} ms  single scan {t_raw * 1e3:7.1f}"
          f" ms  engine/scan {1 / ratio:.2f} (target <= 2)")
    _, t_whole, whole = paired(rounds, page_all, scan_to_snapshots, 1)
    print(f"                 single scan into snapshots {t_whole * 1e3:7.1f} ms: "
          f"paged/whole {1 / whole:.2f}")
    conn.close()
    for engine in engines.values():
        engine.close()


if __name__ == "__main__":
    main()
