"""The event feed: every dossier's events in one stable order, read page by page.

A cursor is opaque text (``"v1:<txid>:<id>"`` in URL-safe base64): the position after the
last event returned. See :mod:`dossier.store.feed_repo` for why the position has a
transaction id on PostgreSQL and why the feed never skips an event that commits late.
"""

from __future__ import annotations

import base64
import binascii

from dossier.engine.kernel import Kernel
from dossier.errors import InvalidInput
from dossier.records import FeedEvent
from dossier.store import feed_repo

MAX_LIMIT = 1000
_VERSION = "v1"
_MAX_CURSOR = 100        # characters; a v1 cursor of two 64-bit numbers is under 60
_MAX_POSITION = 2**63 - 1  # both databases' BIGINT; xid8 is unsigned but never gets there


def encode(txid: int, event_id: int) -> str:
    raw = f"{_VERSION}:{txid}:{event_id}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(cursor: object) -> tuple[int, int]:
    """The ``(txid, id)`` position of a cursor :func:`encode` made; :class:`InvalidInput`
    for anything else."""
    wrong = InvalidInput("cursor must be None or a cursor events_since returned")
    if not isinstance(cursor, str) or not 0 < len(cursor) <= _MAX_CURSOR \
            or not cursor.isascii():
        raise wrong
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_",
                               validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        raise wrong from None
    parts = raw.split(":")
    if len(parts) != 3 or parts[0] != _VERSION \
            or not all(p.isdigit() and p.isascii() and len(p) <= 19 for p in parts[1:]):
        raise wrong
    txid, event_id = int(parts[1]), int(parts[2])
    if txid > _MAX_POSITION or event_id > _MAX_POSITION:
        raise wrong
    return txid, event_id


def events_since(kernel: Kernel, cursor: str | None,
                 limit: int) -> tuple[list[FeedEvent], str]:
    """Up to ``limit`` events after ``cursor`` (None: from the first) and the cursor to
    pass next time (the same one when there is nothing new)."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    txid, event_id = (0, 0) if cursor is None else decode(cursor)
    with kernel.transaction(write=False) as tx:
        rows = feed_repo.events_after(tx, postgres=not kernel.db.is_sqlite, txid=txid,
                                      event_id=event_id, limit=limit)
    if not rows:
        return [], encode(txid, event_id)
    _, last_txid, last_id = rows[-1]
    return [event for event, _, _ in rows], encode(last_txid, last_id)
