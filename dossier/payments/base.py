"""The payment port: what the engine asks of any gateway, and the value types it exchanges.

A gateway is stateless and never touches the database. The engine stores one payment row per
attempt and hands the gateway everything a call needs (order reference, amount, times), so a
gateway can be rebuilt at any moment from its configuration alone.

::

    engine.request_payment ──▶ gateway.create(PaymentRequest) ──▶ PaymentInstructions
    provider ──callback──▶ engine.handle_payment_callback
                              gateway.parse_callback(raw) ──▶ ParsedCallback  (or raises
                              CallbackVerificationError: bad signature or merchant)
                              … engine checks order, amount, currency, dedups …
                              gateway.reply(CallbackVerdict) ──▶ CallbackReply (HTTP answer)
    worker mop-up ──▶ gateway.query(StatusQuery) ──▶ PaymentStatus
    refund ──▶ gateway.refund(RefundRequest) ──▶ RefundResult

Money is ``int`` VND everywhere; a provider's own unit (VNPay's ×100) stays inside its adapter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from dossier.clock import require_aware
from dossier.errors import InvalidInput, RefundNotAllowed

#: What a callback arrives as: decoded query/form parameters, or the raw request body.
RawCallback = Mapping[str, str] | bytes


class PaymentOutcome(StrEnum):
    """Where a payment stands at the provider."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"
    #: the provider has no such order (never opened, or unknown reference)
    NOT_FOUND = "not_found"


class CallbackVerdict(StrEnum):
    """What the engine decided about a verified callback; the gateway turns it into a reply.

    The checks run in the order VNPay documents for its IPN (see :func:`callback_verdict`);
    every gateway turns the verdict into its own reply.
    """

    CONFIRMED = "confirmed"
    ALREADY_PROCESSED = "already_processed"
    ORDER_NOT_FOUND = "order_not_found"
    AMOUNT_MISMATCH = "amount_mismatch"
    INVALID_SIGNATURE = "invalid_signature"
    ERROR = "error"


class RefundOutcome(StrEnum):
    """What the provider said to a refund request."""

    REFUNDED = "refunded"
    PENDING = "pending"
    REJECTED = "rejected"


@dataclass(frozen=True, kw_only=True)
class PaymentRequest:
    """Everything a gateway needs to open one payment attempt.

    ``order_ref`` is our reference for this attempt (see :func:`make_order_ref`); it goes to
    the provider as VNPay's ``vnp_TxnRef``, MoMo's ``orderId`` or the VietQR transfer memo.
    ``description`` is shown to the citizen and should contain the dossier code. Times are
    passed in (no hidden clock) and must be timezone-aware.
    """

    order_ref: str
    amount: int
    description: str
    created_at: datetime
    expires_at: datetime
    client_ip: str = "127.0.0.1"
    return_url: str = ""
    locale: str = "vn"

    def __post_init__(self) -> None:
        check_order_ref(self.order_ref)
        check_amount(self.amount, "amount")
        if not self.description.strip():
            raise InvalidInput("payment description must not be empty; put the dossier code in it")
        created = require_aware(self.created_at, "created_at")
        expires = require_aware(self.expires_at, "expires_at")
        if expires <= created:
            raise InvalidInput("expires_at must be after created_at")
        if self.locale not in ("vn", "en"):
            raise InvalidInput(f"locale must be 'vn' or 'en', got {self.locale!r}")


@dataclass(frozen=True, kw_only=True)
class PaymentInstructions:
    """What the citizen needs to pay: a redirect URL, a QR payload, or counter instructions.

    ``provider_ref`` is set when the provider already names the attempt at creation (MoMo's
    ``requestId``); store it with the payment.
    """

    provider: str
    order_ref: str
    amount: int
    expires_at: datetime
    redirect_url: str | None = None
    qr_payload: str | None = None
    counter_instructions: str | None = None
    provider_ref: str | None = None


@dataclass(frozen=True, kw_only=True)
class ParsedCallback:
    """A verified callback, in our terms.

    The signature and merchant were checked; the engine still checks that ``order_ref``
    exists, that ``amount`` and ``currency`` match the stored payment, and deduplicates.
    ``raw`` keeps the provider's fields for the review queue (no secrets are in it).
    """

    provider: str
    order_ref: str
    amount: int
    outcome: PaymentOutcome
    provider_ref: str
    response_code: str
    merchant_id: str
    currency: str | None = None
    paid_at: datetime | None = None
    message: str = ""
    method: str = ""
    raw: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def succeeded(self) -> bool:
        return self.outcome is PaymentOutcome.SUCCEEDED

    @property
    def dedup_key(self) -> str:
        """A key that is equal for replays of the same provider event."""
        return f"{self.provider}:{self.order_ref}:{self.provider_ref}:{self.response_code}"


