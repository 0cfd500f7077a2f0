"""The payment half of :class:`~dossier.engine.Engine`'s public API (see
:mod:`dossier.payments.service` for the rules)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from dossier.actors import Actor
from dossier.clock import require_aware
from dossier.engine.kernel import Kernel
from dossier.errors import InvalidInput
from dossier.payments.base import CallbackReply, RawCallback
from dossier.payments.reconcile import ReconciliationReport, StatementLine
from dossier.payments.registry import GatewayRegistry
from dossier.payments.service import (
    DEFAULT_EXPIRY,
    MOP_UP_AFTER,
    MopUpReport,
    PaymentService,
    PaymentSummary,
)
from dossier.payments.service.settlement import check_key
from dossier.policy import check_actor
from dossier.records import Payment, PaymentCallback, Refund, StoredReceipt


def check_batch(batch: object) -> None:
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise InvalidInput("batch must be a positive whole number")


class PaymentsApi:
    """Payments: attempts, callbacks, the counter, refunds, receipts, reports."""

    _payments: PaymentService
    _kernel: Kernel

    @property
    def gateways(self) -> GatewayRegistry:
        """The payment gateways this engine uses, by name."""
        return self._payments.gateways

    def request_payment(self, code: str, provider: str, *, actor: Actor,
                        idempotency_key: str | None = None, return_url: str = "",
                        client_ip: str = "127.0.0.1",
                        expires_in: timedelta = DEFAULT_EXPIRY) -> Payment:
        """Open a payment attempt of the dossier's fee with ``provider``; return it with what
        the citizen needs (``redirect_url``, ``qr_payload`` or ``counter_instructions``).

        The amount is the dossier's ``fee_due`` (the procedure's fee rule over the fee basis
        given at submission). The dossier's owner or staff of its agency may ask, while the
        dossier is open and its fee unpaid, at any step: a fee paid before the dossier
        reaches ``awaiting_payment`` completes ``pay`` by itself when it gets there. The same
        ``idempotency_key`` returns the same payment; reused for another amount, provider or
        dossier it raises :class:`~dossier.errors.IdempotencyConflict`. Without a key every
        call opens a new attempt. A provider that refuses raises
        :class:`~dossier.errors.PaymentError` and the attempt is stored as ``failed``.
        """
        check_actor(actor)
        key = check_key(idempotency_key, required=False)
        return self._payments.attempts.request(
            code, provider, actor=actor, key=key, return_url=return_url, client_ip=client_ip,
            expires_in=expires_in)

    def handle_payment_callback(self, provider: str, params_or_body: RawCallback) -> CallbackReply:
        """Verify and apply a provider's callback (IPN, bank notification); return the HTTP
        answer the provider expects.

        Checks, in VNPay's order: signature and merchant (97), order (01), amount and
        currency (04), already processed (02). Every callback is recorded
        (:meth:`payment_callbacks`); only a verified one for a known order with the right
        amount changes anything. A success completes ``pay`` (as ``system``, on behalf of
        the payer) in the same transaction when the dossier waits in ``awaiting_payment``;
        a success for an attempt that had expired, failed or been cancelled, or for a
        dossier already paid or closed, puts the payment in ``needs_review``. A replay
        changes nothing. A failure marks a pending payment ``failed``.
        """
        return self._payments.callbacks.handle(provider, params_or_body)

    def confirm_counter_payment(self, code: str, *, actor: Actor, amount: int,
                                method: str = "cash", reference: str | None = None,
                                idempotency_key: str | None = None) -> Payment:
        """The fee was taken at the counter (``method`` ``cash`` or ``pos``; ``reference``:
        the cash-book line or POS slip, required for ``pos``).

        Only the role of the procedure's ``pay`` step (a clerk) of the dossier's agency may
        confirm, and only the exact fee due. It uses the dossier's open ``counter`` attempt
        (from :meth:`request_payment`) or records a new one, issues the receipt and, when
        the dossier waits in ``awaiting_payment``, fires ``pay`` as that clerk.
        """
        check_actor(actor)
        key = check_key(idempotency_key, required=False)
        payment = self._payments.settlement.confirm_counter(
            code, actor=actor, amount=amount, method=method, reference=reference, key=key)
        self._payments.receipts.issue(order_ref=payment.order_ref)
        return payment

    def refund(self, code: str, *, actor: Actor, reason: str, idempotency_key: str,
               amount: int | None = None, order_ref: str | None = None) -> Refund:
        """Give back all (``amount=None``: what is left) or part of a received payment.

        A clerk or leader of the dossier's agency may refund a dossier that was refused,
        withdrawn or stopped, or any payment in ``needs_review`` (paid late, twice, or for a
        closed dossier). Never more than was paid, minus earlier refunds
        (:class:`~dossier.errors.RefundNotAllowed`). ``order_ref`` picks the payment (default:
        the latest with money left). The same ``idempotency_key`` returns the same refund.
        Providers without a refund API (counter, VietQR) leave the refund ``pending`` until
        :meth:`confirm_refund`.
        """
        check_actor(actor)
        key = check_key(idempotency_key, required=True)
        assert key is not None
        return self._payments.refunds.refund(code, actor=actor, reason=reason, key=key,
                                             amount=amount, order_ref=order_ref)

    def confirm_refund(self, refund_ref: str, *, actor: Actor) -> Refund:
        """A pending refund was paid back by hand (cash, bank transfer)."""
        check_actor(actor)
        return self._payments.refunds.confirm(refund_ref, actor=actor)

    def expire_stale_payments(self, now: datetime | None = None, *,
                              older_than: timedelta = MOP_UP_AFTER,
                              batch: int = 200) -> MopUpReport:
        """Ask the provider about attempts pending for longer than ``older_than``: paid ones
        take the normal success path, failed ones are marked ``failed``, and ones past their
        expiry that the provider does not report paid are marked ``expired``. A provider
        that cannot be reached leaves the attempt for the next run."""
        if not isinstance(older_than, timedelta) or older_than < timedelta(0):
            raise InvalidInput("older_than must be a non-negative timedelta")
        check_batch(batch)
        at = self._kernel.now() if now is None else require_aware(now, "now")
        report = self._payments.attempts.expire_stale(at, older_than=older_than, batch=batch)
        self._payments.receipts.issue()
        return report

    def issue_pending_receipts(self) -> int:
        """Produce receipts numbered but not issued yet (the issuer failed); return how many."""
        return self._payments.receipts.issue()

    def payments(self, code: str, *, actor: Actor | None = None) -> list[Payment]:
        """The dossier's payment attempts, oldest first (``actor``: see :class:`Engine`)."""
        return self._payments.reports.payments(code, actor)

    def refunds(self, code: str, *, actor: Actor | None = None) -> list[Refund]:
        """The dossier's refunds, oldest first."""
        return self._payments.reports.refunds(code, actor)

    def receipts(self, code: str, *, actor: Actor | None = None) -> list[StoredReceipt]:
        """The dossier's e-receipts (one per succeeded payment), oldest first."""
        return self._payments.reports.receipts(code, actor)

    def payment_callbacks(self, *, order_ref: str | None = None,
                          review: bool = False) -> list[PaymentCallback]:
        """Callbacks received (of one order), oldest first; ``review=True``: only those a
        person must look at (forged, unknown order, wrong amount, not applied)."""
        return self._payments.reports.callbacks(order_ref=order_ref, review_only=review)

    def payment_summary(self, agency: str | None = None) -> PaymentSummary:
        """How paid dossiers (of one agency) paid: online or at the counter, from their
        ``pay`` events; ``.online_rate`` is the provinces' online-payment indicator."""
        return self._payments.reports.summary(agency)

    def reconcile(self, provider: str, lines: Iterable[StatementLine], *,
                  layout: str | None = None,
                  days: Iterable[date] | None = None) -> ReconciliationReport:
        """Match a provider's statement lines against our payments of ``provider`` paid on
        ``days`` (Vietnam dates; default: the dates the statement covers). ``layout`` names
        the statement layout when it differs from the provider name."""
        return self._payments.reports.reconcile(provider, lines, layout=layout, days=days)
