"""MoMo e-wallet payment gateway, AIO v2 API (``captureWallet``).

Follows https://developers.momo.vn/v3/docs/payment/api/wallet/onetime (create),
.../result-handling/notification (IPN), .../payment-api/query and .../payment-api/refund.
Every signature is the hex HMAC-SHA256, keyed with the secret key, of a raw ``k=v&…`` string
whose fields come in the documented (alphabetical) order, values unencoded:

* create: accessKey, amount, extraData, ipnUrl, orderId, orderInfo, partnerCode, redirectUrl,
  requestId, requestType
* IPN: accessKey, amount, extraData, message, orderId, orderInfo, orderType, partnerCode,
  payType, requestId, responseTime, resultCode, transId — answered with HTTP 204
* query: accessKey, orderId, partnerCode, requestId
* refund: accessKey, amount, description, orderId, partnerCode, requestId, transId

MoMo does not sign its answers to create/query/refund; those rest on TLS to the configured
endpoint. Amounts are plain VND (no ×100). ``resultCode`` 0 is success; 1000, 7000 and 7002
mean the payment is still under way; 9000 means authorised but not captured.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
from dossier.payments.crypto import SecretPair, ascii_fold, hmac_hex, verify_hmac
from dossier.payments.transport import Transport, UrllibTransport

SANDBOX_ENDPOINT = "https://test-payment.momo.vn"

CREATE_FIELDS = ("accessKey", "amount", "extraData", "ipnUrl", "orderId", "orderInfo",
                 "partnerCode", "redirectUrl", "requestId", "requestType")
IPN_FIELDS = ("accessKey", "amount", "extraData", "message", "orderId", "orderInfo",
              "orderType", "partnerCode", "payType", "requestId", "responseTime", "resultCode",
              "transId")
QUERY_FIELDS = ("accessKey", "orderId", "partnerCode", "requestId")
REFUND_FIELDS = ("accessKey", "amount", "description", "orderId", "partnerCode", "requestId",
                 "transId")

PENDING_CODES = frozenset({"1000", "7000", "7002", "9000"})
NOT_FOUND_CODES = frozenset({"42"})  # "orderId không tồn tại hoặc đang được xử lý"


@dataclass(frozen=True, kw_only=True)
class MomoConfig:
    """A MoMo partner: code, access key and secret key(s), and where MoMo calls us back."""

    partner_code: str
    access_key: str
    secrets: SecretPair
    ipn_url: str
    endpoint: str = SANDBOX_ENDPOINT
    request_type: str = "captureWallet"
    lang: str = "vi"

    def __post_init__(self) -> None:
        if not self.partner_code or not self.access_key:
            raise InvalidInput("MoMo partner_code and access_key must not be empty")
        if not self.ipn_url:
            raise InvalidInput("MoMo ipn_url must be set: MoMo posts payment results there")


def raw_signature(values: Mapping[str, Any], fields: tuple[str, ...]) -> str:
    """The documented ``k=v&…`` string over ``fields`` (missing values count as empty)."""
    return "&".join(f"{name}={_text(values.get(name))}" for name in fields)


def sign(values: Mapping[str, Any], fields: tuple[str, ...], secret: str) -> str:
    """Hex HMAC-SHA256 of :func:`raw_signature`."""
    return hmac_hex(secret, raw_signature(values, fields), hashlib.sha256)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # JSON true/false as MoMo writes them
        return "true" if value else "false"
    return str(value)


def outcome_of(result_code: str) -> PaymentOutcome:
    """Our outcome for a MoMo ``resultCode``."""
    if result_code == "0":
        return PaymentOutcome.SUCCEEDED
    if result_code in PENDING_CODES:
        return PaymentOutcome.PENDING
    if result_code in NOT_FOUND_CODES:
        return PaymentOutcome.NOT_FOUND
    return PaymentOutcome.FAILED


class MomoGateway:
    """:class:`~dossier.payments.base.PaymentGateway` for MoMo ``captureWallet``."""

    def __init__(self, config: MomoConfig, *, transport: Transport | None = None,
                 name: str = "momo") -> None:
        self.config = config
        self.transport: Transport = transport or UrllibTransport()
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"MomoGateway(partner_code={self.config.partner_code!r}, name={self._name!r})"

    def create_body(self, request: PaymentRequest) -> dict[str, Any]:
        """The signed create request; ``requestId`` is the order reference (idempotent)."""
        body: dict[str, Any] = {
            "partnerCode": self.config.partner_code, "accessKey": self.config.access_key,
            "requestId": request.order_ref, "amount": request.amount,
            "orderId": request.order_ref, "orderInfo": ascii_fold(request.description),
            "redirectUrl": request.return_url, "ipnUrl": self.config.ipn_url,
            "requestType": self.config.request_type, "extraData": "",
            "lang": "vi" if request.locale == "vn" else "en",
        }
        body["signature"] = sign(body, CREATE_FIELDS, self.config.secrets.primary)
        del body["accessKey"]  # signed over, never sent
        return body

    def create(self, request: PaymentRequest) -> PaymentInstructions:
        answer = self._post("create", self.create_body(request))
        code = _text(answer.get("resultCode"))
        pay_url = _text(answer.get("payUrl"))
        if code != "0" or not pay_url:
            raise PaymentError(f"MoMo refused to create payment {request.order_ref}: "
                               f"resultCode {code} {_text(answer.get('message'))}")
        return PaymentInstructions(
            provider=self.name, order_ref=request.order_ref, amount=request.amount,
            expires_at=request.expires_at, redirect_url=pay_url,
            qr_payload=_text(answer.get("qrCodeUrl")) or None,
            provider_ref=_text(answer.get("requestId")) or request.order_ref)

    def parse_callback(self, raw: RawCallback) -> ParsedCallback:
        """Verify and read an IPN (JSON body) or the redirect's query parameters."""
        fields = _decode(raw)
        given = _text(fields.get("signature"))
        values = {**fields, "accessKey": self.config.access_key}
        if not given or not verify_hmac(self.config.secrets, raw_signature(values, IPN_FIELDS),
                                        given, hashlib.sha256):
            raise CallbackVerificationError(
                f"MoMo callback for order {_text(fields.get('orderId'))!r}: signature does not "
                "match; record it for review")
        partner = _text(fields.get("partnerCode"))
        if partner != self.config.partner_code:
            raise CallbackVerificationError(
                f"MoMo callback is for partner {partner!r}, not ours; record it for review")
        amount_text = _text(fields.get("amount"))
        if not amount_text.isdigit():
            raise CallbackVerificationError(f"MoMo callback amount {amount_text!r} is not a "
                                            "whole number of VND")
        code = _text(fields.get("resultCode"))
        outcome = outcome_of(code)
        return ParsedCallback(
            provider=self.name, order_ref=_text(fields.get("orderId")), amount=int(amount_text),
            outcome=outcome, provider_ref=_text(fields.get("transId")), response_code=code,
            merchant_id=partner, currency=None,
            paid_at=_ms_instant(fields.get("responseTime"))
            if outcome is PaymentOutcome.SUCCEEDED else None,
            message=_text(fields.get("message")), method=_text(fields.get("payType")),
            raw={key: _text(value) for key, value in fields.items()})

    def reply(self, verdict: CallbackVerdict) -> CallbackReply:
        # MoMo only wants 204 No Content once we have taken the notification in; a bad
        # signature gets 400 and an internal error 500 so that MoMo retries later.
        if verdict is CallbackVerdict.INVALID_SIGNATURE:
            return CallbackReply(status=400)
        if verdict is CallbackVerdict.ERROR:
            return CallbackReply(status=500)
        return CallbackReply(status=204)

    def query_body(self, query: StatusQuery) -> dict[str, Any]:
        body: dict[str, Any] = {
            "partnerCode": self.config.partner_code, "accessKey": self.config.access_key,
            "requestId": query.request_id, "orderId": query.order_ref,
            "lang": self.config.lang}
        body["signature"] = sign(body, QUERY_FIELDS, self.config.secrets.primary)
        del body["accessKey"]
        return body

    def query(self, query: StatusQuery) -> PaymentStatus:
        answer = self._post("query", self.query_body(query))
        code = _text(answer.get("resultCode"))
        outcome = outcome_of(code)
        amount = _text(answer.get("amount"))
        return PaymentStatus(
            order_ref=query.order_ref, outcome=outcome,
            amount=int(amount) if amount.isdigit() else None,
            provider_ref=_text(answer.get("transId")), response_code=code,
            paid_at=_ms_instant(answer.get("responseTime"))
            if outcome is PaymentOutcome.SUCCEEDED else None,
            message=_text(answer.get("message")))

    def refund_body(self, request: RefundRequest) -> dict[str, Any]:
        if not request.provider_ref.isdigit():
            raise InvalidInput(f"MoMo refund of {request.order_ref} needs MoMo's numeric transId "
                               "as provider_ref")
        body: dict[str, Any] = {
            "partnerCode": self.config.partner_code, "accessKey": self.config.access_key,
            "orderId": request.refund_ref, "requestId": request.refund_ref,
            "amount": request.amount, "transId": int(request.provider_ref),
            "lang": self.config.lang, "description": ascii_fold(request.reason)}
        body["signature"] = sign(body, REFUND_FIELDS, self.config.secrets.primary)
        del body["accessKey"]
        return body

    def refund(self, request: RefundRequest) -> RefundResult:
        answer = self._post("refund", self.refund_body(request))
        code = _text(answer.get("resultCode"))
        outcome = (RefundOutcome.REFUNDED if code == "0" else
                   RefundOutcome.PENDING if code in PENDING_CODES else RefundOutcome.REJECTED)
        return RefundResult(refund_ref=request.refund_ref, outcome=outcome,
                            amount=request.amount, provider_ref=_text(answer.get("transId")),
                            response_code=code, message=_text(answer.get("message")))

    def _post(self, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
        url = f"{self.config.endpoint.rstrip('/')}/v2/gateway/api/{action}"
        response = self.transport.post_json(url, body)
        if response.status >= 500:
            raise PaymentError(f"MoMo {action} answered HTTP {response.status}; retry later")
        return response.json()


def _decode(raw: RawCallback) -> dict[str, Any]:
    if isinstance(raw, bytes | bytearray):
        try:
            value = json.loads(bytes(raw).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CallbackVerificationError("MoMo callback body is not JSON") from exc
        if not isinstance(value, dict):
            raise CallbackVerificationError("MoMo callback body is not a JSON object")
        return value
    if not isinstance(raw, Mapping):
        raise CallbackVerificationError("MoMo callback must be a JSON body or parameters")
    return dict(raw)


def _ms_instant(value: Any) -> datetime | None:
    text = _text(value)
    if not text.isdigit():
        return None
    return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