@dataclass(frozen=True, kw_only=True)
class CallbackReply:
    """The HTTP answer a provider expects to a callback."""

    status: int
    body: bytes = b""
    content_type: str | None = None

    @classmethod
    def json(cls, payload: Mapping[str, Any], status: int = 200) -> CallbackReply:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status=status, body=body, content_type="application/json")


@dataclass(frozen=True, kw_only=True)
class StatusQuery:
    """Ask the provider where a payment stands (the worker's mop-up of stale pendings).

    ``request_id`` must be unique per query (VNPay: per day); ``payment_created_at`` is the
    creation time sent with the original payment; ``requested_at`` is now.
    """

    order_ref: str
    request_id: str
    payment_created_at: datetime
    requested_at: datetime
    description: str = "query"
    client_ip: str = "127.0.0.1"

    def __post_init__(self) -> None:
        check_order_ref(self.order_ref)
        check_order_ref(self.request_id, "request_id")
        require_aware(self.payment_created_at, "payment_created_at")
        require_aware(self.requested_at, "requested_at")


@dataclass(frozen=True, kw_only=True)
class PaymentStatus:
    """The provider's answer to a :class:`StatusQuery`."""

    order_ref: str
    outcome: PaymentOutcome
    amount: int | None = None
    provider_ref: str = ""
    response_code: str = ""
    paid_at: datetime | None = None
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class RefundRequest:
    """Give back all or part of a succeeded payment.

    ``refund_ref`` is the refund's own idempotency key (unique per refund; MoMo uses it as the
    refund's ``orderId``). ``amount`` may not exceed ``paid_amount`` minus what was already
    refunded (``refunded_before``); :class:`RefundNotAllowed` otherwise.
    """

    order_ref: str
    refund_ref: str
    amount: int
    paid_amount: int
    provider_ref: str
    payment_created_at: datetime
    requested_at: datetime
    requested_by: str
    reason: str = ""
    refunded_before: int = 0
    client_ip: str = "127.0.0.1"

    def __post_init__(self) -> None:
        check_order_ref(self.order_ref)
        check_order_ref(self.refund_ref, "refund_ref")
        check_amount(self.amount, "refund amount")
        if self.paid_amount <= 0:
            raise RefundNotAllowed(f"{self.order_ref}: nothing was paid, so nothing can be "
                                   "refunded")
        if self.refunded_before < 0 or self.amount + self.refunded_before > self.paid_amount:
            raise RefundNotAllowed(
                f"{self.order_ref}: refund of {self.amount} VND exceeds what is left of the "
                f"{self.paid_amount} VND paid ({self.refunded_before} VND already refunded)")
        require_aware(self.payment_created_at, "payment_created_at")
        require_aware(self.requested_at, "requested_at")
        if not self.requested_by:
            raise InvalidInput("refund requested_by must name the user asking for it")

    @property
    def full(self) -> bool:
        """A full refund gives back everything paid in one go."""
        return self.amount == self.paid_amount and self.refunded_before == 0


@dataclass(frozen=True, kw_only=True)
class RefundResult:
    """The provider's answer to a :class:`RefundRequest`."""

    refund_ref: str
    outcome: RefundOutcome
    amount: int
    provider_ref: str = ""
    response_code: str = ""
    message: str = ""


