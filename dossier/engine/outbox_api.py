"""The outbox and event-feed half of :class:`~dossier.engine.Engine`'s public API (see
:mod:`dossier.engine.outbox` for delivery, :mod:`dossier.engine.feed` for the feed)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from dossier.engine import feed, outbox
from dossier.engine.kernel import Kernel
from dossier.engine.outbox import DispatchReport, OutboxSettings
from dossier.errors import InvalidInput
from dossier.records import FeedEvent, OutboxBacklog, OutboxEntry, OutboxStatus
from dossier.sinks.base import Sink
from dossier.store import outbox_repo

#: A sink's name: what its outbox rows keep (``outbox.sink`` is VARCHAR(32)).
SINK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
MAX_LISTED = 1000
_STATUSES = tuple(s.value for s in OutboxStatus)


def check_sinks(sinks: object) -> dict[str, Sink]:
    """``sinks`` as given to :class:`Engine`, checked: a mapping of short names to
    objects with the :class:`~dossier.sinks.base.Sink` methods."""
    if sinks is None:
        return {}
    if not isinstance(sinks, Mapping):
        raise InvalidInput("sinks must map names to sinks ({'partner': WebhookSink(…)})")
    for name, sink in sinks.items():
        _check_sink_name(name)
        if not isinstance(sink, Sink):
            raise InvalidInput(f"sinks[{name!r}] must have the Sink methods wants() and "
                               "deliver() (see dossier.sinks.base)")
    return dict(sinks)


def check_settings(settings: object) -> OutboxSettings:
    if settings is None:
        return OutboxSettings()
    if not isinstance(settings, OutboxSettings):
        raise InvalidInput("outbox must be a dossier.engine.OutboxSettings")
    return settings


def _check_sink_name(name: object) -> str:
    if not isinstance(name, str) or not SINK_NAME.fullmatch(name):
        raise InvalidInput(f"sink name {name!r} must be 1 to 32 letters, digits, '_', '.' or "
                           "'-', starting with a letter or digit"[:200])
    return name


def _check_ids(ids: object) -> list[int] | None:
    if ids is None:
        return None
    if isinstance(ids, str | bytes) or not isinstance(ids, Sequence | set | frozenset):
        raise InvalidInput("ids must be a list of outbox message ids (whole numbers)")
    checked = list(ids)
    if len(checked) > MAX_LISTED or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in checked):
        raise InvalidInput(f"ids must be at most {MAX_LISTED} positive whole numbers")
    return checked


def _check_status(status: object, *, optional: bool) -> str | None:
    if status is None and optional:
        return None
    if status not in _STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(_STATUSES)}")
    return str(status)


class OutboxApi:
    """The outbox (delivery to sinks and its dead letters) and the event feed."""

    _kernel: Kernel
    _outbox: OutboxSettings

    @property
    def sinks(self) -> Mapping[str, Sink]:
        """The sinks this engine writes outbox rows for and delivers to, by name."""
        return self._kernel.sinks

    @property
    def outbox_settings(self) -> OutboxSettings:
        """How :meth:`dispatch_outbox` retries, leases and prunes."""
        return self._outbox

    def dispatch_outbox(self, *, limit: int | None = None) -> DispatchReport:
        """Deliver the outbox messages that are due, each dossier's in order per sink; at
        most ``limit`` attempts (default: until nothing is due). Then delete delivered
        messages older than the retention period.

        At least once: a dispatcher that dies before recording a delivery leaves it to be
        delivered again (same message id). A failed delivery is retried after an exponential
        backoff with jitter, and dead after ``max_attempts`` (:class:`OutboxSettings`); a
        dead message holds back its dossier's later messages to that sink until
        :meth:`retry_outbox` or :meth:`purge_outbox`. Several dispatchers may run at once
        (on PostgreSQL rows are claimed with ``FOR UPDATE SKIP LOCKED``); none delivers a
        message another is delivering. See :mod:`dossier.engine.outbox`.
        """
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)
                                  or limit < 1):
            raise InvalidInput("limit must be None or a positive whole number")
        return outbox.dispatch(self._kernel, self._outbox, limit=limit)

    def outbox_messages(self, *, status: str | None = None, sink: str | None = None,
                        ids: Sequence[int] | None = None, after_id: int = 0,
                        limit: int = 100) -> list[OutboxEntry]:
        """Outbox messages (of one ``status``, one ``sink``, those ``ids``), oldest first;
        page with ``after_id`` (the last ``id`` seen). Delivered ones stay until pruned."""
        checked = _check_status(status, optional=True)
        name = None if sink is None else _check_sink_name(sink)
        ids_checked = _check_ids(ids)
        if not isinstance(after_id, int) or isinstance(after_id, bool) \
                or not 0 <= after_id < 2**63:
            raise InvalidInput("after_id must be a non-negative whole number")
        if not isinstance(limit, int) or isinstance(limit, bool) \
                or not 1 <= limit <= MAX_LISTED:
            raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LISTED}")
        with self._kernel.transaction(write=False) as tx:
            return outbox_repo.entries(tx, status=checked, sink=name, ids=ids_checked,
                                       after_id=after_id, limit=limit)

    def retry_outbox(self, *, sink: str | None = None,
                     ids: Sequence[int] | None = None) -> int:
        """Put dead messages (of one ``sink``, or those ``ids``) back in the queue with a
        fresh count of attempts, and make messages waiting for a retry due now; return how
        many. The next :meth:`dispatch_outbox` delivers them, in order."""
        name = None if sink is None else _check_sink_name(sink)
        checked = _check_ids(ids)
        with self._kernel.transaction() as tx:
            return outbox_repo.retry(tx, sink=name, ids=checked, now=self._kernel.now())

    def purge_outbox(self, *, sink: str | None = None, ids: Sequence[int] | None = None,
                     status: str = "dead") -> int:
        """Delete messages of ``status`` (default ``dead``; of one ``sink``, or those
        ``ids``); return how many. Purging a dead message gives up on it and releases the
        dossier's later messages to that sink; purging ``pending`` ones (of a sink that was
        removed, say) drops them undelivered."""
        checked = _check_status(status, optional=False)
        assert checked is not None
        name = None if sink is None else _check_sink_name(sink)
        ids_checked = _check_ids(ids)
        with self._kernel.transaction() as tx:
            return outbox_repo.purge(tx, status=checked, sink=name, ids=ids_checked)

    def outbox_backlog(self) -> dict[str, OutboxBacklog]:
        """Per sink (configured or with messages left): pending and dead messages, and the
        age of the oldest pending one (for monitoring)."""
        now = self._kernel.now()
        with self._kernel.transaction(write=False) as tx:
            rows = outbox_repo.backlog(tx)
        found: dict[str, dict[str, tuple[int, datetime | None]]] = {
            name: {} for name in self.sinks}
        for sink, status, count, oldest in rows:
            found.setdefault(sink, {})[status] = (count, oldest)
        result = {}
        for sink, by_status in sorted(found.items()):
            pending, at = by_status.get(outbox_repo.PENDING, (0, None))
            dead, _ = by_status.get(outbox_repo.DEAD, (0, None))
            result[sink] = OutboxBacklog(sink=sink, pending=pending, dead=dead,
                                         oldest_pending_at=at,
                                         oldest_pending_age=None if at is None else now - at)
        return result

    def events_since(self, cursor: str | None, *,
                     limit: int = 100) -> tuple[list[FeedEvent], str]:
        """Events of every dossier after ``cursor`` (None: from the first), oldest first,
        at most ``limit`` (1 to 1000), and the cursor to pass next time.

        The order is stable and the feed never skips an event: on PostgreSQL, where
        transactions commit out of id order, an event appears only once every transaction
        that began writing before it has ended (see :mod:`dossier.store.feed_repo`), so a
        long-open transaction delays the feed. Each event carries its dossier's ``code`` and
        ``agency``. A malformed cursor raises :class:`~dossier.errors.InvalidInput`.
        """
        return feed.events_since(self._kernel, cursor, limit)
