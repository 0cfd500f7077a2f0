"""digitisation records per component and result; the special case a dossier declared

``digitisation_records`` holds what the national portal reports of a dossier's digitisation
(Thông tư 01/2023/TT-VPCP): each component digitised here (by whom, when, pages) or reused
(from an earlier dossier's result or the citizen's data store, with the source's reference),
and the result (digital or not, returned electronically or not). Each row names the event
(``seq``) that recorded it, in the same transaction. ``dossiers.case_id`` is the special case
of the procedure (``cases`` in its file) declared at submission, which sets its time limit.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-14
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
# Written beside 0008 (finding work); linked after it when the two branches are merged.
down_revision: str | None = "0008"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digitisation_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("component", sa.String(64), nullable=True),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("blobs.sha256"), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(16), nullable=True),
        sa.Column("source_ref", sa.String(128), nullable=True),
        sa.Column("returned_electronically", sa.Boolean(), nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_digitisation_records_dossier", "digitisation_records",
                    ["dossier_id", "seq"])
    op.add_column("dossiers", sa.Column("case_id", sa.String(64), nullable=True))


def downgrade() -> None:
    # (ALTER TABLE … DROP COLUMN: SQLite ≥ 3.35 drops an unindexed column in place, where a
    # batch copy of the table would trip over the foreign keys that point at it)
    op.drop_column("dossiers", "case_id")
    op.drop_index("ix_digitisation_records_dossier", table_name="digitisation_records")
    op.drop_table("digitisation_records")
