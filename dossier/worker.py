"""The worker: the engine's background jobs, each on its own APScheduler interval.

==============  ======================================================  =============
job             what it does                                            default every
==============  ======================================================  =============
``sweep``       fire due timers (warnings, overdue, supplement expiry)  30 s
``payments``    ask providers about stale payment attempts              60 s
``receipts``    issue receipts whose issuer failed                      60 s
``signatures``  poll remote signers about pending requests              15 s
``outbox``      deliver outbox messages to the sinks                    5 s
``forms``       make the forms events numbered (timers', services')     15 s
==============  ======================================================  =============

No scheduler job per dossier: each dossier row carries its next due instant
(``next_timer_at``, indexed) and one interval job sweeps whatever is due, in batches. The
scheduler keeps no state of its own (memory job store), so a worker killed mid-job loses
nothing: the job's transaction rolls back and the next run, by this worker or another, finds
the same rows. Several workers may run against one PostgreSQL database: the sweep claims rows
and the outbox claims messages with ``FOR UPDATE SKIP LOCKED`` (a message is delivered by one
worker at a time); on SQLite they take turns on the write lock.

SIGTERM or SIGINT stops the scheduler after the runs in progress finish (``shutdown(wait=
True)``): a batch is finished and committed, never cut. ``run_all_once`` is ``dossier worker
--once`` (cron). With a metrics port, ``/metrics`` (Prometheus) and ``/healthz`` are served
(:mod:`dossier.metrics`).

APScheduler 3.x is used (pinned ``<4``): 4.0 is a different API still in pre-release.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from dossier.engine import Engine, SweepReport
from dossier.errors import ConcurrencyConflict, InvalidInput
from dossier.payments.service import MOP_UP_AFTER, MopUpReport

if TYPE_CHECKING:
    from dossier.config import WorkerSettings
    from dossier.metrics import MetricsServer, WorkerMetrics

log = logging.getLogger("dossier.worker")

SWEEP_JOB_ID = "dossier-sweep"
PAYMENTS_JOB_ID = "dossier-payments"
RECEIPTS_JOB_ID = "dossier-receipts"
SIGNATURES_JOB_ID = "dossier-signatures"
OUTBOX_JOB_ID = "dossier-outbox"


@dataclass(frozen=True)
class _Job:
    name: str
    interval: float
    run: Callable[[], Any]


class Worker:
    """The engine's background jobs; ``interval`` is the sweep's (``batch`` dossiers per
    transaction), the others have their own interval (None turns a job off).

    ``worker.run()`` blocks until SIGINT/SIGTERM (the ``dossier worker`` command);
    ``worker.start()`` runs the jobs in a background thread (inside a host application)
    until :meth:`stop`. The ``*_once`` methods run one job once, for cron and tests.
    """

    def __init__(self, engine: Engine, *, interval: float = 30.0, batch: int = 500,
                 payments_interval: float | None = 60.0,
                 payments_older_than: timedelta = MOP_UP_AFTER,
                 receipts_interval: float | None = 60.0,
                 signatures_interval: float | None = 15.0,
                 outbox_interval: float | None = 5.0,
                 forms_interval: float | None = 15.0,
                 metrics_port: int | None = None, metrics_host: str = "127.0.0.1") -> None:
        _check_interval("interval", interval, optional=False)
        for name, value in (("payments_interval", payments_interval),
                            ("receipts_interval", receipts_interval),
                            ("signatures_interval", signatures_interval),
                            ("outbox_interval", outbox_interval),
                            ("forms_interval", forms_interval)):
            _check_interval(name, value, optional=True)
        if not isinstance(payments_older_than, timedelta) \
                or payments_older_than < timedelta(0):
            raise InvalidInput("payments_older_than must be a non-negative timedelta")
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise InvalidInput("batch must be a positive whole number")
        if metrics_port is not None and (not isinstance(metrics_port, int)
                                         or not 0 <= metrics_port <= 65535):
            raise InvalidInput("metrics_port must be a TCP port number (0: any free port)")
        self.engine = engine
        self.interval = float(interval)
        self.batch = batch
        self.payments_older_than = payments_older_than
        self.sweeps = 0
        self.fired = 0
        self.mop_ups = 0
        self.delivered = 0
        self._jobs = [job for job in (
            _Job("sweep", float(interval), self.sweep_once),
            _Job("payments", payments_interval or 0, self.mop_up_once),
            _Job("receipts", receipts_interval or 0, self.issue_receipts_once),
            _Job("signatures", signatures_interval or 0, self.poll_signatures_once),
            _Job("outbox", outbox_interval or 0, self.dispatch_outbox_once),
            _Job("forms", forms_interval or 0, self.issue_forms_once),
        ) if job.interval > 0]
        self.metrics: WorkerMetrics | None = None
        self._metrics_address = (metrics_host, metrics_port)
        self._metrics_server: MetricsServer | None = None
        if metrics_port is not None:
            from dossier.metrics import WorkerMetrics

            self.metrics = WorkerMetrics(due_timers=engine.due_timers,
                                         outbox_backlog=self._outbox_backlog)
            for job in self._jobs:
                self.metrics.expect(job.name, job.interval)
        self._scheduler: BaseScheduler | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, engine: Engine, settings: WorkerSettings) -> Worker:
        """The worker a ``[worker]`` table describes (an interval of 0 turns a job off)."""
        return cls(engine, interval=settings.sweep_interval or 30.0,
                   batch=settings.sweep_batch,
                   payments_interval=settings.payments_interval or None,
                   payments_older_than=timedelta(seconds=settings.payments_older_than),
                   receipts_interval=settings.receipts_interval or None,
                   signatures_interval=settings.signatures_interval or None,
                   outbox_interval=settings.outbox_interval or None,
                   forms_interval=settings.forms_interval or None,
                   metrics_port=settings.metrics_port, metrics_host=settings.metrics_host)

    @property
    def jobs(self) -> dict[str, float]:
        """The enabled jobs and their intervals in seconds."""
        return {job.name: job.interval for job in self._jobs}

    # --- the jobs, once each ------------------------------------------------------------------

    def sweep_once(self) -> SweepReport | None:
        """One sweep at the engine clock's ``now``; None if another worker held the lock."""
        started = time.perf_counter()
        try:
            report = self.engine.sweep(batch=self.batch)
        except ConcurrencyConflict:
            # SQLite: another worker is writing; its sweep covers these rows, or ours next time
            log.info("sweep skipped: the database is busy")
            return None
        with self._lock:
            self.sweeps += 1
            self.fired += report.total
        if self.metrics is not None:
            self.metrics.sweep_seconds.observe(time.perf_counter() - started)
            for timer, count in report.fired.items():
                self.metrics.timers_fired.labels(timer).inc(count)
        return report

    def mop_up_once(self) -> MopUpReport | None:
        """Check stale payment attempts with their providers; None if the database was busy."""
        try:
            report = self.engine.expire_stale_payments(older_than=self.payments_older_than)
        except ConcurrencyConflict:
            log.info("payment mop-up skipped: the database is busy")
            return None
        with self._lock:
            self.mop_ups += 1
        return report

    def issue_receipts_once(self) -> int | None:
        """Issue receipts numbered but not issued (the issuer failed); None if busy."""
        try:
            return self.engine.issue_pending_receipts()
        except ConcurrencyConflict:
            log.info("receipt issuing skipped: the database is busy")
            return None

    def issue_forms_once(self) -> int | None:
        """Make the forms events numbered that no document holds yet (those fired by timers
        and services, or whose making failed); None if the database was busy."""
        try:
            return self.engine.issue_pending_forms()
        except ConcurrencyConflict:
            log.info("form issuing skipped: the database is busy")
            return None

    def poll_signatures_once(self) -> dict[str, int] | None:
        """Ask remote signers about pending requests; None if the database was busy."""
        try:
            return self.engine.poll_signatures()
        except ConcurrencyConflict:
            log.info("signature poll skipped: the database is busy")
            return None

    def dispatch_outbox_once(self) -> Any:
        """Deliver what the outbox holds due; None if the database was busy."""
        try:
            report = self.engine.dispatch_outbox()
        except ConcurrencyConflict:
            log.info("outbox dispatch skipped: the database is busy")
            return None
        with self._lock:
            self.delivered += report.delivered
        if self.metrics is not None:
            for outcome in ("delivered", "failed", "dead"):
                self.metrics.deliveries.labels(outcome).inc(getattr(report, outcome))
        return report

    def run_all_once(self) -> dict[str, str]:
        """Every enabled job once, in the table's order (``dossier worker --once``); each
        job's outcome as text. A job that fails is logged and reported; the others run."""
        outcomes: dict[str, str] = {}
        for job in self._jobs:
            try:
                result = job.run()
            except Exception as exc:
                log.exception("%s failed", job.name)
                outcomes[job.name] = f"failed: {type(exc).__name__}"
            else:
                outcomes[job.name] = "database busy, try again" if result is None \
                    else _describe(result)
        return outcomes

    # --- scheduling ---------------------------------------------------------------------------

    def _guarded(self, job: _Job) -> Callable[[], None]:
        def run() -> None:
            started = time.perf_counter()
            try:
                job.run()
            except Exception:  # keep the schedule alive; the next run retries the same rows
                log.exception("%s failed; the next run retries", job.name)
                ok = False
            else:
                ok = True
            if self.metrics is not None:
                self.metrics.ran(job.name, time.perf_counter() - started, ok=ok)
        return run

    def _schedule(self, scheduler: BaseScheduler) -> BaseScheduler:
        for job in self._jobs:
            scheduler.add_job(self._guarded(job), "interval", seconds=job.interval,
                              id=f"dossier-{job.name}", max_instances=1, coalesce=True,
                              next_run_time=datetime.now(UTC), replace_existing=True)
        self._scheduler = scheduler
        return scheduler

    def _start_metrics(self) -> None:
        if self.metrics is not None and self._metrics_server is None:
            from dossier.metrics import MetricsServer

            host, port = self._metrics_address
            self._metrics_server = MetricsServer(self.metrics, host, port or 0)
            self._metrics_server.start()
            log.info("metrics on http://%s:%d/metrics and /healthz", host,
                     self._metrics_server.port)

    @property
    def metrics_port(self) -> int | None:
        """The port /metrics is served on, once started."""
        return self._metrics_server.port if self._metrics_server else None

    def start(self) -> None:
        """Run the jobs in a background thread until :meth:`stop`."""
        self._start_metrics()
        self._schedule(BackgroundScheduler(timezone=UTC)).start()

    def run(self, *, install_signal_handlers: bool = True) -> None:
        """Run the jobs in this thread until SIGINT or SIGTERM."""
        scheduler = self._schedule(BlockingScheduler(timezone=UTC))
        if install_signal_handlers:
            def stop(signum: int, _frame: FrameType | None) -> None:
                log.info("signal %d: stopping after the runs in progress", signum)
                # shutdown waits for running jobs: not from inside the signal handler's frame
                threading.Thread(target=self.stop, name="dossier-stop").start()

            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        self._start_metrics()
        log.info("worker: %s", ", ".join(f"{name} every {interval:g} s"
                                         for name, interval in self.jobs.items()))
        try:
            scheduler.start()
        finally:
            self._stop_metrics()

    def stop(self) -> None:
        """Stop after the runs in progress (if any) finish."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        self._stop_metrics()

    def _stop_metrics(self) -> None:
        server, self._metrics_server = self._metrics_server, None
        if server is not None:
            server.stop()

    def _outbox_backlog(self) -> list[tuple[str, int, float]]:
        return [(b.sink, b.pending,
                 b.oldest_pending_age.total_seconds() if b.oldest_pending_age else 0.0)
                for b in self.engine.outbox_backlog().values()]


def _check_interval(name: str, value: Any, *, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise InvalidInput(f"{name} must be a positive number of seconds"
                           + (" or None" if optional else ""))


def _describe(result: Any) -> str:
    if isinstance(result, int):
        return f"{result} issued"
    if isinstance(result, dict):
        return ", ".join(f"{v} {k}" for k, v in result.items()) or "nothing to do"
    return str(result)
