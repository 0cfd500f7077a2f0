"""The dispatcher: hands outbox rows to their sinks, at least once, in order per dossier.

::

    claim   short transaction: lease up to ``batch`` due heads (FOR UPDATE SKIP LOCKED on
            PostgreSQL), load their dossiers
    deliver sink.deliver(message, dossier), outside any transaction
    ack     short transaction, only while the lease is still ours: delivered; or, on failure,
            the next attempt after an exponential backoff with jitter, or dead

**At least once.** A dispatcher that dies between a delivery and its acknowledgement leaves
the row leased; once the lease runs out, the next dispatch delivers it again, with the same
message id (receivers de-duplicate by it).

**In order per dossier and sink.** Only a *head* is claimed: a row with no earlier row of the
same dossier and sink still pending or dead. So event n+1 is not handed to a sink before it
acknowledged event n, and a dead message holds the dossier's later messages to that sink
back until it is retried (:meth:`Engine.retry_outbox`) or purged (:meth:`Engine.purge_outbox`):
order is a promise, and a receiver that missed an event must not see the next one as if it had
not.

**One delivery of a message at a time.** A claimed row is leased for ``lease``; no other
dispatcher claims it before the lease ends. A dispatcher starts a delivery only while at
least half its lease is left, so a sink has that half to answer: keep a sink's own timeout
below ``lease / 2``.

A failure is a :class:`~dossier.sinks.base.DeliveryFailed` (``permanent=True``: dead at
once) or any other exception, which is logged by type only (its text may quote personal
data) and retried the same way. Rows of sinks this engine does not have stay pending; the
report counts them. Delivered rows are deleted once older than ``retention``.
"""

from __future__ import annotations

import logging
import math
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from dossier.engine import messages
from dossier.engine.kernel import Kernel
from dossier.errors import InvalidInput
from dossier.records import Dossier
from dossier.sinks.base import DeliveryFailed, Message, Sink
from dossier.store import outbox_repo
from dossier.store.outbox_repo import Claimed

log = logging.getLogger("dossier.outbox")

#: Rows deleted per transaction when pruning delivered messages.
PRUNE_CHUNK = 1000
_ERROR_CHARS = 200
# nine digits or more: an ID number (CMND 9, CCCD 12) a sink's message may have quoted
_DIGIT_RUN = re.compile(r"\d{9,}")


