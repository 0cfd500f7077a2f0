"""The SQL the engine runs, one function per question, on a :class:`Tx`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from dossier.records import NO_DEADLINES, Attachment, ClockPause, Deadlines, Dossier, Event
from dossier.states import Role, State
from dossier.store.database import Tx

_DOSSIER_COLUMNS = (
    "id, code, procedure_code, procedure_version, agency, channel, state, resume_state, owner, "
    "applicant, fee_due, paid_amount, version, event_count, head_hash, submitted_at, "
    "received_at, updated_at, closed_at, clock_started_at, due_at, appointment_at, warning_at, "
    "step_due, paused_at, supplement_due_at, warned_for, overdue_for, extended, timeliness, "
    "next_timer_at, assignee, step_role")
_EVENT_COLUMNS = ("seq, trigger, source, target, actor, role, on_behalf_of, at, data, "
                  "prev_hash, hash, key_id")
#: The event columns qualified with the alias ``e``, for queries that join events.
EVENT_COLUMNS = ", ".join(f"e.{name}" for name in _EVENT_COLUMNS.split(", "))
_SELECT_DOSSIER = f"SELECT {_DOSSIER_COLUMNS} FROM dossiers WHERE code = ?"
_INSERT_EVENT = (f"INSERT INTO events (dossier_id, {_EVENT_COLUMNS})"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")
# json.dumps(…, **options) builds a new encoder per call; one shared encoder (stateless,
# thread-safe) writes the very same text.
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def dumps(value: Any) -> str:
    return _JSON.encode(value)


def _dossier(tx: Tx, row: Any) -> Dossier:
    return Dossier(
        id=row[0], code=row[1], procedure_code=row[2], procedure_version=row[3], agency=row[4],
        channel=row[5], state=State(row[6]), resume_state=State(row[7]) if row[7] else None,
        owner=row[8], applicant=json.loads(row[9]), fee_due=row[10], paid_amount=row[11],
        version=row[12], event_count=row[13], head_hash=row[14],
        submitted_at=tx.instant_out(row[15]),  # type: ignore[arg-type]
        received_at=tx.instant_out(row[16]), updated_at=tx.instant_out(row[17]),  # type: ignore[arg-type]
        closed_at=tx.instant_out(row[18]), deadlines=_deadlines(tx, row), assignee=row[31],
        step_role=Role(row[32]) if row[32] else None)


def _deadlines(tx: Tx, row: Any) -> Deadlines:
    if row[19] is None and row[25] is None:
        return NO_DEADLINES  # not received yet: skip the parsing on the hot path
    out = tx.instant_out
    steps = {name: datetime.fromisoformat(value) for name, value in json.loads(row[23]).items()}
    return Deadlines(
        clock_started_at=out(row[19]), due_at=out(row[20]), appointment_at=out(row[21]),
        warning_at=out(row[22]), steps=steps, paused_at=out(row[24]),
        supplement_due_at=out(row[25]), warned_for=out(row[26]), overdue_for=out(row[27]),
        extended=bool(row[28]), timeliness=row[29], next_timer_at=out(row[30]))


def _steps_json(steps: Mapping[str, datetime]) -> str:
    # JSON text on both databases: ISO 8601 in UTC
    return dumps({name: value.astimezone(UTC).isoformat() for name, value in steps.items()})


def load_dossier(tx: Tx, code: str) -> Dossier | None:
    row = tx.one(_SELECT_DOSSIER, (code,))
    return None if row is None else _dossier(tx, row)


def list_dossier_codes(tx: Tx, agency: str | None = None) -> list[str]:
    if agency is None:
        return [r[0] for r in tx.all("SELECT code FROM dossiers ORDER BY id")]
    return [r[0] for r in tx.all("SELECT code FROM dossiers WHERE agency = ? ORDER BY id",
                                 (agency,))]


def received_between(tx: Tx, agency: str, start: datetime, end: datetime,
                     limit: int) -> list[Dossier]:
    """Dossiers of ``agency`` received in ``[start, end)``, in order of reception (the
    tracking book); at most ``limit`` (uses the index on agency)."""
    rows = tx.all(f"SELECT {_DOSSIER_COLUMNS} FROM dossiers WHERE agency = ? AND"
                  " received_at >= ? AND received_at < ? ORDER BY received_at, id LIMIT ?",
                  (agency, tx.instant_in(start), tx.instant_in(end), limit))
    return [_dossier(tx, row) for row in rows]


def insert_dossier(tx: Tx, d: Dossier, fee_basis: Mapping[str, Any],
                   applicant_key_digest: str | None = None, case: str | None = None) -> int:
    """Insert a new dossier; ``applicant_key_digest`` indexes its applicant's ID number (see
    :mod:`dossier.applicant_keys`); ``case`` is the procedure's special case declared."""
    row = tx.one(
        "INSERT INTO dossiers (code, procedure_code, procedure_version, agency, channel, state,"
        " resume_state, owner, applicant, fee_basis, fee_due, paid_amount, version, event_count,"
        " head_hash, submitted_at, received_at, updated_at, closed_at, step_due, extended,"
        " assignee, step_role, step_due_at, applicant_key_digest, case_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING id",
        (d.code, d.procedure_code, d.procedure_version, d.agency, d.channel, d.state.value,
         None, d.owner, dumps(dict(d.applicant)), dumps(dict(fee_basis)), d.fee_due,
         d.paid_amount, d.version, d.event_count, d.head_hash, tx.instant_in(d.submitted_at),
         None, tx.instant_in(d.updated_at), None, "{}", False, d.assignee,
         d.step_role.value if d.step_role else None, tx.instant_in(d.step_due_at),
         applicant_key_digest, case))
    return int(row[0])


