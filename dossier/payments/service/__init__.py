"""The payment service: payments on the engine's side, driving the gateways through the
kernel. It knows gateways only through the :class:`~dossier.payments.base.PaymentGateway`
port and its optional capabilities (``MatchesCredits``, ``TakesCounterPayments``).

::

    attempts     open an attempt with a provider; the mop-up of stale ones
    callbacks    providers' callbacks: verified, judged, applied, recorded
    settlement   a success and the ``pay`` step it completes (gateways and the counter)
    refunds      money given back
    receipts     e-receipts numbered in the paying transaction, issued after it
    reports      what the tables say; the online-payment indicator; reconciliation

The gateways are stateless; every fact lives in the ``payments``, ``payment_callbacks``,
``refunds`` and ``receipts`` tables.

Money decided from what the tables say is decided under a lock: opening an attempt, taking a
fee at the counter and reserving a refund hold the dossier's row (``settlement.hold_dossier``,
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers), callbacks and the mop-up hold
the payment's row, and every state change of a payment or refund is conditional on the state
read, so a concurrent loser gets a :class:`~dossier.errors.DossierError` (``RefundNotAllowed``,
``TransitionNotAllowed``, ``ConcurrencyConflict``) and never money counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from dossier.documents.base import Sealer
from dossier.engine.kernel import Kernel
from dossier.payments.base import PaymentGateway
from dossier.payments.receipt import ReceiptIssuer
from dossier.payments.registry import GatewayRegistry
from dossier.payments.service.attempts import (
    DEFAULT_EXPIRY,
    MOP_UP_AFTER,
    Attempts,
    MopUpReport,
    instructions,
)
from dossier.payments.service.callbacks import Callbacks
from dossier.payments.service.receipts import Receipts, ReceiptSettings
from dossier.payments.service.refunds import REFUNDABLE_STATES, Refunds
from dossier.payments.service.reports import ONLINE_METHODS, PaymentSummary, Reports
from dossier.payments.service.settlement import COUNTER, COUNTER_METHODS, Settlement

#: The counter gateway every engine has unless it is given one named ``counter``.
COUNTER_GATEWAY = "dossier.payments.counter:CounterGateway"


def build_registry(gateways: GatewayRegistry | Iterable[PaymentGateway] | None) -> GatewayRegistry:
    """The engine's gateways. ``None`` gives the counter only; a list gets the counter added
    unless it has a gateway named ``counter``; a registry is used as it is."""
    if isinstance(gateways, GatewayRegistry):
        return gateways
    registry = GatewayRegistry(list(gateways or ()))
    if COUNTER not in registry:
        from dossier.plugins import load_object

        registry.register(load_object(COUNTER_GATEWAY)())
    return registry


class PaymentService:
    """The payment side of one engine, one part per job."""

    def __init__(self, kernel: Kernel, gateways: GatewayRegistry,
                 issuer: ReceiptIssuer | None = None,
                 receipts: ReceiptSettings | None = None,
                 seal: Sealer | None = None) -> None:
        self.gateways = gateways
        self.receipts = Receipts(kernel, issuer, receipts, seal)
        self.settlement = Settlement(kernel, gateways, self.receipts)
        self.attempts = Attempts(kernel, gateways, self.settlement)
        self.callbacks = Callbacks(kernel, gateways, self.settlement, self.receipts)
        self.refunds = Refunds(kernel, gateways)
        self.reports = Reports(kernel)


__all__ = [
    "COUNTER",
    "COUNTER_METHODS",
    "DEFAULT_EXPIRY",
    "MOP_UP_AFTER",
    "ONLINE_METHODS",
    "REFUNDABLE_STATES",
    "MopUpReport",
    "PaymentService",
    "PaymentSummary",
    "ReceiptSettings",
    "build_registry",
    "instructions",
]
