"""Persistence: tables, transactions, migrations and the SQL the engine runs."""

from dossier.store.database import Database, Tx
from dossier.store.schema import ensure_schema, upgrade

__all__ = ["Database", "Tx", "ensure_schema", "upgrade"]
