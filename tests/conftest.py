"""Shared fixtures: an engine on every database the run can reach, a frozen clock, actors.

PostgreSQL tests run when ``DOSSIER_PG_URL`` is set, or when ``PGHOST``/``PGDATABASE`` come
from ``pg_virtualenv`` (see ``.ci/run``); otherwise they are skipped with the reason.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dossier import Actor, Engine, Procedure, load_procedure
from dossier.procedure import parse_procedure
from dossier.states import DEFAULT_STEP_ROLES, Step
from dossier.testing import FrozenClock

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
AGENCY = "000.00.12.H12"
T = TypeVar("T")


def make_procedure(code: str, steps: Sequence[str], *, version: str = "1",
                   name: str | None = None, fee: int = 50_000,
                   components: list[dict[str, Any]] | None = None,
                   optional: tuple[str, str] = ("to_khai", "Tờ khai"),
                   agency_level: str = "province", service_level: str = "partial_online",
                   processing_days: int = 10, effective_from: str = "2025-01-01",
                   effective_until: str | None = None,
                   budgets: dict[str, dict[str, Any]] | None = None,
                   **extra: Any) -> Procedure:
    """A throw-away test procedure using ``steps`` in that order, each with its usual role
    (``dossier.states.DEFAULT_STEP_ROLES``), and a flat ``fee`` when it has ``pay``.

    Unless ``components`` are given, it asks for a ``ban_chinh`` original, which must be
    digitised when the procedure has ``digitise`` and may be certified when it has
    ``certify``, and an ``optional`` copy, given as ``(id, name)``. ``name`` defaults to
    "Thủ tục thử CODE". ``budgets`` gives steps a time budget (``{"process": {"amount": 5,
    "unit": "working_days"}}``); ``extra`` adds procedure fields as they are written in TOML
    (``clock_policy="pause"``, ``supplement_deadline={…}``…).
    """
    if components is None:
        components = [
            {"id": "ban_chinh", "name": "Bản chính", "form": "original",
             "must_digitise": "digitise" in steps, "may_certify": "certify" in steps},
            {"id": optional[0], "name": optional[1], "form": "copy", "required": False},
        ]
    data: dict[str, Any] = {
        "code": code, "name": name or f"Thủ tục thử {code}", "field": "Thử nghiệm",
        "agency_level": agency_level, "service_level": service_level, "version": version,
        "effective_from": effective_from,
        "processing_time": {"amount": processing_days, "unit": "working_days"},
        "components": components,
        "steps": [{"name": s, "role": DEFAULT_STEP_ROLES[Step(s)].value,
                   **({"budget": budgets[s]} if budgets and s in budgets else {})}
                  for s in steps],
        **extra,
    }
    # the lifecycle tests fire sign/certify themselves: their results are signed on paper;
    # tests of digital signing pass signing="digital" (or use the samples)
    data.setdefault("signing", "paper")
    data.setdefault("certification", "paper")
    if effective_until is not None:
        data["effective_until"] = effective_until
    if "pay" in steps:
        data["fee"] = {"kind": "flat", "amount": fee}
    return parse_procedure(data, f"<{code}>")[0]


def many_rounds(procedure: Procedure, rounds: int = 1000) -> Procedure:
    """``procedure`` allowing ``rounds`` supplement requests per dossier (the default is one):
    for tests that cycle request_supplement/supplement to make events."""
    return Procedure.model_validate({**procedure.model_dump(),
                                     "max_supplement_requests": rounds})


def race(workers: int, task: Callable[[int], T]) -> list[T | BaseException]:
    """Run ``task(i)`` on ``workers`` threads released together; results or exceptions."""
    barrier = threading.Barrier(workers)

    def run(i: int) -> T | BaseException:
        barrier.wait()
        try:
            return task(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, range(workers)))


def postgres_url() -> str | None:
    if os.environ.get("DOSSIER_PG_URL"):
        return os.environ["DOSSIER_PG_URL"]
    if os.environ.get("PGHOST") and os.environ.get("PGDATABASE"):
        user = os.environ.get("PGUSER", "postgres")
        password = os.environ.get("PGPASSWORD", "")
        port = os.environ.get("PGPORT", "5432")
        host = os.environ["PGHOST"]
        auth = f"{user}:{password}@" if password else f"{user}@"
        return f"postgresql+psycopg://{auth}{host}:{port}/{os.environ['PGDATABASE']}"
    return None


@pytest.fixture
def clock() -> FrozenClock:
    # Monday 2025-09-08 09:00 in Hà Nội
    return FrozenClock(datetime(2025, 9, 8, 2, 0, tzinfo=UTC))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'dossier.db'}"


# --- PostgreSQL ------------------------------------------------------------------------------
# Migrating a PostgreSQL schema takes ~0.2 s (every CREATE TABLE makes files; so does TRUNCATE,
# which is why the rows are DELETEd), and it used to happen for every test. Now a session
# migrates one schema, and each test gets it back empty: rows deleted, sequences restarted,
# ~10 ms. A test that changed the schema itself (test_audit drops the append-only
# trigger) leaves a different catalog fingerprint behind; that schema is set aside and a new
# one migrated, so no test ever sees another's rows or objects.

# What a test could change about the schema: relations and index definitions, columns,
# constraints, triggers (and whether they are enabled), functions.
_PG_FINGERPRINT = """
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s)
SELECT 'relation', c.relname, c.relkind::text || coalesce(pg_get_indexdef(i.indexrelid), '')
  FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid
 WHERE c.relnamespace = (TABLE ns)
