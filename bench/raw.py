"""The engine's writes for each lifecycle step, by hand, on one DB-API connection.

The baseline of ``bench/transitions.py`` (``sqlite3``) and ``bench/pg.py`` (psycopg): what a
hand-written program must at least do for the same steps of the same dossiers, with none of
the engine's checks (actor, agency, rule book, guards, trigger data) and none of its reads
beyond the dossier row. Per step, one transaction that reads the row, writes what the engine
writes (the same rows in the same tables, the row update naming the same columns), chains the
event's SHA-256 to the previous one and commits:

=============  ==========================================================================
receive        form 01's number (its counter), the row (state, reception, the deadline
               columns, computed as fixed offsets)
pay            a succeeded payment, the receipt's number and row, the row, the callback
               record; then, in a second transaction, the receipt's document (pre-rendered)
approve        the row
sign           the signed PDF (a blob of the same size, unique per dossier), its document
               row, the row
return_result  the row (closing, timeliness), the result's digitisation record, and the
               cancelling of pending payments
=============  ==========================================================================

Each step also sets the row's work-queue columns (the next step's role and due date) and
inserts its event (``INSERT … RETURNING id``, as the engine does).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

STEPS = ("receive", "pay", "approve", "sign", "return_result")
FEE = 200_000
_SELECT = ("SELECT id, code, procedure_code, procedure_version, agency, channel, state,"
           " resume_state, owner, applicant, fee_due, paid_amount, version, event_count,"
           " head_hash, submitted_at, received_at, updated_at, closed_at, clock_started_at,"
           " due_at, appointment_at, warning_at, step_due, paused_at, supplement_due_at,"
           " warned_for, overdue_for, extended, timeliness, next_timer_at"
           " FROM dossiers WHERE code = ?")
_EVENT = ("INSERT INTO events (dossier_id, seq, trigger, source, target, actor, role,"
          " on_behalf_of, at, data, prev_hash, hash, key_id)"
          " VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, NULL) RETURNING id")
_PAYMENT = ("INSERT INTO payments (dossier_id, provider, order_ref, idempotency_key, amount,"
            " currency, state, method, requested_by, provider_ref, redirect_url, qr_payload,"
            " counter_instructions, created_at, expires_at, paid_at, consumed_at, updated_at,"
            " refunded_amount, review_reason) VALUES (?, 'counter', ?, ?, ?, 'VND', 'succeeded',"
            " 'cash', 'nv01', ?, NULL, NULL, NULL, ?, ?, ?, ?, ?, 0, NULL) RETURNING id")
_COUNTER = ("INSERT INTO counters (scope, key, value) VALUES ('receipt', ?, 1)"
            " ON CONFLICT (scope, key) DO UPDATE SET value = counters.value + 1 RETURNING value")
_RECEIPT = ("INSERT INTO receipts (payment_id, dossier_id, agency, template_symbol, series,"
            " number, payer_name, agency_name, fee_name, amount, payment_method, paid_at,"
            " created_at) VALUES (?, ?, ?, '01BLP0-001', 'AA-25E', ?, ?, ?,"
            " 'Phí cung cấp thông tin lý lịch tư pháp', ?, 'cash', ?, ?) RETURNING id")
_CALLBACK = ("INSERT INTO payment_callbacks (provider, order_ref, payment_id, dedup_key, verdict,"
             " outcome, amount, reason, raw, received_at) VALUES ('counter', ?, ?, ?,"
             " 'confirmed', 'succeeded', ?, 'paid; the pay step is complete', ?, ?)")
_ISSUED = ("UPDATE receipts SET html = ?, issuer = 'local', lookup_code = ?, issued_at = ?"
           " WHERE id = ? AND issued_at IS NULL")
_BLOB = "INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING"
_DOCUMENT = ("INSERT INTO documents (dossier_id, kind, component, filename, sha256, size,"
             " media_type, signed_by, provider, number, book, created_at)"
             " VALUES (?, 'result', NULL, ?, ?, ?, 'application/pdf', 'ld01', 'presigned',"
             " NULL, NULL, ?)")
_FORM_NUMBER = ("INSERT INTO counters (scope, key, value) VALUES ('form', ?, 1)"
                " ON CONFLICT (scope, key) DO UPDATE SET value = counters.value + 1"
                " RETURNING value")
_DIGITISED = ("INSERT INTO digitisation_records (dossier_id, seq, kind, component, sha256,"
              " pages, source, source_ref, returned_electronically, actor, at)"
              " VALUES (?, ?, 'result', NULL, NULL, NULL, NULL, NULL, ?, 'nv01', ?)")
_CANCEL = ("UPDATE payments SET state = 'cancelled', updated_at = ?"
           " WHERE dossier_id = ? AND state = 'pending' AND id <> -1")


class RawLifecycle:
    """Runs :data:`STEPS` on dossiers awaiting reception, timing each step."""

    def __init__(self, conn: Any, *, postgres: bool, signed_pdf: bytes,
                 receipt_html: str) -> None:
        self._conn = conn
        self._cursor = conn.cursor()
        self._pg = postgres
        self._pdf = signed_pdf
        self._html = receipt_html
        self._sql: dict[str, str] = {}

    def run(self, codes: Sequence[str], clock: Callable[[], float]) -> dict[str, float]:
        """Every step on every dossier of ``codes``; the seconds spent per step."""
        spent = dict.fromkeys(STEPS, 0.0)
        steps = [(name, getattr(self, name)) for name in STEPS]
        for code in codes:
            for name, step in steps:
                began = clock()
                step(code)
                spent[name] += clock() - began
        return spent

    # --- the steps ------------------------------------------------------------------------

    def receive(self, code: str) -> None:
        row, now = self._begin(code)
        self._one(_FORM_NUMBER, (f"{row[4]}:tt03-2025:form-01:{now.year}",))
        due = now + timedelta(days=14)
        steps = json.dumps({name: (now + timedelta(days=days)).isoformat() for name, days in
                            (("pay", 0), ("process", 12), ("sign", 13), ("return", 13))})
        self._move(row, now, "receive", "awaiting_payment",
                   {"received_at": now, "next_timer_at": due - timedelta(days=1),
                    "clock_started_at": now, "due_at": due, "appointment_at": due,
                    "warning_at": due - timedelta(days=1), "step_due": steps,
                    "step_due_at": now},
                   {"due_at": due.isoformat()})
        self._commit()

    def pay(self, code: str) -> None:
        row, now = self._begin(code)
        dossier_id, order = row[0], f"{code}P01"
        payment = self._one(_PAYMENT, (dossier_id, order, f"auto-{order}", FEE, f"cash:{order}",
                                       self._at(now), self._at(now), self._at(now),
                                       self._at(now), self._at(now)))[0]
        number = self._one(_COUNTER, (f"{row[4]}:AA-25E",))[0]
        receipt = self._one(_RECEIPT, (payment, dossier_id, row[4], number, "Nguyễn Văn A",
                                       row[4], FEE, self._at(now), self._at(now)))[0]
        self._move(row, now, "pay", "processing",
                   {"paid_amount": FEE, "step_role": "specialist",
                    "step_due_at": now + timedelta(days=12)},
                   {"amount": FEE, "method": "cash", "order_ref": order,
                    "step_due_at": now.isoformat(), "timeliness": "on_time"})
        self._run(_CALLBACK, (order, payment, f"counter:{order}:cash", FEE,
                              json.dumps({"amount": str(FEE), "method": "cash"}),
                              self._at(now)))
        self._commit()
        self._begin_only()
        self._run(_ISSUED, (self._html, f"{order}-LC", self._at(now), receipt))
        self._commit()

    def approve(self, code: str) -> None:
        row, now = self._begin(code)
        self._move(row, now, "approve", "awaiting_signature",
                   {"step_role": "leader", "step_due_at": now + timedelta(days=13)},
                   {"step_due_at": now.isoformat(), "timeliness": "early"})
        self._commit()

    def sign(self, code: str) -> None:
        row, now = self._begin(code)
        pdf = self._pdf + f"%{code}\n".encode()
        digest = hashlib.sha256(pdf).hexdigest()
        self._run(_BLOB, (digest, len(pdf), pdf))
        self._run(_DOCUMENT, (row[0], f"ket-qua-{code}.pdf", digest, len(pdf), self._at(now)))
        self._move(row, now, "sign", "awaiting_return",
                   {"step_role": "clerk", "step_due_at": now + timedelta(days=13)},
                   {"document": digest, "step_due_at": now.isoformat(), "timeliness": "early"})
        self._commit()

    def return_result(self, code: str) -> None:
        row, now = self._begin(code)
        self._move(row, now, "return_result", "returned",
                   {"closed_at": now, "next_timer_at": None, "timeliness": "early",
                    "step_role": None, "step_due_at": None},
                   {"step_due_at": now.isoformat(), "timeliness": "early"})
        self._run(_DIGITISED, (row[0], row[13] + 1, True, self._at(now)))
        self._run(_CANCEL, (self._at(now), row[0]))
        self._commit()

    # --- the plumbing ---------------------------------------------------------------------

    def _move(self, row: Sequence[Any], now: datetime, trigger: str, target: str,
              sets: dict[str, Any], data: dict[str, Any]) -> None:
        """The version-checked row update (bookkeeping, state and ``sets``) and the event."""
        dossier_id, code, state, version, count, head = (row[0], row[1], row[6], row[12],
                                                          row[13], row[14])
        body = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        at = self._at(now)
        digest = hashlib.sha256(f"{code}|{count + 1}|{trigger}|{state}|{target}|nv01|{at}|"
                                f"{body}|{head}".encode()).hexdigest()
        names = ("version", "event_count", "head_hash", "updated_at", "state", *sets)
        values = (version + 1, count + 1, digest, at, target,
                  *(self._at(v) if isinstance(v, datetime) else v for v in sets.values()))
        sql = f"UPDATE dossiers SET {', '.join(f'{n} = ?' for n in names)}" \
              " WHERE id = ? AND version = ?"
        if self._run(sql, (*values, dossier_id, version)) != 1:
            raise RuntimeError(f"{code}: lost the optimistic lock")
        self._one(_EVENT, (dossier_id, count + 1, trigger, state, target, "nv01", "clerk", at,
                           body, head, digest))

    def _begin(self, code: str) -> tuple[Any, datetime]:
        self._begin_only()
        row = self._one(_SELECT, (code,))
        return row, datetime.now(UTC)

    def _begin_only(self) -> None:
        if not self._pg:  # psycopg opens the transaction with the first statement
            self._cursor.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        if self._pg:
            self._conn.commit()
        else:
            self._cursor.execute("COMMIT")

    def _at(self, instant: datetime | None) -> Any:
        if instant is None or self._pg:
            return instant
        return instant.isoformat(" ", "microseconds")[:-6]  # the engine's SQLite format

    def _run(self, sql: str, params: Sequence[Any]) -> int:
        if self._pg:
            sql = self._sql.get(sql) or self._sql.setdefault(sql, sql.replace("?", "%s"))
        self._cursor.execute(sql, params)
        return int(self._cursor.rowcount)

    def _one(self, sql: str, params: Sequence[Any]) -> Any:
        self._run(sql, params)
        return self._cursor.fetchone()
