"""An in-process payment provider for tests and the demo.

:class:`FakeProviderService` plays VNPay, MoMo and the bank behind VietQR at once. It is a
:class:`~dossier.payments.transport.Transport`, so a real adapter built with it as transport
sends its querydr/refund/create calls here; it checks their signatures like the provider
would, and it issues callbacks signed by the adapters' own signing functions — the very code
that verifies them — so a test exercises the real paths end to end::

    service = FakeProviderService(vnpay=demo_vnpay_config())
    gateway = VnpayGateway(service.vnpay_config, transport=service)
    instructions = gateway.create(request)
    service.open(instructions)                      # the citizen follows the link
    callback = service.success(request.order_ref, at=now)
    parsed = gateway.parse_callback(callback.payload)

Scenarios: :meth:`~FakeProviderService.success`, :meth:`~FakeProviderService.failure`,
:meth:`~FakeProviderService.replay` (duplicate), :meth:`~FakeProviderService.out_of_order`,
:meth:`~FakeProviderService.late_success`, :meth:`~FakeProviderService.wrong_amount`,
:meth:`~FakeProviderService.forged`. :class:`FakeGateway` bundles a VNPay adapter with its own
service under the name ``"fake"``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from dossier.errors import InvalidInput, PaymentError
from dossier.payments import momo, vietqr, vnpay
from dossier.payments.base import (
    CallbackReply,
    CallbackVerdict,
    ParsedCallback,
    PaymentInstructions,
    PaymentRequest,
    PaymentStatus,
    RawCallback,
    RefundRequest,
    RefundResult,
    StatusQuery,
)
from dossier.payments.crypto import GMT7, SecretPair, gmt7_stamp, hmac_hex, verify_hmac
from dossier.payments.transport import HttpResponse

_NOT_A_SECRET = "forged-by-someone-else"


def demo_vnpay_config(*, previous: str | None = None) -> vnpay.VnpayConfig:
    """A VNPay terminal with a public test secret; it only works against the fake."""
    return vnpay.VnpayConfig(
        tmn_code="FAKEVNP1", secrets=SecretPair(primary="fake-vnpay-secret", previous=previous),
        pay_url="https://vnpay.fake.invalid/paymentv2/vpcpay.html",
        api_url="https://vnpay.fake.invalid/merchant_webapi/api/transaction")


def demo_momo_config() -> momo.MomoConfig:
    """A MoMo partner with public test keys; it only works against the fake."""
    return momo.MomoConfig(partner_code="FAKEMOMO", access_key="fake-access-key",
                           secrets=SecretPair(primary="fake-momo-secret"),
                           ipn_url="https://dossier.example/payments/momo/ipn",
                           endpoint="https://momo.fake.invalid")


def demo_vietqr_config() -> vietqr.VietQrConfig:
    """A receiving account with a public test webhook secret."""
    return vietqr.VietQrConfig(bank_bin="970415", account="0011001932418",
                               notification_secrets=SecretPair(primary="fake-bank-secret"),
                               account_name="KHO BAC NHA NUOC DEMO")


@dataclass(frozen=True, kw_only=True)
class FakeCallback:
    """A callback as the provider would deliver it: parameters (VNPay) or a JSON body."""

    provider: str
    order_ref: str
    payload: Mapping[str, str] | bytes


@dataclass(kw_only=True)
class FakePayment:
    """What the fake provider knows about one payment."""

    provider: str
    order_ref: str
    amount: int
    info: str
    created_stamp: str = ""
    expires_at: datetime | None = None
    state: str = "pending"
    transaction_no: int = 0
    paid_at: datetime | None = None
    refunded: int = 0
    callbacks: list[FakeCallback] = field(default_factory=list)


class FakeProviderService:
    """VNPay, MoMo and a bank, in process. Configure only the providers you use."""

    def __init__(self, *, vnpay_config: vnpay.VnpayConfig | None = None,
                 momo_config: momo.MomoConfig | None = None,
                 vietqr_config: vietqr.VietQrConfig | None = None) -> None:
        self.vnpay_config = vnpay_config
        self.momo_config = momo_config
        self.vietqr_config = vietqr_config
        self.payments: dict[str, FakePayment] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._next_transaction = 14_000_000

    # --- the citizen's side -----------------------------------------------------------

    def open(self, instructions: PaymentInstructions) -> FakePayment:
        """The citizen follows the link or scans the QR: the provider checks and records it."""
        known = self.payments.get(instructions.order_ref)
        if known is not None:  # MoMo: created through the API already
            known.expires_at = known.expires_at or instructions.expires_at
            return known
        if instructions.qr_payload and self.vietqr_config:
            qr = vietqr.parse_payload(instructions.qr_payload)
            payment = FakePayment(provider="vietqr", order_ref=qr.memo or "",
                                  amount=qr.amount or 0, info=qr.memo or "",
                                  expires_at=instructions.expires_at)
        elif instructions.redirect_url and self.vnpay_config:
            params = dict(parse_qsl(urlsplit(instructions.redirect_url).query,
                                    keep_blank_values=True))
            if not vnpay.VnpayGateway(self.vnpay_config).verify(params):
                raise PaymentError("fake VNPay: the payment URL's vnp_SecureHash is wrong")
            payment = FakePayment(provider="vnpay", order_ref=params["vnp_TxnRef"],
                                  amount=int(params["vnp_Amount"]) // 100,
                                  info=params["vnp_OrderInfo"],
                                  created_stamp=params["vnp_CreateDate"],
                                  expires_at=instructions.expires_at)
        else:
            raise PaymentError(f"fake provider cannot open {instructions.provider!r} "
                               "instructions (no matching provider configured)")
        self.payments[payment.order_ref] = payment
        return payment

    # --- callbacks ----------------------------------------------------------------------

    def success(self, order_ref: str, *, at: datetime) -> FakeCallback:
        """The citizen paid: a correctly signed success callback."""
        payment = self._payment(order_ref)
        payment.state, payment.paid_at = "paid", at
        payment.transaction_no = payment.transaction_no or self._transaction()
        return self._issue(payment, success=True, at=at, amount=payment.amount)

    def failure(self, order_ref: str, *, at: datetime) -> FakeCallback:
        """The citizen cancelled or the bank declined: a signed failure callback."""
        payment = self._payment(order_ref)
        if payment.state == "pending":
            payment.state = "failed"
        payment.transaction_no = payment.transaction_no or self._transaction()
        return self._issue(payment, success=False, at=at, amount=payment.amount)

    def replay(self, order_ref: str) -> FakeCallback:
        """The last callback again, byte for byte (providers retry until answered)."""
        payment = self._payment(order_ref)
        if not payment.callbacks:
            raise InvalidInput(f"fake provider sent no callback for {order_ref} yet")
        return payment.callbacks[-1]

    def out_of_order(self, order_ref: str, *, at: datetime) -> tuple[FakeCallback, ...]:
        """A failure made first but delivered after the success, in delivery order."""
        early = self.failure(order_ref, at=at)
        late = self.success(order_ref, at=at + timedelta(seconds=30))
        return (late, early)

    def late_success(self, order_ref: str, *,
                     delay: timedelta = timedelta(minutes=5)) -> FakeCallback:
        """A success paid after the payment's expiry (the money moved anyway)."""
        payment = self._payment(order_ref)
        if payment.expires_at is None:
            raise InvalidInput(f"fake payment {order_ref} has no expiry")
        return self.success(order_ref, at=payment.expires_at + delay)

    def wrong_amount(self, order_ref: str, *, at: datetime, amount: int) -> FakeCallback:
        """A correctly signed success for a different amount than the order's."""
        payment = self._payment(order_ref)
        payment.transaction_no = payment.transaction_no or self._transaction()
        return self._issue(payment, success=True, at=at, amount=amount)

    def forged(self, order_ref: str, *, at: datetime) -> FakeCallback:
        """A success callback signed with a secret that is not ours."""
        payment = self._payment(order_ref)
        return self._issue(payment, success=True, at=at, amount=payment.amount,
                           secret=_NOT_A_SECRET, record=False)

    # --- provider APIs (Transport) ------------------------------------------------------

    def post_json(self, url: str, payload: Mapping[str, Any]) -> HttpResponse:
        body = dict(payload)
        self.requests.append((url, body))
        if self.vnpay_config and url == self.vnpay_config.api_url:
            return _json(self._vnpay_api(body))
        if self.momo_config and url.startswith(self.momo_config.endpoint.rstrip("/") + "/"):
            action = url.rsplit("/", 1)[-1]
            return _json(self._momo_api(action, body))
        return HttpResponse(status=404, body=b"not found")

    def post_form(self, url: str, fields: Mapping[str, str]) -> HttpResponse:
        self.requests.append((url, dict(fields)))
        return HttpResponse(status=404, body=b"not found")

    # --- internals ----------------------------------------------------------------------

    def _payment(self, order_ref: str) -> FakePayment:
        try:
            return self.payments[order_ref]
        except KeyError:
            raise InvalidInput(f"fake provider knows no payment {order_ref!r}; "
                               "open() its instructions first") from None

    def _transaction(self) -> int:
        self._next_transaction += 1
        return self._next_transaction

    def _issue(self, payment: FakePayment, *, success: bool, at: datetime, amount: int,
               secret: str | None = None, record: bool = True) -> FakeCallback:
        if payment.provider == "vnpay":
            callback = self._vnpay_callback(payment, success, at, amount, secret)
        elif payment.provider == "momo":
            callback = self._momo_callback(payment, success, at, amount, secret)
        else:
            callback = self._bank_callback(payment, at, amount, secret)
        if record:
            payment.callbacks.append(callback)
        return callback

    def _vnpay_callback(self, payment: FakePayment, success: bool, at: datetime, amount: int,
                        secret: str | None) -> FakeCallback:
        assert self.vnpay_config is not None
        code = "00" if success else "24"  # 24: "Khách hàng hủy giao dịch"
        params = {
            "vnp_Amount": str(amount * 100), "vnp_BankCode": "NCB",
            "vnp_BankTranNo": f"VNP{payment.transaction_no}", "vnp_CardType": "ATM",
            "vnp_OrderInfo": payment.info, "vnp_PayDate": gmt7_stamp(at),
            "vnp_ResponseCode": code, "vnp_TmnCode": self.vnpay_config.tmn_code,
            "vnp_TransactionNo": str(payment.transaction_no),
            "vnp_TransactionStatus": "00" if success else "02", "vnp_TxnRef": payment.order_ref,
        }
        params["vnp_SecureHash"] = vnpay.secure_hash(
            params, secret or self.vnpay_config.secrets.primary)
        return FakeCallback(provider="vnpay", order_ref=payment.order_ref, payload=params)

    def _momo_callback(self, payment: FakePayment, success: bool, at: datetime, amount: int,
                       secret: str | None) -> FakeCallback:
        config = self.momo_config
        assert config is not None
        body: dict[str, Any] = {
            "partnerCode": config.partner_code, "orderId": payment.order_ref,
            "requestId": payment.order_ref, "amount": amount, "orderInfo": payment.info,
            "orderType": "momo_wallet", "transId": payment.transaction_no,
            "resultCode": 0 if success else 1006,
            "message": "Successful." if success else "Transaction denied by user.",
            "payType": "qr", "responseTime": int(at.timestamp() * 1000), "extraData": "",
        }
        body["signature"] = momo.sign({**body, "accessKey": config.access_key},
                                      momo.IPN_FIELDS, secret or config.secrets.primary)
        return FakeCallback(provider="momo", order_ref=payment.order_ref,
                            payload=json.dumps(body).encode())

    def _bank_callback(self, payment: FakePayment, at: datetime, amount: int,
                       secret: str | None) -> FakeCallback:
        config = self.vietqr_config
        assert config is not None
        data = {"accountNumber": config.account, "amount": amount,
                "description": f"MBVCB.{payment.transaction_no}.{payment.info}.CT tu 0123",
                "reference": f"FT{payment.transaction_no}",
                "transactionDateTime": at.astimezone(GMT7).strftime("%Y-%m-%d %H:%M:%S"),
                "currency": "VND"}
        signature = vietqr.sign_notification(data, secret or config.notification_secrets.primary)
        return FakeCallback(provider="vietqr", order_ref=payment.order_ref,
                            payload=json.dumps({"data": data, "signature": signature}).encode())

    def _vnpay_api(self, body: dict[str, Any]) -> dict[str, Any]:
        config = self.vnpay_config
        assert config is not None
        command = str(body.get("vnp_Command", ""))
        fields = vnpay.QUERYDR_FIELDS if command == "querydr" else vnpay.REFUND_FIELDS
        base = {"vnp_ResponseId": f"R{body.get('vnp_RequestId', '')}", "vnp_Command": command,
                "vnp_TmnCode": config.tmn_code, "vnp_TxnRef": body.get("vnp_TxnRef", "")}
        if not verify_hmac(config.secrets, vnpay.pipe_data(body, fields),
                           str(body.get("vnp_SecureHash", "")), hashlib.sha512):
            return {**base, "vnp_ResponseCode": "97", "vnp_Message": "Invalid Checksum"}
        payment = self.payments.get(str(body.get("vnp_TxnRef", "")))
        if payment is None or payment.provider != "vnpay":
            answer = {**base, "vnp_ResponseCode": "91", "vnp_Message": "Not found"}
            return self._sign_vnpay(answer, command)
        status = {"paid": "00", "pending": "01"}.get(payment.state, "02")
        code, message = "00", "Success"
        if command == "refund":
            amount = int(str(body.get("vnp_Amount", "0"))) // 100
            if payment.state != "paid" or amount + payment.refunded > payment.amount:
                code, message = "02", "Refund amount exceeds the original"
            else:
                payment.refunded += amount
                status = "05"
        answer = {**base, "vnp_ResponseCode": code, "vnp_Message": message,
                  "vnp_Amount": str(payment.amount * 100), "vnp_BankCode": "NCB",
                  "vnp_PayDate": gmt7_stamp(payment.paid_at) if payment.paid_at else "",
                  "vnp_TransactionNo": str(payment.transaction_no or ""),
                  "vnp_TransactionType": str(body.get("vnp_TransactionType", "01")),
                  "vnp_TransactionStatus": status, "vnp_OrderInfo": payment.info}
        return self._sign_vnpay(answer, command)

    def _sign_vnpay(self, answer: dict[str, Any], command: str) -> dict[str, Any]:
        assert self.vnpay_config is not None
        fields = (vnpay.QUERYDR_RESPONSE_FIELDS if command == "querydr"
                  else vnpay.REFUND_RESPONSE_FIELDS)
        answer["vnp_SecureHash"] = hmac_hex(self.vnpay_config.secrets.primary,
                                            vnpay.pipe_data(answer, fields), hashlib.sha512)
        return answer

    def _momo_api(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        config = self.momo_config
        assert config is not None
        fields = {"create": momo.CREATE_FIELDS, "query": momo.QUERY_FIELDS,
                  "refund": momo.REFUND_FIELDS}.get(action)
        base = {"partnerCode": config.partner_code, "orderId": body.get("orderId", ""),
                "requestId": body.get("requestId", ""), "responseTime": 0}
        if fields is None:
            return {**base, "resultCode": 12, "message": "Unsupported API"}
        signed = {**body, "accessKey": config.access_key}
        if not verify_hmac(config.secrets, momo.raw_signature(signed, fields),
                           str(body.get("signature", "")), hashlib.sha256):
            return {**base, "resultCode": 13, "message": "Signature mismatch"}
        order_ref = str(body.get("orderId", ""))
        if action == "create":
            payment = self.payments.setdefault(order_ref, FakePayment(
                provider="momo", order_ref=order_ref, amount=int(body["amount"]),
                info=str(body.get("orderInfo", ""))))
            return {**base, "amount": payment.amount, "resultCode": 0, "message": "Successful.",
                    "payUrl": f"https://momo.fake.invalid/pay/{order_ref}",
                    "qrCodeUrl": f"momo://pay/{order_ref}"}
        if action == "query":
            found = self.payments.get(order_ref)
            if found is None:
                return {**base, "resultCode": 42, "message": "Order not found"}
            code = {"paid": 0, "pending": 1000}.get(found.state, 1006)
            return {**base, "amount": found.amount, "transId": found.transaction_no,
                    "resultCode": code, "message": "", "payType": "qr",
                    "responseTime": int(found.paid_at.timestamp() * 1000)
                    if found.paid_at else 0}
        original = next((p for p in self.payments.values()
                         if p.provider == "momo" and p.transaction_no == body.get("transId")),
                        None)
        amount = int(body.get("amount", 0))
        if original is None or original.state != "paid" \
                or amount + original.refunded > original.amount:
            return {**base, "resultCode": 1080, "message": "Refund rejected"}
        original.refunded += amount
        return {**base, "amount": amount, "transId": self._transaction(), "resultCode": 0,
                "message": "Successful."}


def _json(answer: Mapping[str, Any]) -> HttpResponse:
    return HttpResponse(status=200, body=json.dumps(dict(answer)).encode(),
                        headers={"Content-Type": "application/json"})


class FakeGateway:
    """A ready-made gateway named ``"fake"``: the VNPay adapter against its own fake service.

    ``create`` also "opens" the payment at the fake provider, so callbacks can be issued
    at once through :attr:`service`.
    """

    def __init__(self, *, service: FakeProviderService | None = None,
                 name: str = "fake") -> None:
        self.service = service or FakeProviderService(vnpay_config=demo_vnpay_config())
        if self.service.vnpay_config is None:
            raise InvalidInput("FakeGateway needs a fake service with a VNPay config")
        self._inner = vnpay.VnpayGateway(self.service.vnpay_config, transport=self.service,
                                         name=name)

    @property
    def name(self) -> str:
        return self._inner.name

    def __repr__(self) -> str:
        return f"FakeGateway(name={self.name!r})"

    def create(self, request: PaymentRequest) -> PaymentInstructions:
        if not request.return_url:
            request = replace(request, return_url="https://dossier.example/payments/return")
        instructions = self._inner.create(request)
        self.service.open(instructions)
        return instructions

    def parse_callback(self, raw: RawCallback) -> ParsedCallback:
        return self._inner.parse_callback(raw)

    def reply(self, verdict: CallbackVerdict) -> CallbackReply:
        return self._inner.reply(verdict)

    def query(self, query: StatusQuery) -> PaymentStatus:
        return self._inner.query(query)

    def refund(self, request: RefundRequest) -> RefundResult:
        return self._inner.refund(request)