def dossier_case(tx: Tx, dossier_id: int) -> str | None:
    """The special case the dossier declared at submission (``procedure.cases``), if any."""
    row = tx.one("SELECT case_id FROM dossiers WHERE id = ?", (dossier_id,))
    return None if row is None else row[0]


def update_dossier(tx: Tx, before: Dossier, after: Dossier) -> bool:
    """Write ``after`` if the row is still at ``before.version``; False if someone else won.

    Only the columns whose value changed are written, besides the bookkeeping (version,
    event count, head hash, updated_at): most transitions leave the twelve deadline columns
    as they were, and an UPDATE that names fewer columns costs less to send, log and apply.
    """
    names, values = _changed_columns(tx, before, after)
    return tx.execute(_update_sql(names), (*values, before.id, before.version)) == 1


def record_change(tx: Tx, before: Dossier, after: Dossier, event: Event) -> int | None:
    """Write ``after`` (as :func:`update_dossier`) and insert ``event``; the event's row id,
    or None (and nothing written) if the row is no longer at ``before.version``.

    On PostgreSQL both go in one statement (the insert reads the id the update returns), so
    a fire costs one round trip less; SQLite runs in-process and takes the two statements.
    """
    if not tx.postgres:
        return insert_event(tx, after.id, event) if update_dossier(tx, before, after) else None
    names, values = _changed_columns(tx, before, after)
    row = tx.one(_record_sql(names), (*values, before.id, before.version,
                                      *_event_values(tx, event)))
    return None if row is None else int(row[0])


