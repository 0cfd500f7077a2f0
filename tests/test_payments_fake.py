"""The fake provider's scenarios, the counter and the experimental PayGov adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dossier.errors import CallbackVerificationError, InvalidInput, PaymentError
from dossier.payments import (
    CounterGateway,
    FakeGateway,
    FakeProviderService,
    MomoGateway,
    PayGovConfig,
    PayGovGateway,
    PaymentOutcome,
    PaymentRequest,
    SecretPair,
    counter,
    make_order_ref,
    paygov,
)
from dossier.payments.fake import demo_momo_config

NOW = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
REF = make_order_ref("000.00.12.H12-260105-0001", 1)


def request(amount: int = 50_000) -> PaymentRequest:
    return PaymentRequest(order_ref=REF, amount=amount, description="Le phi ho so",
                          created_at=NOW, expires_at=NOW + timedelta(minutes=15),
                          return_url="https://dossier.example/return")


@pytest.fixture
def fake() -> FakeGateway:
    gateway = FakeGateway()
    gateway.create(request())
    return gateway


def test_a_duplicate_is_the_same_callback_again(fake: FakeGateway) -> None:
    first = fake.service.success(REF, at=NOW)
    again = fake.service.replay(REF)
    assert again.payload == first.payload
    assert fake.parse_callback(again.payload).dedup_key == \
        fake.parse_callback(first.payload).dedup_key


def test_out_of_order_delivers_the_success_before_the_older_failure(fake: FakeGateway) -> None:
    late, early = fake.service.out_of_order(REF, at=NOW)
    assert fake.parse_callback(late.payload).outcome is PaymentOutcome.SUCCEEDED
    assert fake.parse_callback(early.payload).outcome is PaymentOutcome.FAILED


def test_a_late_success_is_paid_after_expiry(fake: FakeGateway) -> None:
    parsed = fake.parse_callback(fake.service.late_success(REF).payload)
    assert parsed.succeeded
    assert parsed.paid_at is not None
    assert parsed.paid_at > NOW + timedelta(minutes=15)


def test_a_wrong_amount_is_signed_correctly(fake: FakeGateway) -> None:
    parsed = fake.parse_callback(fake.service.wrong_amount(REF, at=NOW, amount=5_000).payload)
    assert parsed.amount == 5_000


def test_a_forged_callback_fails_verification(fake: FakeGateway) -> None:
    with pytest.raises(CallbackVerificationError):
        fake.parse_callback(fake.service.forged(REF, at=NOW).payload)


def test_a_failure_is_a_failed_outcome(fake: FakeGateway) -> None:
    assert fake.parse_callback(fake.service.failure(REF, at=NOW).payload).outcome \
        is PaymentOutcome.FAILED


def test_callbacks_need_an_opened_payment() -> None:
    with pytest.raises(InvalidInput, match="open"):
        FakeGateway().service.success("NOPE01", at=NOW)


def test_the_fake_refuses_a_tampered_payment_url() -> None:
    gateway = FakeGateway()
    instructions = gateway._inner.create(request())
    tampered = instructions.__class__(**{**instructions.__dict__, "redirect_url": (
        instructions.redirect_url or "").replace("vnp_Amount=5000000", "vnp_Amount=500000")})
    with pytest.raises(PaymentError, match="SecureHash"):
        gateway.service.open(tampered)


def test_momo_callbacks_from_the_fake_are_json_with_a_valid_signature() -> None:
    service = FakeProviderService(momo_config=demo_momo_config())
    gateway = MomoGateway(demo_momo_config(), transport=service)
    gateway.create(request())
    body = service.success(REF, at=NOW).payload
    assert isinstance(body, bytes)
    assert gateway.parse_callback(body).paid_at == NOW


@pytest.mark.parametrize(("changes", "problem"), [
    ({"method": "cheque"}, "method"), ({"amount": "0"}, "amount"),
    ({"confirmed_by": ""}, "clerk"), ({"method": "pos", "receipt_ref": ""}, "POS slip"),
    ({"paid_at": "2026-01-05T10:00:00"}, "UTC offset"),
])
def test_counter_confirmation_must_be_complete(changes: dict[str, str], problem: str) -> None:
    values = {**counter.confirmation(order_ref=REF, amount=50_000, method="cash",
                                     confirmed_by="nv01"), **changes}
    with pytest.raises(CallbackVerificationError, match=problem):
        CounterGateway().parse_callback(values)


def test_counter_records_method_receipt_and_clerk() -> None:
    parsed = CounterGateway().parse_callback(counter.confirmation(
        order_ref=REF, amount=50_000, method="pos", confirmed_by="nv01",
        receipt_ref="POS-778899", paid_at=NOW))
    assert (parsed.method, parsed.provider_ref, parsed.merchant_id) == (
        "pos", "POS-778899", "nv01")


def test_paygov_checksum_is_sha256_of_pipe_joined_fields_and_secret() -> None:
    # SELF-COMPUTED vector of our reading of the (unconfirmed) layout.
    import hashlib
    values = {"a": "1", "b": None, "c": "x y"}
    assert paygov.checksum(values, ("a", "b", "c"), "s") == \
        hashlib.sha256(b"1||x y|s").hexdigest()


def test_paygov_bill_is_signed_and_marked_experimental() -> None:
    config = PayGovConfig(merchant_code="DVC001", secrets=SecretPair(primary="pg"),
                          portal_url="https://paygov.fake.invalid/pay",
                          lookup_url="https://paygov.fake.invalid/lookup")
    gateway = PayGovGateway(config)
    bill = gateway.bill(request())
    assert bill["checksum"] == paygov.checksum(bill, config.bill_fields, "pg")
    assert "EXPERIMENTAL" in (paygov.__doc__ or "")
    assert "EXPERIMENTAL" in repr(gateway)


def test_momo_late_success_uses_the_expiry_of_the_instructions() -> None:
    service = FakeProviderService(momo_config=demo_momo_config())
    gateway = MomoGateway(demo_momo_config(), transport=service)
    service.open(gateway.create(request()))
    parsed = gateway.parse_callback(service.late_success(REF).payload)
    assert parsed.paid_at == NOW + timedelta(minutes=20)
