"""payments: attempts, every callback received, refunds and e-receipts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _instant(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("order_ref", sa.String(64), nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("provider_ref", sa.String(128), nullable=True),
        sa.Column("redirect_url", sa.Text(), nullable=True),
        sa.Column("qr_payload", sa.Text(), nullable=True),
        sa.Column("counter_instructions", sa.Text(), nullable=True),
        _instant("created_at"),
        _instant("expires_at"),
        _instant("paid_at", nullable=True),
        _instant("consumed_at", nullable=True),
        _instant("updated_at"),
        sa.Column("refunded_amount", sa.BigInteger(), nullable=False),
        sa.Column("review_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_payments_dossier", "payments", ["dossier_id"])
    op.create_index("ix_payments_state_created", "payments", ["state", "created_at"])
    op.create_table(
        "payment_callbacks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("order_ref", sa.String(64), nullable=True),
        sa.Column("payment_id", sa.Integer(), sa.ForeignKey("payments.id"), nullable=True),
        sa.Column("dedup_key", sa.String(255), nullable=True, unique=True),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        _instant("received_at"),
    )
    op.create_index("ix_payment_callbacks_payment", "payment_callbacks", ["payment_id"])
    op.create_index("ix_payment_callbacks_verdict", "payment_callbacks", ["verdict"])
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("payment_id", sa.Integer(), sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("refund_ref", sa.String(64), nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("provider_ref", sa.String(128), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        _instant("created_at"),
        _instant("updated_at"),
    )
    op.create_index("ix_refunds_payment", "refunds", ["payment_id"])
    op.create_table(
        "receipts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("payment_id", sa.Integer(), sa.ForeignKey("payments.id"), nullable=False,
                  unique=True),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("template_symbol", sa.String(20), nullable=False),
        sa.Column("series", sa.String(20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("payer_name", sa.Text(), nullable=False),
        sa.Column("agency_name", sa.Text(), nullable=False),
        sa.Column("fee_name", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("payment_method", sa.String(32), nullable=False),
        _instant("paid_at"),
        _instant("created_at"),
        _instant("issued_at", nullable=True),
        sa.Column("issuer", sa.String(32), nullable=True),
        sa.Column("lookup_code", sa.String(128), nullable=True),
        sa.Column("html", sa.Text(), nullable=True),
        sa.UniqueConstraint("agency", "series", "number",
                            name="uq_receipts_agency_series_number"),
    )
    op.create_index("ix_receipts_dossier", "receipts", ["dossier_id"])
    # the worker retries receipts whose issuer failed: WHERE issued_at IS NULL
    op.create_index("ix_receipts_issued_at", "receipts", ["issued_at"])


def downgrade() -> None:
    op.drop_index("ix_receipts_issued_at", table_name="receipts")
    op.drop_index("ix_receipts_dossier", table_name="receipts")
    op.drop_table("receipts")
    op.drop_index("ix_refunds_payment", table_name="refunds")
    op.drop_table("refunds")
    op.drop_index("ix_payment_callbacks_verdict", table_name="payment_callbacks")
    op.drop_index("ix_payment_callbacks_payment", table_name="payment_callbacks")
    op.drop_table("payment_callbacks")
    op.drop_index("ix_payments_state_created", table_name="payments")
    op.drop_index("ix_payments_dossier", table_name="payments")
    op.drop_table("payments")