def _changed_columns(tx: Tx, before: Dossier, after: Dossier,
                     ) -> tuple[tuple[str, ...], list[Any]]:
    """The columns to write for ``after`` and their values: the bookkeeping, then each
    column whose value differs from ``before``'s."""
    into = tx.instant_in
    names = ["version", "event_count", "head_hash", "updated_at"]
    values: list[Any] = [after.version, after.event_count, after.head_hash,
                         into(after.updated_at)]
    if after.state is not before.state:
        names.append("state")
        values.append(after.state.value)
    if after.resume_state is not before.resume_state:
        names.append("resume_state")
        values.append(after.resume_state.value if after.resume_state else None)
    if after.paid_amount != before.paid_amount:
        names.append("paid_amount")
        values.append(after.paid_amount)
    for name in ("received_at", "closed_at"):
        value = getattr(after, name)
        if value != getattr(before, name):
            names.append(name)
            values.append(into(value))
    new, old = after.deadlines, before.deadlines
    if new is not old:
        # always: the sweep re-arms this column without a new version (set_next_timer), so
        # the row may hold another value than the one read
        names.append("next_timer_at")
        values.append(into(new.next_timer_at))
        for name in _DEADLINE_INSTANTS:
            value = getattr(new, name)
            if value != getattr(old, name):
                names.append(name)
                values.append(into(value))
        if new.steps != old.steps:
            names.append("step_due")
            values.append(_steps_json(new.steps))
        if new.extended != old.extended:
            names.append("extended")
            values.append(new.extended)
        if new.timeliness != old.timeliness:
            names.append("timeliness")
            values.append(new.timeliness)
    # the work queues select and order by these
    if after.assignee != before.assignee:
        names.append("assignee")
        values.append(after.assignee)
    if after.step_role is not before.step_role:
        names.append("step_role")
        values.append(after.step_role.value if after.step_role else None)
    if after.step_due_at != before.step_due_at:
        names.append("step_due_at")
        values.append(into(after.step_due_at))
    return tuple(names), values


_DEADLINE_INSTANTS = ("clock_started_at", "due_at", "appointment_at", "warning_at", "paused_at",
                      "supplement_due_at", "warned_for", "overdue_for")


@lru_cache(maxsize=256)
def _update_sql(names: tuple[str, ...]) -> str:
    sets = ", ".join(f"{name} = ?" for name in names)
    return f"UPDATE dossiers SET {sets} WHERE id = ? AND version = ?"


@lru_cache(maxsize=256)
def _record_sql(names: tuple[str, ...]) -> str:
    # the event is inserted only if the update found the row at the version read
    columns = ", ".join("?" * (_EVENT_COLUMNS.count(",") + 1))
    return (f"WITH changed AS ({_update_sql(names)} RETURNING id)"
            f" INSERT INTO events (dossier_id, {_EVENT_COLUMNS})"
            f" SELECT id, {columns} FROM changed RETURNING id")



def insert_event(tx: Tx, dossier_id: int, e: Event) -> int:
    """Insert the event; return its row id."""
    row = tx.one(_INSERT_EVENT, (dossier_id, *_event_values(tx, e)))
    return int(row[0])


def _event_values(tx: Tx, e: Event) -> tuple[Any, ...]:
    return (e.seq, e.trigger, e.source, e.target, e.actor, e.role, e.on_behalf_of,
            tx.instant_in(e.at), dumps(dict(e.data)), e.prev_hash, e.hash, e.key_id)


def event_fields(tx: Tx, r: Sequence[Any]) -> dict[str, Any]:
    """The :class:`Event` fields of a row that starts with :data:`EVENT_COLUMNS`."""
    return {"seq": r[0], "trigger": r[1], "source": r[2], "target": r[3], "actor": r[4],
            "role": r[5], "on_behalf_of": r[6], "at": tx.instant_out(r[7]),
            "data": json.loads(r[8]), "prev_hash": r[9], "hash": r[10], "key_id": r[11]}


def load_events(tx: Tx, dossier_id: int) -> list[Event]:
    rows = tx.all(f"SELECT {_EVENT_COLUMNS} FROM events WHERE dossier_id = ? ORDER BY seq, id",
                  (dossier_id,))
    return [Event(**event_fields(tx, r)) for r in rows]


def count_events(tx: Tx, dossier_id: int, trigger: str) -> int:
    """How many events of ``trigger`` the dossier has."""
    row = tx.one("SELECT COUNT(*) FROM events WHERE dossier_id = ? AND trigger = ?",
                 (dossier_id, trigger))
    return int(row[0])
def read_counter(tx: Tx, scope: str, key: str) -> int:
    """A counter's value (0 for one never set)."""
    row = tx.one("SELECT value FROM counters WHERE scope = ? AND key = ?", (scope, key))
    return 0 if row is None else int(row[0])


def set_counter(tx: Tx, scope: str, key: str, value: int) -> None:
    """Set a counter (a position kept between runs, e.g. how far a job has read)."""
    tx.execute("INSERT INTO counters (scope, key, value) VALUES (?, ?, ?)"
               " ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value",
               (scope, key, value))


