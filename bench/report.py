"""The QĐ 766 quality report over a million dossiers: the engine next to hand-written SQL.

Run ``python bench/report.py [--rows 1000000] [--agencies 20] [--rounds 7]``. It builds one
SQLite database in a temp directory (not timed: the rows go in with ``executemany`` in one
transaction, the indexes are made afterwards; ``--postgres URL`` builds schema
``bench_report`` of that server instead, with ``COPY``): ``--rows`` dossiers of 2025 over
``--agencies`` agencies and the sample procedures, each with five events, four in five
returned (early, on time or late), the rest refused or open (processing, waiting for the fee
or a supplement); a third with a component file and its digitisation record (one in four of
those reused from an earlier dossier's result, the rest scanned here), half of the returned
with a signed result, half fee-bearing and paid (online, by transfer or cash), a fifth of the
returned rated, one in a hundred with a portal message not delivered yet.

Then two measures, each interleaving the engine and the hand-written SQL round by round on
the same database (so a busy machine slows both alike), printing the medians and the
**median of the paired ratios** engine/hand-written:

* **year, every agency** — ``engine.quality_report(start=2025-01-01, end=2025-12-31)``: all
  the dossiers;
* **quarter, one agency** — ``engine.quality_report(agency, start=2025-07-01,
  end=2025-09-30)``.

The hand-written side is what a program that wants the same numbers must run: the three
grouped statements (settled, overdue, intake) written out plainly with the report's
definitions, fetched as tuples. Target: engine ≤ **2 ×** the hand-written time. The two are
checked to give the same counts first. Speed is never asserted by the test suite.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path: take it off (see transitions.py).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from dossier import Engine  # noqa: E402
from dossier.clock import LOCAL_TZ  # noqa: E402
from dossier.procedure import load_procedure  # noqa: E402
from dossier.resources import samples  # noqa: E402
from dossier.sinks.portal import PortalRecord, PortalSyncSink  # noqa: E402
from dossier.testing import FrozenClock  # noqa: E402

START = datetime(2025, 1, 1, 8, 0, tzinfo=LOCAL_TZ)
NOW = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)
SCHEMA = "bench_report"
HASH = "0" * 64
DOSSIER = ("id, code, procedure_code, procedure_version, agency, channel, state, resume_state,"
           " owner, applicant, fee_basis, fee_due, paid_amount, version, event_count,"
           " head_hash, submitted_at, received_at, updated_at, closed_at, clock_started_at,"
           " due_at, appointment_at, step_due, paused_at, extended, timeliness, step_role,"
           " step_due_at")
EVENT = ("id, dossier_id, seq, trigger, source, target, actor, role, at, data, prev_hash,"
         " hash")
ATTACHMENT = ("dossier_id, component, filename, sha256, size, media_type, attached_by,"
              " attached_at")
DOCUMENT = ("dossier_id, kind, component, filename, sha256, size, media_type, signed_by,"
            " provider, created_at")
PAYMENT = ("dossier_id, provider, order_ref, idempotency_key, amount, currency, state, method,"
           " requested_by, created_at, expires_at, paid_at, consumed_at, updated_at,"
           " refunded_amount")
RATING = "dossier_id, level, criteria, actor, role, rated_at"
DIGITISATION = "dossier_id, seq, kind, component, sha256, pages, source, source_ref, actor, at"
OUTBOX = ("sink, dossier_id, seq, event_id, message_id, payload, status, attempts,"
          " next_attempt_at, created_at")
MIDDLE = ("digitise", "certify", "pay", "attach")  # the third event of each dossier
OPEN = ("processing", "awaiting_payment", "awaiting_supplement")


class _Silent:
    """A portal client that is never called here: the report only reads the outbox."""

    def push(self, records: Sequence[PortalRecord]) -> None:
        return None


def agency(i: int) -> str:
    return f"000.00.{i + 10:02d}.H12"


def _t(instant: datetime | None) -> str | None:
    """An instant as the engine stores it on SQLite (PostgreSQL reads it as UTC)."""
    return None if instant is None else instant.astimezone(UTC).isoformat(" ", "microseconds")[:-6]


def _sha(n: int) -> str:
    return f"{n:064x}"


def rows(count: int, agencies: int, procedures: list[tuple[str, str]],
         ) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """Every row of the database, as (table, values), in id order per table."""
    span = timedelta(days=365) / count
    pool = max(count // 4, 1)   # scans: a third of the dossiers draw from a quarter as many
    for n in range(pool):
        yield "blobs", (_sha(n), 0, b"")
    yield "blobs", (_sha(10**9), 0, b"")
    for i in range(count):
        d = i + 1
        code, version = procedures[(i // agencies) % len(procedures)]
        where = agency(i % agencies)
        submitted = START + span * i
        received = submitted + timedelta(hours=1)
        due = received + timedelta(days=14)
        kind = i % 20
        closed, state, timeliness, paused = None, OPEN[(kind - 17) % 3], None, None
        if kind < 16:
            closed, state = received + timedelta(days=(i * 13) % 20), "returned"
            finished, judged = closed.astimezone(LOCAL_TZ).date(), due.astimezone(LOCAL_TZ).date()
            timeliness = "early" if finished < judged else "on_time" if finished == judged \
                else "late"
        elif kind == 16:
            closed, state = received + timedelta(days=3), "refused"
        elif state == "awaiting_supplement":
            paused = received + timedelta(days=2)
        fee = 50_000 if i % 2 == 0 else 0
        channel = "online" if (i * 7) % 10 < 4 else "counter"
        yield "dossiers", (
            d, f"{where}-R-{i:07d}", code, version, where, channel, state,
            "processing" if paused else None, None, '{"name":"Nguyễn Văn An"}', "{}", fee,
            fee if state != "awaiting_payment" else 0, 5, 5, HASH, _t(submitted), _t(received),
            _t(closed or received), _t(closed), _t(received), _t(due), _t(due), "{}",
            _t(paused), False, timeliness, None if closed else "specialist",
            None if closed else _t(due))
        middle = MIDDLE[i % 4]
        for seq, trigger in enumerate(("submit", "receive", middle, "approve",
                                       "return_result"), start=1):
            yield "events", (d * 5 + seq, d, seq, trigger, None if seq == 1 else "processing",
                             "processing", "nv01", "clerk", _t(received), "{}", HASH, HASH)
        if i % 3 == 0:
            yield "attachments", (d, "ban_chinh", "scan.pdf", _sha((i // 3) % pool), 0,
                                  "application/pdf", "nv01", _t(submitted))
            reused = i % 12 == 0
            yield "digitisation_records", (
                d, 3, "reused" if reused else "digitised", "ban_chinh", _sha((i // 3) % pool),
                None if reused else 2, "dossier" if reused else None,
                "000.00.10.H12-R-0000000" if reused else None, "nv01", _t(received))
        if state == "returned" and i % 2 == 1:
            yield "documents", (d, "result", None, "ket-qua.pdf", _sha(10**9), 0,
                                "application/pdf", "ld01", "local", _t(closed))
        if middle == "certify" and i % 8 == 1:
            yield "documents", (d, "certified_copy", "ban_chinh", "ban-sao.pdf", _sha(10**9),
                                0, "application/pdf", "ct01", "local", _t(received))
        if fee and state != "awaiting_payment":
            method = ("online", "transfer", "cash")[i % 3]
            yield "payments", (d, "vnpay" if method == "online" else "counter", f"O{d}",
                               f"K{d}", fee, "VND", "succeeded", method, "cd01",
                               _t(received), _t(received + timedelta(days=1)), _t(received),
                               _t(received), _t(received), 0)
        if state == "returned" and i % 5 == 0:
            level = ("very_satisfied", "satisfied", "dissatisfied")[(i // 5) % 3]
            yield "ratings", (d, level, "{}", "cd01", "citizen", _t(closed))
        if i % 100 == 0:
            yield "outbox", ("portal", d, 5, d * 5 + 5, f"msg_{d:032x}"[:36], "{}", "pending",
                             0, _t(received), _t(received))


#: table → columns, parents before children (a batch is written with everything before it)
COLUMNS = {"blobs": "sha256, size, data", "dossiers": DOSSIER, "events": EVENT,
           "attachments": ATTACHMENT, "documents": DOCUMENT, "payments": PAYMENT,
           "ratings": RATING, "outbox": OUTBOX, "digitisation_records": DIGITISATION}


class Store:
    """The database: a SQLite file in a temp folder, or a PostgreSQL schema (``--postgres``)."""

    def __init__(self, folder: Path, postgres: str | None) -> None:
        self.folder, self.postgres = folder, postgres

    @property
    def url(self) -> str:
        if self.postgres is None:
            return f"sqlite:///{self.folder / 'report.db'}"
        sep = "&" if "?" in self.postgres else "?"
        return f"{self.postgres}{sep}options=-csearch_path%3D{SCHEMA}"

    def connect(self) -> Any:
        """A DB-API connection in autocommit mode, as a hand-written program would open it."""
        if self.postgres is None:
            conn = sqlite3.connect(self.folder / "report.db", isolation_level=None)
            conn.execute("PRAGMA cache_size=-65536")  # what the engine's connections use
            return conn
        import psycopg

        conn = psycopg.connect(self.postgres.replace("postgresql+psycopg://", "postgresql://"),
                               autocommit=True, options=f"-csearch_path={SCHEMA}")
        conn.execute("SET TIME ZONE 'UTC'")
        return conn

    def build(self, count: int, agencies: int) -> None:
        if self.postgres is not None:
            admin = self.connect()
            admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            admin.execute(f"CREATE SCHEMA {SCHEMA}")
            admin.close()
        engine = Engine(self.url, clock=FrozenClock(NOW))
        registered = [engine.register(load_procedure(path)) for path in samples()]
        engine.close()
        procedures = sorted({(p.code, p.version) for p in registered})
        conn = self.connect()
        batches: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}
        if self.postgres is None:
            indexes = [r[0] for r in conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
            conn.execute("BEGIN")
            for sql in indexes:
                conn.execute(f"DROP INDEX {sql.split()[2]}")
            for table, values in rows(count, agencies, procedures):
                batches[table].append(values)
                if len(batches[table]) >= 50_000:
                    for name, batch in batches.items():
                        self._flush(conn, name, batch)
            for name, batch in batches.items():
                self._flush(conn, name, batch)
            for sql in indexes:
                conn.execute(sql)
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            indexes = [r[0] for r in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND indexname LIKE 'ix_%'")]
            with conn.transaction():
                for sql in indexes:
                    conn.execute(f"DROP INDEX {sql.split()[2]}")
                for table, values in rows(count, agencies, procedures):
                    batches[table].append(values)
                    if len(batches[table]) >= 50_000:
                        for name, batch in batches.items():
                            self._copy(conn, name, batch)
                for name, batch in batches.items():
                    self._copy(conn, name, batch)
                for sql in indexes:
                    conn.execute(sql)
            conn.execute("VACUUM ANALYZE")
        conn.close()

    @staticmethod
    def _flush(conn: Any, table: str, batch: list[tuple[Any, ...]]) -> None:
        if batch:
            marks = ", ".join("?" for _ in COLUMNS[table].split(","))
            conn.executemany(f"INSERT INTO {table} ({COLUMNS[table]}) VALUES ({marks})", batch)
            batch.clear()

    @staticmethod
    def _copy(conn: Any, table: str, batch: list[tuple[Any, ...]]) -> None:
        if batch:
            with conn.cursor().copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                for values in batch:
                    copy.write_row(values)
            batch.clear()


def hand_written(postgres: bool) -> list[str]:
    """The report's three grouped statements, written out as a person would (``{agencies}``
    is the agency filter; parameters: start, end, cut)."""
    month = ("to_char(closed_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM')" if postgres
             else "strftime('%Y-%m', closed_at, '+7 hours')")
    mark = "%s" if postgres else "?"
    return [
        f"""SELECT agency, procedure_code, procedure_version, {month} AS m,
              SUM(CASE WHEN state = 'returned' THEN 1 ELSE 0 END),
              SUM(CASE WHEN timeliness = 'early' THEN 1 ELSE 0 END),
              SUM(CASE WHEN timeliness = 'on_time' THEN 1 ELSE 0 END),
              SUM(CASE WHEN timeliness = 'late' THEN 1 ELSE 0 END),
              SUM(CASE WHEN state = 'returned' AND EXISTS (SELECT 1 FROM documents x
                  WHERE x.dossier_id = d.id AND x.kind = 'result') THEN 1 ELSE 0 END),
              COUNT(r.level),
              SUM(CASE WHEN r.level = 'very_satisfied' THEN 1 ELSE 0 END),
              SUM(CASE WHEN r.level = 'satisfied' THEN 1 ELSE 0 END),
              SUM(CASE WHEN r.level = 'dissatisfied' THEN 1 ELSE 0 END)
           FROM dossiers d LEFT JOIN ratings r ON r.dossier_id = d.id
           WHERE closed_at >= {mark} AND closed_at < {mark} {{agencies}}
           GROUP BY agency, procedure_code, procedure_version, m""",
        f"""SELECT agency, procedure_code, procedure_version, COUNT(*) FROM dossiers
           WHERE due_at < {mark} AND received_at < {mark}
             AND (closed_at IS NULL OR closed_at >= {mark})
             AND NOT (closed_at IS NULL AND state IN ('awaiting_supplement',
                      'awaiting_payment', 'stopped')) {{agencies}}
           GROUP BY agency, procedure_code, procedure_version""",
        f"""SELECT agency, procedure_code, procedure_version, COUNT(*),
              SUM(CASE WHEN channel = 'online' THEN 1 ELSE 0 END),
              SUM(CASE WHEN fee_due > 0 THEN 1 ELSE 0 END),
              SUM(CASE WHEN fee_due > 0 AND EXISTS (SELECT 1 FROM payments x
                  WHERE x.dossier_id = d.id AND x.consumed_at IS NOT NULL
                  AND x.method IN ('online', 'transfer')) THEN 1 ELSE 0 END),
              SUM(CASE WHEN channel IN ('counter', 'post') THEN 1 ELSE 0 END),
              SUM(CASE WHEN channel IN ('counter', 'post') AND EXISTS (SELECT 1
                  FROM digitisation_records x WHERE x.dossier_id = d.id
                  AND x.kind IN ('digitised', 'reused')) THEN 1 ELSE 0 END),
              SUM(CASE WHEN EXISTS (SELECT 1 FROM digitisation_records x
                  WHERE x.dossier_id = d.id AND x.kind = 'reused') THEN 1 ELSE 0 END),
              SUM(CASE WHEN EXISTS (SELECT 1 FROM events x WHERE x.dossier_id = d.id
                  AND x.trigger = 'certify') THEN 1 ELSE 0 END),
              SUM(CASE WHEN EXISTS (SELECT 1 FROM documents x WHERE x.dossier_id = d.id
                  AND x.kind = 'certified_copy') THEN 1 ELSE 0 END),
              SUM(CASE WHEN EXISTS (SELECT 1 FROM outbox x WHERE x.dossier_id = d.id
                  AND x.sink = 'portal' AND x.status <> 'delivered') THEN 1 ELSE 0 END)
           FROM dossiers d WHERE submitted_at >= {mark} AND submitted_at < {mark} {{agencies}}
           GROUP BY agency, procedure_code, procedure_version"""]


def paired(rounds: int, a: Callable[[], object], b: Callable[[], object],
           ) -> tuple[float, float, float]:
    """Medians of ``a``'s and ``b``'s time, and the median of the per-round ratios a/b,
    interleaving the two round by round (who goes first alternates)."""
    a(), b()  # warm caches
    times_a: list[float] = []
    times_b: list[float] = []
    for n in range(rounds):
        order = ((a, times_a), (b, times_b)) if n % 2 == 0 else ((b, times_b), (a, times_a))
        for fn, into in order:
            started = time.perf_counter()
            fn()
            into.append(time.perf_counter() - started)
    ratios = [ta / tb for ta, tb in zip(times_a, times_b, strict=True)]
    return statistics.median(times_a), statistics.median(times_b), statistics.median(ratios)


def measure(store: Store, engine: Engine, conn: Any, label: str, agency_code: str | None,
            start: date, end: date, rounds: int) -> None:
    postgres = store.postgres is not None
    mark = "%s" if postgres else "?"
    start_at = datetime(start.year, start.month, start.day, tzinfo=LOCAL_TZ)
    end_at = datetime(end.year, end.month, end.day, tzinfo=LOCAL_TZ) + timedelta(days=1)
    cut = min(end_at, NOW)
    filter_sql, filter_params = "", ()
    if agency_code is not None:
        filter_sql, filter_params = f"AND agency = {mark}", (agency_code,)
    statements = [sql.replace("{agencies}", filter_sql) for sql in hand_written(postgres)]
    params = [(_t(start_at), _t(end_at), *filter_params),
              (_t(cut), _t(cut), _t(cut), *filter_params),
              (_t(start_at), _t(end_at), *filter_params)]

    def raw() -> list[list[Any]]:
        return [conn.execute(sql, p).fetchall() for sql, p in zip(statements, params,
                                                                   strict=True)]

    def report() -> object:
        return engine.quality_report(agency_code, start=start, end=end)

    got, expected = engine.quality_report(agency_code, start=start, end=end), raw()
    assert got.total.returned == sum(r[4] for r in expected[0]), "returned differs"
    assert got.tien_do.overdue_open.numerator == sum(r[3] for r in expected[1])
    assert got.total.submitted == sum(r[3] for r in expected[2]), "submitted differs"
    assert got.so_hoa.digitised.numerator == sum(r[8] for r in expected[2])
    assert got.so_hoa.digitised.denominator == sum(r[7] for r in expected[2])
    assert got.so_hoa.reused_data.numerator == sum(r[9] for r in expected[2])
    assert got.cong_khai.portal_synced.numerator == got.total.submitted - sum(
        r[12] for r in expected[2])
    t_engine, t_raw, ratio = paired(rounds, report, raw)
    print(f"{label:<22} {got.total.submitted:>9,} dossiers  engine {t_engine * 1e3:8.1f} ms"
          f"  hand-written {t_raw * 1e3:8.1f} ms  engine/hand-written {ratio:.2f}"
          " (target <= 2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="dossiers of 2025 (default 1,000,000)")
    parser.add_argument("--agencies", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--postgres", metavar="URL",
                        help=f"build schema {SCHEMA} of this PostgreSQL server (replaced) "
                             "instead of a SQLite file")
    args = parser.parse_args()
    where = "PostgreSQL" if args.postgres else f"SQLite {sqlite3.sqlite_version}"
    print(f"Python {platform.python_version()}, {where}; {args.rows:,} dossiers "
          f"(5 events each), {args.agencies} agencies, {args.rounds} rounds")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp), args.postgres)
        started = time.perf_counter()
        store.build(args.rows, args.agencies)
        print(f"built in {time.perf_counter() - started:.1f} s")
        engine = Engine(store.url, clock=FrozenClock(NOW), create=False,
                        sinks={"portal": PortalSyncSink(_Silent())})
        conn = store.connect()
        try:
            measure(store, engine, conn, "year, every agency", None, date(2025, 1, 1),
                    date(2025, 12, 31), args.rounds)
            measure(store, engine, conn, "quarter, one agency", agency(7), date(2025, 7, 1),
                    date(2025, 9, 30), args.rounds)
        finally:
            conn.close()
            engine.close()


if __name__ == "__main__":
    main()
