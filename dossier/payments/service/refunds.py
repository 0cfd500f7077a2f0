"""Refunds: money given back from a received payment.

A clerk or leader of the dossier's agency may refund a dossier that was refused, withdrawn
or stopped, or any payment in ``needs_review`` (paid late, twice, or for a closed dossier);
never more than was paid minus earlier refunds. Like attempts, the refund is reserved first,
the provider asked outside any transaction, and its answer stored after. Providers without a
refund API (counter, VietQR) leave the refund ``pending`` until a person confirms it.

Concurrent refunds of one dossier are decided one after the other: the reservation holds the
dossier's row (PostgreSQL; SQLite serialises writers anyway) from before it reads what was
paid and held back until the refund row is in, so the next one sees it, is refused what is no
longer there and numbers its reference after it. A refund is booked against its payment only
by the transaction that moved it out of ``requested`` or ``pending``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from dossier.actors import Actor
from dossier.engine.kernel import Kernel
from dossier.errors import (
    ConcurrencyConflict,
    DossierError,
    IdempotencyConflict,
    InvalidInput,
    RefundNotAllowed,
)
from dossier.payments.base import RefundOutcome, RefundRequest
from dossier.payments.registry import GatewayRegistry
from dossier.payments.service.settlement import hold_dossier
from dossier.policy import Action, authorise
from dossier.records import Dossier, Payment, PaymentState, Refund, RefundState
from dossier.states import State
from dossier.store import payments_repo as prepo
from dossier.store.database import Tx

log = logging.getLogger("dossier.payments")

#: Dossier states in which a paid fee may be given back.
REFUNDABLE_STATES = frozenset({State.REFUSED, State.WITHDRAWN, State.STOPPED})
_STATE_OF = {RefundOutcome.REFUNDED: RefundState.REFUNDED,
             RefundOutcome.PENDING: RefundState.PENDING,
             RefundOutcome.REJECTED: RefundState.REJECTED}


class Refunds:
    """Asks providers to give fees back, and records refunds paid by hand."""

    def __init__(self, kernel: Kernel, gateways: GatewayRegistry) -> None:
        self.kernel = kernel
        self.gateways = gateways

    def refund(self, code: str, *, actor: Actor, reason: str, key: str, amount: int | None,
               order_ref: str | None) -> Refund:
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInput("a refund needs a reason")
        if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool)
                                   or amount <= 0):
            raise InvalidInput("refund amount must be a positive integer number of VND")
        now = self.kernel.now()
        # retrying: the same key used at once for two dossiers (each holds only its own
        # dossier) inserts twice; the loser runs again and meets the key
        reserved = self.kernel.retrying(
            lambda tx: self._reserve(tx, code, actor, reason.strip(), key, amount, order_ref,
                                     now))
        if isinstance(reserved, Refund):
            return reserved  # the same idempotency key: the same refund
        refund_id, p, request = reserved
        refund_amount = request.amount
        try:
            result = self.gateways.get(p.provider).refund(request)
        except DossierError as exc:
            with self.kernel.transaction() as tx:
                prepo.update_refund(tx, refund_id, RefundState.REQUESTED,
                                    state=RefundState.FAILED, provider_ref=None,
                                    message=str(exc), at=self.kernel.now())
            raise
        state = _STATE_OF[result.outcome]
        with self.kernel.transaction() as tx:
            moved = prepo.update_refund(tx, refund_id, RefundState.REQUESTED, state=state,
                                        provider_ref=result.provider_ref or None,
                                        message=result.message, at=self.kernel.now())
            if moved and state is RefundState.REFUNDED:  # booked once, by who moved it
                self._book(tx, p.order_ref, refund_amount, self.kernel.now())
            done = prepo.refund_by_ref(tx, request.refund_ref)
        assert done is not None
        log.info("%s refund %s of %d VND: %s (by %s)", code, request.refund_ref, refund_amount,
                 state, actor.id)
        return done.record

    def _reserve(self, tx: Tx, code: str, actor: Actor, reason: str, key: str,
                 amount: int | None, order_ref: str | None,
                 now: datetime) -> Refund | tuple[int, Payment, RefundRequest]:
        """The refund of ``key`` if it exists; else the refund decided and stored as
        ``requested`` (holding its money back), with its payment and the provider's request."""
        hold_dossier(self.kernel, tx, code)  # before reading what is left to give back
        dossier, _ = self.kernel.authorise(tx, code, actor, Action.REFUND)
        same = prepo.refund_by_key(tx, key)
        if same is not None:
            r = same.record
            if r.dossier_code != code or (amount is not None and amount != r.amount) \
                    or (order_ref is not None and order_ref != r.order_ref):
                raise IdempotencyConflict(f"{code}: idempotency key {key!r} was already "
                                          "used for another refund; use a new key")
            return r
        stored, held = _refundable(tx, dossier, order_ref)
        p = stored.record
        refund_amount = amount if amount is not None else p.amount - held
        number = prepo.count_refunds(tx, stored.id) + 1
        request = RefundRequest(
            order_ref=p.order_ref, refund_ref=f"{p.order_ref}R{number:02d}",
            amount=refund_amount, paid_amount=p.amount, provider_ref=p.provider_ref or "",
            payment_created_at=p.created_at, requested_at=now, requested_by=actor.id,
            reason=reason, refunded_before=held)
        record = Refund(refund_ref=request.refund_ref, order_ref=p.order_ref,
                        dossier_code=code, amount=refund_amount, state=RefundState.REQUESTED,
                        reason=reason, requested_by=actor.id, idempotency_key=key,
                        created_at=now, updated_at=now)
        return prepo.insert_refund(tx, stored.id, record), p, request

    def confirm(self, refund_ref: str, *, actor: Actor) -> Refund:
        now = self.kernel.now()
        with self.kernel.transaction() as tx:
            found = prepo.refund_by_ref(tx, refund_ref) if isinstance(refund_ref, str) else None
            if found is None:
                raise InvalidInput(f"no refund {refund_ref!r}")
            dossier = self.kernel.load(tx, found.record.dossier_code)
            authorise(actor, dossier, Action.CONFIRM_REFUND, self.kernel.procedure_of(tx, dossier))
            if found.record.state is not RefundState.PENDING:
                raise RefundNotAllowed(f"refund {refund_ref} is {found.record.state}, not "
                                       "waiting to be paid back")
            if not prepo.update_refund(tx, found.id, RefundState.PENDING,
                                       state=RefundState.REFUNDED,
                                       provider_ref=found.record.provider_ref,
                                       message=f"paid back, confirmed by {actor.id}", at=now):
                # another clerk confirmed it between our read and our write (their row lock
                # made us wait): booking it again would count the money back twice
                raise RefundNotAllowed(f"refund {refund_ref} was just confirmed by someone "
                                       "else; reload the dossier's refunds")
            self._book(tx, found.record.order_ref, found.record.amount, now)
            done = prepo.refund_by_ref(tx, refund_ref)
        assert done is not None
        return done.record

    def _book(self, tx: Tx, order_ref: str, amount: int, now: datetime) -> None:
        """Count a refund paid against its payment (``refunded`` once all is given back)."""
        stored = prepo.payment_by_order(tx, order_ref, lock=not self.kernel.db.is_sqlite)
        assert stored is not None
        p = stored.record
        total = p.refunded_amount + amount
        changes: dict[str, Any] = {"refunded_amount": total}
        if total >= p.amount:
            changes["state"] = PaymentState.REFUNDED
        if not prepo.update_payment(tx, stored.id, p.state, now, **changes):
            raise ConcurrencyConflict(f"payment {order_ref} changed meanwhile; retry")


def _refundable(tx: Tx, dossier: Dossier,
                order_ref: str | None) -> tuple[prepo.StoredPayment, int]:
    """The payment to refund (the latest with money left) and what is already held back."""
    code = dossier.code
    paid = [s for s in prepo.payments_of(tx, dossier.id)
            if s.record.paid_at is not None
            and (order_ref is None or s.record.order_ref == order_ref)]
    if not paid:
        raise RefundNotAllowed(f"{code}: no payment{' ' + order_ref if order_ref else ''} "
                               "was received, so nothing can be refunded")
    for stored in reversed(paid):
        held = prepo.refunds_held(tx, stored.id)
        if held >= stored.record.amount:
            continue
        if stored.record.state is not PaymentState.NEEDS_REVIEW \
                and dossier.state not in REFUNDABLE_STATES:
            raise RefundNotAllowed(
                f"{code} is {dossier.state.value}: a fee is refunded when the dossier was "
                "refused, withdrawn or stopped, or when the payment is under review")
        return stored, held
    raise RefundNotAllowed(f"{code}: everything paid was already refunded")
