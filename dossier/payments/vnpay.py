"""VNPay payment gateway, API version 2.1.0 (Cổng thanh toán VNPAY).

Follows https://sandbox.vnpayment.vn/apis/docs/thanh-toan-pay/pay.html (payment URL, IPN)
and https://sandbox.vnpayment.vn/apis/docs/truy-van-hoan-tien/querydr&refund.html:

* **Payment URL** — ``vnp_*`` parameters; ``vnp_Amount`` is VND × 100; ``vnp_CreateDate`` and
  ``vnp_ExpireDate`` are ``yyyyMMddHHmmss`` in GMT+7. ``vnp_SecureHash`` is the hex
  HMAC-SHA512 of the parameters with non-empty values, sorted by name, joined as ``k=v&…``
  with keys and values URL-encoded (spaces as ``+``); that same string is the query string.
* **IPN** (server-to-server GET) — the same hash over every ``vnp_*`` parameter except
  ``vnp_SecureHash`` and ``vnp_SecureHashType``. VNPay expects a JSON answer
  ``{"RspCode": "..", "Message": ".."}``; the checks run in the order of :func:`ipn_verdict`.
* **querydr / refund** — JSON POSTs whose ``vnp_SecureHash`` is the HMAC-SHA512 of fixed
  fields joined by ``|``; the responses carry a hash over their own ``|``-joined fields.

Encoding note: we encode like PHP's ``urlencode`` (VNPay's reference sample), i.e. only
letters, digits and ``-_.`` stay as they are. ``vnp_OrderInfo`` is folded to ASCII and
stripped of characters outside letters, digits, space and ``-_.,:/#()`` because VNPay asks
for "Tiếng Việt không dấu, không ký tự đặc biệt"; that keeps every encoder in agreement.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote_plus

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
    callback_verdict,
)
from dossier.payments.crypto import (
    SecretPair,
    ascii_fold,
    gmt7_stamp,
    hmac_hex,
    parse_gmt7_stamp,
    verify_hmac,
)
from dossier.payments.transport import Transport, UrllibTransport

VERSION = "2.1.0"
SANDBOX_PAY_URL = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
SANDBOX_API_URL = "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction"

#: The IPN answers VNPay documents, by verdict.
IPN_REPLIES: dict[CallbackVerdict, tuple[str, str]] = {
    CallbackVerdict.CONFIRMED: ("00", "Confirm Success"),
    CallbackVerdict.ORDER_NOT_FOUND: ("01", "Order not found"),
    CallbackVerdict.ALREADY_PROCESSED: ("02", "Order already confirmed"),
    CallbackVerdict.AMOUNT_MISMATCH: ("04", "Invalid amount"),
    CallbackVerdict.INVALID_SIGNATURE: ("97", "Invalid Checksum"),
    CallbackVerdict.ERROR: ("99", "Unknown error"),
}

QUERYDR_FIELDS = ("vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TxnRef",
                  "vnp_TransactionDate", "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo")
QUERYDR_RESPONSE_FIELDS = (
    "vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode",
    "vnp_TxnRef", "vnp_Amount", "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo",
    "vnp_TransactionType", "vnp_TransactionStatus", "vnp_OrderInfo", "vnp_PromotionCode",
    "vnp_PromotionAmount")
REFUND_FIELDS = ("vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode",
                 "vnp_TransactionType", "vnp_TxnRef", "vnp_Amount", "vnp_TransactionNo",
                 "vnp_TransactionDate", "vnp_CreateBy", "vnp_CreateDate", "vnp_IpAddr",
                 "vnp_OrderInfo")
REFUND_RESPONSE_FIELDS = (
    "vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode",
    "vnp_TxnRef", "vnp_Amount", "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo",
    "vnp_TransactionType", "vnp_TransactionStatus", "vnp_OrderInfo")

_UNSAFE_INFO = re.compile(r"[^0-9A-Za-z \-_.,:/#()]+")


@dataclass(frozen=True, kw_only=True)
class VnpayConfig:
    """A VNPay merchant terminal: ``vnp_TmnCode`` and its hash secret(s)."""

    tmn_code: str
    secrets: SecretPair
    pay_url: str = SANDBOX_PAY_URL
    api_url: str = SANDBOX_API_URL
    order_type: str = "other"
    bank_code: str = ""

    def __post_init__(self) -> None:
        if not self.tmn_code:
            raise InvalidInput("VNPay tmn_code must not be empty")


# --- the documented algorithms, as pure functions ---------------------------------------

def encode(value: str) -> str:
    """URL-encode like PHP ``urlencode``: spaces as ``+``, only ``A-Za-z0-9-_.`` kept."""
    return quote_plus(value, safe="").replace("~", "%7E")


def canonical_query(params: Mapping[str, str]) -> str:
    """Non-empty parameters sorted by name, ``k=v`` URL-encoded and joined with ``&``."""
    return "&".join(f"{encode(key)}={encode(value)}"
                    for key, value in sorted(params.items()) if value != "")


def secure_hash(params: Mapping[str, str], secret: str) -> str:
    """``vnp_SecureHash`` of request or IPN parameters (hash fields themselves excluded)."""
    return hmac_hex(secret, canonical_query(_hashed(params)), hashlib.sha512)


def pipe_hash(values: Mapping[str, Any], fields: tuple[str, ...], secret: str) -> str:
    """HMAC-SHA512 of ``fields`` taken from ``values`` in order, joined by ``|``."""
    return hmac_hex(secret, pipe_data(values, fields), hashlib.sha512)


def pipe_data(values: Mapping[str, Any], fields: tuple[str, ...]) -> str:
    """The ``|``-joined string querydr/refund sign; a missing field counts as empty."""
    return "|".join("" if values.get(name) is None else str(values[name]) for name in fields)


#: VNPay's IPN check order, which the engine applies to every provider.
ipn_verdict = callback_verdict


def order_info(text: str) -> str:
    """``vnp_OrderInfo`` as VNPay wants it: ASCII, no special characters, ≤ 255."""
    cleaned = " ".join(_UNSAFE_INFO.sub(" ", ascii_fold(text)).split())
    if not cleaned:
        raise InvalidInput("payment description has nothing left after removing diacritics "
                           "and special characters")
    return cleaned[:255]


def _hashed(params: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in params.items()
            if key.startswith("vnp_") and key not in ("vnp_SecureHash", "vnp_SecureHashType")}


def _amount_from_hundredths(value: str, what: str) -> int:
    if not value.isdigit():
        raise ValueError(f"{what} is not a whole number: {value!r}")
    hundredths = int(value)
    if hundredths % 100:
        raise ValueError(f"{what} {value} is not a whole number of VND × 100")
    return hundredths // 100


# --- the gateway ----------------------------------------------------------------------------

class VnpayGateway:
    """:class:`~dossier.payments.base.PaymentGateway` for VNPay 2.1.0."""

    def __init__(self, config: VnpayConfig, *, transport: Transport | None = None,
                 name: str = "vnpay") -> None:
        self.config = config
        self.transport: Transport = transport or UrllibTransport()
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"VnpayGateway(tmn_code={self.config.tmn_code!r}, name={self._name!r})"

    def payment_params(self, request: PaymentRequest) -> dict[str, str]:
        """The ``vnp_*`` parameters of the payment URL, before hashing."""
        if not request.return_url:
            raise InvalidInput("VNPay needs a return_url to send the citizen back to")
        return {
            "vnp_Version": VERSION,
            "vnp_Command": "pay",
            "vnp_TmnCode": self.config.tmn_code,
            "vnp_Amount": str(request.amount * 100),
            "vnp_CurrCode": "VND",
            "vnp_TxnRef": request.order_ref,
            "vnp_OrderInfo": order_info(request.description),
            "vnp_OrderType": self.config.order_type,
            "vnp_Locale": request.locale,
            "vnp_ReturnUrl": request.return_url,
            "vnp_IpAddr": request.client_ip,
            "vnp_CreateDate": gmt7_stamp(request.created_at, "created_at"),
            "vnp_ExpireDate": gmt7_stamp(request.expires_at, "expires_at"),
            "vnp_BankCode": self.config.bank_code,
        }

    def create(self, request: PaymentRequest) -> PaymentInstructions:
        params = self.payment_params(request)
        query = canonical_query(params)
        digest = hmac_hex(self.config.secrets.primary, query, hashlib.sha512)
        return PaymentInstructions(
            provider=self.name, order_ref=request.order_ref, amount=request.amount,
            expires_at=request.expires_at,
            redirect_url=f"{self.config.pay_url}?{query}&vnp_SecureHash={digest}")

    def verify(self, params: Mapping[str, str]) -> bool:
        """Is ``vnp_SecureHash`` right for these parameters under an active secret?"""
        given = params.get("vnp_SecureHash", "")
        message = canonical_query(_hashed(params))
        return bool(given) and verify_hmac(self.config.secrets, message, given, hashlib.sha512)

    def parse_callback(self, raw: RawCallback) -> ParsedCallback:
        """Verify and read an IPN (or return-URL) call: its query parameters or raw query."""
        params = _decode_params(raw)
        if not self.verify(params):
            raise CallbackVerificationError(
                f"VNPay callback for order {params.get('vnp_TxnRef', '?')!r}: checksum does "
                "not match; answer RspCode 97 and record it for review")
        merchant = params.get("vnp_TmnCode", "")
        if merchant != self.config.tmn_code:
            raise CallbackVerificationError(
                f"VNPay callback is for terminal {merchant!r}, not ours; record it for review")
        try:
            amount = _amount_from_hundredths(params.get("vnp_Amount", ""), "vnp_Amount")
            paid_at = parse_gmt7_stamp(params["vnp_PayDate"]) if params.get(
                "vnp_PayDate") else None
        except ValueError as exc:
            raise CallbackVerificationError(f"VNPay callback is malformed: {exc}") from exc
        code = params.get("vnp_ResponseCode", "")
        status = params.get("vnp_TransactionStatus", code)
        success = code == "00" and status == "00"
        return ParsedCallback(
            provider=self.name, order_ref=params.get("vnp_TxnRef", ""), amount=amount,
            outcome=PaymentOutcome.SUCCEEDED if success else PaymentOutcome.FAILED,
            provider_ref=params.get("vnp_TransactionNo", ""), response_code=code,
            merchant_id=merchant, currency=params.get("vnp_CurrCode") or None,
            paid_at=paid_at if success else None,
            method="/".join(filter(None, (params.get("vnp_CardType"), params.get("vnp_BankCode")))),
            raw=dict(params))

    def reply(self, verdict: CallbackVerdict) -> CallbackReply:
        code, message = IPN_REPLIES[verdict]
        return CallbackReply.json({"RspCode": code, "Message": message})

    # --- querydr / refund -------------------------------------------------------------

    def query_body(self, query: StatusQuery) -> dict[str, str]:
        """The signed querydr request."""
        body = {
            "vnp_RequestId": query.request_id, "vnp_Version": VERSION,
            "vnp_Command": "querydr", "vnp_TmnCode": self.config.tmn_code,
            "vnp_TxnRef": query.order_ref, "vnp_OrderInfo": order_info(query.description),
            "vnp_TransactionDate": gmt7_stamp(query.payment_created_at),
            "vnp_CreateDate": gmt7_stamp(query.requested_at), "vnp_IpAddr": query.client_ip,
        }
        body["vnp_SecureHash"] = pipe_hash(body, QUERYDR_FIELDS, self.config.secrets.primary)
        return body

    def query(self, query: StatusQuery) -> PaymentStatus:
        answer = self._post(self.query_body(query), QUERYDR_RESPONSE_FIELDS, "querydr")
        code = str(answer.get("vnp_ResponseCode", ""))
        message = str(answer.get("vnp_Message", ""))
        if code == "91":  # "Không tìm thấy giao dịch yêu cầu"
            return PaymentStatus(order_ref=query.order_ref, outcome=PaymentOutcome.NOT_FOUND,
                                 response_code=code, message=message)
        if code != "00":
            raise PaymentError(f"VNPay querydr for {query.order_ref} failed: "
                               f"code {code} {message}; retry later")
        status = str(answer.get("vnp_TransactionStatus", ""))
        outcome = {"00": PaymentOutcome.SUCCEEDED, "01": PaymentOutcome.PENDING}.get(
            status, PaymentOutcome.FAILED)
        try:
            amount = _amount_from_hundredths(str(answer.get("vnp_Amount", "")), "vnp_Amount")
            pay_date = str(answer.get("vnp_PayDate") or "")
            paid_at = parse_gmt7_stamp(pay_date) if pay_date else None
        except ValueError as exc:
            raise PaymentError(f"VNPay querydr answer is malformed: {exc}") from exc
        return PaymentStatus(
            order_ref=query.order_ref, outcome=outcome, amount=amount,
            provider_ref=str(answer.get("vnp_TransactionNo", "")), response_code=status,
            paid_at=paid_at if outcome is PaymentOutcome.SUCCEEDED else None, message=message)

    def refund_body(self, request: RefundRequest) -> dict[str, str]:
        """The signed refund request (``02`` full, ``03`` partial)."""
        body = {
            "vnp_RequestId": request.refund_ref, "vnp_Version": VERSION,
            "vnp_Command": "refund", "vnp_TmnCode": self.config.tmn_code,
            "vnp_TransactionType": "02" if request.full else "03",
            "vnp_TxnRef": request.order_ref, "vnp_Amount": str(request.amount * 100),
            "vnp_TransactionNo": request.provider_ref or "0",
            "vnp_TransactionDate": gmt7_stamp(request.payment_created_at),
            "vnp_CreateBy": request.requested_by,
            "vnp_CreateDate": gmt7_stamp(request.requested_at),
            "vnp_IpAddr": request.client_ip,
            "vnp_OrderInfo": order_info(request.reason or f"Hoan tien {request.order_ref}"),
        }
        body["vnp_SecureHash"] = pipe_hash(body, REFUND_FIELDS, self.config.secrets.primary)
        return body

    def refund(self, request: RefundRequest) -> RefundResult:
        answer = self._post(self.refund_body(request), REFUND_RESPONSE_FIELDS, "refund")
        code = str(answer.get("vnp_ResponseCode", ""))
        outcome = RefundOutcome.REFUNDED if code == "00" else RefundOutcome.REJECTED
        return RefundResult(refund_ref=request.refund_ref, outcome=outcome,
                            amount=request.amount,
                            provider_ref=str(answer.get("vnp_TransactionNo", "")),
                            response_code=code, message=str(answer.get("vnp_Message", "")))

    def _post(self, body: Mapping[str, str], fields: tuple[str, ...],
              command: str) -> dict[str, Any]:
        response = self.transport.post_json(self.config.api_url, body)
        if response.status != 200:
            raise PaymentError(f"VNPay {command} answered HTTP {response.status}; retry later")
        answer = response.json()
        given = str(answer.get("vnp_SecureHash") or "")
        code = str(answer.get("vnp_ResponseCode", ""))
        # VNPay signs every answer it can attribute to us; an unsigned success is a forgery.
        if (given or code == "00") and not verify_hmac(
                self.config.secrets, pipe_data(answer, fields), given, hashlib.sha512):
            raise PaymentError(f"VNPay {command} answer has a bad vnp_SecureHash; "
                               "not trusting it")
        return answer


def _decode_params(raw: RawCallback) -> dict[str, str]:
    if isinstance(raw, bytes | bytearray):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CallbackVerificationError("VNPay callback is not UTF-8") from exc
        return dict(parse_qsl(text.lstrip("?"), keep_blank_values=True))
    if not isinstance(raw, Mapping):
        raise CallbackVerificationError("VNPay callback must be query parameters or bytes")
    return {str(key): str(value) for key, value in raw.items()}
