"""The outbox's SQL: rows written with events, claimed, acknowledged, retried and pruned.

A row is a *head* when no earlier row of the same dossier and sink is still undelivered
(pending or dead): only heads are claimed, which is how delivery keeps each dossier's order
per sink. A claim sets ``lease_until``; acknowledging or failing a row checks that the lease
is still the one the claim set, so a dispatcher whose lease ran out (and whose row another
dispatcher may have taken over) changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dossier.records import OutboxEntry, OutboxStatus
from dossier.store.database import Tx

PENDING, DELIVERED, DEAD = (s.value for s in (OutboxStatus.PENDING, OutboxStatus.DELIVERED,
                                              OutboxStatus.DEAD))

_INSERT = ("INSERT INTO outbox (sink, dossier_id, seq, event_id, message_id, payload, status,"
           " attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)")
_HEAD = ("NOT EXISTS (SELECT 1 FROM outbox p WHERE p.sink = o.sink"
         " AND p.dossier_id = o.dossier_id AND p.seq < o.seq AND p.status <> 'delivered')")
_ENTRY_COLUMNS = ("id, sink, message_id, payload, seq, status, attempts, next_attempt_at,"
                  " created_at, lease_until, delivered_at, last_error")


@dataclass(frozen=True, kw_only=True)
class Claimed:
    """A row this dispatcher holds until ``lease_until``."""

    id: int
    sink: str
    payload: str
    attempts: int
    lease_until: datetime


def insert_messages(tx: Tx, *, sinks: Sequence[str], dossier_id: int, seq: int,
                    event_id: int, message_id: str, payload: str, at: datetime) -> None:
    """One pending row per sink, due at once."""
    when = tx.instant_in(at)
    for sink in sinks:
        tx.execute(_INSERT, (sink, dossier_id, seq, event_id, message_id, payload, PENDING,
                             when, when))


def claim(tx: Tx, sinks: Collection[str], *, due: datetime, now: datetime,
          lease_until: datetime, limit: int, skip_locked: bool) -> list[Claimed]:
    """Lease up to ``limit`` heads of ``sinks`` due at ``due`` and not leased at ``now``,
    earliest due first. With ``skip_locked`` (PostgreSQL) rows another dispatcher is
    claiming are skipped rather than waited for."""
    if not sinks:
        return []
    marks = ", ".join("?" * len(sinks))
    rows = tx.all(
        "SELECT o.id, o.sink, o.payload, o.attempts FROM outbox o"
        f" WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND o.sink IN ({marks})"
        f" AND (o.lease_until IS NULL OR o.lease_until <= ?) AND {_HEAD}"
        " ORDER BY o.next_attempt_at, o.id LIMIT ?"
        + (" FOR UPDATE OF o SKIP LOCKED" if skip_locked else ""),
        (tx.instant_in(due), *sinks, tx.instant_in(now), limit))
    if rows:
        ids = [r[0] for r in rows]
        tx.execute(f"UPDATE outbox SET lease_until = ? WHERE id IN ({', '.join('?' * len(ids))})",
                   (tx.instant_in(lease_until), *ids))
    return [Claimed(id=r[0], sink=r[1], payload=r[2], attempts=r[3], lease_until=lease_until)
            for r in rows]


def mark_delivered(tx: Tx, row: Claimed, at: datetime) -> bool:
    """Acknowledge ``row``; False if its lease is no longer ours."""
    return tx.execute(
        "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = ?,"
        " lease_until = NULL, last_error = NULL WHERE id = ? AND lease_until = ?",
        (tx.instant_in(at), row.id, tx.instant_in(row.lease_until))) == 1


def mark_failed(tx: Tx, row: Claimed, *, attempts: int, dead: bool,
                next_attempt_at: datetime, error: str) -> bool:
    """Record a failed attempt: retry at ``next_attempt_at``, or dead; False if the lease is
    no longer ours."""
    return tx.execute(
        "UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, lease_until = NULL,"
        " last_error = ? WHERE id = ? AND lease_until = ?",
        (DEAD if dead else PENDING, attempts, tx.instant_in(next_attempt_at), error, row.id,
         tx.instant_in(row.lease_until))) == 1


def release(tx: Tx, rows: Sequence[Claimed]) -> None:
    """Give back leases of rows not attempted (they are due again at once)."""
    for row in rows:
        tx.execute("UPDATE outbox SET lease_until = NULL WHERE id = ? AND lease_until = ?",
                   (row.id, tx.instant_in(row.lease_until)))


def _where(sink: str | None, ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    clauses, params = "", list[Any]()
    if sink is not None:
        clauses += " AND sink = ?"
        params.append(sink)
    if ids is not None:
        clauses += f" AND id IN ({', '.join('?' * len(ids))})" if ids else " AND 1 = 0"
        params += ids
    return clauses, params


def entries(tx: Tx, *, status: str | None, sink: str | None, ids: Sequence[int] | None,
            after_id: int, limit: int) -> list[OutboxEntry]:
    """Rows in id order (oldest first) after ``after_id``."""
    where, params = _where(sink, ids)
    if status is not None:
        where += " AND status = ?"
        params.append(status)
    rows = tx.all(f"SELECT {_ENTRY_COLUMNS} FROM outbox WHERE id > ?{where} ORDER BY id LIMIT ?",
                  (after_id, *params, limit))
    out = tx.instant_out
    result = []
    for r in rows:
        body = json.loads(r[3])
        result.append(OutboxEntry(
            id=r[0], sink=r[1], message_id=r[2], type=body["type"], dossier_code=body["code"],
            seq=r[4], status=OutboxStatus(r[5]), attempts=r[6],
            next_attempt_at=out(r[7]), created_at=out(r[8]),  # type: ignore[arg-type]
            lease_until=out(r[9]), delivered_at=out(r[10]), last_error=r[11]))
    return result


def retry(tx: Tx, *, sink: str | None, ids: Sequence[int] | None, now: datetime) -> int:
    """Dead rows back to pending with a fresh count of attempts, and pending rows waiting
    for a later attempt due at ``now``; the number of rows changed."""
    where, params = _where(sink, ids)
    when = tx.instant_in(now)
    return tx.execute(
        "UPDATE outbox SET attempts = CASE WHEN status = 'dead' THEN 0 ELSE attempts END,"
        " status = 'pending', next_attempt_at = ?"
        f" WHERE (status = 'dead' OR (status = 'pending' AND next_attempt_at > ?)){where}",
        (when, when, *params))


def purge(tx: Tx, *, status: str, sink: str | None, ids: Sequence[int] | None) -> int:
    where, params = _where(sink, ids)
    return tx.execute(f"DELETE FROM outbox WHERE status = ?{where}", (status, *params))


def prune(tx: Tx, *, delivered_before: datetime, limit: int) -> int:
    """Delete up to ``limit`` rows delivered before ``delivered_before``."""
    when = tx.instant_in(delivered_before)
    # a row is delivered after it fell due, so next_attempt_at < cutoff is implied by
    # delivered_at < cutoff: it lets ix_outbox_due find the candidates without a scan
    # PostgreSQL: workers pruning at once each take rows no other holds. Without SKIP LOCKED
    # two DELETEs lock overlapping rows in no set order and deadlock (bench/soak.py met it)
    lock = " FOR UPDATE SKIP LOCKED" if tx.postgres else ""
    return tx.execute(
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status = 'delivered'"
        f" AND next_attempt_at < ? AND delivered_at < ? ORDER BY id LIMIT ?{lock})",
        (when, when, limit))


def backlog(tx: Tx) -> list[tuple[str, str, int, datetime | None]]:
    """``(sink, status, count, oldest created_at)`` of pending and dead rows."""
    rows = tx.all("SELECT sink, status, COUNT(*), MIN(created_at) FROM outbox"
                  " WHERE status IN ('pending', 'dead') GROUP BY sink, status ORDER BY sink")
    return [(r[0], r[1], int(r[2]), tx.instant_out(r[3])) for r in rows]
