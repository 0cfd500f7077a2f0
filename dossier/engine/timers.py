"""Timers: the sweep that fires what is due (warnings, overdue events, supplement expiry).

No scheduler job per dossier: each row carries its next due instant (``next_timer_at``,
indexed) written with its state; the sweep selects what is due in batches, each one short
write transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers share the work), and
re-checks each row inside it, so a row swept twice or by two workers yields one event. A
batch ends after :data:`BATCH_SECONDS` of work even if rows are left, so that a big backlog
never holds SQLite's write lock for long.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from dossier import sla
from dossier.actors import Actor
from dossier.clock import LOCAL_TZ
from dossier.engine.kernel import Kernel
from dossier.states import Trigger
from dossier.store import repository as repo
from dossier.store.database import Tx

log = logging.getLogger("dossier")


@dataclass(frozen=True)
class SweepReport:
    """What one :meth:`Engine.sweep` fired, by timer (``sla_warning``, ``overdue``,
    ``supplement_expired``)."""

    at: datetime
    fired: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.fired.values())

    def __str__(self) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in sorted(self.fired.items())) or "nothing due"


#: How long one sweep transaction may go on firing (the SELECT and COMMIT come on top). On
#: SQLite a transaction holds the database's only write lock: the counter waits behind it.
BATCH_SECONDS = 0.035


def sweep(kernel: Kernel, at: datetime, *, batch: int, max_batches: int | None,
          budget: float | None = None) -> SweepReport:
    """Fire every timer due at ``at``: at most ``batch`` dossiers per transaction, and no more
    than fit in ``budget`` seconds (:data:`BATCH_SECONDS`); each transaction then commits and
    the next one starts.

    After a transaction that ran out of time, the next one selects only as many due rows as
    that one managed to fire, so that it does not read rows it will leave for the next.
    """
    seconds = BATCH_SECONDS if budget is None else budget
    fired: dict[str, int] = {}
    batches = 0
    take = batch
    while max_batches is None or batches < max_batches:
        began = time.perf_counter()
        done = 0
        with kernel.transaction() as tx:
            codes = repo.due_dossier_codes(tx, at, take, skip_locked=not kernel.db.is_sqlite)
            for code in codes:
                timer = _fire_timer(kernel, tx, code, at)
                done += 1
                if timer is not None:
                    fired[timer.value] = fired.get(timer.value, 0) + 1
                if time.perf_counter() - began >= seconds:
                    break
        batches += 1
        if done == len(codes) < take:
            break  # nothing more is due
        # the next transaction takes what this one could fire in its time, or twice as many
        take = min(batch, max(1, take * 2 if done == len(codes) else done))
    report = SweepReport(at=at, fired=fired)
    if report.total:
        log.info("sweep at %s: %s", at.isoformat(), report)
    return report


def _fire_timer(kernel: Kernel, tx: Tx, code: str, now: datetime) -> sla.Timer | None:
    before = kernel.load(tx, code)
    timer = sla.due_timer(before.state, before.deadlines, now)
    system = Actor.system()
    if timer is None:
        # nothing due after all (already fired, or the due date moved): re-arm the index
        expected = sla.next_timer(before.state, before.deadlines)
        if expected != before.deadlines.next_timer_at:
            repo.set_next_timer(tx, before.id, expected)
        return None
    if timer is sla.Timer.SUPPLEMENT_EXPIRED:
        # the rule book's refuse from awaiting_supplement, by the worker (role system)
        kernel.fire(tx, before, Trigger.REFUSE, system,
                    {"reason": sla.SUPPLEMENT_EXPIRED_REASON}, now=now)
        return timer
    d = before.deadlines
    assert d.appointment_at is not None
    trigger = Trigger.OVERDUE if timer is sla.Timer.OVERDUE else Trigger.SLA_WARNING
    kernel.record(
        tx, before, trigger, system, now=now,
        data={"appointment_at": d.appointment_at.astimezone(LOCAL_TZ).isoformat(),
              "remaining": kernel.calendar_for(before.agency).remaining_text(
                  now, d.appointment_at)},
        deadlines=sla.after_timer(before.state, d, timer))
    return timer
