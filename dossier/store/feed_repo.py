"""The event feed's SQL: events of every dossier after a position, in a stable order.

**SQLite** takes one writer at a time (``BEGIN IMMEDIATE``), so an event's id is also its
commit order: the position is the last id read.

**PostgreSQL** runs writers at once, and an id is taken when the row is inserted, not when it
commits: a transaction holding event 10 may commit after another has committed 11 and 12. A
reader that returned 11 and 12 would skip 10 for ever. So each event carries the id of the
transaction that wrote it (``events.txid``), the feed orders by ``(txid, id)``, and it returns
only events of transactions below the *visibility horizon*, the oldest transaction still
running (``pg_snapshot_xmin``): every one below it has finished, so nothing can appear behind
the position later. An event becomes readable once every transaction that began writing before
it has ended; a transaction left open elsewhere (idle in transaction) holds the feed back.
"""

from __future__ import annotations

from typing import Any

from dossier.records import FeedEvent
from dossier.store.database import Tx
from dossier.store.repository import EVENT_COLUMNS, event_fields

_SELECT = f"SELECT {EVENT_COLUMNS}, d.code, d.agency, e.id"
_JOIN = " FROM events e JOIN dossiers d ON d.id = e.dossier_id"
_SQLITE = f"{_SELECT}, 0{_JOIN} WHERE e.id > ? ORDER BY e.id LIMIT ?"
_POSTGRES = (f"{_SELECT}, e.txid::text{_JOIN}"
             " WHERE (e.txid, e.id) > (?::xid8, ?)"
             " AND e.txid < pg_snapshot_xmin(pg_current_snapshot())"
             " ORDER BY e.txid, e.id LIMIT ?")


def events_after(tx: Tx, *, postgres: bool, txid: int, event_id: int,
                 limit: int) -> list[tuple[FeedEvent, int, int]]:
    """Up to ``limit`` events after position ``(txid, event_id)``, each with its own
    position; ``txid`` is 0 on SQLite."""
    if postgres:
        rows = tx.all(_POSTGRES, (str(txid), event_id, limit))
    else:
        rows = tx.all(_SQLITE, (event_id, limit))
    return [(_event(tx, r), int(r[15]), int(r[14])) for r in rows]


def _event(tx: Tx, r: Any) -> FeedEvent:
    return FeedEvent(**event_fields(tx, r), code=r[12], agency=r[13])
