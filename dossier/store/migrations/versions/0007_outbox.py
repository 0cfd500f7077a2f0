"""outbox: one row per event and subscribed sink; on PostgreSQL, each event's transaction id

``outbox`` holds what the dispatcher still has to hand to a sink, written in the same
transaction as the event (see :mod:`dossier.engine.outbox`). ``events.txid`` (PostgreSQL
only) is the id of the transaction that wrote the event: the event feed orders by
``(txid, id)`` and stops below the oldest transaction still running, so an event that commits
late with a smaller id is never skipped. Existing events take the migration's own id, which is
above every transaction that wrote them. SQLite needs no such column: its writers take turns
(``BEGIN IMMEDIATE``), so id order is commit order there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _instant(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sink", sa.String(32), nullable=False),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("events.id"), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("next_attempt_at"),
        _instant("lease_until", nullable=True),
        sa.Column("last_error", sa.String(255), nullable=True),
        _instant("created_at"),
        _instant("delivered_at", nullable=True),
        sa.UniqueConstraint("sink", "event_id", name="uq_outbox_sink_event"),
    )
    # the dispatcher's claim: WHERE status = 'pending' AND next_attempt_at <= now
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    # "no earlier message of this dossier for this sink is still undelivered"
    op.create_index("ix_outbox_order", "outbox", ["sink", "dossier_id", "seq"])
    if op.get_bind().dialect.name == "postgresql":
        # the rewrite that fills the column fires no row trigger: events stay append-only
        op.execute("ALTER TABLE events ADD COLUMN txid xid8 NOT NULL "
                   "DEFAULT pg_current_xact_id()")
        op.execute("CREATE INDEX ix_events_txid_id ON events (txid, id)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_events_txid_id")
        op.execute("ALTER TABLE events DROP COLUMN txid")
    op.drop_index("ix_outbox_order", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
