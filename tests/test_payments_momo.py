"""MoMo AIO v2 captureWallet: raw-signature layouts, IPN verification, rotation, 204."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dossier.errors import CallbackVerificationError, InvalidInput
from dossier.payments import (
    CallbackVerdict,
    FakeProviderService,
    MomoConfig,
    MomoGateway,
    PaymentOutcome,
    PaymentRequest,
    RefundRequest,
    SecretPair,
    momo,
)
from dossier.payments.fake import demo_momo_config

FAST = settings(max_examples=60, deadline=None)
NOW = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
REF = "0000012H122601050001P01"


def request() -> PaymentRequest:
    return PaymentRequest(order_ref=REF, amount=50_000, description="Lệ phí hồ sơ",
                          created_at=NOW, expires_at=NOW + timedelta(minutes=15),
                          return_url="https://dossier.example/return")


def test_create_signature_covers_the_documented_fields_in_order() -> None:
    # SELF-COMPUTED vector (MoMo publishes no secret for its examples).
    body = MomoGateway(demo_momo_config()).create_body(request())
    raw = ("accessKey=fake-access-key&amount=50000&extraData="
           "&ipnUrl=https://dossier.example/payments/momo/ipn&orderId=0000012H122601050001P01"
           "&orderInfo=Le phi ho so&partnerCode=FAKEMOMO&redirectUrl=https://dossier.example/"
           "return&requestId=0000012H122601050001P01&requestType=captureWallet")
    assert momo.raw_signature({**body, "accessKey": "fake-access-key"},
                              momo.CREATE_FIELDS) == raw
    assert body["signature"] == hmac.new(b"fake-momo-secret", raw.encode(),
                                         hashlib.sha256).hexdigest()
    assert body["signature"] == "318bab301b29d5640fb99b9a6f3a5b291a0eb188c2820ce99fddb7f08cf9a5b5"
    assert "accessKey" not in body  # signed over, never sent


def test_query_and_refund_signatures_use_their_own_field_lists() -> None:
    values = {"accessKey": "A", "orderId": "O", "partnerCode": "P", "requestId": "R",
              "amount": 1000, "description": "", "transId": 42}
    assert momo.raw_signature(values, momo.QUERY_FIELDS) == \
        "accessKey=A&orderId=O&partnerCode=P&requestId=R"
    assert momo.raw_signature(values, momo.REFUND_FIELDS) == \
        "accessKey=A&amount=1000&description=&orderId=O&partnerCode=P&requestId=R&transId=42"


def ipn(config: MomoConfig, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "partnerCode": config.partner_code, "orderId": REF, "requestId": REF, "amount": 50000,
        "orderInfo": "Le phi ho so", "orderType": "momo_wallet", "transId": 4088878653,
        "resultCode": 0, "message": "Successful.", "payType": "qr",
        "responseTime": 1767582120000, "extraData": "", **changes}
    body["signature"] = momo.sign({**body, "accessKey": config.access_key}, momo.IPN_FIELDS,
                                  config.secrets.primary)
    return body


def test_ipn_body_parses() -> None:
    config = demo_momo_config()
    parsed = MomoGateway(config).parse_callback(json.dumps(ipn(config)).encode())
    assert parsed.succeeded
    assert (parsed.order_ref, parsed.amount, parsed.provider_ref, parsed.method) == (
        REF, 50_000, "4088878653", "qr")
    assert parsed.paid_at == datetime.fromtimestamp(1767582120, tz=UTC)


@pytest.mark.parametrize(("code", "outcome"), [(1006, PaymentOutcome.FAILED),
                                               (9000, PaymentOutcome.PENDING),
                                               (1000, PaymentOutcome.PENDING)])
def test_result_codes_map_to_outcomes(code: int, outcome: PaymentOutcome) -> None:
    config = demo_momo_config()
    assert MomoGateway(config).parse_callback(ipn(config, resultCode=code)).outcome is outcome


IPN_FIELDS = [name for name in momo.IPN_FIELDS if name != "accessKey"]


@FAST
@given(field=st.sampled_from(IPN_FIELDS),
       value=st.one_of(st.text(max_size=20), st.integers(0, 10**12)))
def test_changing_any_single_signed_field_is_rejected(field: str, value: Any) -> None:
    config = demo_momo_config()
    body = ipn(config)
    if str(body[field]) == str(value):
        return
    body[field] = value
    with pytest.raises(CallbackVerificationError):
        MomoGateway(config).parse_callback(json.dumps(body).encode())


def test_a_correctly_signed_ipn_for_another_partner_is_rejected() -> None:
    config = demo_momo_config()
    with pytest.raises(CallbackVerificationError, match="partner"):
        MomoGateway(config).parse_callback(ipn(config, partnerCode="OTHER"))


def test_rotation_accepts_the_previous_secret() -> None:
    old = demo_momo_config()
    new = MomoConfig(partner_code=old.partner_code, access_key=old.access_key,
                     ipn_url=old.ipn_url, endpoint=old.endpoint,
                     secrets=SecretPair(primary="rotated", previous=old.secrets.primary))
    assert MomoGateway(new).parse_callback(ipn(old)).succeeded
    assert MomoGateway(new).create_body(request())["signature"] != \
        MomoGateway(old).create_body(request())["signature"]


def test_ipn_is_answered_with_204_no_content() -> None:
    reply = MomoGateway(demo_momo_config()).reply(CallbackVerdict.CONFIRMED)
    assert (reply.status, reply.body) == (204, b"")
    assert MomoGateway(demo_momo_config()).reply(CallbackVerdict.ALREADY_PROCESSED).status == 204


def test_create_through_the_fake_returns_the_pay_url() -> None:
    service = FakeProviderService(momo_config=demo_momo_config())
    gateway = MomoGateway(demo_momo_config(), transport=service)
    instructions = gateway.create(request())
    assert instructions.redirect_url == f"https://momo.fake.invalid/pay/{REF}"
    assert instructions.provider_ref == REF


def test_the_fake_refuses_a_create_signed_with_another_secret() -> None:
    service = FakeProviderService(momo_config=demo_momo_config())
    other = MomoConfig(partner_code="FAKEMOMO", access_key="fake-access-key",
                       secrets=SecretPair(primary="wrong"), ipn_url="https://x.example/ipn",
                       endpoint="https://momo.fake.invalid")
    with pytest.raises(Exception, match="resultCode 13"):
        MomoGateway(other, transport=service).create(request())


def test_refund_needs_momo_trans_id() -> None:
    with pytest.raises(InvalidInput, match="transId"):
        MomoGateway(demo_momo_config()).refund_body(RefundRequest(
            order_ref=REF, refund_ref="RF1", amount=1000, paid_amount=50_000,
            provider_ref="not-a-number", payment_created_at=NOW, requested_at=NOW,
            requested_by="nv01"))
