"""EXPERIMENTAL: the national public-service payment platform (PayGov-style bill flow).

.. warning::
   EXPERIMENTAL, outside the done criteria of the payments work. The layout below follows
   what public integrations describe; the operator's specification has not been checked.
   Every field list is configuration so it can be corrected without a code change. Do not
   take money with it until the field lists and checksum are confirmed with the operator.

Flow: we publish a *bill* (mã thanh toán) and send the citizen to the portal with it; the
portal collects the money through its partner banks and wallets, then notifies us. We can
*look up* a bill's state. Every message carries ``checksum`` = hex SHA-256 of its fields in
a fixed order joined by ``|``, followed by ``|`` and the shared secret::

    sha256("MERCHANT|ORDER|50000|VND|...|" + secret)

Amounts are whole VND; times are ``yyyyMMddHHmmss`` in GMT+7.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from dossier.errors import CallbackVerificationError, InvalidInput, PaymentError
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
from dossier.payments.crypto import (
    SecretPair,
    ascii_fold,
    gmt7_stamp,
    parse_gmt7_stamp,
    same_digest,
    sha256_hex,
)
from dossier.payments.transport import Transport, UrllibTransport

BILL_FIELDS = ("merchantCode", "orderId", "amount", "currency", "description", "createdAt",
               "expiresAt", "returnUrl")
NOTIFY_FIELDS = ("merchantCode", "orderId", "amount", "currency", "transactionId", "status",
                 "paidAt")
LOOKUP_FIELDS = ("merchantCode", "requestId", "orderId", "requestedAt")
LOOKUP_RESPONSE_FIELDS = ("merchantCode", "orderId", "amount", "transactionId", "status",
                          "paidAt")


@dataclass(frozen=True, kw_only=True)
class PayGovConfig:
    """Merchant code, shared secret(s), endpoints and the (unconfirmed) field orders."""

    merchant_code: str
    secrets: SecretPair
    portal_url: str
    lookup_url: str
    bill_fields: tuple[str, ...] = BILL_FIELDS
    notify_fields: tuple[str, ...] = NOTIFY_FIELDS
    lookup_fields: tuple[str, ...] = LOOKUP_FIELDS
    lookup_response_fields: tuple[str, ...] = LOOKUP_RESPONSE_FIELDS
    success_status: str = "00"
    pending_status: str = "01"

    def __post_init__(self) -> None:
        if not self.merchant_code:
            raise InvalidInput("PayGov merchant_code must not be empty")


def checksum(values: Mapping[str, Any], fields: tuple[str, ...], secret: str) -> str:
    """Hex SHA-256 of the ``fields`` of ``values`` joined by ``|``, then ``|secret``."""
    joined = "|".join("" if values.get(name) is None else str(values[name]) for name in fields)
    return sha256_hex(f"{joined}|{secret}")


def _verify(secrets: SecretPair, values: Mapping[str, Any], fields: tuple[str, ...]) -> bool:
    given = str(values.get("checksum") or "")
    results = [same_digest(checksum(values, fields, secret), given)
               for secret in secrets.candidates()]
    return bool(given) and any(results)


class PayGovGateway:
    """EXPERIMENTAL :class:`~dossier.payments.base.PaymentGateway` for the national platform."""

    def __init__(self, config: PayGovConfig, *, transport: Transport | None = None,
                 name: str = "paygov") -> None:
        self.config = config
        self.transport: Transport = transport or UrllibTransport()
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"PayGovGateway(merchant_code={self.config.merchant_code!r}, EXPERIMENTAL)"

    def bill(self, request: PaymentRequest) -> dict[str, str]:
        """The signed bill the portal is sent with the citizen."""
        values = {
            "merchantCode": self.config.merchant_code, "orderId": request.order_ref,
            "amount": str(request.amount), "currency": "VND",
            "description": ascii_fold(request.description),
            "createdAt": gmt7_stamp(request.created_at),
            "expiresAt": gmt7_stamp(request.expires_at), "returnUrl": request.return_url,
        }
        values["checksum"] = checksum(values, self.config.bill_fields,
                                      self.config.secrets.primary)
        return values

    def create(self, request: PaymentRequest) -> PaymentInstructions:
        return PaymentInstructions(
            provider=self.name, order_ref=request.order_ref, amount=request.amount,
            expires_at=request.expires_at,
            redirect_url=f"{self.config.portal_url}?{urlencode(self.bill(request))}")

    def parse_callback(self, raw: RawCallback) -> ParsedCallback:
        values = _decode(raw)
        if not _verify(self.config.secrets, values, self.config.notify_fields):
            raise CallbackVerificationError(
                f"PayGov notification for {values.get('orderId', '?')!r}: checksum does not "
                "match; record it for review")
        merchant = values.get("merchantCode", "")
        if merchant != self.config.merchant_code:
            raise CallbackVerificationError(f"PayGov notification is for merchant "
                                            f"{merchant!r}, not ours")
        amount = values.get("amount", "")
        if not amount.isdigit():
            raise CallbackVerificationError("PayGov notification amount is not whole VND")
        status = values.get("status", "")
        success = status == self.config.success_status
        try:
            paid_at = parse_gmt7_stamp(values["paidAt"]) if success and values.get(
                "paidAt") else None
        except ValueError as exc:
            raise CallbackVerificationError(f"PayGov notification is malformed: {exc}") from exc
        return ParsedCallback(
            provider=self.name, order_ref=values.get("orderId", ""), amount=int(amount),
            outcome=PaymentOutcome.SUCCEEDED if success else PaymentOutcome.FAILED,
            provider_ref=values.get("transactionId", ""), response_code=status,
            merchant_id=merchant, currency=values.get("currency") or None, paid_at=paid_at,
            raw=values)

    def reply(self, verdict: CallbackVerdict) -> CallbackReply:
        codes = {CallbackVerdict.CONFIRMED: "00", CallbackVerdict.ALREADY_PROCESSED: "02",
                 CallbackVerdict.ORDER_NOT_FOUND: "01", CallbackVerdict.AMOUNT_MISMATCH: "04",
                 CallbackVerdict.INVALID_SIGNATURE: "97", CallbackVerdict.ERROR: "99"}
        return CallbackReply.json({"code": codes[verdict], "message": verdict.value})

    def query(self, query: StatusQuery) -> PaymentStatus:
        body = {"merchantCode": self.config.merchant_code, "requestId": query.request_id,
                "orderId": query.order_ref, "requestedAt": gmt7_stamp(query.requested_at)}
        body["checksum"] = checksum(body, self.config.lookup_fields, self.config.secrets.primary)
        response = self.transport.post_json(self.config.lookup_url, body)
        if response.status != 200:
            raise PaymentError(f"PayGov lookup answered HTTP {response.status}; retry later")
        answer = {key: "" if value is None else str(value)
                  for key, value in response.json().items()}
        if not _verify(self.config.secrets, answer, self.config.lookup_response_fields):
            raise PaymentError("PayGov lookup answer has a bad checksum; not trusting it")
        status = answer.get("status", "")
        outcome = (PaymentOutcome.SUCCEEDED if status == self.config.success_status else
                   PaymentOutcome.PENDING if status == self.config.pending_status else
                   PaymentOutcome.FAILED)
        amount = answer.get("amount", "")
        return PaymentStatus(order_ref=query.order_ref, outcome=outcome,
                             amount=int(amount) if amount.isdigit() else None,
                             provider_ref=answer.get("transactionId", ""),
                             response_code=status)

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(refund_ref=request.refund_ref, outcome=RefundOutcome.PENDING,
                            amount=request.amount,
                            message="the platform profile has no refund call here; refund "
                                    "through the operator and confirm")


def _decode(raw: RawCallback) -> dict[str, str]:
    value: Any
    if isinstance(raw, bytes | bytearray):
        text = bytes(raw).decode("utf-8", "replace")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = dict(parse_qsl(text, keep_blank_values=True))
    else:
        value = raw
    if not isinstance(value, Mapping):
        raise CallbackVerificationError("PayGov notification must be JSON or form fields")
    return {str(key): "" if item is None else str(item) for key, item in value.items()}
