"""What finding work takes and gives: the filters of ``Engine.find``/``count``, the orders, the
keyset cursor, :class:`Page` and :class:`WorkItem`. Pure: the SQL is in
:mod:`dossier.store.search`.

**Orders** (all earliest first, ties broken by the dossier's id): ``step_due`` (when the
current step is due, :attr:`Dossier.step_due_at`), ``due`` (the dossier's due date),
``submitted``, ``updated``. Dossiers without the date ordered by (not received yet, closed)
come after those with one, in id order.

**Cursors** are keyset positions: the last item's order key and id (and, for the queue, its
group), base64 text the caller hands back as ``after=``. Paging through never repeats or skips
a dossier that existed when the first page was read, however many arrive meanwhile: a page
starts strictly after the previous page's last (key, id), so new rows land before the cursor
(never shown) or after it (shown once). A dossier that itself changes while you page may move
(``updated`` always does): it is shown where it is when its page is read. A cursor names its
query (a digest of the order and the filters): handed to another query it is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from dossier import text
from dossier.actors import Actor, check_agency
from dossier.clock import require_aware
from dossier.errors import InvalidInput, PermissionDenied
from dossier.records import Dossier
from dossier.states import CHANNELS, Role, State
from dossier.text import Kind

T = TypeVar("T")

#: ``order=`` → the column it sorts by
ORDERS: dict[str, str] = {"step_due": "step_due_at", "due": "due_at",
                          "submitted": "submitted_at", "updated": "updated_at"}
#: the most items one page holds
MAX_LIMIT = 500
_CURSOR_VERSION = 1
_MAX_CURSOR = 512


@dataclass(frozen=True, kw_only=True)
class Page(Generic[T]):
    """One page of results: ``items``, and ``next``, the cursor that continues after them
    (pass it as ``after=``; None on the last page)."""

    items: tuple[T, ...]
    next: str | None


@dataclass(frozen=True, kw_only=True)
class WorkItem:
    """One dossier in a work queue, with how long its current step has left.

    ``assigned`` is whether the step is assigned to the actor whose queue this is;
    ``remaining`` the working time until :attr:`Dossier.step_due_at` (negative once late;
    None when the step has no due date yet), ``remaining_text`` the same as users read it
    ("Còn 2 ngày 3 giờ", "Quá 45 phút").
    """

    dossier: Dossier
    assigned: bool
    remaining: timedelta | None
    remaining_text: str | None


@dataclass(frozen=True, kw_only=True)
class Filters:
    """The checked filters of one query; every one given must hold (they combine with AND)."""

    agency: str | None = None
    states: tuple[State, ...] = ()
    procedure: str | None = None
    channel: str | None = None
    owner: str | None = None
    assignee: str | None = None
    portal_statuses: tuple[int, ...] = ()
    received_from: datetime | None = None
    received_until: datetime | None = None
    due_before: datetime | None = None
    #: overdue=True, resolved at this instant: open, clock running, due date passed
    overdue_at: datetime | None = None
    #: the applicant's ID number as its digests under every applicant key (never the number)
    applicant_digests: tuple[str, ...] = field(default=(), repr=False)
    text: str | None = None

    def fingerprint(self, kind: str) -> str:
        """A digest naming this query (``kind``: the order, or the queue's owner) in its
        cursors; the applicant's digests are left out of it."""
        parts = [kind, self.agency, [s.value for s in self.states], self.procedure,
                 self.channel, self.owner, self.assignee, list(self.portal_statuses),
                 _iso(self.received_from), _iso(self.received_until), _iso(self.due_before),
                 self.overdue_at is not None, bool(self.applicant_digests), self.text]
        body = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode()
        return hashlib.sha256(body).hexdigest()[:16]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def build_filters(*, agency: str | None = None,
                  state: State | str | Iterable[State | str] | None = None,
                  procedure: str | None = None, channel: str | None = None,
                  owner: str | None = None, assignee: str | None = None,
                  portal_status: int | Iterable[int] | None = None,
                  received_between: tuple[datetime, datetime] | None = None,
                  due_before: datetime | None = None, overdue: bool = False,
                  text_in_code: str | None = None, now: datetime,
                  applicant_digests: Sequence[str] = ()) -> Filters:
    """:class:`Filters` from ``find``'s keywords, each checked (:class:`InvalidInput`)."""
    if not isinstance(overdue, bool):
        raise InvalidInput("overdue must be True or False")
    received_from = received_until = None
    if received_between is not None:
        if not isinstance(received_between, tuple) or len(received_between) != 2:
            raise InvalidInput("received_between must be a (start, end) pair of datetimes")
        received_from = require_aware(received_between[0], "received_between's start")
        received_until = require_aware(received_between[1], "received_between's end")
        if received_until < received_from:
            raise InvalidInput("received_between's end is before its start")
    return Filters(
        agency=None if agency is None else check_agency("agency", agency),
        states=_states(state),
        procedure=_optional("procedure", procedure, Kind.PROCEDURE_CODE),
        channel=_channel(channel), owner=_optional("owner", owner, Kind.ACTOR_ID),
        assignee=_optional("assignee", assignee, Kind.ACTOR_ID),
        portal_statuses=_portal_statuses(portal_status),
        received_from=received_from, received_until=received_until,
        due_before=None if due_before is None else require_aware(due_before, "due_before"),
        overdue_at=require_aware(now, "now") if overdue else None,
        applicant_digests=tuple(applicant_digests),
        text=_optional("text", text_in_code, Kind.DOSSIER_CODE))


def check_limit(limit: object) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return limit


def check_order(order: object) -> str:
    if not isinstance(order, str) or order not in ORDERS:
        raise InvalidInput(f"order must be one of {', '.join(ORDERS)}; got {order!r}")
    return order


def scope(filters: Filters, actor: Actor | None) -> Filters:
    """``filters`` narrowed to what ``actor`` may see (None: trusted server code, all of it):
    a citizen their own dossiers, staff their agency's, ``system`` with an agency that
    agency's. Asking for more is :class:`PermissionDenied`."""
    if actor is None:
        return filters
    if not isinstance(actor, Actor):
        raise InvalidInput("actor= must be a dossier.Actor")
    if actor.role is Role.CITIZEN:
        if filters.owner is not None and filters.owner != actor.id:
            raise PermissionDenied(f"citizen {actor.id!r} may only find their own dossiers")
        return replace(filters, owner=actor.id)
    if actor.agency is None:  # the system actor of every agency
        return filters
    if filters.agency is not None and filters.agency != actor.agency:
        raise PermissionDenied(f"{actor.id} works for {actor.agency}, not {filters.agency}")
    return replace(filters, agency=actor.agency)


def _optional(name: str, value: object, kind: Kind) -> str | None:
    return None if value is None else text.clean(name, value, kind)


def _channel(value: object) -> str | None:
    if value is not None and value not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}; got {value!r}")
    return None if value is None else str(value)


