"""Money received, and the ``pay`` step it completes: one path for gateways and the counter.

A payment succeeds here whoever reports it — a provider's callback, the mop-up's status
query, a clerk at the counter (``confirm_counter_payment`` or ``fire(code, "pay")``): the
payment row is marked, the dossier's other open attempts cancelled, the receipt numbered,
and, when the dossier waits in ``awaiting_payment``, ``pay`` fired through the kernel, all in
the caller's transaction. Money the dossier cannot use (closed, already paid, another fee
now) goes to ``needs_review`` for a refund instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dossier import policy
from dossier.actors import Actor
from dossier.engine.kernel import Kernel
from dossier.errors import (
    CallbackVerificationError,
    ConcurrencyConflict,
    GuardFailed,
    IdempotencyConflict,
    InvalidInput,
    TransitionNotAllowed,
)
from dossier.payments.base import (
    CallbackVerdict,
    ParsedCallback,
    RawCallback,
    TakesCounterPayments,
    make_order_ref,
)
from dossier.payments.registry import GatewayRegistry
from dossier.payments.service.receipts import Receipts
from dossier.procedure.model import Procedure
from dossier.records import Dossier, Payment, PaymentState
from dossier.states import FINAL_STATES, State, Step, Trigger
from dossier.store import payments_repo as prepo
from dossier.store.database import Tx

log = logging.getLogger("dossier.payments")

COUNTER = "counter"
#: ``pay`` methods a clerk records at the counter (a transfer: seen on the agency's account).
COUNTER_METHODS = ("cash", "pos", "transfer")
#: What :meth:`Settlement.succeed` answers when the payment completed ``pay`` just now.
PAY_COMPLETED = "paid; the pay step is complete"
_MAX_RAW = 16_000


class Settlement:
    """Succeeded payments and the ``pay`` step; registers the kernel's transition hook."""

    def __init__(self, kernel: Kernel, gateways: GatewayRegistry, receipts: Receipts) -> None:
        self.kernel = kernel
        self.gateways = gateways
        self.receipts = receipts
        kernel.on_transition(self.after_transition)

    def succeed(self, tx: Tx, stored: prepo.StoredPayment, *, provider_ref: str | None,
                paid_at: datetime, method: str, now: datetime, actor: Actor | None = None,
                note: str | None = None, on_behalf_of: str | None = None) -> str:
        """Record the success of a pending payment; complete ``pay`` if the dossier waits for
        it (as ``actor``, or ``system`` for the payer). Returns what happened."""
        p = stored.record
        dossier = self.kernel.load(tx, p.dossier_code)
        problem = None
        if dossier.is_final:
            problem = f"the dossier is {dossier.state.value}"
        elif dossier.paid_amount >= dossier.fee_due:
            problem = "the dossier's fee was already paid (a second payment)"
        elif p.amount != dossier.fee_due:
            problem = f"the fee due is now {dossier.fee_due} VND"
        elif prepo.unconsumed_success(tx, dossier.id, dossier.fee_due) is not None:
            problem = "another payment already paid this fee (a second payment)"
        if problem is not None:
            reason = f"money received but {problem}: refund it"
            _must(prepo.update_payment(tx, stored.id, PaymentState.PENDING, now,
                                       state=PaymentState.NEEDS_REVIEW, paid_at=paid_at,
                                       provider_ref=provider_ref, method=method,
                                       review_reason=reason), p)
            log.warning("%s payment %s needs review: %s", p.dossier_code, p.order_ref, problem)
            return reason
        # conditional on "pending": two clerks confirming one counter attempt (or a clerk and
        # a callback) both read it pending; the second finds it succeeded and must not go on
        # to report the fee taken a second time
        _must(prepo.update_payment(tx, stored.id, PaymentState.PENDING, now,
                                   state=PaymentState.SUCCEEDED, paid_at=paid_at,
                                   provider_ref=provider_ref, method=method), p)
        prepo.cancel_pending(tx, dossier.id, now, except_id=stored.id)
        procedure = self.kernel.procedure_of(tx, dossier)
        self.receipts.allocate(tx, dossier, procedure, stored.id, p.provider, method, p.amount,
                               paid_at, now)
        if dossier.state is State.AWAITING_PAYMENT:
            self._consume(tx, dossier, stored, method=method,
                          reference=provider_ref or p.order_ref, actor=actor, now=now,
                          note=note, on_behalf_of=on_behalf_of)
            return PAY_COMPLETED
        return "paid; the pay step completes when the dossier reaches it"

    def _consume(self, tx: Tx, dossier: Dossier, stored: prepo.StoredPayment, *, method: str,
                 reference: str, actor: Actor | None, now: datetime,
                 note: str | None = None, on_behalf_of: str | None = None) -> Dossier:
        """Fire ``pay`` with a succeeded payment and mark the payment used."""
        p = stored.record
        behalf = on_behalf_of
        if actor is None:  # a gateway or the engine completes the step for the payer
            actor = Actor.system()
            behalf = dossier.owner or p.requested_by
        data = {"amount": p.amount, "method": method, "reference": reference,
                "note": note or f"{p.provider} {p.order_ref}"}
        _, after = self.kernel.fire(tx, dossier, Trigger.PAY, actor, data, now=now,
                                    on_behalf_of=behalf)
        if not prepo.update_payment(tx, stored.id, PaymentState.SUCCEEDED, now, consumed_at=now):
            raise ConcurrencyConflict(f"{dossier.code}: payment {p.order_ref} changed "
                                      "meanwhile; retry")
        return after

    def after_transition(self, tx: Tx, dossier: Dossier, procedure: Procedure,
                         now: datetime) -> Dossier:
        """The kernel's hook: a dossier entering ``awaiting_payment`` with its fee already
        paid completes ``pay`` at once; a closed dossier's open attempts are cancelled."""
        if dossier.state is State.AWAITING_PAYMENT and dossier.paid_amount < dossier.fee_due:
            stored = prepo.unconsumed_success(tx, dossier.id, dossier.fee_due)
            if stored is not None:
                p = stored.record
                return self._consume(tx, dossier, stored, method=p.method,
                                     reference=p.provider_ref or p.order_ref, actor=None,
                                     now=now)
        elif dossier.state in FINAL_STATES:
            prepo.cancel_pending(tx, dossier.id, now)
        return dossier

    # --- the counter ----------------------------------------------------------------------

    def pay(self, code: str, *, actor: Actor, data: Mapping[str, Any],
            if_version: int | None, on_behalf_of: str | None) -> tuple[Dossier, str | None]:
        """``fire(code, "pay", …)``: the checks of any trigger, then — when a fee is due —
        the fee taken at the counter as :meth:`take_at_counter` records it (payment,
        receipt, reconciliation), completing ``pay``. Returns the dossier and the order
        reference of the payment (None for a fee of 0)."""
        now = self.kernel.now()

        def work(tx: Tx) -> tuple[Dossier, str | None]:
            hold_dossier(self.kernel, tx, code)
            move = self.kernel.check(tx, code, Trigger.PAY, actor, data, if_version=if_version,
                                     on_behalf_of=on_behalf_of, now=now)
            if move.dossier.fee_due <= 0:  # nothing to collect: the step is only recorded
                return self.kernel.apply(tx, move, now), None
            policy.authorise(actor, move.dossier, policy.Action.TAKE_FEE, move.procedure)
            method = move.data.get("method", "cash")
            if method not in COUNTER_METHODS:
                raise InvalidInput(
                    f"{code}: fire('pay') records a fee taken at the counter (method "
                    f"{', '.join(COUNTER_METHODS)}); an online payment completes pay by "
                    "itself: request_payment, then the provider's callback "
                    "(handle_payment_callback)")
            stored, outcome = self.take_at_counter(
                tx, move.dossier, move.procedure, actor=actor, amount=move.data["amount"],
                method=method, reference=move.data.get("reference"), key=None, now=now,
                note=move.data.get("note"), on_behalf_of=move.on_behalf_of)
            if outcome != PAY_COMPLETED:
                # another clerk's pay committed between our checks and this payment, which
                # would go to review: a fire that did not fire writes nothing (the clerk
                # reloads and sees the dossier paid)
                raise ConcurrencyConflict(f"{code} was changed by someone else; reload it")
            return self.kernel.load(tx, code), stored.record.order_ref

        # two clerks at once: the second waits for the first's dossier lock, then finds the
        # dossier paid and is refused like any late trigger (retrying: see confirm_counter)
        return self.kernel.retrying(work)

    def confirm_counter(self, code: str, *, actor: Actor, amount: int, method: str,
                        reference: str | None, key: str | None) -> Payment:
        """A clerk took the fee (``confirm_counter_payment``): the payment, paid ahead when
        the dossier is not at its pay step yet."""
        if reference is not None and (not isinstance(reference, str) or not reference.strip()):
            raise InvalidInput("reference must be the cash-book line or POS slip number")
        now = self.kernel.now()

        def work(tx: Tx) -> prepo.StoredPayment | None:
            hold_dossier(self.kernel, tx, code)
            dossier = self.kernel.load(tx, code)
            stored, _ = self.take_at_counter(tx, dossier, self.kernel.procedure_of(tx, dossier),
                                          actor=actor, amount=amount, method=method,
                                          reference=reference, key=key, now=now)
            return prepo.payment_by_order(tx, stored.record.order_ref)

        # the dossier lock serialises confirmations of one dossier; retrying covers the
        # same idempotency key used at once for two dossiers (the loser's key is taken)
        found = self.kernel.retrying(work)
        assert found is not None
        log.info("%s fee %d VND taken at the counter (%s) by %s", code, amount,
                 found.record.method, actor.id)
        return found.record

    def take_at_counter(self, tx: Tx, dossier: Dossier, procedure: Procedure, *,
                        actor: Actor, amount: int, method: str, reference: str | None,
                        key: str | None, now: datetime, note: str | None = None,
                        on_behalf_of: str | None = None) -> tuple[prepo.StoredPayment, str]:
        """A clerk took the fee: record (or reuse) the counter attempt, succeed it, keep the
        confirmation with the callbacks. The same ``key`` returns the same payment. Returns
        the payment and what became of it (:data:`PAY_COMPLETED`, paid ahead, or review).

        The caller holds the dossier (:func:`hold_dossier`) from before it loaded it, so the
        attempt number and the checks below see every payment committed before. Holding the
        dossier, it may wait for the open counter attempt's row, which a callback settling
        another attempt holds while it waits for the dossier (it cancels this one): PostgreSQL
        then aborts one of the two as a deadlock, a ConcurrencyConflict to retry."""
        policy.authorise(actor, dossier, policy.Action.TAKE_FEE, procedure)
        gateway = self.gateways.get(COUNTER, agency=dossier.agency)
        if not isinstance(gateway, TakesCounterPayments):
            raise InvalidInput(f"the gateway named {COUNTER!r} does not take counter payments")
        if key is not None:
            same = same_key(tx, key, dossier, gateway.name, amount)
            if same is not None:
                return same, "the same confirmation again"
        check_payable(tx, dossier, procedure)
        if amount != dossier.fee_due:
            raise GuardFailed(dossier.code, "amount_matches_fee",
                              [f"amount {dossier.fee_due} VND"], "Take exactly the fee due.")
        attempts = prepo.payments_of(tx, dossier.id)
        open_counter = [s for s in attempts
                        if s.record.provider == gateway.name
                        and s.record.state is PaymentState.PENDING and s.record.amount == amount]
        order_ref = open_counter[-1].record.order_ref if open_counter else \
            make_order_ref(dossier.code, len(attempts) + 1)
        try:
            parsed = gateway.parse_callback(gateway.confirmation(
                order_ref=order_ref, amount=amount, method=method, confirmed_by=actor.id,
                receipt_ref=reference or "", paid_at=now))
        except CallbackVerificationError as exc:
            raise InvalidInput(f"{dossier.code}: {exc}") from exc
        if open_counter:
            stored = open_counter[-1]
        else:
            record = Payment(
                order_ref=order_ref, dossier_code=dossier.code, provider=gateway.name,
                amount=amount, currency="VND", state=PaymentState.PENDING,
                method=parsed.method, idempotency_key=key or f"auto-{order_ref}",
                requested_by=actor.id, created_at=now, expires_at=now, updated_at=now)
            stored = prepo.StoredPayment(id=prepo.insert_payment(tx, dossier.id, record),
                                         dossier_id=dossier.id, record=record)
        outcome = self.succeed(tx, stored, provider_ref=parsed.provider_ref, paid_at=now,
                               method=parsed.method, now=now, actor=actor, note=note,
                               on_behalf_of=on_behalf_of)
        prepo.insert_callback(tx, provider=gateway.name, order_ref=order_ref,
                              payment_id=stored.id, dedup_key=dedup_key(parsed),
                              verdict=CallbackVerdict.CONFIRMED.value,
                              outcome=parsed.outcome.value, amount=amount, reason=outcome,
                              raw=raw_text(dict(parsed.raw)), at=now)
        return stored, outcome


