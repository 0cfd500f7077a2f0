"""Payments in the engine: attempts, verified callbacks completing ``pay``, fees paid ahead,
replays and forgeries, the counter, refunds, receipts, the mop-up job and reconciliation —
through the real VNPay, MoMo and VietQR adapters talking to the in-process fake provider."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dossier import Actor, Engine
from dossier.cli import main
from dossier.errors import (
    DocumentError,
    GuardFailed,
    IdempotencyConflict,
    InvalidInput,
    PaymentError,
    PermissionDenied,
    RefundNotAllowed,
    TransitionNotAllowed,
)
from dossier.payments import (
    CallbackReply,
    CounterGateway,
    FakeProviderService,
    IssuedReceipt,
    LocalReceiptIssuer,
    MomoGateway,
    PaymentRequest,
    Receipt,
    SecretPair,
    VietQrGateway,
    VnpayGateway,
    vietqr,
)
from dossier.payments.base import CollectsFor
from dossier.payments.crypto import GMT7
from dossier.payments.fake import demo_momo_config, demo_vietqr_config, demo_vnpay_config
from dossier.payments.registry import GatewayRegistry
from dossier.payments.service import ReceiptSettings, instructions
from dossier.records import Payment
from dossier.testing import FrozenClock
from dossier.worker import Worker
from tests.conftest import AGENCY, make_procedure

PROCEDURE = "9.100001"
FEE = 200_000
RETURN_URL = "https://dichvucong.example/thanh-toan/ket-qua"


@pytest.fixture
def service() -> FakeProviderService:
    return FakeProviderService(vnpay_config=demo_vnpay_config(),
                               momo_config=demo_momo_config(),
                               vietqr_config=demo_vietqr_config())


@pytest.fixture
def engine(db_url: str, clock: FrozenClock, service: FakeProviderService) -> Iterator[Engine]:
    assert service.vnpay_config is not None
    assert service.momo_config is not None
    assert service.vietqr_config is not None
    eng = Engine(db_url, clock=clock, gateways=[
        VnpayGateway(service.vnpay_config, transport=service),
        MomoGateway(service.momo_config, transport=service),
        VietQrGateway(service.vietqr_config)])
    eng.register(make_procedure(PROCEDURE, ["receive", "pay", "process", "sign", "return"],
                                fee=FEE))
    eng.register(make_procedure("9.100002", ["receive", "process", "return"]))
    yield eng
    eng.close()


@pytest.fixture
def other_clerk() -> Actor:
    return Actor(id="nv99", role="clerk", agency="000.00.99.H99")


def submitted(engine: Engine, citizen: Actor, procedure: str = PROCEDURE) -> str:
    return engine.submit(procedure, applicant={"name": "Nguyễn Thị Bình"}, channel="online",
                         actor=citizen, agency=AGENCY).code


def awaiting_payment(engine: Engine, citizen: Actor, clerk: Actor) -> str:
    code = submitted(engine, citizen)
    assert engine.fire(code, "receive", actor=clerk).state == "awaiting_payment"
    return code


def opened(engine: Engine, service: FakeProviderService, code: str, actor: Actor,
           provider: str = "vnpay", **options: Any) -> Payment:
    payment = engine.request_payment(code, provider, actor=actor, return_url=RETURN_URL,
                                     **options)
    service.open(instructions(payment))  # the citizen follows the link / scans the code
    return payment


def deliver(engine: Engine, provider: str, payload: Any) -> dict[str, Any]:
    reply: CallbackReply = engine.handle_payment_callback(provider, payload)
    return json.loads(reply.body) if reply.body else {"status": reply.status}


def snapshot(engine: Engine, code: str) -> tuple[Any, ...]:
    return engine.get(code), engine.history(code), engine.payments(code)


# --- online payments --------------------------------------------------------------------------

def test_an_online_payment_completes_pay_and_issues_a_receipt(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        clock: FrozenClock) -> None:
    code = awaiting_payment(engine, citizen, clerk)
    payment = opened(engine, service, code, citizen)
    assert payment.state == "pending"
    assert payment.amount == FEE
    assert payment.order_ref == "0000012H122509080001P01"
    assert payment.redirect_url is not None
    assert "vnp_Amount=20000000" in payment.redirect_url
    assert payment.expires_at == clock.now() + timedelta(minutes=15)

    clock.advance(timedelta(minutes=2))
    callback = service.success(payment.order_ref, at=clock.now())
    assert deliver(engine, "vnpay", callback.payload) == {"RspCode": "00",
                                                          "Message": "Confirm Success"}

    dossier = engine.get(code)
    assert dossier.state == "processing"
    assert dossier.paid_amount == FEE
    pay = engine.history(code)[-1]
    assert (pay.trigger, pay.actor, pay.role, pay.on_behalf_of) == \
        ("pay", "system", "system", citizen.id)
    assert pay.data["method"] == "online"
    [paid] = engine.payments(code)
    assert pay.data["reference"] == paid.provider_ref
    assert paid.state == "succeeded"
    assert paid.consumed_at == paid.paid_at == clock.now()
    [receipt] = engine.receipts(code)
    assert (receipt.series, receipt.number, receipt.amount) == ("AA-25E", 1, FEE)
    assert receipt.issued_at is not None
    assert receipt.html is not None
    assert "Hai trăm nghìn đồng" in receipt.html
    assert code in receipt.html


def test_momo_pays_at_submission_and_pay_completes_when_the_dossier_gets_there(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        clock: FrozenClock) -> None:
    code = submitted(engine, citizen)
    payment = opened(engine, service, code, citizen, provider="momo")
    assert payment.provider_ref == payment.order_ref
    reply = engine.handle_payment_callback(
        "momo", service.success(payment.order_ref, at=clock.now()).payload)
    assert reply.status == 204
    assert engine.get(code).state == "awaiting_reception"
    [paid] = engine.payments(code)
    assert paid.state == "succeeded"
    assert paid.consumed_at is None
    assert len(engine.receipts(code)) == 1

    clock.advance(timedelta(hours=1))
    after = engine.fire(code, "receive", actor=clerk)
    assert after.state == "processing"
    assert after.paid_amount == FEE
    receive, pay = engine.history(code)[-2:]
    assert (receive.trigger, receive.target) == ("receive", "awaiting_payment")
    assert (pay.trigger, pay.actor, pay.on_behalf_of, pay.at) == \
        ("pay", "system", citizen.id, clock.now())
    assert engine.payments(code)[0].consumed_at == clock.now()
    assert engine.verify_audit(code)
    with pytest.raises(TransitionNotAllowed, match="already paid"):
        engine.request_payment(code, "vnpay", actor=citizen, return_url=RETURN_URL)


def test_a_replayed_callback_is_answered_as_processed_and_changes_nothing(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        clock: FrozenClock) -> None:
    code = awaiting_payment(engine, citizen, clerk)
    payment = opened(engine, service, code, citizen)
    deliver(engine, "vnpay", service.success(payment.order_ref, at=clock.now()).payload)
    before = snapshot(engine, code)
    clock.advance(timedelta(minutes=5))
    replay = service.replay(payment.order_ref).payload
    assert deliver(engine, "vnpay", replay)["RspCode"] == "02"
    assert deliver(engine, "vnpay", replay)["RspCode"] == "02"
    assert snapshot(engine, code) == before
    assert len(engine.receipts(code)) == 1
    verdicts = [c.verdict for c in engine.payment_callbacks(order_ref=payment.order_ref)]
    assert verdicts == ["confirmed", "already_processed", "already_processed"]


def test_forged_unknown_and_wrong_amount_callbacks_change_nothing_and_wait_for_review(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        clock: FrozenClock) -> None:
    code = awaiting_payment(engine, citizen, clerk)
    payment = opened(engine, service, code, citizen)
    before = snapshot(engine, code)

    forged = service.forged(payment.order_ref, at=clock.now()).payload
    assert deliver(engine, "vnpay", forged)["RspCode"] == "97"
    stranger = VnpayGateway(demo_vnpay_config(), transport=service).create(PaymentRequest(
        order_ref="SOMEONEELSEP01", amount=FEE, description="not ours", created_at=clock.now(),
        expires_at=clock.now() + timedelta(minutes=15), return_url=RETURN_URL))
    service.open(stranger)
    unknown = service.success("SOMEONEELSEP01", at=clock.now()).payload
    assert deliver(engine, "vnpay", unknown)["RspCode"] == "01"
    wrong = service.wrong_amount(payment.order_ref, at=clock.now(), amount=2_000).payload
    assert deliver(engine, "vnpay", wrong)["RspCode"] == "04"
    assert deliver(engine, "vnpay", b"not a callback at all")["RspCode"] == "97"

    assert snapshot(engine, code) == before
    review = engine.payment_callbacks(review=True)
    assert [c.verdict for c in review] == ["invalid_signature", "order_not_found",
                                           "amount_mismatch", "invalid_signature"]
    assert "2000 VND" in review[2].reason
    assert json.loads(review[0].raw)["vnp_TxnRef"] == payment.order_ref

    # none of it blocks the genuine success that follows
    genuine = service.success(payment.order_ref, at=clock.now()).payload
    assert deliver(engine, "vnpay", genuine)["RspCode"] == "00"
    assert engine.get(code).state == "processing"


def test_a_failure_marks_the_attempt_failed_and_a_new_attempt_can_pay(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        clock: FrozenClock) -> None:
    code = awaiting_payment(engine, citizen, clerk)
    first = opened(engine, service, code, citizen)
    assert deliver(engine, "vnpay", service.failure(first.order_ref,
                                                    at=clock.now()).payload)["RspCode"] == "00"
    assert engine.payments(code)[0].state == "failed"
    assert engine.get(code).state == "awaiting_payment"
    second = opened(engine, service, code, citizen)
    assert second.order_ref.endswith("P02")
    late, early = service.out_of_order(second.order_ref, at=clock.now())
    assert deliver(engine, "vnpay", late.payload)["RspCode"] == "00"
    assert deliver(engine, "vnpay", early.payload)["RspCode"] == "02"  # older news: ignored
    assert [p.state for p in engine.payments(code)] == ["failed", "succeeded"]
    assert engine.get(code).state == "processing"


def test_paying_twice_puts_the_second_payment_under_review(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        clock: FrozenClock) -> None:
    code = awaiting_payment(engine, citizen, clerk)
    first = opened(engine, service, code, citizen)
    second = opened(engine, service, code, citizen)
    deliver(engine, "vnpay", service.success(first.order_ref, at=clock.now()).payload)
    assert engine.payments(code)[1].state == "cancelled"     # paid: other attempts end
    deliver(engine, "vnpay", service.success(second.order_ref, at=clock.now()).payload)
    states = [(p.state, p.review_reason) for p in engine.payments(code)]
    assert states[0] == ("succeeded", None)
    assert states[1][0] == "needs_review"
    assert "cancelled" in (states[1][1] or "")
    assert engine.get(code).paid_amount == FEE
    assert len(engine.receipts(code)) == 1

    refund = engine.refund(code, actor=clerk, reason="Nộp trùng", idempotency_key="dup-1")
    assert (refund.order_ref, refund.amount, refund.state) == (second.order_ref, FEE,
                                                               "refunded")
    assert engine.payments(code)[1].state == "refunded"
    with pytest.raises(RefundNotAllowed, match="processing"):
        engine.refund(code, actor=clerk, reason="again", idempotency_key="dup-2")


def test_vietqr_credits_are_matched_on_the_memo(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        clock: FrozenClock) -> None:
    code = awaiting_payment(engine, citizen, clerk)
    payment = opened(engine, service, code, citizen, provider="vietqr")
    assert payment.qr_payload is not None
    assert vietqr.parse_payload(payment.qr_payload).memo == payment.order_ref
    assert payment.method == "transfer"
    # the bank mangled the memo: no order reference survives whole, the dossier code does
    data = {"accountNumber": "0011001932418", "amount": FEE, "currency": "VND",
            "description": "MBVCB.9921.0000012H12-250908-0001 P01.CT tu 0123",
            "reference": "FT25251000001", "transactionDateTime": "2025-09-08 09:05:00"}
    body = json.dumps({"data": data, "signature": vietqr.sign_notification(
        data, "fake-bank-secret")}).encode()
    assert deliver(engine, "vietqr", body) == {"success": True}
    assert engine.get(code).state == "processing"
    pay = engine.history(code)[-1]
    assert (pay.data["method"], pay.data["reference"]) == ("transfer", "FT25251000001")


# --- idempotency ------------------------------------------------------------------------------

def test_the_same_idempotency_key_returns_the_same_payment(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor) -> None:
    code = awaiting_payment(engine, citizen, clerk)
    first = engine.request_payment(code, "vnpay", actor=citizen, return_url=RETURN_URL,
                                   idempotency_key="k-1")
    again = engine.request_payment(code, "vnpay", actor=citizen, return_url=RETURN_URL,
                                   idempotency_key="k-1")
    assert again == first
    assert len(engine.payments(code)) == 1
    with pytest.raises(IdempotencyConflict):
        engine.request_payment(code, "momo", actor=citizen, return_url=RETURN_URL,
                               idempotency_key="k-1")
    other = engine.submit(PROCEDURE, applicant={"name": "B"}, channel="online", actor=citizen,
                          agency=AGENCY, fee_basis={"copies": 3})
    assert other.fee_due == FEE  # flat fee, no extra copies in this test procedure
    before = snapshot(engine, other.code)
    with pytest.raises(IdempotencyConflict, match="another"):
        engine.request_payment(other.code, "vnpay", actor=citizen, return_url=RETURN_URL,
                               idempotency_key="k-1")
    assert snapshot(engine, other.code) == before


def test_a_reused_key_with_another_amount_is_a_conflict(
        engine: Engine, citizen: Actor, clerk: Actor) -> None:
    code = awaiting_payment(engine, citizen, clerk)
    engine.confirm_counter_payment(code, actor=clerk, amount=FEE, idempotency_key="till-7")
    assert engine.confirm_counter_payment(code, actor=clerk, amount=FEE,
                                          idempotency_key="till-7").state == "succeeded"
    with pytest.raises(IdempotencyConflict):
        engine.confirm_counter_payment(code, actor=clerk, amount=FEE + 5_000,
                                       idempotency_key="till-7")
    assert len(engine.payments(code)) == 1


# --- the counter ------------------------------------------------------------------------------

def test_a_counter_payment_is_paid_by_the_clerk(
        engine: Engine, citizen: Actor, clerk: Actor) -> None:
    code = awaiting_payment(engine, citizen, clerk)
    asked = engine.request_payment(code, "counter", actor=citizen)
    assert asked.counter_instructions is not None
    assert asked.order_ref in asked.counter_instructions
    paid = engine.confirm_counter_payment(code, actor=clerk, amount=FEE, method="pos",
                                          reference="POS-000123")
    assert (paid.order_ref, paid.state, paid.method) == (asked.order_ref, "succeeded", "pos")
    pay = engine.history(code)[-1]
    assert (pay.trigger, pay.actor, pay.role) == ("pay", clerk.id, "clerk")
    assert (pay.data["method"], pay.data["reference"]) == ("pos", "POS-000123")
    [receipt] = engine.receipts(code)
    assert receipt.payment_method == "pos"
    assert receipt.html is not None
    assert "Thẻ (POS)" in receipt.html
    assert engine.payment_summary().online_rate == 0.0


@pytest.mark.parametrize(("options", "error"), [
    ({"amount": FEE - 1}, GuardFailed),
    ({"amount": FEE, "method": "pos"}, InvalidInput),          # a POS slip number is needed
    ({"amount": FEE, "method": "cheque"}, InvalidInput),
    ({"amount": FEE, "reference": " "}, InvalidInput),
])
def test_a_bad_counter_confirmation_changes_nothing(
        engine: Engine, citizen: Actor, clerk: Actor, options: dict[str, Any],
        error: type[Exception]) -> None:
    code = awaiting_payment(engine, citizen, clerk)
    before = snapshot(engine, code)
    with pytest.raises(error):
        engine.confirm_counter_payment(code, actor=clerk, **options)
    assert snapshot(engine, code) == before


# --- who may do what --------------------------------------------------------------------------

def test_only_the_owner_or_the_agency_may_open_or_confirm_payments(
        engine: Engine, citizen: Actor, clerk: Actor, other_clerk: Actor,
        specialist: Actor) -> None:
    code = awaiting_payment(engine, citizen, clerk)
    before = snapshot(engine, code)
    stranger = Actor(id="cd02", role="citizen")
    for actor in (stranger, other_clerk):
        with pytest.raises(PermissionDenied):
            engine.request_payment(code, "vnpay", actor=actor, return_url=RETURN_URL)
        with pytest.raises(PermissionDenied):
            engine.confirm_counter_payment(code, actor=actor, amount=FEE)
    for actor in (citizen, specialist):
        with pytest.raises(PermissionDenied, match="counter"):
            engine.confirm_counter_payment(code, actor=actor, amount=FEE)
    assert snapshot(engine, code) == before
    assert engine.request_payment(code, "vnpay", actor=clerk,
                                  return_url=RETURN_URL).requested_by == clerk.id


def test_payment_requests_are_validated(engine: Engine, service: FakeProviderService,
                                        citizen: Actor, clerk: Actor) -> None:
    code = awaiting_payment(engine, citizen, clerk)
    with pytest.raises(InvalidInput, match="unknown payment provider"):
        engine.request_payment(code, "paypal", actor=citizen)
    with pytest.raises(InvalidInput, match="expires_in"):
        engine.request_payment(code, "vnpay", actor=citizen, expires_in=timedelta(0))
    with pytest.raises(InvalidInput, match="idempotency_key"):
        engine.request_payment(code, "vnpay", actor=citizen, idempotency_key=" x")
    with pytest.raises(InvalidInput, match="return_url"):   # VNPay needs one
        engine.request_payment(code, "vnpay", actor=citizen)
    assert [p.state for p in engine.payments(code)] == ["failed"]
    free = engine.submit("9.100002", applicant={"name": "C"}, channel="online", actor=citizen,
                         agency=AGENCY)
    with pytest.raises(InvalidInput, match="no pay step"):
        engine.request_payment(free.code, "vnpay", actor=citizen, return_url=RETURN_URL)


# --- refunds ----------------------------------------------------------------------------------

def paid_online(engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
                clock: FrozenClock) -> tuple[str, Payment]:
    code = awaiting_payment(engine, citizen, clerk)
    payment = opened(engine, service, code, citizen)
    deliver(engine, "vnpay", service.success(payment.order_ref, at=clock.now()).payload)
    return code, payment


def test_a_withdrawn_dossier_is_refunded_in_parts_never_more_than_paid(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        leader: Actor, clock: FrozenClock) -> None:
    code, payment = paid_online(engine, service, citizen, clerk, clock)
    with pytest.raises(RefundNotAllowed, match="processing"):
        engine.refund(code, actor=leader, reason="Rút", idempotency_key="r-0")
    engine.fire(code, "withdraw", actor=citizen, reason="Không cần nữa")
    with pytest.raises(PermissionDenied):
        engine.refund(code, actor=citizen, reason="Rút", idempotency_key="r-1")

    part = engine.refund(code, actor=leader, reason="Rút hồ sơ", amount=50_000,
                         idempotency_key="r-1")
    assert (part.amount, part.state, part.refund_ref) == (50_000, "refunded",
                                                          f"{payment.order_ref}R01")
    assert engine.refund(code, actor=leader, reason="Rút hồ sơ", amount=50_000,
                         idempotency_key="r-1") == part
    with pytest.raises(IdempotencyConflict):
        engine.refund(code, actor=leader, reason="Rút hồ sơ", amount=60_000,
                      idempotency_key="r-1")
    with pytest.raises(RefundNotAllowed, match="exceeds"):
        engine.refund(code, actor=leader, reason="Rút hồ sơ", amount=150_001,
                      idempotency_key="r-2")
    rest = engine.refund(code, actor=clerk, reason="Rút hồ sơ", idempotency_key="r-3")
    assert rest.amount == 150_000
    [paid] = engine.payments(code)
    assert (paid.state, paid.refunded_amount) == ("refunded", FEE)
    assert [r.state for r in engine.refunds(code)] == ["refunded", "refunded"]
    with pytest.raises(RefundNotAllowed, match="already refunded"):
        engine.refund(code, actor=clerk, reason="again", idempotency_key="r-4")
    assert service.payments[payment.order_ref].refunded == FEE


def test_a_counter_refund_waits_for_the_clerk_to_pay_it_back(
        engine: Engine, citizen: Actor, clerk: Actor, leader: Actor) -> None:
    code = awaiting_payment(engine, citizen, clerk)
    engine.confirm_counter_payment(code, actor=clerk, amount=FEE)
    engine.fire(code, "withdraw", actor=clerk, reason="Công dân rút hồ sơ")
    refund = engine.refund(code, actor=leader, reason="Rút hồ sơ", idempotency_key="c-1")
    assert refund.state == "pending"
    assert engine.payments(code)[0].refunded_amount == 0
    done = engine.confirm_refund(refund.refund_ref, actor=clerk)
    assert done.state == "refunded"
    assert engine.payments(code)[0].state == "refunded"
    with pytest.raises(RefundNotAllowed):
        engine.confirm_refund(refund.refund_ref, actor=clerk)


# --- the mop-up -------------------------------------------------------------------------------

def test_the_mop_up_recovers_a_lost_success_and_expires_the_rest(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        clock: FrozenClock) -> None:
    paid_code = awaiting_payment(engine, citizen, clerk)
    lost = opened(engine, service, paid_code, citizen)
    service.success(lost.order_ref, at=clock.now() + timedelta(minutes=3))  # never delivered
    idle_code = awaiting_payment(engine, citizen, clerk)
    idle = opened(engine, service, idle_code, citizen)

    clock.advance(timedelta(minutes=10))
    assert engine.expire_stale_payments().checked == 0          # nothing pending for 30 min
    clock.advance(timedelta(minutes=25))
    report = Worker(engine).mop_up_once()
    assert report is not None
    assert (report.checked, report.succeeded, report.expired) == (2, 1, 1)

    assert engine.get(paid_code).state == "processing"
    assert engine.history(paid_code)[-1].data["reference"] == \
        str(service.payments[lost.order_ref].transaction_no)
    assert engine.payments(paid_code)[0].paid_at == clock.now() - timedelta(minutes=32)
    assert len(engine.receipts(paid_code)) == 1
    assert engine.payments(idle_code)[0].state == "expired"
    assert engine.get(idle_code).state == "awaiting_payment"

    # the citizen pays the expired link anyway: the money moved, a person decides
    late = service.late_success(idle.order_ref)
    assert deliver(engine, "vnpay", late.payload)["RspCode"] == "00"
    [review] = engine.payments(idle_code)
    assert review.state == "needs_review"
    assert "expired" in (review.review_reason or "")
    assert engine.get(idle_code).state == "awaiting_payment"
    assert engine.receipts(idle_code) == []


def test_an_unreachable_provider_leaves_the_attempt_pending(
        db_url: str, clock: FrozenClock, service: FakeProviderService, citizen: Actor,
        clerk: Actor) -> None:
    config = demo_vnpay_config()
    down = VnpayGateway(type(config)(tmn_code=config.tmn_code, secrets=config.secrets,
                                     pay_url=config.pay_url,
                                     api_url="https://down.fake.invalid/api"),
                        transport=service)
    engine = Engine(db_url, clock=clock, gateways=[down])
    try:
        engine.register(make_procedure(PROCEDURE, ["receive", "pay", "process", "return"],
                                       fee=FEE))
        code = awaiting_payment(engine, citizen, clerk)
        opened(engine, service, code, citizen)
        clock.advance(timedelta(hours=1))
        report = engine.expire_stale_payments()
        assert (report.checked, report.errors) == (1, 1)
        assert engine.payments(code)[0].state == "pending"
    finally:
        engine.close()


def test_closing_a_dossier_cancels_its_open_attempts(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor) -> None:
    code = awaiting_payment(engine, citizen, clerk)
    opened(engine, service, code, citizen)
    engine.fire(code, "withdraw", actor=citizen)
    assert engine.payments(code)[0].state == "cancelled"
    with pytest.raises(TransitionNotAllowed, match="withdrawn"):
        engine.request_payment(code, "vnpay", actor=citizen, return_url=RETURN_URL)


# --- figures and reconciliation ---------------------------------------------------------------

def test_the_online_payment_rate_counts_pay_events(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        clock: FrozenClock) -> None:
    for _ in range(3):
        paid_online(engine, service, citizen, clerk, clock)
    engine.confirm_counter_payment(awaiting_payment(engine, citizen, clerk), actor=clerk,
                                   amount=FEE)
    summary = engine.payment_summary(AGENCY)
    assert (summary.online, summary.counter, summary.online_rate) == (3, 1, 0.75)
    assert engine.payment_summary("000.00.99.H99").total == 0
    numbers = [r.number for code in engine.codes() for r in engine.receipts(code)]
    assert numbers == [1, 2, 3, 4]


def test_reconcile_reports_what_does_not_match(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        clock: FrozenClock, db_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    refs = [paid_online(engine, service, citizen, clerk, clock)[1].order_ref for _ in range(3)]
    day = clock.now().astimezone(GMT7).strftime("%d/%m/%Y %H:%M:%S")
    statement = tmp_path / "vnpay-2025-09-08.csv"
    statement.write_text(
        "TxnRef,TransactionNo,Amount,PayDate,Status\n"
        f"{refs[0]},1,\"200,000\",{day},00\n"
        f"{refs[1]},2,\"250,000\",{day},00\n"
        f"9999999P01,3,\"50,000\",{day},00\n"
        f"{refs[2]},4,\"200,000\",{day},02\n", encoding="utf-8")
    assert main(["reconcile", "--database", db_url, "--provider", "vnpay",
                 "--statement", str(statement)]) == 1
    out = capsys.readouterr().out
    assert "1 matched, 1 amount mismatches, 1 missing on our side, 1 missing on theirs" in out
    assert f"missing on theirs: {refs[2]} 200000" in out
    assert "NOT CLEAN" in out

    statement.write_text("TxnRef,TransactionNo,Amount,PayDate,Status\n" + "".join(
        f"{ref},{n},200000,{day},00\n" for n, ref in enumerate(refs)), encoding="utf-8")
    assert main(["reconcile", "--database", db_url, "--provider", "vnpay",
                 "--statement", str(statement)]) == 0
    assert "clean" in capsys.readouterr().out
    assert main(["reconcile", "--database", db_url, "--provider", "vnpay",
                 "--statement", str(statement), "--day", "2025-09-09"]) == 1


def test_a_provider_that_refuses_to_open_a_payment_raises(
        db_url: str, clock: FrozenClock, citizen: Actor, clerk: Actor) -> None:
    broken = FakeProviderService(momo_config=demo_momo_config())
    config = demo_momo_config()
    gateway = MomoGateway(type(config)(partner_code=config.partner_code,  # a stale key
                                       access_key=config.access_key,
                                       secrets=SecretPair(primary="rotated-away"),
                                       ipn_url=config.ipn_url, endpoint=config.endpoint),
                          transport=broken)
    engine = Engine(db_url, clock=clock, gateways=[gateway])
    try:
        engine.register(make_procedure(PROCEDURE, ["receive", "pay", "process", "return"],
                                       fee=FEE))
        code = awaiting_payment(engine, citizen, clerk)
        with pytest.raises(PaymentError):
            engine.request_payment(code, "momo", actor=citizen, return_url=RETURN_URL)
        assert [p.state for p in engine.payments(code)] == ["failed"]
        assert engine.get(code).state == "awaiting_payment"
    finally:
        engine.close()


class FlakyIssuer:
    """A remote e-receipt service that is down for its first call."""

    def __init__(self) -> None:
        self.calls = 0
        self.local = LocalReceiptIssuer()

    def issue(self, receipt: Receipt) -> IssuedReceipt:
        self.calls += 1
        if self.calls == 1:
            raise DocumentError("e-receipt service unavailable")
        done = self.local.issue(receipt)
        return IssuedReceipt(receipt=receipt, html=done.html, issuer="vnpt-test",
                             lookup_code=f"TRACUU-{receipt.number_text}")


def test_a_receipt_the_issuer_failed_is_issued_on_the_next_try(
        db_url: str, clock: FrozenClock, citizen: Actor, clerk: Actor) -> None:
    issuer = FlakyIssuer()
    engine = Engine(db_url, clock=clock, receipt_issuer=issuer, receipts=ReceiptSettings(
        template_symbol="01BLP0-002", series_prefix="BL",
        agency_names={AGENCY: "Sở Tư pháp tỉnh Hà Giang"}))
    try:
        engine.register(make_procedure(PROCEDURE, ["receive", "pay", "process", "return"],
                                       fee=1_005_000))
        code = awaiting_payment(engine, citizen, clerk)
        engine.confirm_counter_payment(code, actor=clerk, amount=1_005_000)
        assert engine.get(code).state == "processing"         # the payment stands
        [waiting] = engine.receipts(code)
        assert (waiting.series, waiting.number, waiting.issued_at) == ("BL-25E", 1, None)
        assert engine.issue_pending_receipts() == 1
        [receipt] = engine.receipts(code)
        assert (receipt.issuer, receipt.lookup_code) == ("vnpt-test", "TRACUU-0000001")
        assert receipt.html is not None
        assert "Một triệu không trăm lẻ năm nghìn đồng" in receipt.html
        assert "Sở Tư pháp tỉnh Hà Giang" in receipt.html
        assert engine.issue_pending_receipts() == 0
    finally:
        engine.close()


# --- each agency's own merchant terminal ------------------------------------------------------

OTHER_AGENCY = "000.00.99.H99"


class _BoundCounter(CounterGateway):
    """A counter gateway that says itself whose terminal it is (:class:`CollectsFor`)."""

    def __init__(self, *, agencies: frozenset[str], name: str) -> None:
        super().__init__(name=name)
        self._agencies = agencies

    @property
    def agencies(self) -> frozenset[str] | None:
        return self._agencies


@pytest.fixture
def bound_engine(db_url: str, clock: FrozenClock,
                 service: FakeProviderService) -> Iterator[Engine]:
    """VNPay is the other agency's terminal, MoMo ours; the counter collects for anyone."""
    assert service.vnpay_config is not None
    assert service.momo_config is not None
    registry = GatewayRegistry()
    registry.register(VnpayGateway(service.vnpay_config, transport=service),
                      agencies={OTHER_AGENCY})
    registry.register(MomoGateway(service.momo_config, transport=service), agencies=[AGENCY])
    registry.register(CounterGateway())
    eng = Engine(db_url, clock=clock, gateways=registry)
    eng.register(make_procedure(PROCEDURE, ["receive", "pay", "process", "sign", "return"],
                                fee=FEE))
    yield eng
    eng.close()


