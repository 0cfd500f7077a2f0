"""Integrity you can prove: the row replayed against its events, a keyed chain an attacker
without the key cannot recompute, and a ledger the database will not let go of.

Tampering is done as an operator with database access would: raw SQL, after dropping the
append-only triggers where needed (see ``tests/test_audit.py``).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import make_procedure

from dossier import Actor, AuditError, ConcurrencyConflict, Dossier, Engine, Procedure
from dossier.audit import GENESIS, AuditKeys, event_hash
from dossier.testing import FrozenClock

CODE = "9.900031"
FEE = 30_000
KEY = "k" * 40
OLD_KEY = "o" * 40
PROCEDURE: Procedure = make_procedure(
    CODE, ["receive", "pay", "process", "sign", "return"], fee=FEE, processing_days=5)


def execute(engine: Engine, *statements: str, **params: object) -> None:
    with engine.db.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), params)


def drop_event_guards(engine: Engine) -> None:
    if engine.db.engine.dialect.name == "sqlite":
        execute(engine, "DROP TRIGGER events_append_only_update",
                "DROP TRIGGER events_append_only_delete")
    else:
        execute(engine, "DROP TRIGGER events_append_only ON events")


def processing(engine: Engine, clerk: Actor) -> Dossier:
    d = engine.submit(CODE, applicant={"name": "Lý Thị H", "id_number": "001090012345"},
                      channel="counter", actor=clerk)
    engine.fire(d.code, "receive", actor=clerk)
    return engine.fire(d.code, "pay", actor=clerk, amount=FEE)


@pytest.fixture
def keyed(db_url: str, clock: FrozenClock) -> Any:
    engine = Engine(db_url, clock=clock, audit_key=KEY)
    engine.register(PROCEDURE)
    yield engine
    engine.close()


@pytest.fixture
def eng(engine: Engine) -> Engine:
    engine.register(PROCEDURE)
    return engine


# --- the row against its events ------------------------------------------------------------


@pytest.mark.parametrize(("column", "value"), [
    ("state", "'awaiting_return'"), ("fee_due", "1"), ("paid_amount", "0"),
    ("applicant", "'{\"name\": \"Kẻ Gian\"}'"), ("version", "version + 1"),
    ("received_at", "NULL"),
])
def test_an_edited_row_is_caught_and_the_field_named(
        eng: Engine, clerk: Actor, column: str, value: str) -> None:
    d = processing(eng, clerk)
    assert eng.verify_audit(d.code)
    execute(eng, f"UPDATE dossiers SET {column} = {value} WHERE id = :id", id=d.id)
    with pytest.raises(AuditError) as caught:
        eng.verify_audit(d.code)
    assert caught.value.field == column


def test_a_state_jumped_by_sql_is_caught_although_every_event_is_intact(
        eng: Engine, clerk: Actor) -> None:
    d = processing(eng, clerk)
    execute(eng, "UPDATE dossiers SET state = 'awaiting_return' WHERE id = :id", id=d.id)
    with pytest.raises(AuditError, match="state is 'awaiting_return' in the dossier row"):
        eng.verify_audit(d.code)


# --- the keyed chain ----------------------------------------------------------------------


def test_a_keyed_engine_links_every_event_with_its_key(keyed: Engine, clerk: Actor) -> None:
    d = processing(keyed, clerk)
    events = keyed.history(d.code)
    key_id = AuditKeys.of(KEY).current.id  # type: ignore[union-attr]
    assert {e.key_id for e in events} == {key_id}
    assert keyed.verify_audit(d.code)


def test_without_the_key_a_keyed_chain_cannot_be_verified(
        keyed: Engine, clerk: Actor, db_url: str, clock: FrozenClock) -> None:
    d = processing(keyed, clerk)
    other = Engine(db_url, clock=clock, audit_key=OLD_KEY)
    try:
        with pytest.raises(AuditError, match="does not have"):
            other.verify_audit(d.code)
    finally:
        other.close()


def test_history_recomputed_without_the_key_is_caught(keyed: Engine, clerk: Actor) -> None:
    # the attacker rewrites the last event and recomputes its link as plain SHA-256 (they
    # have the database, not the key), then fixes the row's head to match
    d = processing(keyed, clerk)
    last = keyed.history(d.code)[-1]
    forged = event_hash(dossier=d.code, seq=last.seq, trigger=last.trigger, source=last.source,
                        target=last.target, actor="ke_gian", role=last.role,
                        on_behalf_of=last.on_behalf_of, at=last.at, data=last.data,
                        prev_hash=last.prev_hash)
    drop_event_guards(keyed)
    execute(keyed, "UPDATE events SET actor = 'ke_gian', hash = :h, key_id = NULL "
                   "WHERE dossier_id = :id AND seq = :seq", h=forged, id=d.id, seq=last.seq)
    execute(keyed, "UPDATE dossiers SET head_hash = :h WHERE id = :id", h=forged, id=d.id)
    with pytest.raises(AuditError, match="unkeyed link after keyed ones"):
        keyed.verify_audit(d.code)


def test_a_rotated_key_still_verifies_the_old_links(
        keyed: Engine, clerk: Actor, specialist: Actor, db_url: str,
        clock: FrozenClock) -> None:
    d = processing(keyed, clerk)
    rotated = Engine(db_url, clock=clock, audit_key=[OLD_KEY, KEY])  # new first
    try:
        rotated.fire(d.code, "approve", actor=specialist)
        ids = [e.key_id for e in rotated.history(d.code)]
        assert len(set(ids)) == 2
        assert ids[-1] == AuditKeys.of(OLD_KEY).current.id  # type: ignore[union-attr]
        assert rotated.verify_audit(d.code)
    finally:
        rotated.close()


def test_an_engine_without_a_key_says_so_once_at_start_up(
        db_url: str, clock: FrozenClock, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOSSIER_AUDIT_KEY", raising=False)
    with caplog.at_level(logging.WARNING, logger="dossier"):
        Engine(db_url, clock=clock).close()
    assert [r.message for r in caplog.records].count(
        caplog.records[0].message) == 1
    assert "no audit key" in caplog.records[0].message


def test_the_key_can_come_from_the_environment(
        db_url: str, clock: FrozenClock, clerk: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOSSIER_AUDIT_KEY", f"{KEY}, {OLD_KEY}")
    engine = Engine(db_url, clock=clock)
    try:
        engine.register(PROCEDURE)
        d = engine.submit(CODE, applicant={"name": "A"}, channel="counter", actor=clerk)
        assert engine.history(d.code)[0].key_id == AuditKeys.of(KEY).current.id  # type: ignore[union-attr]
    finally:
        engine.close()


def test_a_short_key_is_refused(db_url: str, clock: FrozenClock) -> None:
    from dossier import InvalidInput

    with pytest.raises(InvalidInput, match="at least 32 bytes"):
        Engine(db_url, clock=clock, audit_key="short")


# --- what the database itself refuses --------------------------------------------------------


def test_the_database_refuses_to_delete_a_dossier(eng: Engine, clerk: Actor) -> None:
    d = processing(eng, clerk)
    with pytest.raises(sa.exc.DBAPIError):
        execute(eng, "DELETE FROM dossiers WHERE id = :id", id=d.id)
    assert eng.verify_audit(d.code)


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["events", "dossiers"])
def test_postgres_refuses_to_truncate_the_ledger(engine: Engine, clerk: Actor,
                                                 table: str) -> None:
    if engine.db.is_sqlite:
        pytest.skip("SQLite has no TRUNCATE")
    engine.register(PROCEDURE)
    d = processing(engine, clerk)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        execute(engine, f"TRUNCATE {table} CASCADE")
    assert engine.verify_audit(d.code)


# --- a stale version is a conflict first ---------------------------------------------------------


def test_a_stale_version_is_a_conflict_even_when_the_state_changed(
        eng: Engine, clerk: Actor) -> None:
    d = eng.submit(CODE, applicant={"name": "A"}, channel="counter", actor=clerk)
    seen = d.version
    eng.fire(d.code, "receive", actor=clerk)
    with pytest.raises(ConcurrencyConflict):
        eng.fire(d.code, "receive", actor=clerk, if_version=seen)


def test_genesis_is_the_first_link(eng: Engine, clerk: Actor) -> None:
    d = eng.submit(CODE, applicant={"name": "A"}, channel="counter", actor=clerk)
    assert eng.history(d.code)[0].prev_hash == GENESIS


# --- least privilege on PostgreSQL -------------------------------------------------------------


@pytest.fixture
def app_engine(engine: Engine, db_url: str, clock: FrozenClock) -> Any:
    """An engine connected as an application role holding only ``dossier db grant``'s
    privileges on the owner's migrated schema."""
    if engine.db.is_sqlite:
        pytest.skip("SQLite has no roles")
    import uuid

    from dossier.store.grants import grant_statements

    engine.register(PROCEDURE)
    role = f"app_{uuid.uuid4().hex[:8]}"
    schema = db_url.rsplit("csearch_path%3D", 1)[1]
    execute(engine, f"CREATE ROLE {role} LOGIN PASSWORD 'app-secret'",
            *grant_statements(role, schema))
    url = sa.make_url(db_url).set(username=role, password="app-secret")
    app = Engine(url.render_as_string(hide_password=False), clock=clock)
    yield app
    app.close()
    execute(engine, f"DROP OWNED BY {role}", f"DROP ROLE {role}")


