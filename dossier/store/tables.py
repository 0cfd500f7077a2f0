"""The tables, as SQLModel classes. The Alembic migrations create them; a test checks that
the migrations and these classes agree.

Instants are stored in UTC (``timestamptz`` on PostgreSQL; fixed-width UTC text on SQLite,
in SQLAlchemy's own format so both SQLAlchemy and the hot path read it). JSON is stored as
text so that the same SQL runs on both databases.

One column exists on PostgreSQL only and is not declared here: ``events.txid`` (``xid8``,
the writing transaction's id, indexed with ``id``), which the event feed needs there and
SQLite does not (see migration 0007). :func:`compared` leaves it out of comparisons.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

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

#: Schema objects a migration makes on PostgreSQL only (column ``table.name``, index name).
POSTGRES_ONLY = frozenset({"events.txid", "ix_events_txid_id"})


def compared(obj: Any, name: str | None, type_: str, reflected: bool,
             compare_to: Any) -> bool:
    """Alembic's ``include_object`` hook: everything but :data:`POSTGRES_ONLY`, which these
    models do not declare (they describe what both databases have)."""
    if type_ == "column" and name is not None:
        name = f"{obj.table.name}.{name}"
    return name not in POSTGRES_ONLY


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
    # the finding indexes (migration 0008): each serves an order of Engine.find or the work
    # queue as a range scan, ending in id so that a keyset cursor resumes inside the range
    __table_args__ = (Index("ix_dossiers_next_timer_at", "next_timer_at"),
                      Index("ix_dossiers_queue", "agency", "step_role", "assignee",
                            "step_due_at", "id"),
                      Index("ix_dossiers_agency_state_step_due", "agency", "state",
                            "step_due_at", "id"),
                      Index("ix_dossiers_agency_due", "agency", "due_at", "id"),
                      Index("ix_dossiers_agency_submitted", "agency", "submitted_at", "id"),
                      Index("ix_dossiers_agency_updated", "agency", "updated_at", "id"),
                      Index("ix_dossiers_agency_closed", "agency", "closed_at", "id"),
                      Index("ix_dossiers_assignee", "assignee", "step_due_at", "id"),
                      Index("ix_dossiers_owner", "owner", "submitted_at", "id"),
                      Index("ix_dossiers_applicant_key_digest", "applicant_key_digest"))

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
    # finding work (Dossier.assignee, .step_role, .step_due_at), written with every change
    assignee: str | None = Field(default=None, sa_column=Column(String(128)))
    step_role: str | None = Field(default=None, sa_column=Column(String(16)))
    step_due_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    # HMAC-SHA256 of the applicant's ID number under the applicant key (never the number)
    applicant_key_digest: str | None = Field(default=None, sa_column=Column(String(64)))
    # the special case of the procedure declared at submission (its time limit counts)
    case_id: str | None = Field(default=None, sa_column=Column(String(64)))


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
    # the audit key that made ``hash`` (an id derived from the key; None: plain SHA-256)
    key_id: str | None = Field(default=None, sa_column=Column(String(32)))


class BlobRow(SQLModel, table=True):
    """File content, stored once per SHA-256."""

    __tablename__ = "blobs"

    sha256: str = Field(sa_column=Column(String(64), primary_key=True))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AttachmentRow(SQLModel, table=True):
    """A file attached to a dossier component; the content is in ``blobs``."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_dossier", "dossier_id", "component"),
                      Index("ix_attachments_sha256", "sha256"))

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


