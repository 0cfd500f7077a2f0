"""finding work: assignment, the work queue's keys, the applicant's keyed digest, and indexes

New columns of ``dossiers``:

- ``assignee`` — the officer the current step is assigned to (an ``assign`` event sets it,
  leaving the step clears it);
- ``step_role`` — who does the step the dossier is at (the procedure's role for it; NULL
  while it waits for the citizen's supplement, and once closed);
- ``step_due_at`` — when that step is due (``Dossier.step_due_at``);
- ``applicant_key_digest`` — HMAC-SHA256 of the applicant's ID number under the applicant
  key (see :mod:`dossier.applicant_keys`); existing rows stay NULL, since the key is not the
  migration's to know.

Existing rows get ``step_role`` from their procedure and ``step_due_at`` from their deadlines,
so that open dossiers are in the work queues at once. The indexes serve ``Engine.find``'s
orders and the work queue as range scans (each ends in ``id``, the keyset cursor's tie-break);
``(agency, state, step_due_at, id)`` replaces ``(agency, state)``, its prefix.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

#: (name, columns) of the new indexes
INDEXES: tuple[tuple[str, list[str]], ...] = (
    ("ix_dossiers_queue", ["agency", "step_role", "assignee", "step_due_at", "id"]),
    ("ix_dossiers_agency_state_step_due", ["agency", "state", "step_due_at", "id"]),
    ("ix_dossiers_agency_due", ["agency", "due_at", "id"]),
    ("ix_dossiers_agency_submitted", ["agency", "submitted_at", "id"]),
    ("ix_dossiers_agency_updated", ["agency", "updated_at", "id"]),
    ("ix_dossiers_assignee", ["assignee", "step_due_at", "id"]),
    ("ix_dossiers_owner", ["owner", "submitted_at", "id"]),
    ("ix_dossiers_applicant_key_digest", ["applicant_key_digest"]),
)
# the standard lifecycle as of this revision: step → the state a dossier waits in for it
_STEP_STATES = {"receive": "awaiting_reception", "digitise": "digitising",
                "certify": "certifying", "pay": "awaiting_payment", "process": "processing",
                "sign": "awaiting_signature", "return": "awaiting_return"}


def upgrade() -> None:
    op.add_column("dossiers", sa.Column("assignee", sa.String(128), nullable=True))
    op.add_column("dossiers", sa.Column("step_role", sa.String(16), nullable=True))
    op.add_column("dossiers", sa.Column("step_due_at", sa.DateTime(timezone=True),
                                        nullable=True))
    op.add_column("dossiers", sa.Column("applicant_key_digest", sa.String(64), nullable=True))
    _backfill()
    op.drop_index("ix_dossiers_agency_state", table_name="dossiers")
    for name, columns in INDEXES:
        op.create_index(name, "dossiers", columns)


def _backfill() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    for code, version, content in conn.execute(
            sa.text("SELECT code, version, content FROM procedures")):
        for spec in json.loads(content)["steps"]:
            conn.execute(sa.text("UPDATE dossiers SET step_role = :role WHERE procedure_code"
                                 " = :code AND procedure_version = :version AND state = :state"),
                         {"role": spec["role"], "code": code, "version": version,
                          "state": _STEP_STATES[spec["name"]]})
    conn.execute(sa.text("UPDATE dossiers SET step_due_at = supplement_due_at"
                         " WHERE state = 'awaiting_supplement'"))
    states = ", ".join(f"'{state}'" for state in _STEP_STATES.values())
    conn.execute(sa.text(f"UPDATE dossiers SET step_due_at = due_at WHERE state IN ({states})"))
    # a step with its own budget is due at its own instant (ISO 8601 in the step_due JSON)
    own: list[dict[str, Any]] = []
    for row_id, state, step_due in conn.execute(sa.text(
            f"SELECT id, state, step_due FROM dossiers WHERE state IN ({states})"
            " AND due_at IS NOT NULL AND step_due <> '{}'")):
        step = next(s for s, st in _STEP_STATES.items() if st == state)
        value = json.loads(step_due).get(step)
        if value is not None:
            instant = datetime.fromisoformat(value).astimezone(UTC)
            own.append({"id": row_id, "due": instant.isoformat(" ", "microseconds")[:-6]
                        if sqlite else instant})
    if own:
        conn.execute(sa.text("UPDATE dossiers SET step_due_at = :due WHERE id = :id"), own)


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="dossiers")
    op.create_index("ix_dossiers_agency_state", "dossiers", ["agency", "state"])
    # (ALTER TABLE … DROP COLUMN: SQLite ≥ 3.35 drops an unindexed column in place, where a
    # batch copy of the table would trip over the foreign keys that point at it)
    for name in ("applicant_key_digest", "step_due_at", "step_role", "assignee"):
        op.drop_column("dossiers", name)