def test_another_agencys_terminal_is_refused_and_records_nothing(
        bound_engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        clock: FrozenClock) -> None:
    code = awaiting_payment(bound_engine, citizen, clerk)
    before = snapshot(bound_engine, code)
    with pytest.raises(InvalidInput, match=rf"agency {AGENCY}; use one of: counter, momo"):
        bound_engine.request_payment(code, "vnpay", actor=citizen, return_url=RETURN_URL)
    with pytest.raises(InvalidInput, match="does not collect"):  # nor with a key
        bound_engine.request_payment(code, "vnpay", actor=citizen, return_url=RETURN_URL,
                                     idempotency_key="k-1")
    assert snapshot(bound_engine, code) == before
    assert service.payments == {}  # the provider was never asked

    payment = opened(bound_engine, service, code, citizen, "momo")
    assert deliver(bound_engine, "momo",
                   service.success(payment.order_ref, at=clock.now()).payload) == {
        "status": 204}
    assert bound_engine.get(code).state == "processing"


def test_the_counter_collects_for_every_agency_unless_bound(
        bound_engine: Engine, db_url: str, clock: FrozenClock, citizen: Actor,
        clerk: Actor) -> None:
    code = awaiting_payment(bound_engine, citizen, clerk)
    assert bound_engine.request_payment(code, "counter", actor=citizen).provider == "counter"

    registry = GatewayRegistry()
    registry.register(CounterGateway(), agencies={OTHER_AGENCY})
    other = Engine(db_url, clock=clock, gateways=registry)
    try:
        second = awaiting_payment(other, citizen, clerk)
        with pytest.raises(InvalidInput, match=f"agency {AGENCY}"):
            other.confirm_counter_payment(second, actor=clerk, amount=FEE)
        with pytest.raises(InvalidInput, match=f"agency {AGENCY}"):
            other.fire(second, "pay", actor=clerk, amount=FEE)
        assert other.payments(second) == []
        assert other.get(second).state == "awaiting_payment"
    finally:
        other.close()