def lock_dossier(tx: Tx, dossier_id: int, *, postgres: bool) -> None:
    """Hold the dossier's row until the transaction ends (PostgreSQL; SQLite's writer lock
    already serialises writers)."""
    if postgres:
        tx.one("SELECT id FROM dossiers WHERE id = ? FOR UPDATE", (dossier_id,))


def next_counter(tx: Tx, scope: str, key: str) -> int:
    """Atomically take the next number of a counter (1 for a new one)."""
    row = tx.one(
        "INSERT INTO counters (scope, key, value) VALUES (?, ?, 1)"
        " ON CONFLICT (scope, key) DO UPDATE SET value = counters.value + 1 RETURNING value",
        (scope, key))
    return int(row[0])


# --- deadlines and timers ----------------------------------------------------------------

def due_dossier_codes(tx: Tx, now: datetime, limit: int, *, skip_locked: bool) -> list[str]:
    """Codes of dossiers whose next timer is due, earliest first.

    With ``skip_locked`` (PostgreSQL) the rows are locked for this transaction and rows
    another worker holds are skipped, so several workers share one sweep.
    """
    sql = ("SELECT code FROM dossiers WHERE next_timer_at <= ? ORDER BY next_timer_at"
           " LIMIT ?" + (" FOR UPDATE SKIP LOCKED" if skip_locked else ""))
    return [r[0] for r in tx.all(sql, (tx.instant_in(now), limit))]


def count_due(tx: Tx, now: datetime) -> int:
    """How many dossiers have a timer due at ``now`` (the worker's backlog gauge)."""
    return int(tx.one("SELECT COUNT(*) FROM dossiers WHERE next_timer_at <= ?",
                      (tx.instant_in(now),))[0])


def set_next_timer(tx: Tx, dossier_id: int, at: datetime | None) -> None:
    """Re-arm the sweep index of a row whose stored next timer was stale (no event, no
    version change: the index is bookkeeping, not dossier state)."""
    tx.execute("UPDATE dossiers SET next_timer_at = ? WHERE id = ?",
               (tx.instant_in(at), dossier_id))


def open_pause(tx: Tx, dossier_id: int, started_at: datetime, reason: str, legal_basis: str,
               actor: str, role: str) -> None:
    tx.execute("INSERT INTO clock_pauses (dossier_id, started_at, reason, legal_basis, actor,"
               " role) VALUES (?, ?, ?, ?, ?, ?)",
               (dossier_id, tx.instant_in(started_at), reason, legal_basis, actor, role))


def close_pause(tx: Tx, dossier_id: int, ended_at: datetime, due_before: datetime | None,
                due_after: datetime | None) -> None:
    tx.execute("UPDATE clock_pauses SET ended_at = ?, due_before = ?, due_after = ?"
               " WHERE dossier_id = ? AND ended_at IS NULL",
               (tx.instant_in(ended_at), tx.instant_in(due_before), tx.instant_in(due_after),
                dossier_id))


def load_pauses(tx: Tx, dossier_id: int) -> list[ClockPause]:
    rows = tx.all("SELECT started_at, ended_at, reason, legal_basis, actor, role, due_before,"
                  " due_after FROM clock_pauses WHERE dossier_id = ? ORDER BY id", (dossier_id,))
    out = tx.instant_out
    return [ClockPause(started_at=out(r[0]), ended_at=out(r[1]), reason=r[2],  # type: ignore[arg-type]
                       legal_basis=r[3], actor=r[4], role=r[5], due_before=out(r[6]),
                       due_after=out(r[7])) for r in rows]


# --- procedures -----------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class StoredProcedure:
    code: str
    version: str
    effective_from: date
    effective_until: date | None
    content_hash: str


def find_procedure(tx: Tx, code: str, version: str) -> tuple[str, str] | None:
    """``(content_hash, content)`` of a registered version, or None."""
    row = tx.one("SELECT content_hash, content FROM procedures WHERE code = ? AND version = ?",
                 (code, version))
    return None if row is None else (row[0], row[1])


