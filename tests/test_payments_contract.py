"""One contract every payment gateway passes, the fake included (run over each adapter)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dossier.errors import CallbackVerificationError, RefundNotAllowed
from dossier.payments import (
    CallbackVerdict,
    CounterGateway,
    FakeGateway,
    FakeProviderService,
    MomoGateway,
    PayGovConfig,
    PayGovGateway,
    PaymentGateway,
    PaymentOutcome,
    PaymentRequest,
    PaymentStatus,
    RawCallback,
    RefundRequest,
    RefundResult,
    SecretPair,
    StatusQuery,
    VietQrGateway,
    VnpayGateway,
    counter,
    make_order_ref,
    paygov,
)
from dossier.payments.fake import demo_momo_config, demo_vietqr_config, demo_vnpay_config
from dossier.payments.transport import HttpResponse

NOW = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
CODE = "000.00.12.H12-260105-0001"
REF = make_order_ref(CODE, 1)
AMOUNT = 50_000


def request(ref: str = REF, amount: int = AMOUNT) -> PaymentRequest:
    return PaymentRequest(order_ref=ref, amount=amount,
                          description=f"Lệ phí hồ sơ {CODE}", created_at=NOW,
                          expires_at=NOW + timedelta(minutes=15),
                          return_url="https://dossier.example/payments/return")


@dataclass
class Harness:
    """A gateway plus the provider side that can pay (or forge) what it created."""

    gateway: PaymentGateway
    pay: Callable[[str, datetime], RawCallback]
    forge: Callable[[str, datetime], RawCallback]
    open: Callable[[Any], None] = lambda instructions: None
    refund_ref: str = "14000001"
    queried_outcome_after_pay: PaymentOutcome = PaymentOutcome.SUCCEEDED


class PayGovPortal:
    """A minimal PayGov-style portal for the experimental adapter's lookup calls."""

    def __init__(self, config: PayGovConfig) -> None:
        self.config = config
        self.paid: dict[str, int] = {}

    def notify(self, ref: str, at: datetime, secret: str | None = None) -> dict[str, str]:
        values = {"merchantCode": self.config.merchant_code, "orderId": ref,
                  "amount": str(self.paid.setdefault(ref, AMOUNT)), "currency": "VND",
                  "transactionId": "PG1", "status": "00",
                  "paidAt": at.astimezone(UTC).strftime("%Y%m%d%H%M%S")}
        values["checksum"] = paygov.checksum(values, self.config.notify_fields,
                                             secret or self.config.secrets.primary)
        return values

    def post_json(self, url: str, payload: Mapping[str, Any]) -> HttpResponse:
        ref = str(payload["orderId"])
        answer = {"merchantCode": self.config.merchant_code, "orderId": ref,
                  "amount": str(self.paid.get(ref, AMOUNT)), "transactionId": "PG1",
                  "status": "00" if ref in self.paid else "01", "paidAt": ""}
        answer["checksum"] = paygov.checksum(answer, self.config.lookup_response_fields,
                                             self.config.secrets.primary)
        return HttpResponse(status=200, body=json.dumps(answer).encode())

    def post_form(self, url: str, fields: Mapping[str, str]) -> HttpResponse:
        return HttpResponse(status=404)


def vnpay_harness() -> Harness:
    service = FakeProviderService(vnpay_config=demo_vnpay_config())
    assert service.vnpay_config is not None
    gateway = VnpayGateway(service.vnpay_config, transport=service)
    return Harness(gateway=gateway,
                   pay=lambda ref, at: service.success(ref, at=at).payload,
                   forge=lambda ref, at: service.forged(ref, at=at).payload,
                   open=service.open)


def momo_harness() -> Harness:
    service = FakeProviderService(momo_config=demo_momo_config())
    assert service.momo_config is not None
    gateway = MomoGateway(service.momo_config, transport=service)
    return Harness(gateway=gateway,
                   pay=lambda ref, at: service.success(ref, at=at).payload,
                   forge=lambda ref, at: service.forged(ref, at=at).payload)


def vietqr_harness() -> Harness:
    service = FakeProviderService(vietqr_config=demo_vietqr_config())
    assert service.vietqr_config is not None
    return Harness(gateway=VietQrGateway(service.vietqr_config),
                   pay=lambda ref, at: service.success(ref, at=at).payload,
                   forge=lambda ref, at: service.forged(ref, at=at).payload,
                   open=service.open,
                   queried_outcome_after_pay=PaymentOutcome.NOT_FOUND)


def counter_harness() -> Harness:
    def pay(ref: str, at: datetime) -> RawCallback:
        return counter.confirmation(order_ref=ref, amount=AMOUNT, method="cash",
                                    confirmed_by="nv01", receipt_ref="SQ-0001", paid_at=at)

    def forge(ref: str, at: datetime) -> RawCallback:
        return {"order_ref": ref, "amount": str(AMOUNT), "method": "cheque"}

    return Harness(gateway=CounterGateway(agency_name="UBND xã Demo"), pay=pay, forge=forge,
                   queried_outcome_after_pay=PaymentOutcome.NOT_FOUND)