def test_a_registry_binds_gateways_to_agencies(service: FakeProviderService) -> None:
    assert service.momo_config is not None
    registry = GatewayRegistry()
    registry.register(CounterGateway())
    registry.register(MomoGateway(service.momo_config, transport=service),
                      agencies={AGENCY, OTHER_AGENCY})
    own = _BoundCounter(agencies=frozenset({OTHER_AGENCY}), name="quay-2")
    assert isinstance(own, CollectsFor)
    assert not isinstance(CounterGateway(), CollectsFor)
    registry.register(own)
    assert registry.agencies_of("counter") is None
    assert registry.agencies_of("quay-2") == {OTHER_AGENCY}
    assert registry.names_for(AGENCY) == ["counter", "momo"]
    assert registry.names_for(OTHER_AGENCY) == ["counter", "momo", "quay-2"]
    assert registry.get("quay-2", agency=OTHER_AGENCY) is own
    with pytest.raises(InvalidInput, match=f"quay-2.*agency {AGENCY}"):
        registry.get("quay-2", agency=AGENCY)
    assert registry.get("quay-2") is own  # settling or refunding a payment made there

    for agencies in ("000.00.12.H12", set(), {" 000.00.12.H12"}, {1}):
        with pytest.raises(InvalidInput, match="agencies must be"):
            GatewayRegistry().register(CounterGateway(), agencies=agencies)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="give the same agencies"):
        GatewayRegistry().register(_BoundCounter(agencies=frozenset({AGENCY}), name="q"),
                                   agencies={OTHER_AGENCY})
    same = GatewayRegistry()
    same.register(_BoundCounter(agencies=frozenset({AGENCY}), name="q"), agencies={AGENCY})
    assert same.agencies_of("q") == {AGENCY}


