"""The lean write path: a fire writes only the columns it changes, one statement for the row
and its event on PostgreSQL, and a connection the server dropped is replaced by the next
transaction's first statement, never after a statement succeeded."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from dossier import Actor, ConcurrencyConflict, Engine, load_procedure, sample_path
from dossier.states import Trigger
from dossier.testing import FrozenClock

LY_LICH = "3.000333"
AGENCY = "000.00.05.H12"


@pytest.fixture
def clerk() -> Actor:
    return Actor(id="nv01", role="clerk", agency=AGENCY)


def _submit(engine: Engine, clerk: Actor) -> str:
    engine.register(load_procedure(sample_path("ly-lich-tu-phap.toml")))
    return engine.submit(LY_LICH, applicant={"name": "Nguyễn Văn A"}, channel="counter",
                         actor=clerk).code


@pytest.fixture
def statements(tmp_path: Path, clock: FrozenClock) -> Iterator[tuple[Engine, list[str]]]:
    """A SQLite engine and the statements it sends, as SQLite runs them."""
    engine = Engine(f"sqlite:///{tmp_path / 'd.db'}", clock=clock)
    sent: list[str] = []
    engine.db.engine.dispose()

    @event.listens_for(engine.db.engine, "connect")
    def trace(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.set_trace_callback(sent.append)

    yield engine, sent
    engine.close()


def _row_updates(sent: list[str]) -> list[str]:
    return [s for s in sent if s.startswith("UPDATE dossiers SET")]


def test_reception_writes_the_deadlines_and_a_later_step_leaves_them_alone(
        statements: tuple[Engine, list[str]], clerk: Actor) -> None:
    engine, sent = statements
    code = _submit(engine, clerk)
    sent.clear()
    engine.fire(code, "receive", actor=clerk)
    (received,) = _row_updates(sent)
    assert "due_at = " in received
    assert "appointment_at = " in received
    sent.clear()
    engine.fire(code, "pay", actor=clerk, method="cash", amount=200_000)
    (paid,) = _row_updates(sent)
    assert "paid_amount = 200000" in paid
    assert "state = 'processing'" in paid
    for column in ("due_at", "appointment_at", "warning_at", "step_due", "clock_started_at",
                   "received_at", "closed_at"):
        assert f" {column} = " not in paid


def test_a_step_that_changes_no_deadline_keeps_what_the_row_holds(
        statements: tuple[Engine, list[str]], clerk: Actor) -> None:
    engine, _ = statements
    code = _submit(engine, clerk)
    engine.fire(code, "receive", actor=clerk)
    before = engine.get(code).deadlines
    after = engine.fire(code, "pay", actor=clerk, method="cash", amount=200_000)
    assert after.deadlines == before == engine.get(code).deadlines
    assert engine.verify_audit(code)


def test_a_conflicting_fire_writes_neither_row_nor_event(db_url: str, clock: FrozenClock,
                                                         clerk: Actor) -> None:
    engine = Engine(db_url, clock=clock)
    try:
        code = _submit(engine, clerk)
        kernel = engine.kernel
        with kernel.transaction() as tx:
            stale = kernel.load(tx, code)
        engine.fire(code, "receive", actor=clerk)
        with pytest.raises(ConcurrencyConflict), kernel.transaction() as tx:
            kernel.record(tx, stale, Trigger.ATTACH, clerk, data={}, now=clock.now())
        assert [e.trigger for e in engine.history(code)] == ["submit", "receive"]
        assert engine.verify_audit(code)
    finally:
        engine.close()


# --- PostgreSQL: a dropped connection ---------------------------------------------------------

def _terminate(engine: Engine) -> None:
    """Have the server drop every connection the engine's pool holds (a restart would)."""
    import psycopg

    url = engine.db.url.render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(url.split("?")[0], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE application_name = 'dossier-test-drop'")


@pytest.fixture
def pg_engine(pg_schemas: Any, clock: FrozenClock) -> Iterator[Engine]:
    url = pg_schemas.migrated() + "&application_name=dossier-test-drop"
    engine = Engine(url, clock=clock)
    yield engine
    engine.close()


@pytest.mark.postgres
def test_a_connection_the_server_dropped_is_replaced_by_the_next_transaction(
        pg_engine: Engine, clerk: Actor, caplog: pytest.LogCaptureFixture) -> None:
    code = _submit(pg_engine, clerk)
    _terminate(pg_engine)
    assert pg_engine.fire(code, "receive", actor=clerk).state == "awaiting_payment"
    assert "connection was dropped; reconnecting" in caplog.text
    assert pg_engine.verify_audit(code)


@pytest.mark.postgres
def test_a_connection_dropped_after_a_statement_succeeded_is_not_retried(
        pg_engine: Engine, clerk: Actor) -> None:
    import psycopg

    code = _submit(pg_engine, clerk)
    kernel = pg_engine.kernel
    def drop_midway() -> None:
        with kernel.transaction() as tx:
            kernel.load(tx, code)
            _terminate(pg_engine)
            kernel.fire(tx, code, "receive", clerk, {}, now=kernel.now())

    with pytest.raises(psycopg.OperationalError):
        drop_midway()
    assert pg_engine.get(code).state == "awaiting_reception"
    assert [e.trigger for e in pg_engine.history(code)] == ["submit"]