class PaymentRow(SQLModel, table=True):
    """One payment attempt for a dossier's fee; the gateway keeps no state, this row does."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_dossier", "dossier_id"),
                      Index("ix_payments_state_created", "state", "created_at"))

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(sa_column=Column(Integer, ForeignKey("dossiers.id"),
                                             nullable=False))
    provider: str = Field(sa_column=Column(String(32), nullable=False))
    order_ref: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    idempotency_key: str = Field(sa_column=Column(String(128), nullable=False, unique=True))
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    method: str = Field(sa_column=Column(String(16), nullable=False))
    requested_by: str = Field(sa_column=Column(String(128), nullable=False))
    provider_ref: str | None = Field(default=None, sa_column=Column(String(128)))
    redirect_url: str | None = Field(default=None, sa_column=Column(Text))
    qr_payload: str | None = Field(default=None, sa_column=Column(Text))
    counter_instructions: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=_instant())
    expires_at: datetime = Field(sa_column=_instant())
    paid_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    consumed_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    updated_at: datetime = Field(sa_column=_instant())
    refunded_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    review_reason: str | None = Field(default=None, sa_column=Column(Text))


class PaymentCallbackRow(SQLModel, table=True):
    """Every callback a provider sent, verified or not, with the verdict given (for review).

    ``dedup_key`` is set only on callbacks that changed something, so a replay of one is
    recognised and a rejected callback does not block the genuine one that follows.
    """

    __tablename__ = "payment_callbacks"
    __table_args__ = (Index("ix_payment_callbacks_payment", "payment_id"),
                      Index("ix_payment_callbacks_verdict", "verdict"))

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(sa_column=Column(String(32), nullable=False))
    order_ref: str | None = Field(default=None, sa_column=Column(String(64)))
    payment_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("payments.id")))
    dedup_key: str | None = Field(default=None, sa_column=Column(String(255), unique=True))
    verdict: str = Field(sa_column=Column(String(32), nullable=False))
    outcome: str | None = Field(default=None, sa_column=Column(String(16)))
    amount: int | None = Field(default=None, sa_column=Column(BigInteger))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    raw: str = Field(sa_column=Column(Text, nullable=False))  # JSON, no secrets in it
    received_at: datetime = Field(sa_column=_instant())


class RefundRow(SQLModel, table=True):
    """Money given back from a payment, with its own idempotency key."""

    __tablename__ = "refunds"
    __table_args__ = (Index("ix_refunds_payment", "payment_id"),)

    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(sa_column=Column(Integer, ForeignKey("payments.id"),
                                             nullable=False))
    refund_ref: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    idempotency_key: str = Field(sa_column=Column(String(128), nullable=False, unique=True))
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    requested_by: str = Field(sa_column=Column(String(128), nullable=False))
    provider_ref: str | None = Field(default=None, sa_column=Column(String(128)))
    message: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_instant())
    updated_at: datetime = Field(sa_column=_instant())


class ReceiptRow(SQLModel, table=True):
    """An e-receipt: one per succeeded payment, numbered in its agency's yearly series.

    The number and the receipt's data are written with the payment's success; ``html`` and
    ``issued_at`` once the issuer has produced the document (retried until it has).
    """

    __tablename__ = "receipts"
    __table_args__ = (UniqueConstraint("agency", "series", "number",
                                       name="uq_receipts_agency_series_number"),
                      Index("ix_receipts_dossier", "dossier_id"),
                      Index("ix_receipts_issued_at", "issued_at"))

    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(sa_column=Column(Integer, ForeignKey("payments.id"),
                                             nullable=False, unique=True))
    dossier_id: int = Field(sa_column=Column(Integer, ForeignKey("dossiers.id"),
                                             nullable=False))
    agency: str = Field(sa_column=Column(String(64), nullable=False))
    template_symbol: str = Field(sa_column=Column(String(20), nullable=False))
    series: str = Field(sa_column=Column(String(20), nullable=False))
    number: int = Field(sa_column=Column(Integer, nullable=False))
    payer_name: str = Field(sa_column=Column(Text, nullable=False))  # personal data
    agency_name: str = Field(sa_column=Column(Text, nullable=False))
    fee_name: str = Field(sa_column=Column(Text, nullable=False))
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    payment_method: str = Field(sa_column=Column(String(32), nullable=False))
    paid_at: datetime = Field(sa_column=_instant())
    created_at: datetime = Field(sa_column=_instant())
    issued_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    issuer: str | None = Field(default=None, sa_column=Column(String(32)))
    lookup_code: str | None = Field(default=None, sa_column=Column(String(128)))
    html: str | None = Field(default=None, sa_column=Column(Text))


class DocumentRow(SQLModel, table=True):
    """A signed document produced for a dossier (its result, or a certified e-copy of a
    component); the content is in ``blobs``. ``number`` and ``book`` are the số chứng thực
    and quyển số of a certified copy."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_dossier", "dossier_id"),)

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(sa_column=Column(Integer, ForeignKey("dossiers.id"),
                                             nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    component: str | None = Field(default=None, sa_column=Column(String(64)))
    filename: str = Field(sa_column=Column(String(255), nullable=False))
    sha256: str = Field(sa_column=Column(String(64), ForeignKey("blobs.sha256"),
                                         nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    media_type: str = Field(sa_column=Column(String(128), nullable=False))
    signed_by: str = Field(sa_column=Column(String(128), nullable=False))
    provider: str = Field(sa_column=Column(String(32), nullable=False))
    number: int | None = Field(default=None, sa_column=Column(Integer))
    book: str | None = Field(default=None, sa_column=Column(String(32)))
    created_at: datetime = Field(sa_column=_instant())


class SignatureRequestRow(SQLModel, table=True):
    """A remote signature under way or done: the signer's ticket (JSON, everything needed to
    finish after a restart) and where it stands (pending, signed, rejected, expired)."""

    __tablename__ = "signature_requests"
    __table_args__ = (Index("ix_signature_requests_dossier", "dossier_id"),
                      Index("ix_signature_requests_state", "state", "requested_at"),
                      Index("ix_signature_requests_transaction", "provider", "transaction_id"))

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(sa_column=Column(Integer, ForeignKey("dossiers.id"),
                                             nullable=False))
    provider: str = Field(sa_column=Column(String(32), nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    transaction_id: str = Field(sa_column=Column(String(128), nullable=False))
    ticket: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    requested_by: str = Field(sa_column=Column(String(128), nullable=False))
    requested_at: datetime = Field(sa_column=_instant())
    expires_at: datetime = Field(sa_column=_instant())
    resolved_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    document_sha256: str | None = Field(default=None, sa_column=Column(
        String(64), ForeignKey("blobs.sha256")))


class OutboxRow(SQLModel, table=True):
    """A message for one sink about one event, written with the event (the transactional
    outbox). ``payload`` is the message's JSON body; ``status`` is pending, delivered or
    dead; ``lease_until`` is set while a dispatcher delivers it."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("sink", "event_id", name="uq_outbox_sink_event"),
                      Index("ix_outbox_due", "status", "next_attempt_at"),
                      Index("ix_outbox_order", "sink", "dossier_id", "seq"))

    id: int | None = Field(default=None, primary_key=True)
    sink: str = Field(sa_column=Column(String(32), nullable=False))
    dossier_id: int = Field(sa_column=Column(Integer, ForeignKey("dossiers.id"),
                                             nullable=False))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    event_id: int = Field(sa_column=Column(Integer, ForeignKey("events.id"), nullable=False))
    message_id: str = Field(sa_column=Column(String(36), nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON, nothing personal
    status: str = Field(sa_column=Column(String(16), nullable=False))
    attempts: int = Field(sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = Field(sa_column=_instant())
    lease_until: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(String(255)))
    created_at: datetime = Field(sa_column=_instant())
    delivered_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))


class DigitisationRecordRow(SQLModel, table=True):
    """One line of a dossier's digitisation record (see
    :class:`dossier.records.DigitisationRecord`): a component digitised here or reused, or
    the result; ``seq`` is the event that recorded it."""

    __tablename__ = "digitisation_records"
    __table_args__ = (Index("ix_digitisation_records_dossier", "dossier_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(sa_column=Column(Integer, ForeignKey("dossiers.id"),
                                             nullable=False))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    component: str | None = Field(default=None, sa_column=Column(String(64)))
    sha256: str | None = Field(default=None, sa_column=Column(
        String(64), ForeignKey("blobs.sha256")))
    pages: int | None = Field(default=None, sa_column=Column(Integer))
    source: str | None = Field(default=None, sa_column=Column(String(16)))
    source_ref: str | None = Field(default=None, sa_column=Column(String(128)))
    returned_electronically: bool | None = Field(default=None, sa_column=Column(Boolean))
    actor: str = Field(sa_column=Column(String(128), nullable=False))
    at: datetime = Field(sa_column=_instant())


class RatingRow(SQLModel, table=True):
    """A citizen's rating of a returned dossier (one per dossier): the level, the criteria
    answered (JSON: criterion key → level key), the comment (free text, personal: kept here,
    never in the event, which records its SHA-256), who recorded it and when."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("dossier_id", name="uq_ratings_dossier"),)

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(sa_column=Column(Integer, ForeignKey("dossiers.id"),
                                             nullable=False))
    level: str = Field(sa_column=Column(String(16), nullable=False))
    criteria: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    comment: str | None = Field(default=None, sa_column=Column(Text))
    actor: str = Field(sa_column=Column(String(128), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    on_behalf_of: str | None = Field(default=None, sa_column=Column(String(128)))
    rated_at: datetime = Field(sa_column=_instant())
