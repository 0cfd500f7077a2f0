"""One safe way to pay, sign and certify: ``fire`` records what the step stands for, or
refuses with a hint, and a refusal changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from dossier import (
    Actor,
    ConcurrencyConflict,
    Engine,
    GuardFailed,
    InvalidInput,
    PermissionDenied,
)
from tests.conftest import make_procedure

FEE = 30_000
DIGITAL = make_procedure("9.900301", ["receive", "pay", "process", "sign", "return"], fee=FEE,
                         signing="digital")
PAPER = make_procedure("9.900302", ["receive", "pay", "process", "sign", "return"], fee=FEE,
                       signing="paper")
COPIES = make_procedure("9.900303", ["receive", "digitise", "certify", "return"],
                        certification="digital")


@pytest.fixture
def eng(engine: Engine) -> Engine:
    for procedure in (DIGITAL, PAPER, COPIES):
        engine.register(procedure)
    return engine


def at_payment(eng: Engine, clerk: Actor, code: str = DIGITAL.code) -> str:
    dossier = eng.submit(code, applicant={"name": "Hồ Văn T"}, channel="counter", actor=clerk)
    return eng.fire(dossier.code, "receive", actor=clerk).code


def snapshot(eng: Engine, code: str) -> tuple[Any, ...]:
    return eng.get(code), eng.history(code), eng.payments(code), eng.receipts(code)


def test_firing_pay_records_the_counter_payment_its_receipt_and_the_counter_share(
        eng: Engine, clerk: Actor) -> None:
    code = at_payment(eng, clerk)
    after = eng.fire(code, "pay", actor=clerk, amount=FEE, method="pos", reference="POS-77")
    assert after.state == "processing"
    [payment] = eng.payments(code)
    assert (payment.provider, payment.state, payment.method, payment.amount) == (
        "counter", "succeeded", "pos", FEE)
    assert payment.consumed_at is not None
    [receipt] = eng.receipts(code)
    assert (receipt.amount, receipt.payment_method, receipt.order_ref) == (
        FEE, "pos", payment.order_ref)
    assert receipt.issued_at is not None  # the document is made right after the commit
    pay = eng.history(code)[-1]
    assert (pay.trigger, pay.actor, pay.data["reference"]) == ("pay", clerk.id, "POS-77")
    assert eng.payment_summary().counter == 1
    [confirmation] = eng.payment_callbacks(order_ref=payment.order_ref)
    assert confirmation.verdict == "confirmed"


@pytest.mark.parametrize(("data", "error"), [
    ({"amount": FEE, "method": "online"}, InvalidInput),       # the provider's callback does
    ({"amount": FEE, "method": "pos"}, InvalidInput),          # a POS slip is required
    ({"amount": FEE - 1}, GuardFailed),                        # not the fee due
])
def test_a_pay_that_cannot_be_taken_at_the_counter_changes_nothing(
        eng: Engine, clerk: Actor, data: dict[str, Any], error: type[Exception]) -> None:
    code = at_payment(eng, clerk)
    before = snapshot(eng, code)
    with pytest.raises(error):
        eng.fire(code, "pay", actor=clerk, **data)
    assert snapshot(eng, code) == before


def test_a_stale_version_refuses_pay_before_any_payment_is_recorded(
        eng: Engine, clerk: Actor) -> None:
    code = at_payment(eng, clerk)
    seen = eng.get(code).version
    eng.attach(code, "to_khai", b"%PDF-1.4 form", "to-khai.pdf", actor=clerk)
    before = snapshot(eng, code)
    with pytest.raises(ConcurrencyConflict):
        eng.fire(code, "pay", actor=clerk, amount=FEE, if_version=seen)
    assert snapshot(eng, code) == before


def test_system_may_not_take_a_fee_at_the_counter(eng: Engine, clerk: Actor) -> None:
    code = at_payment(eng, clerk)
    before = snapshot(eng, code)
    with pytest.raises(PermissionDenied, match="take the fee at the counter"):
        eng.fire(code, "pay", actor=Actor.system(), on_behalf_of="cd01", amount=FEE)
    assert snapshot(eng, code) == before


def at_signature(eng: Engine, clerk: Actor, specialist: Actor, code: str) -> str:
    dossier = at_payment(eng, clerk, code)
    eng.fire(dossier, "pay", actor=clerk, amount=FEE)
    return eng.fire(dossier, "approve", actor=specialist).code


def test_sign_without_a_signed_result_is_refused_with_the_way_to_make_one(
        eng: Engine, clerk: Actor, specialist: Actor, leader: Actor) -> None:
    code = at_signature(eng, clerk, specialist, DIGITAL.code)
    before = snapshot(eng, code)
    for data in ({}, {"document": "a" * 64}):  # nothing, or a digest of no stored result
        with pytest.raises(GuardFailed, match="sign_result") as refused:
            eng.fire(code, "sign", actor=leader, **data)
        assert refused.value.guard == "result_signed"
    assert snapshot(eng, code) == before


def test_a_procedure_signed_on_paper_records_the_paper_signature(
        eng: Engine, clerk: Actor, specialist: Actor, leader: Actor) -> None:
    code = at_signature(eng, clerk, specialist, PAPER.code)
    assert eng.fire(code, "sign", actor=leader).state == "awaiting_return"
    assert [d for d in eng.documents(code) if d.kind == "result"] == []


def test_certify_without_the_certified_copies_is_refused(
        eng: Engine, clerk: Actor, certifier: Actor) -> None:
    dossier = eng.submit(COPIES.code, applicant={"name": "Hồ Văn T"}, channel="counter",
                         actor=clerk)
    code = eng.fire(dossier.code, "receive", actor=clerk).code
    eng.attach(code, "ban_chinh", b"%PDF-1.4 scan", "ban-chinh.pdf", actor=clerk)
    eng.fire(code, "digitise", actor=clerk)
    before = snapshot(eng, code)
    with pytest.raises(GuardFailed, match="certify_copy") as refused:
        eng.fire(code, "certify", actor=certifier)
    assert (refused.value.guard, refused.value.missing) == ("copies_certified", ("ban_chinh",))
    assert snapshot(eng, code) == before