@runtime_checkable
class PaymentGateway(Protocol):
    """One payment provider behind a small, stateless interface.

    Normal outcomes (pending, failed, rejected refund) are return values; exceptions are for
    what must not happen: :class:`~dossier.errors.CallbackVerificationError` for a forged or
    foreign callback, :class:`~dossier.errors.PaymentError` when the provider cannot be reached
    or answers garbage.
    """

    @property
    def name(self) -> str:
        """The registry name, stored with each payment (``"vnpay"``, ``"momo"``…)."""
        ...

    def create(self, request: PaymentRequest) -> PaymentInstructions:
        """Open a payment attempt and say how the citizen pays it."""
        ...

    def parse_callback(self, raw: RawCallback) -> ParsedCallback:
        """Verify a callback's signature and merchant, and read it."""
        ...

    def reply(self, verdict: CallbackVerdict) -> CallbackReply:
        """The HTTP answer the provider expects for the engine's verdict."""
        ...

    def query(self, query: StatusQuery) -> PaymentStatus:
        """Ask the provider where a payment stands."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult:
        """Ask the provider to give money back."""
        ...


def callback_verdict(*, signature_valid: bool, order_found: bool, amount_matches: bool,
                     already_confirmed: bool) -> CallbackVerdict:
    """The verdict on a callback, checked in VNPay's documented IPN order: checksum (97),
    order (01), amount (04), already confirmed (02), else success (00). A pure function of
    the looked-up facts; the engine applies it to every provider."""
    if not signature_valid:
        return CallbackVerdict.INVALID_SIGNATURE
    if not order_found:
        return CallbackVerdict.ORDER_NOT_FOUND
    if not amount_matches:
        return CallbackVerdict.AMOUNT_MISMATCH
    if already_confirmed:
        return CallbackVerdict.ALREADY_PROCESSED
    return CallbackVerdict.CONFIRMED


# --- optional capabilities: a gateway implements them when its provider works that way ----

@runtime_checkable
class MatchesCredits(Protocol):
    """A gateway whose callbacks are bank credits: a transfer's memo may name no order we
    know exactly (typed by hand, bank-mangled), so the engine asks the gateway to match it."""

    def match_credit(self, callback: ParsedCallback,
                     expected: Mapping[str, int]) -> str | None:
        """The order reference among ``expected`` (order reference → amount due) that the
        credit ``callback`` pays, or None when it matches none (or several)."""
        ...


@runtime_checkable
class TakesCounterPayments(Protocol):
    """A gateway for fees a clerk takes in person: the clerk's confirmation is its callback."""

    def confirmation(self, *, order_ref: str, amount: int, method: str, confirmed_by: str,
                     receipt_ref: str = "", paid_at: datetime | None = None) -> RawCallback:
        """The confirmation a clerk's screen submits, for :meth:`PaymentGateway.parse_callback`."""
        ...


@runtime_checkable
class CollectsFor(Protocol):
    """A gateway bound to the agencies whose merchant terminal it is: fees paid through it
    land on those agencies' accounts, so it must not collect another agency's fee.

    ``None`` collects for any agency (a shared provincial terminal, the counter).
    :meth:`~dossier.payments.registry.GatewayRegistry.register` reads it, and can bind a
    gateway that does not implement this with its ``agencies=`` keyword instead.
    """

    @property
    def agencies(self) -> frozenset[str] | None:
        """The agency codes this gateway collects for, or None for any."""
        ...


# --- helpers shared by adapters ----------------------------------------------------------

_ORDER_REF = re.compile(r"[0-9A-Za-z]([0-9A-Za-z_.-]{0,62}[0-9A-Za-z])?")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")


def check_order_ref(value: str, what: str = "order_ref") -> str:
    """Order references travel through every provider: ASCII letters, digits, ``_.-``.

    The intersection of VNPay's ``vnp_TxnRef`` and MoMo's ``orderId`` rules, at most 64
    characters, starting and ending with a letter or digit.
    """
    if not isinstance(value, str) or not _ORDER_REF.fullmatch(value):
        raise InvalidInput(f"{what} must be 1-64 ASCII letters/digits (inner '_.-' allowed), "
                           f"got {value!r}")
    return value


def check_amount(value: int, what: str) -> int:
    """A positive integer number of VND (bool is not a number here)."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidInput(f"{what} must be a positive integer number of VND, got {value!r}")
    return value


def compact_code(dossier_code: str) -> str:
    """The dossier code without punctuation, upper-cased: what survives any bank memo.

    ``000.00.12.H12-260101-0001`` → ``0000012H122601010001``.
    """
    compact = _NOT_ALNUM.sub("", dossier_code).upper()
    if not compact:
        raise InvalidInput(f"dossier code {dossier_code!r} has no letters or digits")
    return compact


def make_order_ref(dossier_code: str, attempt: int) -> str:
    """The recommended order reference: compact dossier code + ``P`` + 2-digit attempt.

    Alphanumeric only, so it is valid for VNPay, MoMo and a VietQR memo (≤ 25 characters for
    the usual ``agency-yymmdd-nnnn`` codes), and it carries the dossier code so a mangled bank
    memo can still be matched. ``000.00.12.H12-260101-0001``, 1 → ``0000012H122601010001P01``.
    """
    if not isinstance(attempt, int) or isinstance(attempt, bool) or not 1 <= attempt <= 99:
        raise InvalidInput(f"payment attempt must be 1..99, got {attempt!r}")
    return check_order_ref(f"{compact_code(dossier_code)}P{attempt:02d}")
