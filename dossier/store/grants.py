"""Least privilege on PostgreSQL: what the application's own role may do, and nothing more.

Two roles: the **owner** creates and migrates the schema (``dossier db upgrade``) and owns
every table; the **application** role, which the engine and the workers connect as, gets only
the statements the engine runs. It may INSERT events but never UPDATE, DELETE or TRUNCATE
them; it may not DELETE or TRUNCATE dossiers; and, not owning the tables, it can neither
disable nor drop the triggers that guard them (``ALTER TABLE … DISABLE TRIGGER`` needs
ownership). ``dossier db grant ROLE`` prints these statements (``--apply`` runs them as the
owner). SQLite has no roles: protect its file with file-system permissions instead.
"""

from __future__ import annotations

import re

from dossier.errors import InvalidInput

#: Table → the privileges the engine needs on it (SELECT … FOR UPDATE needs UPDATE).
APP_PRIVILEGES: dict[str, str] = {
    "alembic_version": "SELECT",
    "procedures": "SELECT, INSERT",
    "dossiers": "SELECT, INSERT, UPDATE",
    "events": "SELECT, INSERT",
    "clock_pauses": "SELECT, INSERT, UPDATE",
    "blobs": "SELECT, INSERT",
    "attachments": "SELECT, INSERT",
    "counters": "SELECT, INSERT, UPDATE",
    "payments": "SELECT, INSERT, UPDATE",
    "payment_callbacks": "SELECT, INSERT",
    "refunds": "SELECT, INSERT, UPDATE",
    "receipts": "SELECT, INSERT, UPDATE",
    "documents": "SELECT, INSERT",
    "signature_requests": "SELECT, INSERT, UPDATE",
    # delivered and dead-lettered messages are deleted (retention, purge)
    "outbox": "SELECT, INSERT, UPDATE, DELETE",
    "digitisation_records": "SELECT, INSERT",
}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def grant_statements(role: str, schema: str = "public") -> list[str]:
    """The GRANTs that give ``role`` what the engine needs in ``schema``, after revoking
    whatever it had there."""
    for what, name in (("role", role), ("schema", schema)):
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidInput(f"{what} name {name!r} must be letters, digits and '_' "
                               "(at most 63), not starting with a digit")
    r, s = f'"{role}"', f'"{schema}"'
    statements = [f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
                  f"GRANT USAGE ON SCHEMA {s} TO {r}"]
    statements += [f"GRANT {privileges} ON {s}.\"{table}\" TO {r}"
                   for table, privileges in APP_PRIVILEGES.items()]
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}")
    return statements
