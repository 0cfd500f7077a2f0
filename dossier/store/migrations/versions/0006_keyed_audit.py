"""keyed audit: the key id of each event; no TRUNCATE of the ledger, no deleted dossiers

``events.key_id`` names the audit key an event's HMAC link was made with (NULL: a plain
SHA-256 link). Row triggers do not fire on TRUNCATE, so on PostgreSQL a statement-level
trigger refuses TRUNCATE of ``events`` and ``dossiers`` (a cascaded TRUNCATE fires it too);
and a dossier row is never deleted (its events could not be anyway, so deleting it was only
possible together with dropping the events' protection).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("key_id", sa.String(32), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE TRIGGER dossiers_never_deleted BEFORE DELETE ON dossiers "
                   "BEGIN SELECT RAISE(ABORT, 'dossiers are never deleted'); END")
        return
    op.execute(
        "CREATE FUNCTION dossier_ledger_kept() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the dossier ledger is append-only: % on % refused', "
        "TG_OP, TG_TABLE_NAME; END $$")
    for table in ("events", "dossiers"):
        op.execute(f"CREATE TRIGGER {table}_never_truncated BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION dossier_ledger_kept()")
    op.execute("CREATE TRIGGER dossiers_never_deleted BEFORE DELETE ON dossiers "
               "FOR EACH ROW EXECUTE FUNCTION dossier_ledger_kept()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER dossiers_never_deleted")
    else:
        op.execute("DROP TRIGGER dossiers_never_deleted ON dossiers")
        for table in ("events", "dossiers"):
            op.execute(f"DROP TRIGGER {table}_never_truncated ON {table}")
        op.execute("DROP FUNCTION dossier_ledger_kept()")
    op.drop_column("events", "key_id")