def procedure_versions(tx: Tx, code: str) -> list[StoredProcedure]:
    rows = tx.all("SELECT code, version, effective_from, effective_until, content_hash"
                  " FROM procedures WHERE code = ?", (code,))
    return [StoredProcedure(code=r[0], version=r[1], effective_from=_date(r[2]),
                            effective_until=_date(r[3]) if r[3] else None, content_hash=r[4])
            for r in rows]


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def insert_procedure(tx: Tx, code: str, version: str, effective_from: date,
                     effective_until: date | None, content: str, content_hash: str,
                     at: datetime) -> None:
    tx.execute(
        "INSERT INTO procedures (code, version, effective_from, effective_until, content,"
        " content_hash, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (code, version, tx.date_in(effective_from), tx.date_in(effective_until), content,
         content_hash, tx.instant_in(at)))


# --- attachments ----------------------------------------------------------------------------

def put_blob(tx: Tx, sha256: str, data: bytes) -> None:
    tx.execute("INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?)"
               " ON CONFLICT (sha256) DO NOTHING", (sha256, len(data), data))


def get_blob(tx: Tx, sha256: str) -> bytes | None:
    row = tx.one("SELECT data FROM blobs WHERE sha256 = ?", (sha256,))
    return None if row is None else bytes(row[0])


def insert_attachment(tx: Tx, dossier_id: int, a: Attachment) -> None:
    tx.execute(
        "INSERT INTO attachments (dossier_id, component, filename, sha256, size, media_type,"
        " attached_by, attached_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (dossier_id, a.component, a.filename, a.sha256, a.size, a.media_type, a.attached_by,
         tx.instant_in(a.attached_at)))


def stored_components(tx: Tx, dossier_id: int) -> frozenset[str]:
    rows = tx.all("SELECT DISTINCT component FROM attachments WHERE dossier_id = ?",
                  (dossier_id,))
    return frozenset(r[0] for r in rows)


def load_attachments(tx: Tx, dossier_id: int) -> list[Attachment]:
    rows = tx.all("SELECT component, filename, sha256, size, media_type, attached_by,"
                  " attached_at FROM attachments WHERE dossier_id = ? ORDER BY id",
                  (dossier_id,))
    return [Attachment(component=r[0], filename=r[1], sha256=r[2], size=r[3], media_type=r[4],
                       attached_by=r[5], attached_at=tx.instant_out(r[6]))  # type: ignore[arg-type]
            for r in rows]


def max_event_id(tx: Tx, below_txid: str | None = None) -> int:
    """The id of the newest event (0 when there is none); with ``below_txid`` (PostgreSQL),
    of the newest written by a transaction below that id."""
    if below_txid is None:
        row = tx.one("SELECT COALESCE(MAX(id), 0) FROM events")
    else:
        row = tx.one("SELECT COALESCE(MAX(id), 0) FROM events WHERE txid < ?::xid8",
                     (below_txid,))
    return int(row[0])


def visibility_horizon(tx: Tx) -> str:
    """PostgreSQL: the oldest transaction id still running (``pg_snapshot_xmin``); every
    event of a transaction below it has committed (or never will), so the set of such events
    cannot grow later."""
    return str(tx.one("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")[0])


def ledger_heads(tx: Tx, up_to_event: int,
                 below_txid: str | None = None) -> list[tuple[str, str, int, str]]:
    """``(agency, code, seq, hash)`` of every dossier's last event with id <= ``up_to_event``
    (and, on PostgreSQL, written by a transaction below ``below_txid``; dossiers with none are
    left out), by agency and code."""
    horizon = "" if below_txid is None else " AND x.txid < ?::xid8"
    rows = tx.all(
        "SELECT d.agency, d.code, e.seq, e.hash FROM dossiers d JOIN events e"
        " ON e.dossier_id = d.id WHERE e.id = (SELECT MAX(x.id) FROM events x"
        f" WHERE x.dossier_id = d.id AND x.id <= ?{horizon}) ORDER BY d.agency, d.code",
        (up_to_event,) if below_txid is None else (up_to_event, below_txid))
    return [(r[0], r[1], int(r[2]), r[3]) for r in rows]