@pytest.mark.postgres
def test_the_application_role_runs_the_whole_lifecycle(
        app_engine: Engine, clerk: Actor, specialist: Actor, leader: Actor) -> None:
    d = processing(app_engine, clerk)
    app_engine.fire(d.code, "approve", actor=specialist)
    app_engine.fire(d.code, "sign", actor=leader)  # PROCEDURE signs on paper
    assert app_engine.fire(d.code, "return_result", actor=clerk).state == "returned"
    assert app_engine.sweep().total == 0
    assert app_engine.verify_audit(d.code)


@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "UPDATE events SET actor = 'x'",
    "DELETE FROM events",
    "TRUNCATE events CASCADE",
    "DELETE FROM dossiers",
    "ALTER TABLE events DISABLE TRIGGER ALL",
    "DROP TRIGGER events_append_only ON events",
    "CREATE TABLE squatter (id int)",
])
def test_the_application_role_cannot_rewrite_or_unguard_the_ledger(
        app_engine: Engine, clerk: Actor, statement: str) -> None:
    d = processing(app_engine, clerk)
    with pytest.raises(sa.exc.DBAPIError):
        execute(app_engine, statement)
    assert app_engine.verify_audit(d.code)


# --- checkpoints ---------------------------------------------------------------------------------


def test_a_checkpoint_of_an_untouched_ledger_verifies(keyed: Engine, clerk: Actor) -> None:
    codes = [processing(keyed, clerk).code for _ in range(3)]
    statement = keyed.audit_checkpoint()
    [agency] = statement["agencies"].values()
    assert agency["dossiers"] == 3
    assert agency["last_code_of_day"] == {"250908": codes[-1]}
    processing(keyed, clerk)  # later dossiers and events do not disturb it
    report = keyed.verify_checkpoint(statement)
    assert report.ok
    assert report.gaps == {}


