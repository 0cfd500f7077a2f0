"""deadlines on dossiers, the sweep's next_timer_at index, and the clock-pause ledger

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_INSTANTS = ("clock_started_at", "due_at", "appointment_at", "warning_at", "paused_at",
             "supplement_due_at", "warned_for", "overdue_for", "next_timer_at")


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        for name in _INSTANTS:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("step_due", sa.Text(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("extended", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("timeliness", sa.String(16), nullable=True))
    with op.batch_alter_table("dossiers") as batch:
        # the defaults only fill existing rows; the engine always writes both columns
        batch.alter_column("step_due", server_default=None)
        batch.alter_column("extended", server_default=None)
    op.create_index("ix_dossiers_next_timer_at", "dossiers", ["next_timer_at"])
    op.create_table(
        "clock_pauses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("due_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_after", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_clock_pauses_dossier", "clock_pauses", ["dossier_id"])


def downgrade() -> None:
    op.drop_index("ix_clock_pauses_dossier", table_name="clock_pauses")
    op.drop_table("clock_pauses")
    op.drop_index("ix_dossiers_next_timer_at", table_name="dossiers")
    with op.batch_alter_table("dossiers") as batch:
        for name in (*_INSTANTS, "step_due", "extended", "timeliness"):
            batch.drop_column(name)
