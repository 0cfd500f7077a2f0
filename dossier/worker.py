"""The timer worker: runs :meth:`Engine.sweep` from an APScheduler interval job.

No scheduler job per dossier: each dossier row carries its next due instant
(``next_timer_at``, indexed) written with its state, and one interval job sweeps whatever is
due, in batches. The scheduler keeps no state of its own (memory job store), so a worker
killed mid-sweep loses nothing: the sweep's transaction rolls back and the next sweep, by this
worker or another, finds the same rows. Several workers may run against one PostgreSQL
database (rows are claimed with ``FOR UPDATE SKIP LOCKED``); on SQLite they take turns on
the write lock.

A second interval job mops up payments: attempts pending longer than a threshold are
checked with their provider (:meth:`Engine.expire_stale_payments`) and receipts whose issuer
failed are issued again.

APScheduler 3.x is used (pinned ``<4``): 4.0 is a different API still in pre-release.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from dossier.engine import Engine, SweepReport
from dossier.errors import ConcurrencyConflict, InvalidInput
from dossier.payments.service import MOP_UP_AFTER, MopUpReport

log = logging.getLogger("dossier.worker")

SWEEP_JOB_ID = "dossier-sweep"
PAYMENTS_JOB_ID = "dossier-payments"
SIGNATURES_JOB_ID = "dossier-signatures"


class Worker:
    """Sweeps due timers every ``interval`` seconds, ``batch`` dossiers per transaction.

    ``worker.run()`` blocks until SIGINT/SIGTERM (the ``dossier worker`` command);
    ``worker.start()`` runs it in a background thread (inside a host application) until
    :meth:`stop`. :meth:`sweep_once` is one sweep, for cron-style use and tests.
    """

    def __init__(self, engine: Engine, *, interval: float = 30.0, batch: int = 500,
                 payments_interval: float | None = 60.0,
                 payments_older_than: timedelta = MOP_UP_AFTER,
                 signatures_interval: float | None = 15.0) -> None:
        if not isinstance(interval, int | float) or isinstance(interval, bool) or interval <= 0:
            raise InvalidInput("interval must be a positive number of seconds")
        if payments_interval is not None and (
                not isinstance(payments_interval, int | float)
                or isinstance(payments_interval, bool) or payments_interval <= 0):
            raise InvalidInput("payments_interval must be a positive number of seconds or None")
        if signatures_interval is not None and (
                not isinstance(signatures_interval, int | float)
                or isinstance(signatures_interval, bool) or signatures_interval <= 0):
            raise InvalidInput("signatures_interval must be a positive number of seconds or None")
        if not isinstance(payments_older_than, timedelta) \
                or payments_older_than < timedelta(0):
            raise InvalidInput("payments_older_than must be a non-negative timedelta")
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise InvalidInput("batch must be a positive whole number")
        self.engine = engine
        self.interval = float(interval)
        self.batch = batch
        self.payments_interval = None if payments_interval is None else float(payments_interval)
        self.payments_older_than = payments_older_than
        self.signatures_interval = (None if signatures_interval is None
                                    else float(signatures_interval))
        self.sweeps = 0
        self.fired = 0
        self.mop_ups = 0
        self._scheduler: BaseScheduler | None = None
        self._lock = threading.Lock()

    def sweep_once(self) -> SweepReport | None:
        """One sweep at the engine clock's ``now``; None if another worker held the lock."""
        try:
            report = self.engine.sweep(batch=self.batch)
        except ConcurrencyConflict:
            # SQLite: another worker is writing; its sweep covers these rows, or ours next time
            log.info("sweep skipped: the database is busy")
            return None
        with self._lock:
            self.sweeps += 1
            self.fired += report.total
        return report

    def mop_up_once(self) -> MopUpReport | None:
        """Check stale payment attempts with their providers and retry unissued receipts;
        None if the database was busy."""
        try:
            report = self.engine.expire_stale_payments(older_than=self.payments_older_than)
            self.engine.issue_pending_receipts()
        except ConcurrencyConflict:
            log.info("payment mop-up skipped: the database is busy")
            return None
        with self._lock:
            self.mop_ups += 1
        return report

    def poll_signatures_once(self) -> dict[str, int] | None:
        """Ask remote signers about pending requests; None if the database was busy."""
        try:
            return self.engine.poll_signatures()
        except ConcurrencyConflict:
            log.info("signature poll skipped: the database is busy")
            return None

    def _signatures_job(self) -> None:
        try:
            self.poll_signatures_once()
        except Exception:  # keep the schedule alive; pending requests stay pending
            log.exception("signature poll failed; the next run asks again")

    def _payments_job(self) -> None:
        try:
            self.mop_up_once()
        except Exception:  # keep the schedule alive; the next run asks again
            log.exception("payment mop-up failed; the next run retries")

    def _job(self) -> None:
        try:
            self.sweep_once()
        except Exception:  # keep the schedule alive; the next run retries the same rows
            log.exception("sweep failed; the next run retries")

    def _schedule(self, scheduler: BaseScheduler) -> BaseScheduler:
        scheduler.add_job(self._job, "interval", seconds=self.interval, id=SWEEP_JOB_ID,
                          max_instances=1, coalesce=True, next_run_time=datetime.now(UTC),
                          replace_existing=True)
        if self.payments_interval is not None:
            scheduler.add_job(self._payments_job, "interval", seconds=self.payments_interval,
                              id=PAYMENTS_JOB_ID, max_instances=1, coalesce=True,
                              next_run_time=datetime.now(UTC), replace_existing=True)
        if self.signatures_interval is not None:
            scheduler.add_job(self._signatures_job, "interval", seconds=self.signatures_interval,
                              id=SIGNATURES_JOB_ID, max_instances=1, coalesce=True,
                              next_run_time=datetime.now(UTC), replace_existing=True)
        self._scheduler = scheduler
        return scheduler

    def start(self) -> None:
        """Sweep in a background thread until :meth:`stop`."""
        self._schedule(BackgroundScheduler(timezone=UTC)).start()

    def run(self, *, install_signal_handlers: bool = True) -> None:
        """Sweep in this thread until SIGINT or SIGTERM."""
        scheduler = self._schedule(BlockingScheduler(timezone=UTC))
        if install_signal_handlers:
            def stop(_signum: int, _frame: FrameType | None) -> None:
                self.stop()

            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        log.info("worker: sweeping every %.0f s, %d dossiers per batch", self.interval,
                 self.batch)
        scheduler.start()

    def stop(self) -> None:
        """Stop after the sweep in progress (if any) finishes."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=True)
