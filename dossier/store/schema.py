"""Schema versions: create a new database, refuse an outdated one, upgrade on request.

Opening a database that is already at :data:`HEAD` is the common case (every ``Engine``
does it) and runs one query. Alembic, the migration scripts and the SQLModel tables are
imported only when a migration has to run or a revision has to be explained (on top of
SQLAlchemy they take ~0.3 s to import: a process that only opens a database never pays it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from dossier.errors import SchemaError
from dossier.store.database import Database

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).with_name("migrations")

#: The newest migration's revision id, so that a current database is recognised without
#: loading the migration scripts. A new migration must update it: tests/test_schema.py
#: checks that it is Alembic's head.
HEAD = "0010"

# Alembic's default version table: our env.py does not rename it.
_VERSION_TABLE = "alembic_version"


def _config(db: Database) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def head_revision() -> str:
    return HEAD


def current_revision(db: Database) -> str | None:
    """The revision recorded in the database; ``None`` when it has no version table."""
    with db.engine.connect() as conn:
        try:
            rows = conn.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars()
            found = sorted(str(row) for row in rows)
        except DBAPIError:
            # Most likely a new database, without the table: only now look (looking first
            # costs every Engine ~5 ms more on PostgreSQL), so that any other failure (no
            # permission, say) is raised as it was.
            conn.rollback()  # PostgreSQL refuses anything more in the failed transaction
            if inspect(conn).has_table(_VERSION_TABLE):
                raise
            return None
    if len(found) > 1:  # branches: our history is linear, so someone else's migrations
        where = db.url.render_as_string(hide_password=True)
        raise SchemaError(f"{where} has several schema revisions ({', '.join(found)})")
    return found[0] if found else None


def upgrade(db: Database, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (what ``dossier db upgrade`` runs)."""
    from alembic import command

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
    if current == HEAD:
        return
    where = db.url.render_as_string(hide_password=True)
    if current is None:
        from dossier.store.tables import metadata

        existing = set(inspect(db.engine).get_table_names()) & set(metadata.tables)
        if existing:
            raise SchemaError(
                f"{where} has dossier tables ({', '.join(sorted(existing))}) but no schema "
                "revision; it was not created by `dossier`. Use a new database.")
        if not create:
            raise SchemaError(f"{where} has no dossier schema; run `dossier db upgrade`")
        upgrade(db)
        return
    from alembic.script import ScriptDirectory

    known = {rev.revision for rev in ScriptDirectory(str(_MIGRATIONS)).walk_revisions()}
    if current in known:
        raise SchemaError(
            f"{where} has schema revision {current}, this version of dossier needs {HEAD}: "
            f"run `dossier db upgrade --database {where}` (back the database up first)")
    raise SchemaError(
        f"{where} has schema revision {current}, which this version of dossier does not "
        f"know (it needs {HEAD}); the database is newer: upgrade the dossier package")