def _states(value: object) -> tuple[State, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Iterable):
        raise InvalidInput("state must be a state or several")
    found: list[State] = []
    for item in items:
        try:
            found.append(State(item))
        except ValueError:
            choices = ", ".join(s.value for s in State)
            raise InvalidInput(f"unknown state {item!r} (expected one of: {choices})") from None
    if not found:
        raise InvalidInput("state= names no state; leave it out to find every state")
    return tuple(dict.fromkeys(found))


def _portal_statuses(value: object) -> tuple[int, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, int) else value
    if not isinstance(items, Iterable):
        raise InvalidInput("portal_status must be a status code (1–10) or several")
    found = list(items)
    if not found or any(not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10
                        for n in found):
        raise InvalidInput("portal_status must be status codes from 1 to 10")
    return tuple(dict.fromkeys(found))


# --- the cursor --------------------------------------------------------------------------

@dataclass(frozen=True)
class Position:
    """Where a page ended: the query's ``group`` (queue groups, dated/undated), the order
    key of the last item there (None in an undated group) and its id."""

    group: int
    key: datetime | None
    id: int


def encode_cursor(query: str, position: Position) -> str:
    body = [_CURSOR_VERSION, query, position.group, _iso(position.key), position.id]
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: object, query: str, keyed: Sequence[bool]) -> Position:
    """The position ``cursor`` names, if this query (``query``: its fingerprint, ``keyed``:
    which of its groups are ordered by a date) made it; else :class:`InvalidInput`."""
    bad = InvalidInput("after= is not a cursor of this query: pass the `next` of the page "
                       "before, with the same filters and order")
    if not isinstance(cursor, str) or not cursor or len(cursor) > _MAX_CURSOR \
            or not cursor.isascii():
        raise bad
    try:
        body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise bad from None
    if not isinstance(body, list) or len(body) != 5 or body[0] != _CURSOR_VERSION:
        raise bad
    _, made_for, group, key, row_id = body
    if made_for != query:
        raise bad
    if not _whole(group) or not 0 <= group < len(keyed) or not _whole(row_id) \
            or not 0 <= row_id < 2**63:
        raise bad
    if keyed[group] != (key is not None):
        raise bad
    instant = None
    if key is not None:
        try:
            instant = require_aware(datetime.fromisoformat(key), "cursor") \
                if isinstance(key, str) else None
        except (ValueError, OverflowError, InvalidInput):
            raise bad from None
        if instant is None:
            raise bad
    return Position(group, instant, row_id)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


__all__ = ["MAX_LIMIT", "ORDERS", "Filters", "Page", "Position", "WorkItem", "build_filters",
           "check_limit", "check_order", "decode_cursor", "encode_cursor", "scope"]
