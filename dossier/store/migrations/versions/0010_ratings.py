"""ratings: the citizen's rating of a returned dossier; indexes of the quality report

``ratings`` holds one row per dossier (``uq_ratings_dossier``: a dossier is rated once; two
concurrent ratings leave one row and a :class:`~dossier.errors.DuplicateRecord`): the level,
the criteria answered (JSON), the comment (free text, kept here only: the ``rate`` event in
the hash chain records its SHA-256), who recorded it and when.

Two indexes serve :meth:`Engine.quality_report` as range scans: ``(agency, closed_at, id)``
for the dossiers settled in a period, ``attachments (sha256)`` for a component file whose
content was already stored for another dossier (reuse of digitised data).

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-14
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("criteria", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("on_behalf_of", sa.String(128), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("dossier_id", name="uq_ratings_dossier"),
    )
    op.create_index("ix_dossiers_agency_closed", "dossiers", ["agency", "closed_at", "id"])
    op.create_index("ix_attachments_sha256", "attachments", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_attachments_sha256", table_name="attachments")
    op.drop_index("ix_dossiers_agency_closed", table_name="dossiers")
    op.drop_table("ratings")
