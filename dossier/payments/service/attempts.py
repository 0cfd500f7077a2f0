"""Payment attempts: opening one with a provider, and the mop-up of stale ones.

A provider is never called inside a database transaction, so a slow provider never holds the
write lock: the attempt is reserved first (its order reference numbered per dossier), the
provider called, and its answer stored in a second transaction.

The reservation holds the dossier's row (PostgreSQL) while it numbers the attempt, so
concurrent requests for one dossier get P01, P02… in turn instead of one number twice; and
it opens an attempt only with a gateway that collects for the dossier's agency (its
merchant terminal), refusing another agency's before anything is written.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from dossier.actors import Actor
from dossier.engine.kernel import Kernel
from dossier.errors import DossierError, InvalidInput, PaymentError
from dossier.payments.base import (
    PaymentInstructions,
    PaymentOutcome,
    PaymentRequest,
    StatusQuery,
    make_order_ref,
)
from dossier.payments.registry import GatewayRegistry
from dossier.payments.service.settlement import (
    Settlement,
    check_payable,
    hold_dossier,
    same_key,
)
from dossier.policy import Action
from dossier.records import Payment, PaymentState
from dossier.store import payments_repo as prepo
from dossier.store.database import Tx

log = logging.getLogger("dossier.payments")

DEFAULT_EXPIRY = timedelta(minutes=15)
MOP_UP_AFTER = timedelta(minutes=30)
_MAX_ATTEMPTS = 99


@dataclass(frozen=True)
class MopUpReport:
    """What one :meth:`Attempts.expire_stale` found, by outcome."""

    checked: int = 0
    succeeded: int = 0
    expired: int = 0
    failed: int = 0
    review: int = 0
    still_pending: int = 0
    settled_meanwhile: int = 0
    errors: int = 0

    def __str__(self) -> str:
        parts = [f"{n} {name.replace('_', ' ')}" for name, n in vars(self).items()
                 if n and name != "checked"]
        return f"{self.checked} checked" + (": " + ", ".join(parts) if parts else "")


class Attempts:
    """Opens payment attempts and settles the stale ones."""

    def __init__(self, kernel: Kernel, gateways: GatewayRegistry,
                 settlement: Settlement) -> None:
        self.kernel = kernel
        self.gateways = gateways
        self.settlement = settlement

    def request(self, code: str, provider: str, *, actor: Actor, key: str | None,
                return_url: str, client_ip: str, expires_in: timedelta) -> Payment:
        gateway = self.gateways.get(provider)
        if not isinstance(expires_in, timedelta) or not \
                timedelta(minutes=1) <= expires_in <= timedelta(days=7):
            raise InvalidInput("expires_in must be a timedelta from 1 minute to 7 days")
        if not isinstance(return_url, str) or not isinstance(client_ip, str):
            raise InvalidInput("return_url and client_ip must be text")
        now = self.kernel.now()
        reserved = self.kernel.retrying(
            lambda tx: self._reserve(tx, code, gateway.name, actor, key, now, expires_in))
        if isinstance(reserved, Payment):
            return reserved  # the same idempotency key: the same payment
        p = reserved.record
        try:
            instructions = gateway.create(PaymentRequest(
                order_ref=p.order_ref, amount=p.amount, description=f"Le phi ho so {code}",
                created_at=p.created_at, expires_at=p.expires_at, client_ip=client_ip,
                return_url=return_url))
        except DossierError as exc:
            with self.kernel.transaction() as tx:
                prepo.update_payment(tx, reserved.id, PaymentState.PENDING, self.kernel.now(),
                                     state=PaymentState.FAILED,
                                     review_reason=f"the provider refused to open it: {exc}")
            raise
        with self.kernel.transaction() as tx:
            prepo.update_payment(tx, reserved.id, PaymentState.PENDING, self.kernel.now(),
                                 method=_method_of(instructions),
                                 provider_ref=instructions.provider_ref,
                                 redirect_url=instructions.redirect_url,
                                 qr_payload=instructions.qr_payload,
                                 counter_instructions=instructions.counter_instructions)
            found = prepo.payment_by_order(tx, p.order_ref)
        assert found is not None
        log.info("%s payment %s opened with %s (%d VND) by %s", code, p.order_ref,
                 gateway.name, p.amount, actor.id)
        return found.record

    def _reserve(self, tx: Tx, code: str, provider: str, actor: Actor, key: str | None,
                 now: datetime, expires_in: timedelta) -> Payment | prepo.StoredPayment:
        hold_dossier(self.kernel, tx, code)
        dossier, procedure = self.kernel.authorise(tx, code, actor, Action.OPEN_PAYMENT)
        self.gateways.get(provider, agency=dossier.agency)  # the agency's own terminal only
        if key is not None:
            same = same_key(tx, key, dossier, provider, dossier.fee_due)
            if same is not None:
                return same.record
        check_payable(tx, dossier, procedure)
        number = len(prepo.payments_of(tx, dossier.id)) + 1
        if number > _MAX_ATTEMPTS:
            raise PaymentError(f"{code} has had {_MAX_ATTEMPTS} payment attempts; ask the "
                               "agency to look into it")
        order_ref = make_order_ref(code, number)
        record = Payment(
            order_ref=order_ref, dossier_code=code, provider=provider, amount=dossier.fee_due,
            currency="VND", state=PaymentState.PENDING, method="online",
            idempotency_key=key or f"auto-{order_ref}", requested_by=actor.id, created_at=now,
            expires_at=now + expires_in, updated_at=now)
        return prepo.StoredPayment(id=prepo.insert_payment(tx, dossier.id, record),
                                   dossier_id=dossier.id, record=record)

    # --- the mop-up -----------------------------------------------------------------------

    def expire_stale(self, at: datetime, *, older_than: timedelta, batch: int) -> MopUpReport:
        with self.kernel.transaction(write=False) as tx:
            stale = prepo.stale_pending(tx, at - older_than, batch)
        counts = dict.fromkeys(("succeeded", "expired", "failed", "review", "still_pending",
                                "settled_meanwhile", "errors"), 0)
        for stored in stale:
            try:
                outcome = self._mop_up_one(stored, at)
            except DossierError as exc:
                # a clerk or a callback changed the dossier or the payment at that moment
                # (ConcurrencyConflict), or pay could not fire: the next run looks again,
                # and the rest of the batch is still checked now
                log.warning("payment %s: not settled this time, retried next run: %s",
                            stored.record.order_ref, exc)
                outcome = "errors"
            counts[outcome] += 1
        report = MopUpReport(checked=len(stale), **counts)
        if report.checked:
            log.info("payment mop-up at %s: %s", at.isoformat(), report)
        return report

    def _mop_up_one(self, stored: prepo.StoredPayment, at: datetime) -> str:
        p = stored.record
        if p.provider not in self.gateways:
            log.warning("payment %s: provider %s is not configured; cannot check it",
                        p.order_ref, p.provider)
            return "errors"
        try:
            status = self.gateways.get(p.provider).query(StatusQuery(
                order_ref=p.order_ref, request_id=uuid.uuid4().hex, requested_at=at,
                payment_created_at=p.created_at))
        except DossierError as exc:
            log.warning("payment %s: status query failed, retried next time: %s",
                        p.order_ref, exc)
            return "errors"
        with self.kernel.transaction() as tx:
            hold_dossier(self.kernel, tx, p.dossier_code)  # the dossier, then the payment
            fresh = prepo.payment_by_order(tx, p.order_ref, lock=not self.kernel.db.is_sqlite)
            if fresh is None or fresh.record.state is not PaymentState.PENDING:
                return "settled_meanwhile"  # a callback or a clerk got there first
            ref = status.provider_ref or None
            if status.outcome is PaymentOutcome.SUCCEEDED:
                if status.amount is not None and status.amount != p.amount:
                    prepo.update_payment(
                        tx, fresh.id, PaymentState.PENDING, at,
                        state=PaymentState.NEEDS_REVIEW, paid_at=status.paid_at or at,
                        provider_ref=ref,
                        review_reason=f"the provider says {status.amount} VND was paid, "
                                      f"the order is {p.amount} VND")
                    return "review"
                outcome = self.settlement.succeed(tx, fresh, provider_ref=ref or p.provider_ref,
                                                  paid_at=status.paid_at or at,
                                                  method=p.method, now=at)
                return "review" if outcome.startswith("money received") else "succeeded"
            if status.outcome is PaymentOutcome.FAILED:
                prepo.update_payment(tx, fresh.id, PaymentState.PENDING, at,
                                     state=PaymentState.FAILED, provider_ref=ref)
                return "failed"
            if at >= p.expires_at:
                prepo.update_payment(tx, fresh.id, PaymentState.PENDING, at,
                                     state=PaymentState.EXPIRED)
                return "expired"
            return "still_pending"


def instructions(payment: Payment) -> PaymentInstructions:
    """A stored payment as its gateway's instructions (to show the citizen, or to hand to
    :meth:`dossier.payments.FakeProviderService.open`)."""
    return PaymentInstructions(
        provider=payment.provider, order_ref=payment.order_ref, amount=payment.amount,
        expires_at=payment.expires_at, redirect_url=payment.redirect_url,
        qr_payload=payment.qr_payload, counter_instructions=payment.counter_instructions,
        provider_ref=payment.provider_ref)


def _method_of(instructions: PaymentInstructions) -> str:
    """What the ``pay`` event will record for a payment opened with these instructions."""
    if instructions.redirect_url:
        return "online"
    if instructions.qr_payload:
        return "transfer"
    return "cash"
