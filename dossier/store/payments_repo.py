"""The SQL of payments, callbacks, refunds and receipts, one function per question, on a
:class:`Tx` (``?`` placeholders, instants through ``tx.instant_in``/``instant_out``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dossier.records import (
    Payment,
    PaymentCallback,
    PaymentState,
    Refund,
    RefundState,
    StoredReceipt,
)
from dossier.store.database import Tx

_PAYMENT_COLUMNS = (
    "p.id, p.dossier_id, d.code, p.order_ref, p.provider, p.amount, p.currency, p.state,"
    " p.method, p.idempotency_key, p.requested_by, p.created_at, p.expires_at, p.updated_at,"
    " p.provider_ref, p.paid_at, p.consumed_at, p.refunded_amount, p.review_reason,"
    " p.redirect_url, p.qr_payload, p.counter_instructions")
_SELECT_PAYMENT = (f"SELECT {_PAYMENT_COLUMNS} FROM payments p"
                   " JOIN dossiers d ON d.id = p.dossier_id")
#: Columns :func:`update_payment` may set.
_UPDATABLE = frozenset({"state", "method", "provider_ref", "paid_at", "consumed_at",
                        "refunded_amount", "review_reason", "redirect_url", "qr_payload",
                        "counter_instructions"})
_INSTANT_COLUMNS = frozenset({"paid_at", "consumed_at"})


@dataclass(frozen=True, kw_only=True)
class StoredPayment:
    """A payment row: its keys and the record handed out."""

    id: int
    dossier_id: int
    record: Payment


def _payment(tx: Tx, r: Any) -> StoredPayment:
    out = tx.instant_out
    return StoredPayment(id=r[0], dossier_id=r[1], record=Payment(
        dossier_code=r[2], order_ref=r[3], provider=r[4], amount=r[5], currency=r[6],
        state=PaymentState(r[7]), method=r[8], idempotency_key=r[9], requested_by=r[10],
        created_at=out(r[11]), expires_at=out(r[12]), updated_at=out(r[13]),  # type: ignore[arg-type]
        provider_ref=r[14], paid_at=out(r[15]), consumed_at=out(r[16]), refunded_amount=r[17],
        review_reason=r[18], redirect_url=r[19], qr_payload=r[20], counter_instructions=r[21]))


def lock_dossier(tx: Tx, code: str) -> None:
    """Hold the dossier's row until commit (PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
    already serialises writers, and has no ``FOR UPDATE``).

    The payment service takes it before it reads what a dossier paid, opened or had refunded
    and decides on that (attempt numbers, a fee taken at the counter, what is left to
    refund), so two such decisions about one dossier run one after the other and the second
    reads what the first committed. Callbacks and the mop-up take it too, before they lock the
    payment row: the dossier, then the payment, everywhere, so two of them never wait for
    each other in opposite orders.
    """
    tx.one("SELECT id FROM dossiers WHERE code = ? FOR UPDATE", (code,))


def insert_payment(tx: Tx, dossier_id: int, p: Payment) -> int:
    row = tx.one(
        "INSERT INTO payments (dossier_id, provider, order_ref, idempotency_key, amount,"
        " currency, state, method, requested_by, provider_ref, redirect_url, qr_payload,"
        " counter_instructions, created_at, expires_at, paid_at, consumed_at, updated_at,"
        " refunded_amount, review_reason)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (dossier_id, p.provider, p.order_ref, p.idempotency_key, p.amount, p.currency, str(p.state),
         p.method, p.requested_by, p.provider_ref, p.redirect_url, p.qr_payload,
         p.counter_instructions, tx.instant_in(p.created_at), tx.instant_in(p.expires_at),
         tx.instant_in(p.paid_at), tx.instant_in(p.consumed_at), tx.instant_in(p.updated_at),
         p.refunded_amount, p.review_reason))
    return int(row[0])


def payment_by_key(tx: Tx, idempotency_key: str) -> StoredPayment | None:
    row = tx.one(f"{_SELECT_PAYMENT} WHERE p.idempotency_key = ?", (idempotency_key,))
    return None if row is None else _payment(tx, row)


def payment_by_order(tx: Tx, order_ref: str, *, lock: bool = False) -> StoredPayment | None:
    """The payment of ``order_ref``; with ``lock`` (PostgreSQL) the row is held until commit,
    so two callbacks for one payment are handled one after the other."""
    sql = f"{_SELECT_PAYMENT} WHERE p.order_ref = ?" + (" FOR UPDATE OF p" if lock else "")
    row = tx.one(sql, (order_ref,))
    return None if row is None else _payment(tx, row)


def payments_of(tx: Tx, dossier_id: int) -> list[StoredPayment]:
    rows = tx.all(f"{_SELECT_PAYMENT} WHERE p.dossier_id = ? ORDER BY p.id", (dossier_id,))
    return [_payment(tx, r) for r in rows]


def payments_by_state(tx: Tx, provider: str, state: str) -> list[StoredPayment]:
    rows = tx.all(f"{_SELECT_PAYMENT} WHERE p.provider = ? AND p.state = ? ORDER BY p.id",
                  (provider, str(state)))
    return [_payment(tx, r) for r in rows]


def stale_pending(tx: Tx, created_before: datetime, limit: int) -> list[StoredPayment]:
    """Pending payments opened before ``created_before``, oldest first."""
    rows = tx.all(f"{_SELECT_PAYMENT} WHERE p.state = 'pending' AND p.created_at <= ?"
                  " ORDER BY p.created_at, p.id LIMIT ?", (tx.instant_in(created_before), limit))
    return [_payment(tx, r) for r in rows]


def paid_between(tx: Tx, provider: str, start: datetime | None,
                 end: datetime | None) -> list[StoredPayment]:
    """Payments of ``provider`` whose money moved (``paid_at`` set) in ``[start, end)``."""
    sql = f"{_SELECT_PAYMENT} WHERE p.provider = ? AND p.paid_at IS NOT NULL"
    params: list[Any] = [provider]
    if start is not None:
        sql += " AND p.paid_at >= ?"
        params.append(tx.instant_in(start))
    if end is not None:
        sql += " AND p.paid_at < ?"
        params.append(tx.instant_in(end))
    return [_payment(tx, r) for r in tx.all(sql + " ORDER BY p.id", params)]


def update_payment(tx: Tx, payment_id: int, expected_state: str, updated_at: datetime,
                   **changes: Any) -> bool:
    """Set ``changes`` if the payment is still in ``expected_state``; False if it moved on."""
    unknown = set(changes) - _UPDATABLE
    assert not unknown, f"not updatable: {unknown}"
    names = sorted(changes)
    # str(): a StrEnum as its value (psycopg would dump an Enum by its name)
    values = [tx.instant_in(changes[n]) if n in _INSTANT_COLUMNS
              else str(changes[n]) if n == "state" else changes[n] for n in names]
    sets = "".join(f"{name} = ?, " for name in names)
    changed = tx.execute(f"UPDATE payments SET {sets}updated_at = ? WHERE id = ? AND state = ?",
                         (*values, tx.instant_in(updated_at), payment_id, str(expected_state)))
    return changed == 1


def unconsumed_success(tx: Tx, dossier_id: int, amount: int) -> StoredPayment | None:
    """The oldest succeeded payment of ``amount`` that has not paid the dossier yet."""
    row = tx.one(f"{_SELECT_PAYMENT} WHERE p.dossier_id = ? AND p.state = 'succeeded'"
                 " AND p.consumed_at IS NULL AND p.amount = ? ORDER BY p.id LIMIT 1",
                 (dossier_id, amount))
    return None if row is None else _payment(tx, row)


def cancel_pending(tx: Tx, dossier_id: int, at: datetime, except_id: int | None = None) -> int:
    """Cancel the dossier's pending attempts (it is paid or closed); return how many."""
    return tx.execute("UPDATE payments SET state = 'cancelled', updated_at = ?"
                      " WHERE dossier_id = ? AND state = 'pending' AND id <> ?",
                      (tx.instant_in(at), dossier_id, -1 if except_id is None else except_id))


