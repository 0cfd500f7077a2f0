"""The per-dossier event hash chain: each event stores the SHA-256 of the one before it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from dossier.errors import AuditError

GENESIS = "0" * 64

# The canonical form of an event: what json.dumps(…) with these options writes. One shared
# encoder (stateless, so thread-safe) spares building a new one per event on the hot path.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                              default=str)


def event_hash(*, dossier: str, seq: int, trigger: str, source: str | None, target: str,
               actor: str, role: str, on_behalf_of: str | None, at: datetime,
               data: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 over a canonical JSON of everything an event says, and the previous hash."""
    body = _CANONICAL.encode(
        [dossier, seq, trigger, source, target, actor, role, on_behalf_of,
         at.isoformat(timespec="microseconds"), data, prev_hash])
    return hashlib.sha256(body.encode()).hexdigest()


def verify_chain(code: str, events: Iterable[Any], head_hash: str, event_count: int) -> None:
    """Raise :class:`AuditError` at the first event that does not fit the chain."""
    prev = GENESIS
    count = 0
    for expected_seq, event in enumerate(events, start=1):
        count = expected_seq
        if event.seq != expected_seq:
            raise AuditError(code, expected_seq,
                             f"found event #{event.seq} where #{expected_seq} belongs "
                             "(an event was deleted or reordered)")
        if event.prev_hash != prev:
            raise AuditError(code, expected_seq, "previous-hash link does not match "
                                                 "(an event before it was changed or removed)")
        recomputed = event_hash(
            dossier=code, seq=event.seq, trigger=event.trigger, source=event.source,
            target=event.target, actor=event.actor, role=event.role,
            on_behalf_of=event.on_behalf_of, at=event.at, data=event.data, prev_hash=prev)
        if recomputed != event.hash:
            raise AuditError(code, expected_seq, "content does not match its hash "
                                                 "(the event was edited)")
        prev = event.hash
    if count != event_count:
        raise AuditError(code, None, f"the dossier records {event_count} events but "
                                     f"{count} are stored (an event was deleted or added)")
    if prev != head_hash:
        raise AuditError(code, None, "the last event is not the recorded head of the chain")
