"""Immutable snapshots the engine hands out: :class:`Dossier`, :class:`Event`, :class:`Attachment`,
the event feed's :class:`FeedEvent`, the outbox's :class:`OutboxEntry` and the digitisation
records (:class:`DigitisationRecord`).

They are plain frozen dataclasses, never ORM rows: safe to keep, share between threads and
compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from dossier.states import FINAL_STATES, STEP_BY_STATE, Role, State, portal_status


@dataclass(frozen=True, kw_only=True)
class Deadlines:
    """The time limits of a dossier (computed at valid reception with the agency's calendar).

    ``due_at`` is what the dossier is judged against (moved only by a supplement round under
    the procedure's clock policy); ``appointment_at`` is the date promised to the citizen,
    which an apology letter (``extend``) may move later without changing ``due_at``.
    """

    clock_started_at: datetime | None = None
    due_at: datetime | None = None
    appointment_at: datetime | None = None
    warning_at: datetime | None = None             # when the "due soon" warning falls due
    steps: Mapping[str, datetime] = field(default_factory=dict)  # step → due instant
    paused_at: datetime | None = None              # clock stopped for a supplement round
    supplement_due_at: datetime | None = None      # the citizen's time to supplement
    warned_for: datetime | None = None             # appointment a warning was sent for
    overdue_for: datetime | None = None            # appointment an overdue event was sent for
    extended: bool = False                         # an apology letter was issued
    timeliness: str | None = None                  # early / on_time / late, once returned
    next_timer_at: datetime | None = None          # the earliest timer still to fire


NO_DEADLINES = Deadlines()


@dataclass(frozen=True, kw_only=True)
class Dossier:
    """One application (hồ sơ) under one procedure version, as of the moment it was read."""

    id: int
    code: str
    procedure_code: str
    procedure_version: str
    agency: str
    channel: str
    state: State
    resume_state: State | None
    owner: str | None              # the citizen account that may act on it, if any
    applicant: Mapping[str, Any] = field(repr=False)  # personal data: never in repr or logs
    fee_due: int
    paid_amount: int
    version: int                   # optimistic-lock counter, +1 per change
    event_count: int
    head_hash: str
    submitted_at: datetime
    received_at: datetime | None
    updated_at: datetime
    closed_at: datetime | None
    deadlines: Deadlines = NO_DEADLINES
    #: the officer the current step is assigned to (phân công); None when unassigned. An
    #: ``assign`` event sets it; leaving the step clears it.
    assignee: str | None = None
    #: who does the step the dossier is at (the procedure's role for it); None while it waits
    #: for the citizen's supplement, and once closed
    step_role: Role | None = None

    @property
    def step_due_at(self) -> datetime | None:
        """When the current step is due: its own budget's due instant, else the dossier's due
        date (what the step's hand-over is judged against); while waiting for a supplement,
        the citizen's time to supplement; None before reception and once closed."""
        d = self.deadlines
        if self.state is State.AWAITING_SUPPLEMENT:
            return d.supplement_due_at
        step = STEP_BY_STATE.get(self.state)
        if step is None or d.due_at is None:
            return None
        return d.steps.get(step.value) or d.due_at

    @property
    def due_at(self) -> datetime | None:
        """The due date the dossier is judged against (None before reception)."""
        return self.deadlines.due_at

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def portal_status(self) -> int:
        """The national portal's status code (1–10); see :func:`dossier.states.portal_status`."""
        return portal_status(self.state, self.received_at is not None)


@dataclass(frozen=True, kw_only=True)
class Event:
    """One recorded change of a dossier (append-only, hash-chained)."""

    seq: int
    trigger: str
    source: str | None
    target: str
    actor: str
    role: str
    on_behalf_of: str | None
    at: datetime
    data: Mapping[str, Any]
    prev_hash: str
    hash: str
    key_id: str | None = None      # the audit key that made ``hash`` (None: plain SHA-256)


@dataclass(frozen=True, kw_only=True)
class FeedEvent(Event):
    """An event as the event feed (:meth:`Engine.events_since`) gives it: with the code and
    agency of its dossier, since the feed runs across all dossiers."""

    code: str
    agency: str


class OutboxStatus(StrEnum):
    """Where an outbox message stands (``OutboxEntry.status``)."""

    PENDING = "pending"      # to be delivered (now, or at ``next_attempt_at`` after a failure)
    DELIVERED = "delivered"  # the sink acknowledged it; pruned after the retention period
    DEAD = "dead"            # given up on: holds back the dossier's later messages to the sink


@dataclass(frozen=True, kw_only=True)
class OutboxEntry:
    """One message waiting in (or delivered from) the outbox, for one sink, about one event.

    ``message_id`` is what the sink receives as the message id (the same for every sink and
    every attempt); ``type`` is ``"dossier.<trigger>"``. ``last_error`` is the sink's reason
    for the latest failure (short, never personal data).
    """

    id: int
    sink: str
    message_id: str
    type: str
    dossier_code: str
    seq: int
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    lease_until: datetime | None = None
    delivered_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, kw_only=True)
class OutboxBacklog:
    """What one sink still has to deliver: ``pending`` messages (the oldest written at
    ``oldest_pending_at``, ``oldest_pending_age`` ago) and ``dead`` ones."""

    sink: str
    pending: int
    dead: int
    oldest_pending_at: datetime | None
    oldest_pending_age: timedelta | None


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A stored file of a dossier component (content-addressed by SHA-256)."""

    component: str
    filename: str
    sha256: str
    size: int
    media_type: str
    attached_by: str
    attached_at: datetime


@dataclass(frozen=True, kw_only=True)
class ClockPause:
    """One row of the clock-pause ledger: a supplement round that stopped the clock."""

    started_at: datetime
    ended_at: datetime | None      # None while the dossier still waits
    reason: str
    legal_basis: str
    actor: str
    role: str
    due_before: datetime | None    # the due date when the clock stopped
    due_after: datetime | None     # the due date once it ran again


class PaymentState(StrEnum):
    """Where a payment attempt stands (``Payment.state``)."""

    PENDING = "pending"            # opened; the citizen may still pay
    SUCCEEDED = "succeeded"        # paid; ``consumed_at`` once it completed ``pay``
    FAILED = "failed"              # the provider reported a failure, or refused to open it
    CANCELLED = "cancelled"        # another payment paid the fee, or the dossier closed
    EXPIRED = "expired"            # past its expiry and not paid
    NEEDS_REVIEW = "needs_review"  # money moved that the dossier cannot use: refund it
    REFUNDED = "refunded"          # everything paid was given back


class RefundState(StrEnum):
    """Where a refund stands (``Refund.state``)."""

    REQUESTED = "requested"  # reserved; the provider is being asked
    PENDING = "pending"      # to be paid back by hand (counter, bank transfer)
    REFUNDED = "refunded"
    REJECTED = "rejected"
    FAILED = "failed"


class SignatureRequestState(StrEnum):
    """Where a remote signature request stands (``SignatureRequest.state``)."""

    PENDING = "pending"
    SIGNED = "signed"
    REJECTED = "rejected"
    EXPIRED = "expired"


#: Where a payment attempt stands (``Payment.state``), as text.
PAYMENT_STATES = tuple(s.value for s in PaymentState)


@dataclass(frozen=True, kw_only=True)
class Payment:
    """One payment attempt for a dossier's fee (int VND), as of the moment it was read.

    ``state`` is one of :data:`PAYMENT_STATES`. ``consumed_at`` is set once the payment
    completed the dossier's ``pay`` step (a payment pays once). ``method`` is what the
    ``pay`` event records: ``online``, ``transfer`` (VietQR), ``cash`` or ``pos``. Exactly one
    of ``redirect_url``, ``qr_payload`` or ``counter_instructions`` tells the citizen how to
    pay (VietQR gives a QR payload and transfer instructions).
    """

    order_ref: str
    dossier_code: str
    provider: str
    amount: int
    currency: str
    state: PaymentState
    method: str
    idempotency_key: str
    requested_by: str
    created_at: datetime
    expires_at: datetime
    updated_at: datetime
    provider_ref: str | None = None
    paid_at: datetime | None = None
    consumed_at: datetime | None = None
    refunded_amount: int = 0
    review_reason: str | None = None
    redirect_url: str | None = None
    qr_payload: str | None = None
    counter_instructions: str | None = None

    @property
    def money_moved(self) -> bool:
        """The provider took the money (whatever we decided about it since)."""
        return self.paid_at is not None


@dataclass(frozen=True, kw_only=True)
class Refund:
    """Money given back from one payment; ``state``: requested, pending (to be paid back by
    hand: counter, bank transfer), refunded, rejected or failed."""

    refund_ref: str
    order_ref: str
    dossier_code: str
    amount: int
    state: RefundState
    reason: str
    requested_by: str
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    provider_ref: str | None = None
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class StoredReceipt:
    """An e-receipt (biên lai điện tử) as stored: its number in the series and, once issued,
    the document. ``issued_at`` is None while the issuer has not produced it yet."""

    dossier_code: str
    order_ref: str
    template_symbol: str
    series: str
    number: int
    amount: int
    payment_method: str
    paid_at: datetime
    created_at: datetime
    payer_name: str = field(repr=False)  # personal data
    issued_at: datetime | None = None
    issuer: str | None = None
    lookup_code: str | None = None
    html: str | None = field(default=None, repr=False)

    @property
    def number_text(self) -> str:
        """The number as printed: 7 digits, zero-padded."""
        return f"{self.number:07d}"


@dataclass(frozen=True, kw_only=True)
class PaymentCallback:
    """One callback received from a provider, whatever became of it (the review queue).

    ``verdict`` is a :class:`~dossier.payments.base.CallbackVerdict` value; anything but
    ``confirmed`` and ``already_processed`` needs a person to look at it.
    """

    provider: str
    order_ref: str | None
    verdict: str
    outcome: str | None
    amount: int | None
    reason: str
    raw: str = field(repr=False)
    received_at: datetime

    @property
    def needs_review(self) -> bool:
        return self.verdict not in ("confirmed", "already_processed")


#: Kinds of documents the engine produces for a dossier (``DocumentRecord.kind``): its
#: result, certified copies, the forms its events issued (the number in the circular that
#: applied) and its e-receipts.
DOCUMENT_KINDS = ("result", "certified_copy", *(f"form-{n:02d}" for n in range(1, 8)),
                  "receipt")
#: Where a remote signature request stands (``SignatureRequest.state``), as text.
SIGNATURE_REQUEST_STATES = tuple(s.value for s in SignatureRequestState)


@dataclass(frozen=True, kw_only=True)
class DocumentRecord:
    """A document the engine produced for a dossier: its result (kết quả), a certified
    electronic copy (bản sao điện tử có chứng thực), a form its events issued (``form-01`` …)
    or an e-receipt (``receipt``). The content is in the blob store under ``sha256``.

    ``signed_by`` is the person who signed (the leader or certifier, also when a remote
    signature was completed by the worker) or, for a form, the account whose event issued it
    (``system`` for receipts); ``provider`` the name of the signer it was signed with (empty:
    kept unsigned, the agency having no seal that signs here). A certified copy also has
    ``component`` (what it copies), ``number`` and ``book`` (số chứng thực, quyển số); a form
    its ``number`` in the agency's series and, as ``book``, the circular it follows; a
    receipt its number and series.
    """

    dossier_code: str
    kind: str
    filename: str
    sha256: str
    size: int
    media_type: str
    signed_by: str
    provider: str
    created_at: datetime
    component: str | None = None
    number: int | None = None
    book: str | None = None


@dataclass(frozen=True, kw_only=True)
class SignatureRequest:
    """A remote signature (ký số từ xa) the engine is waiting for.

    ``state`` is one of :data:`SIGNATURE_REQUEST_STATES`; ``provider`` is the name of the
    signer the request went to and ``transaction_id`` the remote service's id for it.
    ``reason`` says why it was rejected or expired; ``document_sha256`` is the signed result
    once there is one. The ticket needed to finish the signature stays in the database.
    """

    dossier_code: str
    provider: str
    state: SignatureRequestState
    transaction_id: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    resolved_at: datetime | None = None
    reason: str | None = None
    document_sha256: str | None = None

    @property
    def pending(self) -> bool:
        return self.state is SignatureRequestState.PENDING


class DigitisationKind(StrEnum):
    """What a digitisation record says (``DigitisationRecord.kind``)."""

    DIGITISED = "digitised"  # số hóa tại đây: scanned by the agency at the digitise step
    REUSED = "reused"        # tái sử dụng: an earlier result or the citizen's data store
    RESULT = "result"        # the dossier's result: digitised? returned electronically?


class ReuseKind(StrEnum):
    """Where a reused component comes from (``ReuseSource.kind``)."""

    DOSSIER = "dossier"        # the result of an earlier dossier (kho kết quả giải quyết TTHC)
    DATA_STORE = "data_store"  # the citizen's data store (kho dữ liệu của công dân)


@dataclass(frozen=True, kw_only=True)
class ReuseSource:
    """What an ``attach(..., reused_from=…)`` names: the source and its reference (the earlier
    dossier's code, or the data store's reference for the document) and the SHA-256 the
    source gives for the document. The attached bytes must hash to it."""

    kind: ReuseKind
    reference: str
    sha256: str


@dataclass(frozen=True, kw_only=True)
class DigitisationRecord:
    """One line of a dossier's digitisation record, as the national portal reports them
    (Thông tư 01/2023/TT-VPCP on digitising dossiers and results).

    - ``digitised``: ``component`` was scanned here by ``by`` at ``at`` (``pages`` as the
      officer counted them, when given) and stored as ``sha256``.
    - ``reused``: ``component`` was taken from ``source`` (:class:`ReuseKind`) under
      ``source_ref``; its bytes were checked against the SHA-256 the source gave.
    - ``result``: the dossier was returned; ``sha256`` is its digital result (the signed
      result, or the last certified copy), None when it exists on paper only, and
      ``returned_electronically`` says whether it was returned online.

    ``seq`` is the event that recorded it (``engine.history``), so the record can be checked
    against the hash-chained log.
    """

    dossier_code: str
    kind: DigitisationKind
    component: str | None
    sha256: str | None
    by: str
    at: datetime
    seq: int
    pages: int | None = None
    source: ReuseKind | None = None
    source_ref: str | None = None
    returned_electronically: bool | None = None

    @property
    def result_digitised(self) -> bool:
        """For a ``result`` record: the result exists in digital form."""
        return self.kind is DigitisationKind.RESULT and self.sha256 is not None