# --- callbacks ----------------------------------------------------------------------------

def callback_seen(tx: Tx, dedup_key: str) -> bool:
    return tx.one("SELECT 1 FROM payment_callbacks WHERE dedup_key = ?", (dedup_key,)) \
        is not None


def insert_callback(tx: Tx, *, provider: str, order_ref: str | None, payment_id: int | None,
                    dedup_key: str | None, verdict: str, outcome: str | None,
                    amount: int | None, reason: str, raw: str, at: datetime) -> None:
    tx.execute("INSERT INTO payment_callbacks (provider, order_ref, payment_id, dedup_key,"
               " verdict, outcome, amount, reason, raw, received_at)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (provider, order_ref, payment_id, dedup_key, verdict, outcome, amount, reason,
                raw, tx.instant_in(at)))


def load_callbacks(tx: Tx, *, order_ref: str | None = None,
                   review_only: bool = False) -> list[PaymentCallback]:
    sql = ("SELECT provider, order_ref, verdict, outcome, amount, reason, raw, received_at"
           " FROM payment_callbacks WHERE 1 = 1")
    params: list[Any] = []
    if order_ref is not None:
        sql += " AND order_ref = ?"
        params.append(order_ref)
    if review_only:
        sql += " AND verdict NOT IN ('confirmed', 'already_processed')"
    rows = tx.all(sql + " ORDER BY id", params)
    return [PaymentCallback(provider=r[0], order_ref=r[1], verdict=r[2], outcome=r[3],
                            amount=r[4], reason=r[5], raw=r[6],
                            received_at=tx.instant_out(r[7]))  # type: ignore[arg-type]
            for r in rows]


