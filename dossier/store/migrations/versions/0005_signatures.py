"""signatures: signed documents of dossiers and remote signature requests

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _instant(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("component", sa.String(64), nullable=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("blobs.sha256"), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(128), nullable=False),
        sa.Column("signed_by", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("book", sa.String(32), nullable=True),
        _instant("created_at"),
    )
    op.create_index("ix_documents_dossier", "documents", ["dossier_id"])
    op.create_table(
        "signature_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("transaction_id", sa.String(128), nullable=False),
        sa.Column("ticket", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        _instant("requested_at"),
        _instant("expires_at"),
        _instant("resolved_at", nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("document_sha256", sa.String(64), sa.ForeignKey("blobs.sha256"),
                  nullable=True),
    )
    op.create_index("ix_signature_requests_dossier", "signature_requests", ["dossier_id"])
    # the worker polls WHERE state = 'pending' ORDER BY requested_at
    op.create_index("ix_signature_requests_state", "signature_requests",
                    ["state", "requested_at"])
    # a provider's callback names its transaction
    op.create_index("ix_signature_requests_transaction", "signature_requests",
                    ["provider", "transaction_id"])


def downgrade() -> None:
    op.drop_index("ix_signature_requests_transaction", table_name="signature_requests")
    op.drop_index("ix_signature_requests_state", table_name="signature_requests")
    op.drop_index("ix_signature_requests_dossier", table_name="signature_requests")
    op.drop_table("signature_requests")
    op.drop_index("ix_documents_dossier", table_name="documents")
    op.drop_table("documents")
