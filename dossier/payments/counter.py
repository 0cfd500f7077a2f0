"""Payment at the one-stop-shop counter: cash, card on the agency's POS terminal, or a bank
transfer to the agency's account that the clerk confirms from the account statement.

There is no provider and no signature: a clerk confirms that the money was taken. The engine
checks the clerk's role before it hands the confirmation here; this adapter only reads and
validates it. A confirmation is a mapping (or JSON body) with::

    order_ref    the payment's order reference
    amount       VND taken, a whole number
    method       "cash", "pos" or "transfer"
    receipt_ref  the cash-book line or POS slip number (required for "pos")
    confirmed_by the clerk's user id
    paid_at      ISO 8601 with offset (optional)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dossier.errors import CallbackVerificationError
from dossier.payments.base import (
    CallbackReply,
    CallbackVerdict,
    ParsedCallback,
    PaymentInstructions,
    PaymentOutcome,
    PaymentRequest,
    PaymentStatus,
    RawCallback,
    RefundOutcome,
    RefundRequest,
    RefundResult,
    StatusQuery,
)

# a transfer: a clerk confirms a credit seen on the agency's account
METHODS = ("cash", "pos", "transfer")


def confirmation(*, order_ref: str, amount: int, method: str, confirmed_by: str,
                 receipt_ref: str = "", paid_at: datetime | None = None) -> dict[str, str]:
    """The mapping a clerk's confirmation screen submits (for :meth:`parse_callback`)."""
    out = {"order_ref": order_ref, "amount": str(amount), "method": method,
           "receipt_ref": receipt_ref, "confirmed_by": confirmed_by}
    if paid_at is not None:
        out["paid_at"] = paid_at.isoformat()
    return out


class CounterGateway:
    """:class:`~dossier.payments.base.PaymentGateway` for cash and POS at the counter."""

    def __init__(self, *, agency_name: str = "", name: str = "counter") -> None:
        self.agency_name = agency_name
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"CounterGateway(name={self._name!r})"

    def create(self, request: PaymentRequest) -> PaymentInstructions:
        where = f" tại {self.agency_name}" if self.agency_name else ""
        return PaymentInstructions(
            provider=self.name, order_ref=request.order_ref, amount=request.amount,
            expires_at=request.expires_at,
            counter_instructions=(f"Nộp {request.amount} đồng (tiền mặt hoặc thẻ qua POS) tại "
                                  f"quầy một cửa{where}; mã thanh toán {request.order_ref}"))

    def confirmation(self, *, order_ref: str, amount: int, method: str, confirmed_by: str,
                     receipt_ref: str = "", paid_at: datetime | None = None) -> RawCallback:
        """A clerk's confirmation (:class:`~dossier.payments.base.TakesCounterPayments`)."""
        return confirmation(order_ref=order_ref, amount=amount, method=method,
                            confirmed_by=confirmed_by, receipt_ref=receipt_ref, paid_at=paid_at)

    def parse_callback(self, raw: RawCallback) -> ParsedCallback:
        """Read a clerk's confirmation; :class:`CallbackVerificationError` if incomplete."""
        fields = _fields(raw)
        order_ref = fields.get("order_ref", "")
        method = fields.get("method", "")
        amount = fields.get("amount", "")
        clerk = fields.get("confirmed_by", "")
        receipt = fields.get("receipt_ref", "")
        problems = []
        if not order_ref:
            problems.append("order_ref is missing")
        if method not in METHODS:
            problems.append(f"method must be one of {', '.join(METHODS)}")
        if not amount.isdigit() or int(amount) <= 0:
            problems.append("amount must be a positive whole number of VND")
        if not clerk:
            problems.append("confirmed_by must name the clerk")
        if method == "pos" and not receipt:
            problems.append("receipt_ref (the POS slip number) is required for POS")
        paid_at = None
        if fields.get("paid_at"):
            try:
                paid_at = datetime.fromisoformat(fields["paid_at"])
            except ValueError:
                problems.append("paid_at must be ISO 8601")
            else:
                if paid_at.tzinfo is None:
                    problems.append("paid_at must carry a UTC offset")
        if problems:
            raise CallbackVerificationError("counter confirmation rejected: " + "; ".join(problems))
        return ParsedCallback(
            provider=self.name, order_ref=order_ref, amount=int(amount),
            outcome=PaymentOutcome.SUCCEEDED, provider_ref=receipt or f"{method}:{order_ref}",
            response_code=method, merchant_id=clerk, currency="VND", paid_at=paid_at,
            method=method, message=f"confirmed by {clerk}", raw=dict(fields))

    def reply(self, verdict: CallbackVerdict) -> CallbackReply:
        status = 200 if verdict in (CallbackVerdict.CONFIRMED,
                                    CallbackVerdict.ALREADY_PROCESSED) else 409
        return CallbackReply.json({"result": verdict.value}, status)

    def query(self, query: StatusQuery) -> PaymentStatus:
        # The counter's only record is the engine's own; nothing to ask.
        return PaymentStatus(order_ref=query.order_ref, outcome=PaymentOutcome.NOT_FOUND,
                             message="counter payments are known only from clerk "
                                     "confirmations")

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(refund_ref=request.refund_ref, outcome=RefundOutcome.PENDING,
                            amount=request.amount,
                            message="pay the amount back at the counter and confirm the refund")


def _fields(raw: RawCallback) -> dict[str, str]:
    value: Any
    if isinstance(raw, bytes | bytearray):
        try:
            value = json.loads(bytes(raw).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CallbackVerificationError("counter confirmation is not JSON") from exc
    else:
        value = raw
    if not isinstance(value, Mapping):
        raise CallbackVerificationError("counter confirmation must be a mapping")
    return {str(key): "" if item is None else str(item) for key, item in value.items()}