# --- refunds ------------------------------------------------------------------------------

_REFUND_COLUMNS = ("r.id, r.payment_id, r.refund_ref, p.order_ref, d.code, r.amount, r.state,"
                   " r.reason, r.requested_by, r.idempotency_key, r.created_at, r.updated_at,"
                   " r.provider_ref, r.message")
_SELECT_REFUND = (f"SELECT {_REFUND_COLUMNS} FROM refunds r JOIN payments p"
                  " ON p.id = r.payment_id JOIN dossiers d ON d.id = p.dossier_id")
#: Refund states that hold (or will hold) money back from the payment.
REFUND_HOLDING = ("requested", "pending", "refunded")


@dataclass(frozen=True, kw_only=True)
class StoredRefund:
    id: int
    payment_id: int
    record: Refund


def _refund(tx: Tx, r: Any) -> StoredRefund:
    return StoredRefund(id=r[0], payment_id=r[1], record=Refund(
        refund_ref=r[2], order_ref=r[3], dossier_code=r[4], amount=r[5], state=RefundState(r[6]),
        reason=r[7], requested_by=r[8], idempotency_key=r[9],
        created_at=tx.instant_out(r[10]), updated_at=tx.instant_out(r[11]),  # type: ignore[arg-type]
        provider_ref=r[12], message=r[13]))


def insert_refund(tx: Tx, payment_id: int, r: Refund) -> int:
    row = tx.one("INSERT INTO refunds (payment_id, refund_ref, idempotency_key, amount, state,"
                 " reason, requested_by, provider_ref, message, created_at, updated_at)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                 (payment_id, r.refund_ref, r.idempotency_key, r.amount, str(r.state), r.reason,
                  r.requested_by, r.provider_ref, r.message, tx.instant_in(r.created_at),
                  tx.instant_in(r.updated_at)))
    return int(row[0])


def refund_by_key(tx: Tx, idempotency_key: str) -> StoredRefund | None:
    row = tx.one(f"{_SELECT_REFUND} WHERE r.idempotency_key = ?", (idempotency_key,))
    return None if row is None else _refund(tx, row)


def refund_by_ref(tx: Tx, refund_ref: str) -> StoredRefund | None:
    row = tx.one(f"{_SELECT_REFUND} WHERE r.refund_ref = ?", (refund_ref,))
    return None if row is None else _refund(tx, row)


def refunds_of(tx: Tx, dossier_id: int) -> list[Refund]:
    rows = tx.all(f"{_SELECT_REFUND} WHERE p.dossier_id = ? ORDER BY r.id", (dossier_id,))
    return [_refund(tx, r).record for r in rows]


def refunds_held(tx: Tx, payment_id: int) -> int:
    """VND refunded, or asked back and not refused, from one payment."""
    row = tx.one("SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE payment_id = ?"
                 " AND state IN (?, ?, ?)", (payment_id, *REFUND_HOLDING))
    return int(row[0])


def count_refunds(tx: Tx, payment_id: int) -> int:
    return int(tx.one("SELECT COUNT(*) FROM refunds WHERE payment_id = ?", (payment_id,))[0])


def update_refund(tx: Tx, refund_id: int, expected_state: str, *, state: str,
                  provider_ref: str | None, message: str, at: datetime) -> bool:
    changed = tx.execute("UPDATE refunds SET state = ?, provider_ref = ?, message = ?,"
                         " updated_at = ? WHERE id = ? AND state = ?",
                         (str(state), provider_ref, message, tx.instant_in(at), refund_id,
                          str(expected_state)))
    return changed == 1