def paygov_harness() -> Harness:
    config = PayGovConfig(merchant_code="DVC001", secrets=SecretPair(primary="pg-secret"),
                          portal_url="https://paygov.fake.invalid/pay",
                          lookup_url="https://paygov.fake.invalid/lookup")
    portal = PayGovPortal(config)
    return Harness(gateway=PayGovGateway(config, transport=portal),
                   pay=lambda ref, at: portal.notify(ref, at),
                   forge=lambda ref, at: portal.notify(ref, at, secret="not-ours"))


def fake_harness() -> Harness:
    gateway = FakeGateway()
    return Harness(gateway=gateway,
                   pay=lambda ref, at: gateway.service.success(ref, at=at).payload,
                   forge=lambda ref, at: gateway.service.forged(ref, at=at).payload)


HARNESSES = {"vnpay": vnpay_harness, "momo": momo_harness, "vietqr": vietqr_harness,
             "counter": counter_harness, "paygov": paygov_harness, "fake": fake_harness}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Harness:
    return HARNESSES[request.param]()


def paid(harness: Harness) -> RawCallback:
    harness.open(harness.gateway.create(request()))
    return harness.pay(REF, NOW + timedelta(minutes=2))


def test_every_gateway_implements_the_port(harness: Harness) -> None:
    assert isinstance(harness.gateway, PaymentGateway)
    assert harness.gateway.name


def test_create_says_how_to_pay_the_exact_amount(harness: Harness) -> None:
    instructions = harness.gateway.create(request())
    assert instructions.provider == harness.gateway.name
    assert (instructions.order_ref, instructions.amount) == (REF, AMOUNT)
    assert instructions.expires_at == NOW + timedelta(minutes=15)
    assert instructions.redirect_url or instructions.qr_payload \
        or instructions.counter_instructions


def test_a_genuine_success_callback_parses_to_our_order_and_amount(harness: Harness) -> None:
    parsed = harness.gateway.parse_callback(paid(harness))
    assert parsed.succeeded
    assert (parsed.provider, parsed.order_ref, parsed.amount) == (
        harness.gateway.name, REF, AMOUNT)
    assert parsed.merchant_id
    assert parsed.paid_at is None or parsed.paid_at.utcoffset() is not None


def test_a_forged_callback_is_rejected(harness: Harness) -> None:
    harness.open(harness.gateway.create(request()))
    with pytest.raises(CallbackVerificationError):
        harness.gateway.parse_callback(harness.forge(REF, NOW))


def test_garbage_is_a_verification_error_not_a_crash(harness: Harness) -> None:
    with pytest.raises(CallbackVerificationError):
        harness.gateway.parse_callback(b"\xff\xfe not a callback")


@pytest.mark.parametrize("verdict", list(CallbackVerdict))
def test_every_verdict_has_an_http_reply(harness: Harness, verdict: CallbackVerdict) -> None:
    reply = harness.gateway.reply(verdict)
    assert 200 <= reply.status < 600
    if verdict in (CallbackVerdict.CONFIRMED, CallbackVerdict.ALREADY_PROCESSED):
        assert 200 <= reply.status < 300


def test_query_answers_with_a_status_for_the_order(harness: Harness) -> None:
    parsed = harness.gateway.parse_callback(paid(harness))
    status = harness.gateway.query(StatusQuery(
        order_ref=REF, request_id="Q0001", payment_created_at=NOW,
        requested_at=NOW + timedelta(minutes=20)))
    assert isinstance(status, PaymentStatus)
    assert status.order_ref == REF
    assert status.outcome is harness.queried_outcome_after_pay
    if status.outcome is PaymentOutcome.SUCCEEDED:
        assert status.amount == AMOUNT
        assert status.provider_ref == parsed.provider_ref


def test_refund_of_part_of_a_payment_gets_an_answer(harness: Harness) -> None:
    parsed = harness.gateway.parse_callback(paid(harness))
    result = harness.gateway.refund(RefundRequest(
        order_ref=REF, refund_ref="RF0001", amount=20_000, paid_amount=AMOUNT,
        provider_ref=parsed.provider_ref, payment_created_at=NOW,
        requested_at=NOW + timedelta(days=1), requested_by="nv01", reason="Tu choi ho so"))
    assert isinstance(result, RefundResult)
    assert (result.refund_ref, result.amount) == ("RF0001", 20_000)


def test_refunding_more_than_was_paid_is_not_allowed() -> None:
    with pytest.raises(RefundNotAllowed):
        RefundRequest(order_ref=REF, refund_ref="RF0002", amount=40_000, paid_amount=AMOUNT,
                      refunded_before=20_000, provider_ref="1", payment_created_at=NOW,
                      requested_at=NOW, requested_by="nv01")


def test_no_gateway_shows_its_secret_in_repr(harness: Harness) -> None:
    text = repr(harness.gateway) + repr(getattr(harness.gateway, "config", ""))
    for secret in ("fake-vnpay-secret", "fake-momo-secret", "fake-bank-secret", "pg-secret"):
        assert secret not in text