@dataclass(frozen=True, kw_only=True)
class OutboxSettings:
    """How the dispatcher retries, leases and prunes.

    After the n-th failed attempt the next one waits ``min(backoff_cap, backoff_base ×
    2**(n-1))`` scaled by the ``jitter``: ``"full"`` draws from (0, span], ``"equal"`` from
    [span/2, span] (to the microsecond). The ``max_attempts``-th failure makes the message
    dead. ``random`` gives numbers in [0, 1) (injectable for tests). ``batch`` rows are
    claimed per transaction; ``lease`` is how long a claimed row is held; ``retention`` how
    long a delivered row is kept.
    """

    max_attempts: int = 12
    backoff_base: timedelta = timedelta(seconds=10)
    backoff_cap: timedelta = timedelta(hours=1)
    jitter: Literal["full", "equal"] = "full"
    lease: timedelta = timedelta(minutes=5)
    retention: timedelta = timedelta(days=7)
    batch: int = 100
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_count("max_attempts", self.max_attempts, 1000)
        _check_count("batch", self.batch, 10_000)
        for name in ("backoff_base", "backoff_cap", "lease", "retention"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value < timedelta(0):
                raise InvalidInput(f"outbox {name} must be a non-negative timedelta")
        if self.backoff_base <= timedelta(0) or self.lease <= timedelta(0):
            raise InvalidInput("outbox backoff_base and lease must be longer than zero")
        if self.backoff_cap < self.backoff_base:
            raise InvalidInput("outbox backoff_cap must be at least backoff_base")
        if self.jitter not in ("full", "equal"):
            raise InvalidInput(f"outbox jitter must be 'full' or 'equal', not {self.jitter!r}")
        if not callable(self.random):
            raise InvalidInput("outbox random must be a function returning a number in [0, 1)")

    def backoff(self, failures: int) -> timedelta:
        """How long to wait after ``failures`` failed attempts (1 or more): never zero, never
        more than ``backoff_cap``."""
        cap, base = self.backoff_cap.total_seconds(), self.backoff_base.total_seconds()
        doublings = min(max(failures, 1) - 1, 64)  # 2**64 × any base is past any cap
        span = min(cap, base * 2.0 ** doublings)
        draw = self.random()
        r = draw if isinstance(draw, float | int) and 0 <= draw < 1 and not math.isnan(draw) \
            else 0.0
        share = 1 - r if self.jitter == "full" else 1 - r / 2  # (0, 1] or (1/2, 1]
        return timedelta(seconds=max(span * share, 1e-6))


@dataclass(frozen=True, kw_only=True)
class DispatchReport:
    """What one :meth:`Engine.dispatch_outbox` did: messages ``delivered``, ``failed`` (a
    retry is scheduled), made ``dead``; ``lost`` (delivered or failed after another
    dispatcher had taken the row over: it decides), delivered rows ``pruned``, and pending
    messages of sinks this engine does not have (``unconfigured``, by sink)."""

    delivered: int = 0
    failed: int = 0
    dead: int = 0
    lost: int = 0
    pruned: int = 0
    unconfigured: Mapping[str, int] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        return self.delivered + self.failed + self.dead + self.lost

    def __str__(self) -> str:
        text = (f"{self.delivered} delivered, {self.failed} failed, {self.dead} dead, "
                f"{self.pruned} pruned")
        if self.lost:
            text += f", {self.lost} lost to another dispatcher"
        if self.unconfigured:
            text += ", waiting for unconfigured sinks: " + ", ".join(
                f"{sink} ({n})" for sink, n in sorted(self.unconfigured.items()))
        return text


def dispatch(kernel: Kernel, settings: OutboxSettings, *, limit: int | None) -> DispatchReport:
    """Deliver what is due now, at most ``limit`` attempts (None: until nothing is due).

    Each message is attempted at most once per dispatch: a failure is due again only after
    its backoff, which ends after the instant the dispatch started."""
    started = kernel.now()
    counts = {"delivered": 0, "failed": 0, "dead": 0, "lost": 0}
    sinks = kernel.sinks
    attempted = 0
    while sinks and (limit is None or attempted < limit):
        take = settings.batch if limit is None else min(settings.batch, limit - attempted)
        now = kernel.now()
        with kernel.transaction() as tx:
            claimed = outbox_repo.claim(tx, sinks, due=started, now=now,
                                        lease_until=now + settings.lease, limit=take,
                                        skip_locked=not kernel.db.is_sqlite)
            batch = [(row, messages.from_payload(row.payload, attempt=row.attempts + 1))
                     for row in claimed]
            dossiers = {m.code: kernel.load(tx, m.code) for _, m in batch}
        if not batch:
            break
        for index, (row, message) in enumerate(batch):
            if kernel.now() >= row.lease_until - settings.lease / 2:
                # half the lease is gone: leave the rest to the next claim, by anyone
                with kernel.transaction() as tx:
                    outbox_repo.release(tx, [r for r, _ in batch[index:]])
                break
            outcome = _deliver(kernel, settings, row, sinks[row.sink], message,
                               dossiers[message.code])
            counts[outcome] += 1
            attempted += 1
    with kernel.transaction() as tx:
        backlog = outbox_repo.backlog(tx)
    unconfigured = {sink: n for sink, status, n, _ in backlog
                    if status == outbox_repo.PENDING and sink not in sinks}
    if unconfigured:
        log.warning("outbox: pending messages for sinks this engine does not have: %s",
                    ", ".join(f"{sink} ({n})" for sink, n in sorted(unconfigured.items())))
    report = DispatchReport(delivered=counts["delivered"], failed=counts["failed"],
                            dead=counts["dead"], lost=counts["lost"],
                            pruned=_prune(kernel, settings), unconfigured=unconfigured)
    if report.attempted or report.pruned:
        log.info("outbox dispatch: %s", report)
    return report


def _deliver(kernel: Kernel, settings: OutboxSettings, row: Claimed, sink: Sink,
             message: Message, dossier: Dossier) -> str:
    """One attempt; the outcome's name in :class:`DispatchReport`."""
    try:
        sink.deliver(message, dossier)
    except Exception as exc:
        return _failed(kernel, settings, row, message, exc)
    with kernel.transaction() as tx:
        held = outbox_repo.mark_delivered(tx, row, kernel.now())
    if not held:
        log.warning("outbox: %s #%d to %s was delivered after its lease ran out",
                    message.code, message.seq, row.sink)
    return "delivered" if held else "lost"


def _failed(kernel: Kernel, settings: OutboxSettings, row: Claimed,
            message: Message, exc: Exception) -> str:
    permanent = isinstance(exc, DeliveryFailed) and exc.permanent
    failures = row.attempts + 1
    dead = permanent or failures >= settings.max_attempts
    if isinstance(exc, DeliveryFailed):
        error = short_error(str(exc))
    else:  # not the sink's promised way to fail: its text may quote anything
        error = f"{type(exc).__name__} raised by the sink (a bug in it?)"
    now = kernel.now()
    with kernel.transaction() as tx:
        held = outbox_repo.mark_failed(
            tx, row, attempts=failures, dead=dead,
            next_attempt_at=now if dead else now + settings.backoff(failures), error=error)
    if dead:
        log.error("outbox: %s #%d to %s is dead after %d attempts: %s", message.code,
                  message.seq, row.sink, failures, error)
    else:
        log.warning("outbox: %s #%d to %s failed (attempt %d): %s", message.code,
                    message.seq, row.sink, failures, error)
    if not held:
        return "lost"
    return "dead" if dead else "failed"


def _prune(kernel: Kernel, settings: OutboxSettings) -> int:
    cutoff = kernel.now() - settings.retention
    pruned = 0
    while True:
        with kernel.transaction() as tx:
            n = outbox_repo.prune(tx, delivered_before=cutoff, limit=PRUNE_CHUNK)
        pruned += n
        if n < PRUNE_CHUNK:
            return pruned


def short_error(text: str) -> str:
    """A sink's failure reason as stored and shown: one line, at most 200 characters, runs of
    nine or more digits (an ID number?) masked."""
    line = " ".join(_DIGIT_RUN.sub("…", text).split())
    return (line[:_ERROR_CHARS - 1] + "…") if len(line) > _ERROR_CHARS else line or "failed"


def _check_count(name: str, value: object, most: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= most:
        raise InvalidInput(f"outbox {name} must be a whole number from 1 to {most}")