# --- receipts -----------------------------------------------------------------------------

_RECEIPT_COLUMNS = ("r.id, d.code, p.order_ref, r.template_symbol, r.series, r.number, r.amount,"
                    " r.payment_method, r.paid_at, r.created_at, r.payer_name, r.issued_at,"
                    " r.issuer, r.lookup_code, r.html, r.agency_name, r.fee_name,"
                    " p.provider_ref")
_SELECT_RECEIPT = (f"SELECT {_RECEIPT_COLUMNS} FROM receipts r JOIN payments p"
                   " ON p.id = r.payment_id JOIN dossiers d ON d.id = r.dossier_id")


@dataclass(frozen=True, kw_only=True)
class StoredReceiptRow:
    """A receipt row with what re-rendering it needs besides the record."""

    id: int
    record: StoredReceipt
    agency_name: str
    fee_name: str
    provider_ref: str | None


def _receipt(tx: Tx, r: Any) -> StoredReceiptRow:
    out = tx.instant_out
    return StoredReceiptRow(id=r[0], agency_name=r[15], fee_name=r[16], provider_ref=r[17],
                            record=StoredReceipt(
        dossier_code=r[1], order_ref=r[2], template_symbol=r[3], series=r[4], number=r[5],
        amount=r[6], payment_method=r[7], paid_at=out(r[8]), created_at=out(r[9]),  # type: ignore[arg-type]
        payer_name=r[10], issued_at=out(r[11]), issuer=r[12], lookup_code=r[13], html=r[14]))


def insert_receipt(tx: Tx, *, payment_id: int, dossier_id: int, agency: str,
                   template_symbol: str, series: str, number: int, payer_name: str,
                   agency_name: str, fee_name: str, amount: int, payment_method: str,
                   paid_at: datetime, at: datetime) -> None:
    tx.execute("INSERT INTO receipts (payment_id, dossier_id, agency, template_symbol, series,"
               " number, payer_name, agency_name, fee_name, amount, payment_method, paid_at,"
               " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (payment_id, dossier_id, agency, template_symbol, series, number, payer_name,
                agency_name, fee_name, amount, payment_method, tx.instant_in(paid_at),
                tx.instant_in(at)))


def has_receipt(tx: Tx, payment_id: int) -> bool:
    return tx.one("SELECT 1 FROM receipts WHERE payment_id = ?", (payment_id,)) is not None


def receipts_of(tx: Tx, dossier_id: int) -> list[StoredReceipt]:
    rows = tx.all(f"{_SELECT_RECEIPT} WHERE r.dossier_id = ? ORDER BY r.id", (dossier_id,))
    return [_receipt(tx, r).record for r in rows]


def unissued_receipts(tx: Tx, limit: int,
                      order_ref: str | None = None) -> list[StoredReceiptRow]:
    """Receipts numbered but not issued yet (of one payment), oldest first."""
    sql = f"{_SELECT_RECEIPT} WHERE r.issued_at IS NULL"
    params: tuple[Any, ...] = (limit,)
    if order_ref is not None:
        sql += " AND p.order_ref = ?"
        params = (order_ref, limit)
    return [_receipt(tx, r) for r in tx.all(sql + " ORDER BY r.id LIMIT ?", params)]


def set_receipt_issued(tx: Tx, receipt_id: int, *, html: str, issuer: str, lookup_code: str,
                       at: datetime) -> bool:
    changed = tx.execute("UPDATE receipts SET html = ?, issuer = ?, lookup_code = ?,"
                         " issued_at = ? WHERE id = ? AND issued_at IS NULL",
                         (html, issuer, lookup_code, tx.instant_in(at), receipt_id))
    return changed == 1


# --- figures ------------------------------------------------------------------------------

def pay_methods(tx: Tx, agency: str | None = None) -> list[str]:
    """The ``method`` of every ``pay`` event (of one agency's dossiers), oldest first."""
    sql = ("SELECT e.data FROM events e JOIN dossiers d ON d.id = e.dossier_id"
           " WHERE e.trigger = 'pay'")
    params: tuple[Any, ...] = ()
    if agency is not None:
        sql += " AND d.agency = ?"
        params = (agency,)
    return [str(json.loads(r[0]).get("method", "cash")) for r in tx.all(sql + " ORDER BY e.id",
                                                                       params)]