def hold_dossier(kernel: Kernel, tx: Tx, code: str) -> None:
    """Lock the dossier's row (PostgreSQL) before reading its money to decide on it: attempt
    numbers, a fee taken, what is left to refund. On SQLite the write transaction's
    ``BEGIN IMMEDIATE`` already serialises writers."""
    if not kernel.db.is_sqlite:
        prepo.lock_dossier(tx, code)


def _must(changed: bool, p: Payment) -> None:
    """A conditional payment update that found the row moved on: another transaction
    settled the payment between our read and our write."""
    if not changed:
        raise ConcurrencyConflict(f"{p.dossier_code}: payment {p.order_ref} was settled by "
                                  "someone else at the same moment; reload the dossier")


def same_key(tx: Tx, key: str, dossier: Dossier, provider: str,
             amount: int) -> prepo.StoredPayment | None:
    """The payment already opened with idempotency ``key``, if it is the same request."""
    found = prepo.payment_by_key(tx, key)
    if found is None:
        return None
    p = found.record
    if found.dossier_id != dossier.id or p.provider != provider or p.amount != amount:
        # never say which dossier the key belongs to
        raise IdempotencyConflict(f"{dossier.code}: idempotency key {key!r} was already "
                                  "used for another payment request (another amount, "
                                  "provider or dossier); use a new key")
    return found


