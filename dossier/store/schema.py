"""Schema versions: create a new database, refuse an outdated one, upgrade on request."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from dossier.errors import SchemaError
from dossier.store.database import Database
from dossier.store.tables import metadata

_MIGRATIONS = Path(__file__).with_name("migrations")


def _config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory(str(_MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (what ``dossier db upgrade`` runs)."""
    config = _config(db)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def ensure_schema(db: Database, *, create: bool = True) -> None:
    """Create the schema of a new database; raise :class:`SchemaError` for any other revision."""
    try:
        _ensure_schema(db, create)
    except SchemaError:
        # The caller never gets an engine to close: don't leave pooled connections behind.
        db.dispose()
        raise


def _ensure_schema(db: Database, create: bool) -> None:
    current = current_revision(db)
    head = head_revision()
    if current == head:
        return
    where = db.url.render_as_string(hide_password=True)
    if current is None:
        existing = set(inspect(db.engine).get_table_names()) & set(metadata.tables)
        if existing:
            raise SchemaError(
                f"{where} has dossier tables ({', '.join(sorted(existing))}) but no schema "
                "revision; it was not created by `dossier`. Use a new database.")
        if not create:
            raise SchemaError(f"{where} has no dossier schema; run `dossier db upgrade`")
        upgrade(db)
        return
    known = {rev.revision for rev in ScriptDirectory(str(_MIGRATIONS)).walk_revisions()}
    if current in known:
        raise SchemaError(
            f"{where} has schema revision {current}, this version of dossier needs {head}: "
            f"run `dossier db upgrade --database {where}` (back the database up first)")
    raise SchemaError(
        f"{where} has schema revision {current}, which this version of dossier does not "
        f"know (it needs {head}); the database is newer: upgrade the dossier package")
