"""Money under concurrency: threads released together by a barrier never refund more than
was paid, never take one fee twice, never number two attempts alike, and a loser always gets
a :class:`~dossier.errors.DossierError`, never a driver error.

Every test runs on SQLite and, under ``pg_virtualenv``, on PostgreSQL (the ``db_url``
fixture). SQLite's ``BEGIN IMMEDIATE`` serialises writers, so there these tests check the
outcome; PostgreSQL runs the transactions truly side by side, which is where the payment
service's row locks matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, TypeVar

import pytest

from dossier import Actor, DuplicateRecord, Engine
from dossier.errors import ConcurrencyConflict, DossierError, RefundNotAllowed
from dossier.payments import FakeProviderService, VnpayGateway
from dossier.payments.fake import demo_vnpay_config
from dossier.payments.service import instructions
from dossier.records import Payment, Refund
from dossier.store import Database
from dossier.testing import FrozenClock
from tests.conftest import AGENCY, make_procedure, race

PROCEDURE = "9.100001"
FEE = 200_000
THREADS = 8
RETURN_URL = "https://dichvucong.example/thanh-toan/ket-qua"

T = TypeVar("T")


def _split(results: list[T | BaseException], kind: type[T]) -> tuple[list[T], list[BaseException]]:
    """Winners and losers; every loser must be one of ours (a raw driver error fails here)."""
    winners = [r for r in results if isinstance(r, kind)]
    losers = [r for r in results if not isinstance(r, kind)]
    assert all(isinstance(r, DossierError) for r in losers), losers
    return winners, losers


@pytest.fixture
def service() -> FakeProviderService:
    return FakeProviderService(vnpay_config=demo_vnpay_config())


@pytest.fixture
def engine(db_url: str, clock: FrozenClock, service: FakeProviderService) -> Iterator[Engine]:
    assert service.vnpay_config is not None
    eng = Engine(db_url, clock=clock,
                 gateways=[VnpayGateway(service.vnpay_config, transport=service)])
    eng.register(make_procedure(PROCEDURE, ["receive", "pay", "process", "sign", "return"],
                                fee=FEE))
    yield eng
    eng.close()


def _awaiting_payment(engine: Engine, citizen: Actor, clerk: Actor) -> str:
    code = engine.submit(PROCEDURE, applicant={"name": "Nguyễn Thị Bình"}, channel="online",
                         actor=citizen, agency=AGENCY).code
    assert engine.fire(code, "receive", actor=clerk).state == "awaiting_payment"
    return code


def _paid_online_and_withdrawn(engine: Engine, service: FakeProviderService, citizen: Actor,
                               clerk: Actor, clock: FrozenClock) -> tuple[str, Payment]:
    code = _awaiting_payment(engine, citizen, clerk)
    payment = engine.request_payment(code, "vnpay", actor=citizen, return_url=RETURN_URL)
    service.open(instructions(payment))
    engine.handle_payment_callback("vnpay", service.success(payment.order_ref,
                                                            at=clock.now()).payload)
    engine.fire(code, "withdraw", actor=citizen, reason="Không cần nữa")
    return code, payment


# --- refunds --------------------------------------------------------------------------------

def test_concurrent_full_refunds_give_back_the_fee_once(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        leader: Actor, clock: FrozenClock) -> None:
    code, payment = _paid_online_and_withdrawn(engine, service, citizen, clerk, clock)

    results = race(THREADS, lambda i: engine.refund(code, actor=leader, reason="Rút hồ sơ",
                                                     idempotency_key=f"race-{i}"))

    winners, losers = _split(results, Refund)
    assert len(winners) == 1
    assert all(isinstance(r, RefundNotAllowed) and "already refunded" in str(r)
               for r in losers), losers
    assert [(r.amount, r.state) for r in engine.refunds(code)] == [(FEE, "refunded")]
    [paid] = engine.payments(code)
    assert (paid.state, paid.refunded_amount) == ("refunded", FEE)
    assert service.payments[payment.order_ref].refunded == FEE


def test_concurrent_partial_refunds_never_exceed_what_was_paid(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        leader: Actor, clock: FrozenClock) -> None:
    code, payment = _paid_online_and_withdrawn(engine, service, citizen, clerk, clock)
    part = 30_000  # 8 × 30 000 > 200 000: six fit, the other two must be refused

    results = race(THREADS, lambda i: engine.refund(code, actor=leader, reason="Rút hồ sơ",
                                                     amount=part, idempotency_key=f"p-{i}"))

    winners, losers = _split(results, Refund)
    assert len(winners) == FEE // part
    assert all(isinstance(r, RefundNotAllowed) for r in losers), losers
    refunds = engine.refunds(code)
    assert sum(r.amount for r in refunds) == len(winners) * part <= FEE
    assert sorted(r.refund_ref for r in refunds) == [
        f"{payment.order_ref}R{n:02d}" for n in range(1, len(winners) + 1)]
    assert engine.payments(code)[0].refunded_amount == len(winners) * part
    assert service.payments[payment.order_ref].refunded == len(winners) * part


def test_the_same_refund_key_at_once_is_one_refund(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        leader: Actor, clock: FrozenClock) -> None:
    code, _ = _paid_online_and_withdrawn(engine, service, citizen, clerk, clock)

    results = race(THREADS, lambda i: engine.refund(code, actor=leader, reason="Rút hồ sơ",
                                                     idempotency_key="same"))

    winners, _ = _split(results, Refund)
    # every call answers with the one refund (seen "requested" by a call that came while
    # the first was still at the provider)
    assert len(winners) == THREADS
    [refund] = engine.refunds(code)
    assert {(r.refund_ref, r.amount) for r in winners} == {(refund.refund_ref, FEE)}
    assert refund.state == "refunded"


def test_concurrent_confirmations_of_a_counter_refund_book_it_once(
        engine: Engine, citizen: Actor, clerk: Actor, leader: Actor) -> None:
    code = _awaiting_payment(engine, citizen, clerk)
    engine.confirm_counter_payment(code, actor=clerk, amount=FEE)
    engine.fire(code, "withdraw", actor=clerk, reason="Công dân rút hồ sơ")
    asked = race(THREADS, lambda i: engine.refund(code, actor=leader, reason="Rút hồ sơ",
                                                   idempotency_key=f"c-{i}"))
    [pending], _ = _split(asked, Refund)
    assert pending.state == "pending"

    results = race(THREADS, lambda i: engine.confirm_refund(pending.refund_ref, actor=clerk))

    winners, losers = _split(results, Refund)
    assert len(winners) == 1
    assert all(isinstance(r, RefundNotAllowed) for r in losers), losers
    [paid] = engine.payments(code)
    assert (paid.state, paid.refunded_amount) == ("refunded", FEE)


# --- attempts and the counter ---------------------------------------------------------------

def test_concurrent_payment_requests_get_distinct_attempt_numbers(
        engine: Engine, citizen: Actor, clerk: Actor) -> None:
    code = _awaiting_payment(engine, citizen, clerk)

    results = race(THREADS, lambda i: engine.request_payment(code, "vnpay", actor=citizen,
                                                              return_url=RETURN_URL))

    winners, _ = _split(results, Payment)
    assert len(winners) == THREADS
    assert sorted(p.order_ref[-3:] for p in winners) == [f"P{n:02d}" for n in
                                                         range(1, THREADS + 1)]


def test_the_same_payment_key_at_once_opens_one_attempt(
        engine: Engine, citizen: Actor, clerk: Actor) -> None:
    code = _awaiting_payment(engine, citizen, clerk)

    results = race(THREADS, lambda i: engine.request_payment(
        code, "vnpay", actor=citizen, return_url=RETURN_URL, idempotency_key="k-1"))

    winners, _ = _split(results, Payment)
    assert len(winners) == THREADS
    assert len({p.order_ref for p in winners}) == 1
    assert len(engine.payments(code)) == 1


@pytest.mark.parametrize("ahead", [False, True], ids=["at the pay step", "paid ahead"])
def test_clerks_confirming_one_counter_attempt_at_once_take_the_fee_once(
        engine: Engine, citizen: Actor, clerk: Actor, ahead: bool) -> None:
    code = engine.submit(PROCEDURE, applicant={"name": "Nguyễn Thị Bình"}, channel="online",
                         actor=citizen, agency=AGENCY).code
    if not ahead:
        engine.fire(code, "receive", actor=clerk)
    engine.request_payment(code, "counter", actor=citizen)  # the attempt they all reuse

    results = race(THREADS, lambda i: engine.confirm_counter_payment(
        code, actor=clerk, amount=FEE, method="pos", reference=f"POS-{i:06d}"))

    winners, _ = _split(results, Payment)
    assert len(winners) == 1
    assert [p.state for p in engine.payments(code)] == ["succeeded"]
    assert len(engine.receipts(code)) == 1
    assert [e.trigger for e in engine.history(code)].count("pay") == (0 if ahead else 1)


def test_clerks_confirming_a_fee_without_an_attempt_take_it_once(
        engine: Engine, citizen: Actor, clerk: Actor) -> None:
    code = _awaiting_payment(engine, citizen, clerk)

    results = race(THREADS, lambda i: engine.confirm_counter_payment(
        code, actor=clerk, amount=FEE, method="cash", reference=f"SO-{i:04d}"))

    winners, _ = _split(results, Payment)
    assert len(winners) == 1
    assert [p.state for p in engine.payments(code)] == ["succeeded"]
    assert len(engine.receipts(code)) == 1
    assert engine.verify_audit(code)


def test_the_mop_up_and_a_callback_at_once_pay_once(
        engine: Engine, service: FakeProviderService, citizen: Actor, clerk: Actor,
        clock: FrozenClock) -> None:
    code = _awaiting_payment(engine, citizen, clerk)
    payment = engine.request_payment(code, "vnpay", actor=citizen, return_url=RETURN_URL)
    service.open(instructions(payment))
    callback = service.success(payment.order_ref, at=clock.now()).payload
    clock.advance(timedelta(minutes=31))

    def one(i: int) -> Any:
        if i % 2:
            return engine.handle_payment_callback("vnpay", callback)
        return engine.expire_stale_payments()

    results = race(THREADS, one)

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert [p.state for p in engine.payments(code)] == ["succeeded"]
    assert len(engine.receipts(code)) == 1
    assert [e.trigger for e in engine.history(code)].count("pay") == 1


# --- the store's edge -----------------------------------------------------------------------

def test_a_duplicate_row_is_a_duplicate_record_from_the_driver_error(db_url: str,
                                                                    engine: Engine) -> None:
    db = Database(db_url)
    try:
        with db.transaction() as tx:
            tx.execute("INSERT INTO counters (scope, key, value) VALUES ('t', 'k', 1)")
        with pytest.raises(DuplicateRecord, match="reload and retry") as raised, \
                db.transaction() as tx:
            tx.execute("INSERT INTO counters (scope, key, value) VALUES ('t', 'k', 2)")
        assert isinstance(raised.value, ConcurrencyConflict)
        assert raised.value.__cause__ is not None
        assert db.is_integrity_error(raised.value)
        assert db.is_integrity_error(raised.value.__cause__)
        with db.transaction(write=False) as tx:
            assert tx.one("SELECT value FROM counters WHERE scope = 't'")[0] == 1
    finally:
        db.dispose()
