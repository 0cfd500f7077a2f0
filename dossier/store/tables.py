"""The tables, as SQLModel classes. The Alembic migrations create them; a test checks that
the migrations and these classes agree.

Instants are stored in UTC (``timestamptz`` on PostgreSQL; fixed-width UTC text on SQLite,
in SQLAlchemy's own format so both SQLAlchemy and the hot path read it). JSON is stored as
text so that the same SQL runs on both databases.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata


def _instant(nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class ProcedureRow(SQLModel, table=True):
    """A registered procedure version: its canonical JSON and that JSON's SHA-256."""

    __tablename__ = "procedures"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_procedures_code_version"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    version: str = Field(sa_column=Column(String(32), nullable=False))
    effective_from: date
    effective_until: date | None = None
    content: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    registered_at: datetime = Field(sa_column=_instant())


class DossierRow(SQLModel, table=True):
    """The current state of a dossier; its history is in ``events``."""

    __tablename__ = "dossiers"
    __table_args__ = (Index("ix_dossiers_agency_state", "agency", "state"),
                      Index("ix_dossiers_next_timer_at", "next_timer_at"))

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    procedure_code: str = Field(sa_column=Column(String(32), nullable=False))
    procedure_version: str = Field(sa_column=Column(String(32), nullable=False))
    agency: str = Field(sa_column=Column(String(64), nullable=False))
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    state: str = Field(sa_column=Column(String(32), nullable=False))
    resume_state: str | None = Field(default=None, sa_column=Column(String(32)))
    owner: str | None = Field(default=None, sa_column=Column(String(128)))
    applicant: str = Field(sa_column=Column(Text, nullable=False))  # JSON, personal data
    fee_basis: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    fee_due: int = Field(sa_column=Column(BigInteger, nullable=False))
    paid_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    event_count: int = Field(sa_column=Column(Integer, nullable=False))
    head_hash: str = Field(sa_column=Column(String(64), nullable=False))
    submitted_at: datetime = Field(sa_column=_instant())
    received_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    updated_at: datetime = Field(sa_column=_instant())
    closed_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    # deadlines (dossier.records.Deadlines), computed at reception with the agency's calendar
    clock_started_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    due_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    appointment_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    warning_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    step_due: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    paused_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    supplement_due_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    warned_for: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    overdue_for: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    extended: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    timeliness: str | None = Field(default=None, sa_column=Column(String(16)))
    # the sweep's index: the earliest timer still to fire, NULL when none
    next_timer_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))


class ClockPauseRow(SQLModel, table=True):
    """The ledger of clock stops (supplement rounds): who stopped it, why, and what moved."""

    __tablename__ = "clock_pauses"
    __table_args__ = (Index("ix_clock_pauses_dossier", "dossier_id"),)

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(sa_column=Column(Integer, ForeignKey("dossiers.id"),
                                             nullable=False))
    started_at: datetime = Field(sa_column=_instant())
    ended_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    legal_basis: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(sa_column=Column(String(128), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    due_before: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    due_after: datetime | None = Field(default=None, sa_column=_instant(nullable=True))


class EventRow(SQLModel, table=True):
    """One append-only event; ``hash`` = SHA-256 of its content and ``prev_hash``."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("dossier_id", "seq", name="uq_events_dossier_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(sa_column=Column(Integer, ForeignKey("dossiers.id"),
                                             nullable=False))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    trigger: str = Field(sa_column=Column(String(32), nullable=False))
    source: str | None = Field(default=None, sa_column=Column(String(32)))
    target: str = Field(sa_column=Column(String(32), nullable=False))
    actor: str = Field(sa_column=Column(String(128), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    on_behalf_of: str | None = Field(default=None, sa_column=Column(String(128)))
    at: datetime = Field(sa_column=_instant())
    data: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class BlobRow(SQLModel, table=True):
    """File content, stored once per SHA-256."""

    __tablename__ = "blobs"

    sha256: str = Field(sa_column=Column(String(64), primary_key=True))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AttachmentRow(SQLModel, table=True):
    """A file attached to a dossier component; the content is in ``blobs``."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_dossier", "dossier_id", "component"),)

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(sa_column=Column(Integer, ForeignKey("dossiers.id"),
                                             nullable=False))
    component: str = Field(sa_column=Column(String(64), nullable=False))
    filename: str = Field(sa_column=Column(String(255), nullable=False))
    sha256: str = Field(sa_column=Column(String(64), ForeignKey("blobs.sha256"),
                                         nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    media_type: str = Field(sa_column=Column(String(128), nullable=False))
    attached_by: str = Field(sa_column=Column(String(128), nullable=False))
    attached_at: datetime = Field(sa_column=_instant())


class CounterRow(SQLModel, table=True):
    """Atomic counters: dossier numbers per agency and day (later: receipts, certifications)."""

    __tablename__ = "counters"

    scope: str = Field(sa_column=Column(String(32), primary_key=True))
    key: str = Field(sa_column=Column(String(128), primary_key=True))
    value: int = Field(sa_column=Column(BigInteger, nullable=False))
