"""Schema versions: a new database is created at head, an older one is refused until
``dossier db upgrade``, the migrations match the SQLModel tables, and events are append-only
at the database itself."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import PgSchemas

from dossier import Actor, Engine, SchemaError, load_procedure, sample_path
from dossier.cli import main
from dossier.store import Database, schema, upgrade
from dossier.store.schema import current_revision, head_revision
from dossier.store.tables import compared, metadata
from dossier.testing import FrozenClock

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """These tests migrate, break and re-create schemas: each starts from an empty database
    (elsewhere a PostgreSQL ``db_url`` is the session's migrated schema, emptied of rows)."""
    return empty_db_url


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    yield db
    db.dispose()


def _submitted(engine: Engine, clerk: Actor) -> str:
    engine.register(load_procedure(sample_path("chung-thuc-ban-sao-dien-tu")))
    dossier = engine.submit("2.000815", applicant={"name": "Nguyễn Văn A"}, channel="counter",
                            actor=clerk)
    return dossier.code


def test_a_new_sqlite_file_is_created_at_the_head_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    Engine(url).close()
    db = Database(url)
    try:
        assert current_revision(db) == head_revision()
        assert set(metadata.tables) <= set(sa.inspect(db.engine).get_table_names())
    finally:
        db.dispose()


def test_the_head_revision_is_the_newest_migration() -> None:
    # schema.HEAD lets an Engine recognise a current database without loading Alembic
    assert ScriptDirectory(str(schema._MIGRATIONS)).get_current_head() == schema.HEAD
    assert head_revision() == schema.HEAD


def test_the_store_loads_neither_alembic_nor_sqlmodel_nor_adapters() -> None:
    # a fresh interpreter: this one has imported everything already
    code = ("import sys, dossier.store\n"
            "heavy = ('alembic', 'sqlmodel', 'pyhanko', 'fpdf', 'aiohttp')\n"
            "print(' '.join(name for name in heavy if name in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == ""


def test_a_new_database_is_created_at_the_head_revision(db_url: str) -> None:
    Engine(db_url).close()
    db = Database(db_url)
    try:
        assert current_revision(db) == head_revision()
    finally:
        db.dispose()


def test_an_older_schema_is_refused_until_db_upgrade(
        db_url: str, clerk: Actor, clock: FrozenClock, capsys: pytest.CaptureFixture[str]) -> None:
    db = Database(db_url)
    upgrade(db, "0001")
    db.dispose()

    with pytest.raises(SchemaError, match="dossier db upgrade") as caught:
        Engine(db_url)
    assert "0001" in str(caught.value)

    assert main(["db", "upgrade", "--database", db_url]) == 0
    assert f"0001 -> {head_revision()}" in capsys.readouterr().out

    engine = Engine(db_url, clock=clock)
    try:
        assert engine.get(_submitted(engine, clerk)).version == 1
    finally:
        engine.close()


def test_db_upgrade_on_a_current_database_changes_nothing(db_url: str) -> None:
    Engine(db_url).close()
    assert main(["db", "upgrade", "--database", db_url]) == 0
    Engine(db_url).close()


def test_a_newer_unknown_revision_is_refused(database: Database, db_url: str) -> None:
    upgrade(database)
    with database.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="upgrade the dossier package"):
        Engine(db_url)


def test_dossier_tables_without_a_revision_are_refused(database: Database, db_url: str) -> None:
    metadata.create_all(database.engine)
    with pytest.raises(SchemaError, match="no schema revision"):
        Engine(db_url)


# SQLAlchemy reflects PostgreSQL's xid8 (events.txid, which the models leave out) as NullType
@pytest.mark.filterwarnings("ignore:Did not recognize type 'xid8'")
def test_the_migrations_create_exactly_the_tables_the_models_declare(
        database: Database) -> None:
    upgrade(database)
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                          "compare_server_default": True,
                                                          "include_object": compared})
        differences = compare_metadata(context, metadata)
    assert differences == []


@pytest.mark.parametrize("statement", [
    "UPDATE events SET actor = 'someone else'",
    "DELETE FROM events",
])
def test_the_database_refuses_to_rewrite_events(
        db_url: str, clerk: Actor, clock: FrozenClock, statement: str) -> None:
    engine = Engine(db_url, clock=clock)
    try:
        code = _submitted(engine, clerk)
    finally:
        engine.close()
    db = Database(db_url)
    try:
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), \
                db.engine.begin() as conn:
            conn.execute(sa.text(statement))
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one() == 1
    finally:
        db.dispose()
    engine = Engine(db_url)
    try:
        assert engine.verify_audit(code)
    finally:
        engine.close()


@pytest.mark.postgres
def test_postgresql_events_carry_their_transaction_id(pg_schemas: PgSchemas) -> None:
    db_url = pg_schemas.empty()
    Engine(db_url).close()
    db = Database(db_url)
    try:
        with db.engine.connect() as conn:
            column = conn.execute(sa.text(
                "SELECT format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
                "WHERE attrelid = 'events'::regclass AND attname = 'txid'")).one()
            index = conn.execute(sa.text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_events_txid_id' "
                "AND schemaname = current_schema()")).one()
    finally:
        db.dispose()
    assert tuple(column) == ("xid8", True)
    assert "(txid, id)" in index[0]
