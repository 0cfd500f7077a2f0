"""Connections and transactions on SQLite or PostgreSQL, with driver errors translated.

SQLAlchemy gives us the URL parsing, the driver and the pool; the engine's hot path then
talks DB-API through :class:`Tx` (an ORM session per ``fire`` costs ~6× more, see
``bench/transitions.py``). SQL is written once with ``?`` placeholders.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool

from dossier.errors import ConcurrencyConflict, DuplicateRecord, InvalidInput

log = logging.getLogger("dossier")

_SQLITE_TIME_LEN = len("2025-01-01 00:00:00.000000")
#: Runs of a statement on one connection after which psycopg prepares it (its default: 5).
PREPARE_THRESHOLD = 2
#: Prepared statements kept per connection: the store's statements, with room for the
#: variants of the row update (it writes only the columns a change touches).
PREPARED_MAX = 256
# PostgreSQL SQLSTATEs that mean "someone else got there first; try again".
_PG_RETRYABLE = {"40001", "40P01", "55P03"}
_PG_UNIQUE_VIOLATION = "23505"


#: Given the error of a transaction's first statement, a cursor on a new connection if the
#: old one had been dropped (else None: the error stands).
Reconnect = Callable[[Exception], Any]


class Tx:
    """One transaction's cursor, with the dialect's value conversions."""

    __slots__ = ("_cursor", "_pg", "_reconnect")

    def __init__(self, cursor: Any, postgres: bool, reconnect: Reconnect | None = None) -> None:
        self._cursor = cursor
        self._pg = postgres
        self._reconnect = reconnect  # until the first statement has succeeded

    @property
    def postgres(self) -> bool:
        """Whether this is PostgreSQL (the store writes some changes in fewer statements)."""
        return self._pg

    def _run(self, sql: str, params: Sequence[Any]) -> None:
        if self._pg:
            sql = _pg_sql(sql)
        reconnect = self._reconnect
        if reconnect is None:
            self._cursor.execute(sql, params)
            return
        self._reconnect = None  # only the first statement may be sent again
        try:
            self._cursor.execute(sql, params)
        except Exception as exc:
            cursor = reconnect(exc)
            if cursor is None:
                raise
            self._cursor = cursor
            self._cursor.execute(sql, params)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the number of rows it changed."""
        self._run(sql, params)
        return int(self._cursor.rowcount)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self._run(sql, params)
        return self._cursor.fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self._run(sql, params)
        return list(self._cursor.fetchall())

    # value conversions: SQLite has no time type, PostgreSQL has timestamptz
    def instant_in(self, value: datetime | None) -> Any:
        if value is None or self._pg:
            return value
        # SQLAlchemy's SQLite format "YYYY-MM-DD HH:MM:SS.ffffff" (UTC), cheaper than strftime
        return value.astimezone(UTC).isoformat(" ", "microseconds")[:-6]

    def instant_out(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        if len(value) == _SQLITE_TIME_LEN:  # our own format: parsing with the offset is cheaper
            return datetime.fromisoformat(value + "+00:00")  # than datetime.replace(tzinfo=)
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def date_in(self, value: date | None) -> Any:
        return value if value is None or self._pg else value.isoformat()


@lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (the statements are few and fixed: cache them)."""
    return sql.replace("?", "%s")


class Database:
    """A SQLAlchemy engine set up for `dossier`: WAL SQLite or PostgreSQL via psycopg 3."""

    def __init__(self, url: str | URL, *, in_memory: bool = False, create: bool = True) -> None:
        """``create=False``: a SQLite file that does not exist is an error, not a new empty
        database (read-only commands must not leave files behind). A SQLite file in a
        folder that does not exist is an error either way."""
        try:
            parsed = make_url(url)
        except Exception as exc:  # sqlalchemy raises ArgumentError with a useful message
            raise InvalidInput(f"not a database URL: {url!r} ({exc})") from None
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise InvalidInput(f"unsupported database {backend!r}: use sqlite or postgresql")
        self.url = parsed
        self.is_sqlite = backend == "sqlite"
        # One shared in-memory connection, serialised by a lock (SQLite's :memory: is per
        # connection, so a pool would give each thread its own empty database).
        self._lock: threading.RLock | None = threading.RLock() if in_memory else None
        if self.is_sqlite:
            _check_sqlite_path(parsed, create=create, in_memory=in_memory)
            if parsed.drivername == "sqlite":
                parsed = parsed.set(drivername="sqlite+pysqlite")
            kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
            if in_memory:
                kwargs["poolclass"] = StaticPool
            self.engine: Engine = create_engine(parsed, **kwargs)
            event.listen(self.engine, "connect", _sqlite_on_connect)
            event.listen(self.engine, "begin", _sqlite_on_begin)
        else:
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            try:
                # No pool_pre_ping: it costs a round trip per transaction. A connection found
                # dropped is replaced by the transaction's first statement instead (see
                # transaction()). Our statements are few and fixed: psycopg
                # prepares each once a connection has run it PREPARE_THRESHOLD times, so it
                # is parsed and planned once per connection, not per fire.
                self.engine = create_engine(
                    parsed, connect_args={"prepare_threshold": PREPARE_THRESHOLD})
            except ImportError:
                raise InvalidInput("PostgreSQL needs psycopg 3: pip install 'dossier[postgres]'") \
                    from None
            event.listen(self.engine, "connect", _postgres_on_connect)

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Tx]:
        """A transaction on a pooled connection: committed on success, rolled back on error.

        On SQLite a writing transaction starts with ``BEGIN IMMEDIATE`` so that it takes the
        write lock before it reads (no read-then-upgrade deadlocks); ``busy_timeout`` waits
        for the lock, and a lock still held after it is a :class:`ConcurrencyConflict`.

        On PostgreSQL a pooled connection is not pinged before use. If the server dropped it
        (a restart, an idle timeout, a fail-over), the transaction's *first* statement fails;
        then, and only then, the connection is replaced and that statement sent again on the
        new one. This is safe because no statement of the transaction had succeeded: the
        caller has acted on no result yet, and whatever the dropped connection had begun on
        the server was rolled back with it. A connection lost after a statement succeeded is never
        retried (its results may already have been acted on), nor is a lost ``COMMIT``
        (whether it committed is unknown): those raise, as before.
        """
        with self._lock or nullcontext():
            held = [self._checkout()]
            try:
                cursor = held[0].cursor()
                try:
                    if self.is_sqlite:
                        if write:
                            cursor.execute("BEGIN IMMEDIATE")
                        yield Tx(cursor, False)
                        if write:
                            cursor.execute("COMMIT")
                    else:
                        def reconnect(exc: Exception) -> Any:
                            nonlocal cursor
                            if not _dropped(held[0], exc):
                                return None
                            log.warning("the database connection was dropped; reconnecting "
                                        "(%s)", type(exc).__name__)
                            cursor.close()
                            held[0].invalidate()
                            # the other pooled connections are most likely gone as well
                            # (a restart, a fail-over): open new ones from here on
                            self.engine.dispose()
                            held[0] = self._checkout()
                            cursor = held[0].cursor()
                            return cursor

                        yield Tx(cursor, True, reconnect)
                        held[0].commit()
                except BaseException as exc:
                    _rollback(held[0], cursor, self.is_sqlite)
                    if isinstance(exc, Exception):
                        self._translate(exc)
                    raise
                finally:
                    cursor.close()
            finally:
                held[0].close()

    def _checkout(self) -> Any:
        try:
            return self.engine.raw_connection()
        except Exception as exc:
            self._translate(exc)
            raise

    def _translate(self, exc: Exception) -> None:
        """Raise the :class:`ConcurrencyConflict` a driver error means, if it means one.

        Lock and serialisation errors are a :class:`ConcurrencyConflict`; a unique violation
        is a :class:`DuplicateRecord`: every unique column we write (order and refund
        references, idempotency keys, numbers) is taken by a concurrent writer, never by
        public input alone, since each service looks the row up before inserting it. Other
        integrity errors (foreign keys, NOT NULL, the events' append-only triggers) mean a
        bug, not a race, and stay the driver's.
        """
        text = str(exc).lower()
        module = type(exc).__module__
        if module.startswith("sqlite3") and ("locked" in text or "busy" in text):
            raise ConcurrencyConflict(
                "the database was busy with another writer for too long; retry") from exc
        sqlstate = getattr(exc, "sqlstate", None)
        if sqlstate in _PG_RETRYABLE:
            raise ConcurrencyConflict(
                "another transaction changed the same rows; reload and retry") from exc
        if sqlstate == _PG_UNIQUE_VIOLATION or (
                module.startswith("sqlite3") and self.is_integrity_error(exc)
                and text.startswith("unique constraint failed")):
            raise DuplicateRecord(
                f"{_unique_key(exc)} was inserted by another transaction at the same "
                "moment; reload and retry") from exc

    def is_integrity_error(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a unique row inserted concurrently (:class:`DuplicateRecord`,
        what :meth:`transaction` raises) or the driver's own integrity error."""
        if isinstance(exc, DuplicateRecord):
            return True
        dbapi = self.engine.dialect.dbapi
        return dbapi is not None and isinstance(exc, dbapi.IntegrityError)

    def dispose(self) -> None:
        self.engine.dispose()


def _check_sqlite_path(url: URL, *, create: bool, in_memory: bool) -> None:
    """One clear line instead of sqlite3's "unable to open database file" traceback."""
    path = url.database
    if in_memory or not path or path == ":memory:" or path.startswith("file:") \
            or url.query.get("mode") == "memory":
        return
    file = Path(path)
    if not file.parent.is_dir():
        raise InvalidInput(f"cannot open database {path}: folder {file.parent} does not exist")
    if not create and not file.exists():
        raise InvalidInput(f"no database at {path} (nothing was created); check --database, "
                           "or create one with `dossier db upgrade`")


def _unique_key(exc: Exception) -> str:
    """The unique key a driver's violation names (``refunds.refund_ref``), never its values:
    PostgreSQL's detail repeats the key's value, which may be personal data."""
    diag = getattr(exc, "diag", None)  # psycopg
    if diag is not None and getattr(diag, "constraint_name", None):
        return f"a {diag.table_name or 'row'} row with the same {diag.constraint_name}"
    _, _, columns = str(exc).partition(":")  # sqlite3: "UNIQUE constraint failed: t.a, t.b"
    return f"a row with the same {columns.strip() or 'unique key'}"


def _dropped(conn: Any, exc: Exception) -> bool:
    """Whether ``exc`` means the server or the network closed ``conn`` (psycopg marks such
    a connection closed or broken; an error the server reported leaves it usable)."""
    driver = conn.driver_connection
    return bool(getattr(driver, "closed", False) or getattr(driver, "broken", False))


def _rollback(conn: Any, cursor: Any, sqlite: bool) -> None:
    try:
        if sqlite:
            if conn.driver_connection.in_transaction:
                cursor.execute("ROLLBACK")
        else:
            conn.rollback()
    except Exception:  # the connection is going back to the pool, which resets it anyway
        conn.invalidate()


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level: we issue BEGIN ourselves (pysqlite's implicit BEGIN
    # is DEFERRED and would turn concurrent writers into "database is locked" errors).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 16 MiB of page cache per connection (the default is 2 MiB): room for the upper levels
    # of every index of a province's million dossiers. The leaves come from the operating
    # system's page cache, which the pool's connections share; a pool holds up to 15
    # connections, so 64 MiB each could take ~1 GiB, and on a 1M-dossier database neither
    # random look-ups nor the sweep were measurably faster with it (bench/README.md).
    cursor.execute("PRAGMA cache_size=-16384")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _postgres_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.prepared_max = PREPARED_MAX


def _sqlite_on_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
