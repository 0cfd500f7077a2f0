"""Payments on the engine's side: attempts, callbacks, counter confirmations, refunds,
receipts and the mop-up of stale attempts. :class:`~dossier.engine.Engine` delegates its
payment methods here (see their docstrings for the rules).

The gateways are stateless; every fact lives in the ``payments``, ``payment_callbacks``,
``refunds`` and ``receipts`` tables. Calls to a provider (create, query, refund) happen
outside any database transaction, so a slow provider never holds the write lock: the attempt
is reserved first, the provider called, and its answer stored in a second transaction. A
callback is judged and applied in one transaction together with the ``pay`` it completes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from dossier.actors import STAFF_ROLES, Actor
from dossier.authorise import check_actor, check_party
from dossier.clock import LOCAL_TZ, local_date, require_aware
from dossier.errors import (
    CallbackVerificationError,
    ConcurrencyConflict,
    DossierError,
    GuardFailed,
    IdempotencyConflict,
    InvalidInput,
    PaymentError,
    PermissionDenied,
    RefundNotAllowed,
    TransitionNotAllowed,
)
from dossier.payments.base import (
    CallbackReply,
    CallbackVerdict,
    ParsedCallback,
    PaymentGateway,
    PaymentInstructions,
    PaymentOutcome,
    PaymentRequest,
    RawCallback,
    RefundOutcome,
    RefundRequest,
    StatusQuery,
    make_order_ref,
)
from dossier.payments.counter import CounterGateway, confirmation
from dossier.payments.receipt import LocalReceiptIssuer, Receipt, ReceiptIssuer
from dossier.payments.reconcile import PaymentRecord, ReconciliationReport, StatementLine, reconcile
from dossier.payments.registry import GatewayRegistry
from dossier.payments.vietqr import BankCredit, ExpectedCredit, MatchStatus, match_bank_credit
from dossier.payments.vnpay import ipn_verdict
from dossier.procedure.model import Procedure
from dossier.records import Dossier, Payment, PaymentCallback, Refund, StoredReceipt
from dossier.states import FINAL_STATES, Role, State, Step
from dossier.store import payments_repo as prepo
from dossier.store import repository as repo
from dossier.store.database import Database, Tx

log = logging.getLogger("dossier.payments")

DEFAULT_EXPIRY = timedelta(minutes=15)
MOP_UP_AFTER = timedelta(minutes=30)
COUNTER = "counter"
#: ``pay`` methods that count as paid online (the provinces' online-payment rate).
ONLINE_METHODS = frozenset({"online", "transfer"})
#: Dossier states in which a paid fee may be given back.
REFUNDABLE_STATES = frozenset({State.REFUSED, State.WITHDRAWN, State.STOPPED})
_MAX_RAW = 16_000
_MAX_ATTEMPTS = 99
_SYMBOL = re.compile(r"[0-9A-Za-z/\-]{1,20}")


class BillingHost(Protocol):
    """What billing needs of the engine (the engine is passed in; never imported here)."""

    db: Database

    def _now(self) -> datetime: ...
    def _load(self, tx: Tx, code: str) -> Dossier: ...
    def _load_procedure(self, tx: Tx, code: str, version: str) -> Procedure: ...
    def _pay_in(self, tx: Tx, before: Dossier, procedure: Procedure, actor: Actor,
                behalf: str | None, data: Mapping[str, Any], now: datetime) -> Dossier: ...


@dataclass(frozen=True, kw_only=True)
class ReceiptSettings:
    """How receipts are numbered and headed.

    ``template_symbol`` (ký hiệu mẫu) and ``series_prefix`` are registered with the tax
    authority; the series (ký hiệu) is ``{prefix}-{yy}E`` for the year of payment in Vietnam,
    numbered from 1 per agency and series. ``agency_names`` maps agency codes to the names
    printed on the receipt (the code is printed when a name is missing).
    """

    template_symbol: str = "01BLP0-001"
    series_prefix: str = "AA"
    agency_names: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _SYMBOL.fullmatch(self.template_symbol):
            raise InvalidInput("receipt template_symbol must be 1-20 ASCII letters, digits, "
                               "'-' or '/' as registered")
        if not (self.series_prefix.isascii() and self.series_prefix.isalnum()
                and len(self.series_prefix) <= 16):
            raise InvalidInput("receipt series_prefix must be 1-16 ASCII letters or digits")

    def series_for(self, paid_at: datetime) -> str:
        return f"{self.series_prefix}-{local_date(paid_at).year % 100:02d}E"


@dataclass(frozen=True)
class MopUpReport:
    """What one :meth:`Billing.expire_stale` found, by outcome."""

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


@dataclass(frozen=True)
class PaymentSummary:
    """How dossiers' fees were paid: online (gateway or bank transfer) or at the counter."""

    online: int
    counter: int

    @property
    def total(self) -> int:
        return self.online + self.counter

    @property
    def online_rate(self) -> float:
        """Share of paid dossiers paid online (0.0 when none were paid)."""
        return self.online / self.total if self.total else 0.0