def test_a_deleted_dossier_is_proved_missing_and_its_number_listed(
        keyed: Engine, clerk: Actor) -> None:
    codes = [processing(keyed, clerk).code for _ in range(3)]
    statement = keyed.audit_checkpoint()
    gone = keyed.get(codes[1]).id
    if keyed.db.is_sqlite:
        execute(keyed, "DROP TRIGGER dossiers_never_deleted",
                "DROP TRIGGER events_append_only_delete")
    else:
        execute(keyed, "ALTER TABLE events DISABLE TRIGGER USER",
                "ALTER TABLE dossiers DISABLE TRIGGER USER")
    execute(keyed, "DELETE FROM clock_pauses WHERE dossier_id = :id",
            "DELETE FROM documents WHERE dossier_id = :id",
            "DELETE FROM receipts WHERE dossier_id = :id",
            "DELETE FROM payment_callbacks WHERE payment_id IN "
            "(SELECT id FROM payments WHERE dossier_id = :id)",
            "DELETE FROM payments WHERE dossier_id = :id",
            "DELETE FROM events WHERE dossier_id = :id",
            "DELETE FROM dossiers WHERE id = :id", id=gone)
    report = keyed.verify_checkpoint(statement)
    assert not report.ok
    assert "deleted" in report.problems[0]
    assert list(report.gaps.values()) == [[2]]


def test_a_rewritten_dossier_is_proved_changed(keyed: Engine, clerk: Actor) -> None:
    d = processing(keyed, clerk)
    statement = keyed.audit_checkpoint()
    drop_event_guards(keyed)  # history rewritten up to its head, the row made to match
    execute(keyed, "UPDATE events SET actor = 'ke_gian', hash = :h "
                   "WHERE dossier_id = :id AND seq = :seq",
            "UPDATE dossiers SET head_hash = :h WHERE id = :id",
            h="f" * 64, id=d.id, seq=d.event_count)
    report = keyed.verify_checkpoint(statement)
    [problem] = report.problems
    assert "rewritten" in problem


def test_an_altered_checkpoint_is_refused(keyed: Engine, clerk: Actor) -> None:
    processing(keyed, clerk)
    statement = keyed.audit_checkpoint()
    [agency] = statement["agencies"].values()
    agency["dossiers"] = 7
    with pytest.raises(AuditError, match="MAC does not match"):
        keyed.verify_checkpoint(statement)


def test_a_checkpoint_needs_the_audit_key(eng: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from dossier import InvalidInput

    with pytest.raises(InvalidInput, match="audit key"):
        eng.audit_checkpoint()


def test_the_checkpoint_commands_round_trip(
        keyed: Engine, clerk: Actor, db_url: str, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from dossier.cli import main

    processing(keyed, clerk)
    monkeypatch.setenv("DOSSIER_AUDIT_KEY", KEY)
    out = tmp_path / "checkpoint.json"
    assert main(["audit", "checkpoint", "--database", db_url, "--out", str(out)]) == 0
    assert main(["verify-audit", "--database", db_url, "--checkpoint", str(out)]) == 0
    assert "every dossier of it is intact" in capsys.readouterr().out