def check_payable(tx: Tx, dossier: Dossier, procedure: Procedure) -> None:
    """Raise unless the dossier has a fee it still owes."""
    code = dossier.code
    if procedure.step_index(Step.PAY) < 0:
        raise InvalidInput(f"{code}: procedure {procedure.code} has no pay step")
    if dossier.is_final:
        raise TransitionNotAllowed(f"{code} is {dossier.state.value}; it takes no payment")
    if dossier.fee_due <= 0:
        raise InvalidInput(f"{code} has no fee to pay")
    if dossier.paid_amount >= dossier.fee_due:
        raise TransitionNotAllowed(f"{code}: the fee is already paid")
    if prepo.unconsumed_success(tx, dossier.id, dossier.fee_due) is not None:
        raise TransitionNotAllowed(f"{code}: the fee is already paid; the pay step "
                                   "completes when the dossier reaches it")


def check_key(key: str | None, *, required: bool) -> str | None:
    """An idempotency key, checked (``None`` allowed unless ``required``)."""
    if key is None and not required:
        return None
    if not isinstance(key, str) or not 1 <= len(key) <= 128 or not key.isprintable() \
            or key != key.strip():
        raise InvalidInput("idempotency_key must be 1-128 printable characters (a UUID is "
                           "a good choice)")
    return key


def dedup_key(parsed: ParsedCallback) -> str:
    """The callback's de-duplication key, at most 255 characters."""
    key = parsed.dedup_key
    return key if len(key) <= 255 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def raw_text(raw: RawCallback | Mapping[str, Any]) -> str:
    """A callback as stored for review: JSON of its parameters, or its body as text."""
    if isinstance(raw, bytes | bytearray):
        text = bytes(raw).decode("utf-8", errors="replace")
    else:
        text = json.dumps({str(k): str(v) for k, v in raw.items()}, ensure_ascii=False,
                          sort_keys=True)
    return text[:_MAX_RAW]
