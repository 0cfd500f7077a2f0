"""What the payment tables say: a dossier's payments, refunds, receipts and callbacks; how
fees were paid (the online-payment indicator); a provider's statement reconciled."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dossier.actors import Actor
from dossier.clock import LOCAL_TZ, local_date
from dossier.engine.kernel import Kernel
from dossier.payments.reconcile import PaymentRecord, ReconciliationReport, StatementLine, reconcile
from dossier.records import Payment, PaymentCallback, Refund, StoredReceipt
from dossier.store import payments_repo as prepo

#: ``pay`` methods that count as paid online (the provinces' online-payment rate).
ONLINE_METHODS = frozenset({"online", "transfer"})


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


class Reports:
    """Read-only questions about payments."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def payments(self, code: str, actor: Actor | None = None) -> list[Payment]:
        with self.kernel.transaction(write=False) as tx:
            dossier = self.kernel.load_as(tx, code, actor)
            return [s.record for s in prepo.payments_of(tx, dossier.id)]

    def refunds(self, code: str, actor: Actor | None = None) -> list[Refund]:
        with self.kernel.transaction(write=False) as tx:
            return prepo.refunds_of(tx, self.kernel.load_as(tx, code, actor).id)

    def receipts(self, code: str, actor: Actor | None = None) -> list[StoredReceipt]:
        with self.kernel.transaction(write=False) as tx:
            return prepo.receipts_of(tx, self.kernel.load_as(tx, code, actor).id)

    def callbacks(self, *, order_ref: str | None, review_only: bool) -> list[PaymentCallback]:
        with self.kernel.transaction(write=False) as tx:
            return prepo.load_callbacks(tx, order_ref=order_ref, review_only=review_only)

    def summary(self, agency: str | None) -> PaymentSummary:
        with self.kernel.transaction(write=False) as tx:
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
        with self.kernel.transaction(write=False) as tx:
            for start, end in ranges or [(None, None)]:  # no day given or listed: everything
                for s in prepo.paid_between(tx, provider, start, end):
                    stored[s.record.order_ref] = s
        records = [PaymentRecord(order_ref=s.record.order_ref, amount=s.record.amount,
                                 provider_ref=s.record.provider_ref or "",
                                 dossier_code=s.record.dossier_code) for s in stored.values()]
        return reconcile(layout or provider, lines, records)
