"""The SQL of finding work: :class:`~dossier.query.Filters` as a WHERE clause, and pages as
keyset range scans over the indexes of migration 0008.

A query's order is a list of :class:`Group` s read one after the other: ``find`` ordered by a
date that may be missing has two (dated, then undated), the work queue four (assigned to the
actor, then unassigned; each dated, then undated). Each group is one index range read in
order (``WHERE … AND key >= ? AND (key > ? OR id > ?) ORDER BY key, id LIMIT n``), so a page
costs its size, not the table's, on SQLite and PostgreSQL alike. NULLs sort differently on the
two, so undated rows get their own group; and since PostgreSQL does not count ``x IS NULL`` as
fixing ``x`` when it matches an index's order to an ``ORDER BY``, a group orders by every
index column after its equalities, the NULL ones included (``ORDER BY assignee, step_due_at,
id`` for unassigned dossiers): a no-op for the result, a sort saved. A page reads its groups in
one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dossier import text
from dossier.query import ORDERS, Filters, Position
from dossier.records import Dossier
from dossier.states import State, portal_status
from dossier.store.database import Tx
from dossier.store.repository import _DOSSIER_COLUMNS, _dossier

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Group:
    """One part of a query's order: its own condition, and the date ``column`` of the order;
    a ``dated`` group is ordered by it, then the id; an undated one (the column is NULL in
    all its rows) by the id alone. ``lead`` names columns the condition holds NULL that come
    before ``column`` in the index (see the module's docstring)."""

    where: str
    params: tuple[Any, ...]
    column: str
    dated: bool = True
    lead: str = ""

    @property
    def order(self) -> str:
        return f"{self.lead}{self.column}, id"

    @property
    def key(self) -> str | None:
        return self.column if self.dated else None


@dataclass(frozen=True)
class Query:
    """A WHERE clause (``?`` parameters) and the groups its results are read in."""

    where: tuple[str, ...]
    params: tuple[Any, ...]
    groups: tuple[Group, ...]

    @property
    def keyed(self) -> tuple[bool, ...]:
        return tuple(group.key is not None for group in self.groups)


def dated(column: str, where: str = "", params: tuple[Any, ...] = (),
          lead: str = "") -> tuple[Group, Group]:
    """The rows with ``column`` set, by it; then those without, by id."""
    both = f"{where} AND " if where else ""
    return (Group(f"{both}{column} IS NOT NULL", params, column, lead=lead),
            Group(f"{both}{column} IS NULL", params, column, dated=False, lead=lead))


def find_query(tx: Tx, filters: Filters, order: str, *, postgres: bool) -> Query:
    column = ORDERS[order]
    groups = dated(column) if order in ("step_due", "due") else (Group("", (), column),)
    where, params = _where(tx, filters, postgres=postgres)
    return Query(tuple(where), tuple(params), tuple(groups))


def staff_queue(agency: str, role: str, actor_id: str) -> Query:
    """The open dossiers of ``agency`` at a step ``role`` does: assigned to ``actor_id`` first,
    then unassigned ones, each by step due date (ix_dossiers_queue serves all four ranges)."""
    return Query(("agency = ?", "step_role = ?"), (agency, role),
                 (*dated("step_due_at", "assignee = ?", (actor_id,)),
                  *dated("step_due_at", "assignee IS NULL", lead="assignee, ")))


def citizen_queue(owner: str) -> Query:
    """A citizen's open dossiers: those waiting for their supplement first, then the others,
    each by step due date."""
    waiting = State.AWAITING_SUPPLEMENT.value
    return Query(("owner = ?", "closed_at IS NULL"), (owner,),
                 (*dated("step_due_at", "state = ?", (waiting,)),
                  *dated("step_due_at", "state <> ?", (waiting,))))


def count(tx: Tx, query: Query) -> int:
    row = tx.one(f"SELECT COUNT(*) FROM dossiers WHERE {_all(query.where)}", query.params)
    return int(row[0])


def page(tx: Tx, query: Query, after: Position | None,
         limit: int) -> tuple[list[tuple[Dossier, int]], Position | None]:
    """Up to ``limit`` dossiers after ``after``, each with the index of its group, and the
    position of the last one when more follow (None: this is the last page).

    One statement: each group still to read is its own range scan (``LIMIT limit + 1``),
    joined with ``UNION ALL`` and put in group order, so a page is one round trip however
    many groups it spans."""
    first = after.group if after is not None else 0
    parts: list[str] = []
    params: list[Any] = []
    for index in range(first, len(query.groups)):
        group = query.groups[index]
        where = [*query.where, *([group.where] if group.where else [])]
        params += [*query.params, *group.params]
        if after is not None and index == after.group:
            if group.key is not None:
                key = tx.instant_in(after.key)
                where.append(f"{group.key} >= ? AND ({group.key} > ? OR id > ?)")
                params += [key, key, after.id]
            else:
                where.append("id > ?")
                params.append(after.id)
        # an undated group's column is NULL, but typed: PostgreSQL unions it with the dates
        parts.append(f"SELECT {_DOSSIER_COLUMNS}, {group.column} AS k, {index} AS g"
                     f" FROM dossiers WHERE {_all(where)} ORDER BY {group.order}"
                     f" LIMIT {limit + 1}")
    if len(parts) == 1:
        sql = parts[0]
    else:  # the union's order is not the branches' unless asked for (parallel plans)
        sql = " UNION ALL ".join(f"SELECT * FROM ({part}) AS g{n}" for n, part in
                                 enumerate(parts)) + f" ORDER BY g, k, id LIMIT {limit + 1}"
    rows = tx.all(sql, params)
    items = [(_dossier(tx, row), int(row[-1])) for row in rows[:limit]]
    if len(rows) <= limit:
        return items, None
    last = rows[limit - 1]
    return items, Position(int(last[-1]), tx.instant_out(last[-2]), int(last[0]))


def _all(where: Sequence[str]) -> str:
    return " AND ".join(where) or "1 = 1"


def _where(tx: Tx, f: Filters, *, postgres: bool) -> tuple[list[str], list[Any]]:
    """The clauses and parameters that select what ``f`` asks for."""
    where: list[str] = []
    params: list[Any] = []

    def add(clause: str, *values: Any) -> None:
        where.append(clause)
        params.extend(values)

    for column, value in (("agency", f.agency), ("procedure_code", f.procedure),
                          ("channel", f.channel), ("owner", f.owner),
                          ("assignee", f.assignee)):
        if value is not None:
            add(f"{column} = ?", value)
    if f.states:
        add(f"state IN ({_marks(f.states)})", *(s.value for s in f.states))
    if f.portal_statuses:
        clause, values = _portal(f.portal_statuses)
        add(clause, *values)
    if f.received_from is not None:
        add("received_at >= ? AND received_at < ?", tx.instant_in(f.received_from),
            tx.instant_in(f.received_until))
    if f.due_before is not None:
        add("due_at < ?", tx.instant_in(f.due_before))
    if f.overdue_at is not None:
        # open, its clock running (not stopped for a supplement), its due date passed
        add("closed_at IS NULL AND paused_at IS NULL AND due_at < ?",
            tx.instant_in(f.overdue_at))
    if f.applicant_digests:
        add(f"applicant_key_digest IN ({_marks(f.applicant_digests)})", *f.applicant_digests)
    if f.text is not None:
        # a substring of the code, ignoring ASCII case, the same on both databases (SQLite's
        # lower() folds ASCII only; PostgreSQL's folds more, so it gets translate())
        needle = f.text.translate(_ASCII_LOWER)
        if postgres:
            add("strpos(translate(code, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', "
                "'abcdefghijklmnopqrstuvwxyz'), ?) > 0", needle)
        else:
            add("instr(lower(code), ?) > 0", needle)
    return where, params


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _portal(statuses: Sequence[int]) -> tuple[str, list[Any]]:
    """The states (and whether received) a national portal status code stands for."""
    wanted = set(statuses)
    parts: list[str] = []
    values: list[Any] = []
    for state in State:
        before, after = portal_status(state, False) in wanted, portal_status(state, True) in wanted
        if before or after:
            received = "" if before and after else \
                " AND received_at IS NULL" if before else " AND received_at IS NOT NULL"
            parts.append(f"(state = ?{received})")
            values.append(state.value)
    return f"({' OR '.join(parts)})" if parts else "1 = 0", values


def with_digest(tx: Tx, code: object) -> tuple[Dossier, str | None] | None:
    """The dossier ``code`` names and its applicant's keyed digest; None if there is none
    (a malformed code included: it names none)."""
    if not isinstance(code, str) or text.problem(code, text.Kind.DOSSIER_CODE):
        return None
    row = tx.one(f"SELECT {_DOSSIER_COLUMNS}, applicant_key_digest FROM dossiers"
                 " WHERE code = ?", (code,))
    return None if row is None else (_dossier(tx, row), row[-1])