class _OutsizedGateway:
    """A provider whose (verified) callbacks carry references no payment of ours can have."""

    name = "odd"

    def __init__(self, order_ref: str, provider_ref: str, amount: int) -> None:
        self.values = (order_ref, provider_ref, amount)

    def create(self, request: Any) -> Any:
        raise NotImplementedError

    def parse_callback(self, raw: Any) -> Any:
        from dossier.payments import ParsedCallback, PaymentOutcome

        order_ref, provider_ref, amount = self.values
        return ParsedCallback(provider=self.name, order_ref=order_ref, amount=amount,
                              outcome=PaymentOutcome.SUCCEEDED, provider_ref=provider_ref,
                              response_code="00", merchant_id="M", currency="VND",
                              paid_at=None, method="online", message="", raw={})

    def reply(self, verdict: Any) -> Any:
        return CallbackReply.json({"verdict": verdict.value}, 200)

    def query(self, query: Any) -> Any:
        raise NotImplementedError

    def refund(self, request: Any) -> Any:
        raise NotImplementedError


@pytest.mark.parametrize(("order_ref", "provider_ref", "amount"), [
    ("X" * 65, "T1", 1_000), ("ORDER1", "T" * 129, 1_000), ("ORDER1", "T1", 10**30)])
def test_a_verified_callback_too_big_for_any_payment_of_ours_is_kept_for_review(
        db_url: str, clock: FrozenClock, order_ref: str, provider_ref: str,
        amount: int) -> None:
    engine = Engine(db_url, clock=clock,
                    gateways=[_OutsizedGateway(order_ref, provider_ref, amount)])
    try:
        reply = engine.handle_payment_callback("odd", {"any": "thing"})
        assert b"order_not_found" in (reply.body if isinstance(reply.body, bytes)
                                      else reply.body.encode())
        [kept] = engine.payment_callbacks(review=True)
        assert (kept.verdict, kept.order_ref) == ("order_not_found", None)
    finally:
        engine.close()
