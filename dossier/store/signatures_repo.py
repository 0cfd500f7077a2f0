"""The SQL of signed documents and remote signature requests, on a :class:`Tx`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dossier.records import DocumentRecord, SignatureRequest, SignatureRequestState
from dossier.store.database import Tx

_DOCUMENT_COLUMNS = ("d.code, x.kind, x.filename, x.sha256, x.size, x.media_type, x.signed_by,"
                     " x.provider, x.created_at, x.component, x.number, x.book")
_REQUEST_COLUMNS = ("r.id, r.dossier_id, d.code, r.provider, r.state, r.transaction_id,"
                    " r.requested_by, r.requested_at, r.expires_at, r.resolved_at, r.reason,"
                    " r.document_sha256, r.ticket")
_SELECT_REQUESTS = (f"SELECT {_REQUEST_COLUMNS} FROM signature_requests r"
                    " JOIN dossiers d ON d.id = r.dossier_id")


@dataclass(frozen=True, kw_only=True)
class StoredRequest:
    """A signature request row: its ids, the record handed out, and the ticket (JSON)."""

    id: int
    dossier_id: int
    record: SignatureRequest
    ticket: str


# --- documents ------------------------------------------------------------------------------

def insert_document(tx: Tx, dossier_id: int, doc: DocumentRecord) -> None:
    tx.execute(
        "INSERT INTO documents (dossier_id, kind, component, filename, sha256, size,"
        " media_type, signed_by, provider, number, book, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (dossier_id, doc.kind, doc.component, doc.filename, doc.sha256, doc.size,
         doc.media_type, doc.signed_by, doc.provider, doc.number, doc.book,
         tx.instant_in(doc.created_at)))


def documents_of(tx: Tx, dossier_id: int) -> list[DocumentRecord]:
    rows = tx.all(f"SELECT {_DOCUMENT_COLUMNS} FROM documents x"
                  " JOIN dossiers d ON d.id = x.dossier_id WHERE x.dossier_id = ?"
                  " ORDER BY x.id", (dossier_id,))
    return [DocumentRecord(dossier_code=r[0], kind=r[1], filename=r[2], sha256=r[3],
                           size=r[4], media_type=r[5], signed_by=r[6], provider=r[7],
                           created_at=tx.instant_out(r[8]),  # type: ignore[arg-type]
                           component=r[9], number=r[10], book=r[11]) for r in rows]


# --- signature requests ---------------------------------------------------------------------

def _request(tx: Tx, r: Any) -> StoredRequest:
    out = tx.instant_out
    record = SignatureRequest(
        dossier_code=r[2], provider=r[3], state=SignatureRequestState(r[4]),
        transaction_id=r[5], requested_by=r[6],
        requested_at=out(r[7]), expires_at=out(r[8]),  # type: ignore[arg-type]
        resolved_at=out(r[9]), reason=r[10], document_sha256=r[11])
    return StoredRequest(id=r[0], dossier_id=r[1], record=record, ticket=r[12])


def insert_request(tx: Tx, dossier_id: int, record: SignatureRequest, ticket: str) -> int:
    row = tx.one(
        "INSERT INTO signature_requests (dossier_id, provider, state, transaction_id, ticket,"
        " requested_by, requested_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (dossier_id, record.provider, str(record.state), record.transaction_id, ticket,
         record.requested_by, tx.instant_in(record.requested_at),
         tx.instant_in(record.expires_at)))
    return int(row[0])


def requests_of(tx: Tx, dossier_id: int) -> list[StoredRequest]:
    rows = tx.all(f"{_SELECT_REQUESTS} WHERE r.dossier_id = ? ORDER BY r.id", (dossier_id,))
    return [_request(tx, r) for r in rows]


def request_by_id(tx: Tx, request_id: int, *, lock: bool = False) -> StoredRequest | None:
    """One request; ``lock`` (PostgreSQL) holds its row until the transaction ends."""
    row = tx.one(f"{_SELECT_REQUESTS} WHERE r.id = ?" + (" FOR UPDATE OF r" if lock else ""),
                 (request_id,))
    return None if row is None else _request(tx, row)


def pending_requests(tx: Tx, limit: int) -> list[StoredRequest]:
    """Pending requests, oldest first."""
    rows = tx.all(f"{_SELECT_REQUESTS} WHERE r.state = 'pending'"
                  " ORDER BY r.requested_at, r.id LIMIT ?", (limit,))
    return [_request(tx, r) for r in rows]


def requests_by_transaction(tx: Tx, provider: str, transaction_id: str) -> list[StoredRequest]:
    """Requests with this provider's transaction id, newest first (a vendor may reuse an id
    for a request made again after a rejection)."""
    rows = tx.all(f"{_SELECT_REQUESTS} WHERE r.provider = ? AND r.transaction_id = ?"
                  " ORDER BY r.id DESC", (provider, transaction_id))
    return [_request(tx, r) for r in rows]


def resolve_request(tx: Tx, request_id: int, state: str, at: datetime, *,
                    reason: str | None = None, document_sha256: str | None = None) -> bool:
    """Mark a pending request resolved; False if it was not pending any more (another
    poller or a callback got there first). On PostgreSQL the row stays locked until the
    transaction ends, so a concurrent resolution waits and then finds it resolved."""
    changed = tx.execute(
        "UPDATE signature_requests SET state = ?, resolved_at = ?, reason = ?,"
        " document_sha256 = ? WHERE id = ? AND state = 'pending'",
        (str(state), tx.instant_in(at), reason, document_sha256, request_id))
    return changed == 1