def build_registry(gateways: GatewayRegistry | Iterable[PaymentGateway] | None) -> GatewayRegistry:
    """The engine's gateways. ``None`` gives the counter only; a list gets the counter added
    unless it has a gateway named ``counter``; a registry is used as it is."""
    if isinstance(gateways, GatewayRegistry):
        return gateways
    registry = GatewayRegistry(list(gateways or ()))
    if COUNTER not in registry:
        registry.register(CounterGateway())
    return registry


class Billing:
    """The payment side of one engine."""

    def __init__(self, host: BillingHost, gateways: GatewayRegistry,
                 issuer: ReceiptIssuer | None = None,
                 receipts: ReceiptSettings | None = None) -> None:
        if issuer is not None and not isinstance(issuer, ReceiptIssuer):
            raise InvalidInput("receipt_issuer must implement dossier.payments.ReceiptIssuer")
        self.host = host
        self.gateways = gateways
        self.issuer: ReceiptIssuer = issuer or LocalReceiptIssuer()
        self.receipt_settings = receipts or ReceiptSettings()

    @property
    def db(self) -> Database:
        return self.host.db

    # --- opening a payment ------------------------------------------------------------

    def request_payment(self, code: str, provider: str, *, actor: Actor,
                        idempotency_key: str | None, return_url: str, client_ip: str,
                        expires_in: timedelta) -> Payment:
        check_actor(actor)
        gateway = self.gateways.get(provider)
        key = _check_key(idempotency_key, required=False)
        if not isinstance(expires_in, timedelta) or not \
                timedelta(minutes=1) <= expires_in <= timedelta(days=7):
            raise InvalidInput("expires_in must be a timedelta from 1 minute to 7 days")
        if not isinstance(return_url, str) or not isinstance(client_ip, str):
            raise InvalidInput("return_url and client_ip must be text")
        now = self.host._now()
        reserved = self._reserve(code, gateway.name, actor, key, now, expires_in)
        if isinstance(reserved, Payment):
            return reserved  # the same idempotency key: the same payment
        stored, description = reserved
        p = stored.record
        try:
            instructions = gateway.create(PaymentRequest(
                order_ref=p.order_ref, amount=p.amount, description=description,
                created_at=p.created_at, expires_at=p.expires_at, client_ip=client_ip,
                return_url=return_url))
        except DossierError as exc:
            with self.db.transaction() as tx:
                prepo.update_payment(tx, stored.id, "pending", self.host._now(),
                                     state="failed",
                                     review_reason=f"the provider refused to open it: {exc}")
            raise
        with self.db.transaction() as tx:
            prepo.update_payment(tx, stored.id, "pending", self.host._now(),
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

    def _reserve(self, code: str, provider: str, actor: Actor, key: str | None,
                 now: datetime, expires_in: timedelta,
                 ) -> Payment | tuple[prepo.StoredPayment, str]:
        for attempt in (1, 2):
            try:
                with self.db.transaction() as tx:
                    dossier = self._load_for(tx, code, actor)
                    if actor.role not in STAFF_ROLES | {Role.CITIZEN, Role.SYSTEM}:
                        raise PermissionDenied(f"{code}: a {actor.role.value} may not open a "
                                               "payment")
                    if key is not None:
                        same = self._same_key(tx, key, dossier, provider, dossier.fee_due)
                        if same is not None:
                            return same.record
                    procedure = self._procedure(tx, dossier)
                    self._check_payable(tx, dossier, procedure)
                    number = len(prepo.payments_of(tx, dossier.id)) + 1
                    if number > _MAX_ATTEMPTS:
                        raise PaymentError(f"{code} has had {_MAX_ATTEMPTS} payment attempts; "
                                           "ask the agency to look into it")
                    order_ref = make_order_ref(code, number)
                    record = Payment(
                        order_ref=order_ref, dossier_code=code, provider=provider,
                        amount=dossier.fee_due, currency="VND", state="pending",
                        method="online", idempotency_key=key or f"auto-{order_ref}",
                        requested_by=actor.id, created_at=now, expires_at=now + expires_in,
                        updated_at=now)
                    payment_id = prepo.insert_payment(tx, dossier.id, record)
                    return (prepo.StoredPayment(id=payment_id, dossier_id=dossier.id,
                                                record=record), f"Le phi ho so {code}")
            except Exception as exc:
                # a concurrent request took the same attempt number or idempotency key
                if attempt == 2 or not self.db.is_integrity_error(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _same_key(self, tx: Tx, key: str, dossier: Dossier, provider: str,
                  amount: int) -> prepo.StoredPayment | None:
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

    def _check_payable(self, tx: Tx, dossier: Dossier, procedure: Procedure) -> None:
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

    # --- callbacks --------------------------------------------------------------------

    def handle_callback(self, provider: str, raw: RawCallback) -> CallbackReply:
        gateway = self.gateways.get(provider)
        if not isinstance(raw, bytes | bytearray | Mapping):
            raise InvalidInput("a callback is its decoded parameters or its raw body (bytes)")
        text = _raw_text(raw)
        now = self.host._now()
        try:
            parsed = gateway.parse_callback(raw)
        except CallbackVerificationError as exc:
            self._record(provider, None, None, CallbackVerdict.INVALID_SIGNATURE, None,
                         None, str(exc), text, now)
            log.warning("%s callback rejected: %s", provider, exc)
            return gateway.reply(CallbackVerdict.INVALID_SIGNATURE)
        for attempt in (1, 2):
            try:
                with self.db.transaction() as tx:
                    verdict = self._judge(tx, gateway, parsed, text, now)
                break
            except DossierError as exc:  # a clerk changed the dossier at the same moment…
                reason = f"not applied, the provider will retry: {exc}"
            except Exception as exc:
                if attempt == 2 or not self.db.is_integrity_error(exc):
                    raise
                continue  # the same callback was applied concurrently: judge it again
            self._record(provider, parsed.order_ref or None, None, CallbackVerdict.ERROR,
                         parsed.outcome.value, parsed.amount, reason, text, now)
            return gateway.reply(CallbackVerdict.ERROR)
        if verdict is CallbackVerdict.CONFIRMED and parsed.succeeded and parsed.order_ref:
            self.issue_receipts(order_ref=parsed.order_ref)
        elif verdict is CallbackVerdict.CONFIRMED and parsed.succeeded:
            self.issue_receipts()  # a bank credit matched on its memo
        return gateway.reply(verdict)

    def _judge(self, tx: Tx, gateway: PaymentGateway, parsed: ParsedCallback, text: str,
               now: datetime) -> CallbackVerdict:
        provider = gateway.name
        stored = None
        if parsed.order_ref:
            stored = prepo.payment_by_order(tx, parsed.order_ref, lock=not self.db.is_sqlite)
            if stored is not None and stored.record.provider != provider:
                stored = None
        if stored is None and parsed.method == "bank_transfer":
            stored = self._match_credit(tx, provider, parsed)
        p = stored.record if stored is not None else None
        amount_ok = p is not None and parsed.amount == p.amount and \
            (parsed.currency is None or parsed.currency.upper() == p.currency)
        duplicate = prepo.callback_seen(tx, _dedup(parsed))
        settled = p is not None and (p.state != "pending" if not parsed.succeeded
                                     else p.state in ("succeeded", "needs_review", "refunded"))
        verdict = ipn_verdict(signature_valid=True, order_found=p is not None,
                              amount_matches=amount_ok, already_confirmed=duplicate or settled)
        reason = {
            CallbackVerdict.ORDER_NOT_FOUND: "no payment of ours has this order reference",
            CallbackVerdict.AMOUNT_MISMATCH: (
                f"the callback says {parsed.amount} {parsed.currency or 'VND'}, the order is "
                f"{p.amount} {p.currency}" if p is not None else ""),
            CallbackVerdict.ALREADY_PROCESSED: "a replay, or the payment was already settled",
        }.get(verdict, "")
        dedup = None
        if verdict is CallbackVerdict.CONFIRMED:
            assert stored is not None
            assert p is not None
            dedup = _dedup(parsed)
            reason = self._apply_outcome(tx, stored, parsed, now)
        prepo.insert_callback(tx, provider=provider, order_ref=p.order_ref if p else
                              (parsed.order_ref or None), payment_id=stored.id if stored
                              else None, dedup_key=dedup, verdict=verdict.value,
                              outcome=parsed.outcome.value, amount=parsed.amount,
                              reason=reason, raw=text, at=now)
        log.info("%s callback for %s: %s", provider, p.order_ref if p else "unknown order",
                 verdict.value)
        return verdict

    def _apply_outcome(self, tx: Tx, stored: prepo.StoredPayment, parsed: ParsedCallback,
                       now: datetime) -> str:
        p = stored.record
        provider_ref = parsed.provider_ref or p.provider_ref
        if parsed.outcome is PaymentOutcome.FAILED:
            prepo.update_payment(tx, stored.id, "pending", now, state="failed",
                                 provider_ref=provider_ref)
            return f"failed at the provider (code {parsed.response_code})"
        if not parsed.succeeded:
            return f"the provider reports {parsed.outcome.value}; nothing changes"
        paid_at = parsed.paid_at or now
        if p.state != "pending":  # paid after it expired, failed or was cancelled
            reason = f"paid after the payment was {p.state}; the money moved: refund or apply it"
            prepo.update_payment(tx, stored.id, p.state, now, state="needs_review",
                                 paid_at=paid_at, provider_ref=provider_ref,
                                 review_reason=reason)
            log.warning("%s payment %s needs review: paid after it was %s", p.dossier_code,
                        p.order_ref, p.state)
            return reason
        return self._succeed(tx, stored, provider_ref=provider_ref, paid_at=paid_at,
                             method=p.method, now=now)

    def _match_credit(self, tx: Tx, provider: str,
                      parsed: ParsedCallback) -> prepo.StoredPayment | None:
        """A bank credit whose memo names no order we know: match it among our pending
        transfers on the memo (then the amount)."""
        pending = {s.record.order_ref: s for s in prepo.payments_by_state(tx, provider,
                                                                           "pending")}
        credit = BankCredit(account=parsed.merchant_id, amount=parsed.amount,
                            memo=parsed.message, reference=parsed.provider_ref,
                            currency=parsed.currency)
        match = match_bank_credit(credit, [ExpectedCredit(reference=ref, amount=s.record.amount)
                                           for ref, s in pending.items()])
        if match.status in (MatchStatus.MATCHED, MatchStatus.AMOUNT_MISMATCH) \
                and match.expected is not None:
            return pending[match.expected.reference]
        return None

    def _record(self, provider: str, order_ref: str | None, payment_id: int | None,
                verdict: CallbackVerdict, outcome: str | None, amount: int | None,
                reason: str, text: str, now: datetime) -> None:
        with self.db.transaction() as tx:
            prepo.insert_callback(tx, provider=provider, order_ref=order_ref,
                                  payment_id=payment_id, dedup_key=None, verdict=verdict.value,
                                  outcome=outcome, amount=amount, reason=reason, raw=text,
                                  at=now)

    # --- success, and the pay step it completes --------------------------------------------

    def _succeed(self, tx: Tx, stored: prepo.StoredPayment, *, provider_ref: str | None,
                 paid_at: datetime, method: str, now: datetime,
                 actor: Actor | None = None) -> str:
        """Record the success of a pending payment; complete ``pay`` if the dossier waits for
        it. Returns what happened (for the callback record)."""
        p = stored.record
        dossier = self.host._load(tx, p.dossier_code)
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
            prepo.update_payment(tx, stored.id, "pending", now, state="needs_review",
                                 paid_at=paid_at, provider_ref=provider_ref, method=method,
                                 review_reason=reason)
            log.warning("%s payment %s needs review: %s", p.dossier_code, p.order_ref, problem)
            return reason
        prepo.update_payment(tx, stored.id, "pending", now, state="succeeded", paid_at=paid_at,
                             provider_ref=provider_ref, method=method)
        prepo.cancel_pending(tx, dossier.id, now, except_id=stored.id)
        procedure = self._procedure(tx, dossier)
        self._allocate_receipt(tx, dossier, procedure, stored.id, p.provider, method, p.amount,
                               paid_at, now)
        if dossier.state is State.AWAITING_PAYMENT:
            self._consume(tx, dossier, procedure, stored, method=method,
                          reference=provider_ref or p.order_ref, actor=actor, now=now)
            return "paid; the pay step is complete"
        return "paid; the pay step completes when the dossier reaches it"

    def _consume(self, tx: Tx, dossier: Dossier, procedure: Procedure,
                 stored: prepo.StoredPayment, *, method: str, reference: str,
                 actor: Actor | None, now: datetime) -> Dossier:
        p = stored.record
        behalf = None
        if actor is None:  # a gateway or the engine completes the step for the payer
            actor = Actor.system()
            behalf = dossier.owner or p.requested_by
        data = {"amount": p.amount, "method": method, "reference": reference,
                "note": f"{p.provider} {p.order_ref}"}
        after = self.host._pay_in(tx, dossier, procedure, actor, behalf, data, now)
        if not prepo.update_payment(tx, stored.id, "succeeded", now, consumed_at=now):
            raise ConcurrencyConflict(f"{dossier.code}: payment {p.order_ref} changed "
                                      "meanwhile; retry")
        return after

    def after_transition(self, tx: Tx, dossier: Dossier, procedure: Procedure,
                         now: datetime) -> Dossier:
        """The engine's hook after each transition: a dossier entering ``awaiting_payment``
        with its fee already paid completes ``pay`` at once; a closed dossier's open
        attempts are cancelled."""
        if dossier.state is State.AWAITING_PAYMENT and dossier.paid_amount < dossier.fee_due:
            stored = prepo.unconsumed_success(tx, dossier.id, dossier.fee_due)
            if stored is not None:
                p = stored.record
                return self._consume(tx, dossier, procedure, stored, method=p.method,
                                     reference=p.provider_ref or p.order_ref, actor=None,
                                     now=now)
        elif dossier.state in FINAL_STATES:
            prepo.cancel_pending(tx, dossier.id, now)
        return dossier

    # --- the counter ------------------------------------------------------------------

    def confirm_counter(self, code: str, *, actor: Actor, amount: int, method: str,
                        reference: str | None, idempotency_key: str | None) -> Payment:
        check_actor(actor)
        gateway = self.gateways.get(COUNTER)
        key = _check_key(idempotency_key, required=False)
        if reference is not None and (not isinstance(reference, str) or not reference.strip()):
            raise InvalidInput("reference must be the cash-book line or POS slip number")
        now = self.host._now()
        with self.db.transaction() as tx:
            dossier = self._load_for(tx, code, actor)
            procedure = self._procedure(tx, dossier)
            pay_role = next((s.role for s in procedure.steps if s.name is Step.PAY), None)
            if actor.role is not pay_role:
                raise PermissionDenied(f"{code}: a {actor.role.value} may not take the fee at "
                                       f"the counter (a {pay_role.value if pay_role else 'clerk'}"
                                       " of the agency does)")
            if key is not None:
                same = self._same_key(tx, key, dossier, gateway.name, amount)
                if same is not None:
                    return same.record
            self._check_payable(tx, dossier, procedure)
            if amount != dossier.fee_due:
                raise GuardFailed(code, "amount_matches_fee", [f"amount {dossier.fee_due} VND"],
                                  "Take exactly the fee due.")
            open_counter = [s for s in prepo.payments_of(tx, dossier.id)
                            if s.record.provider == gateway.name and s.record.state == "pending"
                            and s.record.amount == amount]
            order_ref = open_counter[-1].record.order_ref if open_counter else \
                make_order_ref(code, len(prepo.payments_of(tx, dossier.id)) + 1)
            try:
                parsed = gateway.parse_callback(confirmation(
                    order_ref=order_ref, amount=amount, method=method, confirmed_by=actor.id,
                    receipt_ref=reference or "", paid_at=now))
            except CallbackVerificationError as exc:
                raise InvalidInput(f"{code}: {exc}") from exc
            if open_counter:
                stored = open_counter[-1]
            else:
                record = Payment(
                    order_ref=order_ref, dossier_code=code, provider=gateway.name,
                    amount=amount, currency="VND", state="pending", method=parsed.method,
                    idempotency_key=key or f"auto-{order_ref}", requested_by=actor.id,
                    created_at=now, expires_at=now, updated_at=now)
                stored = prepo.StoredPayment(id=prepo.insert_payment(tx, dossier.id, record),
                                             dossier_id=dossier.id, record=record)
            outcome = self._succeed(tx, stored, provider_ref=parsed.provider_ref, paid_at=now,
                                    method=parsed.method, now=now, actor=actor)
            prepo.insert_callback(tx, provider=gateway.name, order_ref=order_ref,
                                  payment_id=stored.id, dedup_key=_dedup(parsed),
                                  verdict=CallbackVerdict.CONFIRMED.value,
                                  outcome=parsed.outcome.value, amount=amount, reason=outcome,
                                  raw=_raw_text(dict(parsed.raw)), at=now)
            found = prepo.payment_by_order(tx, order_ref)
        assert found is not None
        log.info("%s fee %d VND taken at the counter (%s) by %s", code, amount, parsed.method,
                 actor.id)
        self.issue_receipts(order_ref=order_ref)
        return found.record

    # --- refunds ----------------------------------------------------------------------

    def refund(self, code: str, *, actor: Actor, reason: str, idempotency_key: str,
               amount: int | None, order_ref: str | None) -> Refund:
        check_actor(actor)
        key = _check_key(idempotency_key, required=True)
        assert key is not None
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInput("a refund needs a reason")
        if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool)
                                   or amount <= 0):
            raise InvalidInput("refund amount must be a positive integer number of VND")
        now = self.host._now()
        with self.db.transaction() as tx:
            dossier = self._load_for(tx, code, actor)
            if actor.role not in (Role.CLERK, Role.LEADER):
                raise PermissionDenied(f"{code}: a {actor.role.value} may not refund a fee "
                                       "(a clerk or leader of the agency does)")
            same = prepo.refund_by_key(tx, key)
            if same is not None:
                r = same.record
                if r.dossier_code != code or (amount is not None and amount != r.amount) \
                        or (order_ref is not None and order_ref != r.order_ref):
                    raise IdempotencyConflict(f"{code}: idempotency key {key!r} was already "
                                              "used for another refund; use a new key")
                return r
            stored, held = self._refundable(tx, dossier, order_ref)
            p = stored.record
            refund_amount = amount if amount is not None else p.amount - held
            number = prepo.count_refunds(tx, stored.id) + 1
            request = RefundRequest(
                order_ref=p.order_ref, refund_ref=f"{p.order_ref}R{number:02d}",
                amount=refund_amount, paid_amount=p.amount, provider_ref=p.provider_ref or "",
                payment_created_at=p.created_at, requested_at=now, requested_by=actor.id,
                reason=reason.strip(), refunded_before=held)
            record = Refund(refund_ref=request.refund_ref, order_ref=p.order_ref,
                            dossier_code=code, amount=refund_amount, state="requested",
                            reason=reason.strip(), requested_by=actor.id, idempotency_key=key,
                            created_at=now, updated_at=now)
            refund_id = prepo.insert_refund(tx, stored.id, record)
        gateway = self.gateways.get(p.provider)
        try:
            result = gateway.refund(request)
        except DossierError as exc:
            with self.db.transaction() as tx:
                prepo.update_refund(tx, refund_id, "requested", state="failed",
                                    provider_ref=None, message=str(exc), at=self.host._now())
            raise
        state = {RefundOutcome.REFUNDED: "refunded", RefundOutcome.PENDING: "pending",
                 RefundOutcome.REJECTED: "rejected"}[result.outcome]
        with self.db.transaction() as tx:
            prepo.update_refund(tx, refund_id, "requested", state=state,
                                provider_ref=result.provider_ref or None,
                                message=result.message, at=self.host._now())
            if state == "refunded":
                self._book_refund(tx, p.order_ref, refund_amount, self.host._now())
            done = prepo.refund_by_ref(tx, request.refund_ref)
        assert done is not None
        log.info("%s refund %s of %d VND: %s (by %s)", code, request.refund_ref, refund_amount,
                 state, actor.id)
        return done.record

    def _refundable(self, tx: Tx, dossier: Dossier,
                    order_ref: str | None) -> tuple[prepo.StoredPayment, int]:
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
            if stored.record.state != "needs_review" and dossier.state not in REFUNDABLE_STATES:
                raise RefundNotAllowed(
                    f"{code} is {dossier.state.value}: a fee is refunded when the dossier was "
                    "refused, withdrawn or stopped, or when the payment is under review")
            return stored, held
        raise RefundNotAllowed(f"{code}: everything paid was already refunded")

    def _book_refund(self, tx: Tx, order_ref: str, amount: int, now: datetime) -> None:
        stored = prepo.payment_by_order(tx, order_ref, lock=not self.db.is_sqlite)
        assert stored is not None
        p = stored.record
        total = p.refunded_amount + amount
        changes: dict[str, Any] = {"refunded_amount": total}
        if total >= p.amount:
            changes["state"] = "refunded"
        if not prepo.update_payment(tx, stored.id, p.state, now, **changes):
            raise ConcurrencyConflict(f"payment {order_ref} changed meanwhile; retry")

    def confirm_refund(self, refund_ref: str, *, actor: Actor) -> Refund:
        check_actor(actor)
        now = self.host._now()
        with self.db.transaction() as tx:
            found = prepo.refund_by_ref(tx, refund_ref) if isinstance(refund_ref, str) else None
            if found is None:
                raise InvalidInput(f"no refund {refund_ref!r}")
            self._load_for(tx, found.record.dossier_code, actor)
            if actor.role not in (Role.CLERK, Role.LEADER):
                raise PermissionDenied(f"a {actor.role.value} may not confirm a refund")
            if found.record.state != "pending":
                raise RefundNotAllowed(f"refund {refund_ref} is {found.record.state}, not "
                                       "waiting to be paid back")
            prepo.update_refund(tx, found.id, "pending", state="refunded",
                                provider_ref=found.record.provider_ref,
                                message=f"paid back, confirmed by {actor.id}", at=now)
            self._book_refund(tx, found.record.order_ref, found.record.amount, now)
            done = prepo.refund_by_ref(tx, refund_ref)
        assert done is not None
        return done.record

    # --- receipts ---------------------------------------------------------------------

    def _allocate_receipt(self, tx: Tx, dossier: Dossier, procedure: Procedure,
                          payment_id: int, provider: str, method: str, amount: int,
                          paid_at: datetime, now: datetime) -> None:
        if prepo.has_receipt(tx, payment_id):
            return
        settings = self.receipt_settings
        series = settings.series_for(paid_at)
        number = repo.next_counter(tx, "receipt", f"{dossier.agency}:{series}")
        fee = procedure.fee
        prepo.insert_receipt(
            tx, payment_id=payment_id, dossier_id=dossier.id, agency=dossier.agency,
            template_symbol=settings.template_symbol, series=series, number=number,
            payer_name=str(dossier.applicant.get("name", "")),
            agency_name=settings.agency_names.get(dossier.agency, dossier.agency),
            fee_name=(fee.name if fee is not None and fee.name else "Phí, lệ phí"),
            amount=amount, payment_method=method if method in ("cash", "pos") else provider,
            paid_at=paid_at, at=now)

    def issue_receipts(self, limit: int = 50, *, order_ref: str | None = None) -> int:
        """Produce the documents of receipts numbered but not issued yet (of one payment);
        return how many. An issuer failure leaves the receipt for the next try (the worker
        retries)."""
        with self.db.transaction(write=False) as tx:
            waiting = prepo.unissued_receipts(tx, limit, order_ref)
        issued = 0
        for row in waiting:
            r = row.record
            try:
                done = self.issuer.issue(Receipt(
                    template_symbol=r.template_symbol, series=r.series, number=r.number,
                    payer_name=r.payer_name, agency_name=row.agency_name,
                    fee_name=row.fee_name, amount=r.amount, payment_method=r.payment_method,
                    paid_at=r.paid_at, dossier_code=r.dossier_code, order_ref=r.order_ref,
                    provider_ref=row.provider_ref or ""))
            except DossierError as exc:
                log.warning("receipt %s %s of %s not issued yet: %s", r.series, r.number_text,
                            r.dossier_code, exc)
                continue
            with self.db.transaction() as tx:
                issued += prepo.set_receipt_issued(tx, row.id, html=done.html,
                                                   issuer=done.issuer,
                                                   lookup_code=done.lookup_code,
                                                   at=self.host._now())
        return issued

    # --- the mop-up -------------------------------------------------------------------

    def expire_stale(self, now: datetime | None, *, older_than: timedelta,
                     batch: int) -> MopUpReport:
        if not isinstance(older_than, timedelta) or older_than < timedelta(0):
            raise InvalidInput("older_than must be a non-negative timedelta")
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise InvalidInput("batch must be a positive whole number")
        at = self.host._now() if now is None else require_aware(now, "now")
        with self.db.transaction(write=False) as tx:
            stale = prepo.stale_pending(tx, at - older_than, batch)
        counts = dict.fromkeys(("succeeded", "expired", "failed", "review", "still_pending",
                                "settled_meanwhile", "errors"), 0)
        for stored in stale:
            counts[self._mop_up_one(stored, at)] += 1
        self.issue_receipts()
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
        with self.db.transaction() as tx:
            fresh = prepo.payment_by_order(tx, p.order_ref, lock=not self.db.is_sqlite)
            if fresh is None or fresh.record.state != "pending":
                return "settled_meanwhile"  # a callback or a clerk got there first
            ref = status.provider_ref or None
            if status.outcome is PaymentOutcome.SUCCEEDED:
                if status.amount is not None and status.amount != p.amount:
                    prepo.update_payment(
                        tx, fresh.id, "pending", at, state="needs_review",
                        paid_at=status.paid_at or at, provider_ref=ref,
                        review_reason=f"the provider says {status.amount} VND was paid, "
                                      f"the order is {p.amount} VND")
                    return "review"
                outcome = self._succeed(tx, fresh, provider_ref=ref or p.provider_ref,
                                        paid_at=status.paid_at or at, method=p.method, now=at)
                return "review" if outcome.startswith("money received") else "succeeded"
            if status.outcome is PaymentOutcome.FAILED:
                prepo.update_payment(tx, fresh.id, "pending", at, state="failed",
                                     provider_ref=ref)
                return "failed"
            if at >= p.expires_at:
                prepo.update_payment(tx, fresh.id, "pending", at, state="expired")
                return "expired"
            return "still_pending"

    # --- queries ----------------------------------------------------------------------

    def payments(self, code: str) -> list[Payment]:
        with self.db.transaction(write=False) as tx:
            return [s.record for s in prepo.payments_of(tx, self.host._load(tx, code).id)]

    def refunds(self, code: str) -> list[Refund]:
        with self.db.transaction(write=False) as tx:
            return prepo.refunds_of(tx, self.host._load(tx, code).id)

    def receipts(self, code: str) -> list[StoredReceipt]:
        with self.db.transaction(write=False) as tx:
            return prepo.receipts_of(tx, self.host._load(tx, code).id)

    def callbacks(self, *, order_ref: str | None, review_only: bool) -> list[PaymentCallback]:
        with self.db.transaction(write=False) as tx:
            return prepo.load_callbacks(tx, order_ref=order_ref, review_only=review_only)

    def summary(self, agency: str | None) -> PaymentSummary:
        with self.db.transaction(write=False) as tx:
            methods = prepo.pay_methods(tx, agency)
        online = sum(1 for m in methods if m in ONLINE_METHODS)
        return PaymentSummary(online=online, counter=len(methods) - online)

    def reconcile(self, provider: str, lines: Iterable[StatementLine], *,
                  layout: str | None, days: Iterable[date] | None) -> ReconciliationReport:
        lines = list(lines)
        wanted = sorted(set(days) if days is not None else {local_date(ln.at) for ln in lines})
        ranges: list[tuple[datetime | None, datetime | None]] = [
            (start, start + timedelta(days=1))
            for start in (datetime.combine(day, time(0), LOCAL_TZ) for day in wanted)]
        stored: dict[str, prepo.StoredPayment] = {}
        with self.db.transaction(write=False) as tx:
            for start, end in ranges or [(None, None)]:  # no day given or listed: everything
                for s in prepo.paid_between(tx, provider, start, end):
                    stored[s.record.order_ref] = s
        records = [PaymentRecord(order_ref=s.record.order_ref, amount=s.record.amount,
                                 provider_ref=s.record.provider_ref or "",
                                 dossier_code=s.record.dossier_code) for s in stored.values()]
        return reconcile(layout or provider, lines, records)

    # --- helpers ----------------------------------------------------------------------

    def _load_for(self, tx: Tx, code: str, actor: Actor) -> Dossier:
        dossier = self.host._load(tx, code)
        check_party(actor, dossier)
        return dossier

    def _procedure(self, tx: Tx, dossier: Dossier) -> Procedure:
        return self.host._load_procedure(tx, dossier.procedure_code, dossier.procedure_version)


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


def _check_key(key: str | None, *, required: bool) -> str | None:
    if key is None and not required:
        return None
    if not isinstance(key, str) or not 1 <= len(key) <= 128 or not key.isprintable() \
            or key != key.strip():
        raise InvalidInput("idempotency_key must be 1-128 printable characters (a UUID is "
                           "a good choice)")
    return key


def _dedup(parsed: ParsedCallback) -> str:
    key = parsed.dedup_key
    return key if len(key) <= 255 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _raw_text(raw: RawCallback) -> str:
    """A callback as stored for review: JSON of its parameters, or its body as text."""
    if isinstance(raw, bytes | bytearray):
        text = bytes(raw).decode("utf-8", errors="replace")
    else:
        text = json.dumps({str(k): str(v) for k, v in raw.items()}, ensure_ascii=False,
                          sort_keys=True)
    return text[:_MAX_RAW]