UNION ALL
SELECT 'column', a.attrelid::regclass::text || '.' || a.attname,
       format_type(a.atttypid, a.atttypmod) || a.attnotnull::text
       || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = ANY (ARRAY(SELECT oid FROM pg_class WHERE relnamespace = (TABLE ns)))
   AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', conname, pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = (TABLE ns)
UNION ALL
SELECT 'trigger', t.tgname, pg_get_triggerdef(t.oid) || t.tgenabled::text
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = (TABLE ns) AND NOT t.tgisinternal
UNION ALL
SELECT 'function', proname, md5(prosrc) FROM pg_proc WHERE pronamespace = (TABLE ns)
ORDER BY 1, 2, 3
"""

# Whether another client holds a lock on a relation of the schema: an open transaction does
# (idle pooled connections hold none; autovacuum's locks don't count).
_PG_IN_USE = """
SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                 JOIN pg_stat_activity a ON a.pid = l.pid AND a.backend_type = 'client backend'
                WHERE c.relnamespace = %s::regnamespace AND l.pid <> pg_backend_pid())
"""


class PgSchemas:
    """The PostgreSQL schemas of one test session, made and dropped over one admin connection."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        self._admin = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                                      autocommit=True)
        self._made: list[str] = []
        self._reused: str | None = None
        self._fingerprint: list[tuple[str, str, str]] = []
        self._revisions: list[tuple[str]] = []
        self._empty_it = ""

    def url_of(self, schema: str) -> str:
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}options=-csearch_path%3D{schema}"

    def empty(self) -> str:
        """A new schema with nothing in it, for tests of the migrations themselves."""
        return self.url_of(self._new_schema())

    def migrated(self) -> str:
        """The session's migrated schema with no rows, migrated anew if a test changed it."""
        if self._reused is None or not self._emptied(self._reused):
            self._reused = self._migrate()
        return self.url_of(self._reused)

    def close(self) -> None:
        import psycopg

        for schema in self._made:
            try:
                with self._admin.transaction():
                    # a leaked transaction holding a lock must not hang the end of the run
                    self._admin.execute("SET LOCAL lock_timeout = '2s'")
                    self._admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
            except psycopg.errors.LockNotAvailable:
                pass
        self._admin.close()

    def _new_schema(self) -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        self._admin.execute(f'CREATE SCHEMA "{schema}"')
        self._made.append(schema)
        return schema

    def _migrate(self) -> str:
        from graphlib import TopologicalSorter

        from dossier.store import Database, upgrade

        schema = self._new_schema()
        db = Database(self.url_of(schema))
        try:
            upgrade(db)
        finally:
            db.dispose()
        self._fingerprint = self._fingerprint_of(schema)
        self._revisions = self._admin.execute(
            f'SELECT version_num FROM "{schema}".alembic_version').fetchall()
        # DELETE rather than TRUNCATE, children before parents (the foreign keys are not
        # deferrable); the append-only trigger of events is switched off around it.
        tables: dict[str, set[str]] = {row[0]: set() for row in self._admin.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s "
            "AND tablename <> 'alembic_version'", (schema,))}
        for child, parent in self._admin.execute(
                "SELECT c.relname, p.relname FROM pg_constraint k "
                "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid "
                "WHERE k.contype = 'f' AND k.connamespace = %s::regnamespace", (schema,)):
            if child != parent:
                tables[parent].add(child)
        triggered = [row[0] for row in self._admin.execute(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = %s::regnamespace AND NOT t.tgisinternal", (schema,))]
        self._empty_it = "; ".join([
            *(f'ALTER TABLE "{table}" DISABLE TRIGGER USER' for table in triggered),
            *(f'DELETE FROM "{table}"' for table in TopologicalSorter(tables).static_order()),
            *(f'ALTER TABLE "{table}" ENABLE TRIGGER USER' for table in triggered),
        ])
        return schema

    def _fingerprint_of(self, schema: str) -> list[tuple[str, str, str]]:
        return self._admin.execute(_PG_FINGERPRINT, {"schema": schema}).fetchall()

    def _emptied(self, schema: str) -> bool:
        """Delete the rows of ``schema``; False if a test changed it or left a transaction open
        on it (a leaked engine or a thread still running: what it commits later could show)."""
        import psycopg

        if self._fingerprint_of(schema) != self._fingerprint:
            return False
        if self._admin.execute(_PG_IN_USE, (schema,)).fetchone() != (False,):
            return False
        try:
            with self._admin.transaction():
                self._admin.execute("SET LOCAL lock_timeout = '2s'")
                self._admin.execute(f'SET LOCAL search_path TO "{schema}"')
                if self._admin.execute("SELECT version_num FROM alembic_version").fetchall() \
                        != self._revisions:
                    return False
                self._admin.execute(self._empty_it)
                self._admin.execute(
                    "SELECT setval(format('%%I.%%I', schemaname, sequencename), start_value, "
                    "false) FROM pg_sequences WHERE schemaname = %s", (schema,))
        except psycopg.errors.LockNotAvailable:  # one began since _PG_IN_USE looked
            return False
        return True


@pytest.fixture(scope="session")
def pg_schemas() -> Iterator[PgSchemas]:
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL: set DOSSIER_PG_URL or run under pg_virtualenv")
    schemas = PgSchemas(url)
    yield schemas
    schemas.close()


_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=_BACKENDS)
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """A database without rows: a new SQLite file, and PostgreSQL when one is reachable.

    The PostgreSQL one already has the schema (the session's schema, emptied); the SQLite
    file is created, schema and all, by the first ``Engine``.
    """
    if request.param == "sqlite":
        return sqlite_url
    schemas: PgSchemas = request.getfixturevalue("pg_schemas")
    return schemas.migrated()


@pytest.fixture(params=_BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """A database with nothing in it, not even the schema: for tests of the migrations."""
    if request.param == "sqlite":
        return sqlite_url
    schemas: PgSchemas = request.getfixturevalue("pg_schemas")
    return schemas.empty()


@pytest.fixture
def engine(db_url: str, clock: FrozenClock) -> Iterator[Engine]:
    eng = Engine(db_url, clock=clock)
    for path in sorted(SAMPLES.glob("*.toml")):
        eng.register(load_procedure(path))
    yield eng
    eng.close()


@pytest.fixture
def clerk() -> Actor:
    return Actor(id="nv01", role="clerk", agency=AGENCY)


@pytest.fixture
def citizen() -> Actor:
    return Actor(id="cd01", role="citizen")


@pytest.fixture
def certifier() -> Actor:
    return Actor(id="ct01", role="certifier", agency=AGENCY)


@pytest.fixture
def specialist() -> Actor:
    return Actor(id="cv01", role="specialist", agency=AGENCY)


@pytest.fixture
def leader() -> Actor:
    return Actor(id="ld01", role="leader", agency=AGENCY)


@pytest.fixture(autouse=True)
def _root_logging() -> Iterator[None]:
    """A test that runs `dossier worker` in-process configures the root logger; put it back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
