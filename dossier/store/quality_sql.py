"""The SQL of the quality report: dossiers counted with ``GROUP BY`` in the database.

Three statements, each one pass over the dossiers of the scope (an agency range of
``ix_dossiers_agency_submitted`` / ``_closed`` / ``_due`` per agency, or a scan for all of
them), each grouped by agency and procedure version:

- **settled** — closed in the period, also grouped by month (Vietnam time): returned,
  early / on time / late, an electronic result, the ratings;
- **overdue** — open at the cut-off (the period's end, or now if earlier), received, past
  the due date and not paused (:data:`dossier.quality.tally.PAUSED_STATES`);
- **intake** — submitted in the period: online, fee-bearing, paid online, received on paper,
  digitisation (:func:`digitisation_sql`), certification, portal sync.

What a dossier has (a document, a payment, a digitisation record, an outbox row) is an
``EXISTS`` on that table's dossier index, so a count costs one probe per dossier and per
measure, whatever the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from dossier.quality.tally import PAUSED_STATES, Key, Tally
from dossier.records import DigitisationKind
from dossier.store.database import Tx

#: ``pay`` methods that count as paid online (gateway, or bank transfer to the agency).
ONLINE_METHODS = ("online", "transfer")
#: Channels whose dossiers come in on paper: the ones there is something to digitise in.
PAPER_CHANNELS = ("counter", "post")


@dataclass(frozen=True, kw_only=True)
class Scope:
    """Which dossiers: ``agencies`` (None: all), ``procedure`` code (None: all), the period
    ``[start_at, end_at)`` and the ``cut`` instant open dossiers are judged at; the outbox
    ``portal_sinks`` (names of sinks that sync the national portal)."""

    agencies: tuple[str, ...] | None
    procedure: str | None
    start_at: datetime
    end_at: datetime
    cut: datetime
    portal_sinks: tuple[str, ...] = ()


class Digitisation(NamedTuple):
    """SQL conditions over one dossier: ``paper`` — received on paper (the base of the
    digitisation rate), ``digitised`` — received on paper and its components made digital,
    ``reused`` — a component reused from a store, whatever the channel."""

    paper: str
    digitised: str
    reused: str


def digitisation_sql(d: str) -> Digitisation:
    """The one place that says what "digitised" and "reused" mean, over the dossier alias
    ``d``, from its digitisation records (:mod:`dossier.digitisation`).

    Digitised: a dossier received on paper (:data:`PAPER_CHANNELS`) with a ``digitised`` record
    (a component scanned at the ``digitise`` step) or a ``reused`` one (taken digital from an
    earlier result or the citizen's data store): either way its components are now digital.
    Online dossiers are outside that base: their components came as electronic files, and a
    ``digitise`` step on one records the uploads too, so its records cannot tell a scan from an
    upload. Reused: a ``reused`` record, on any channel (a citizen picks from the data store
    online as a clerk does at the counter)."""
    paper = f"{d}.channel IN ({_literals(PAPER_CHANNELS)})"
    made_digital = _literals((DigitisationKind.DIGITISED, DigitisationKind.REUSED))
    digitised = (f"{paper} AND EXISTS (SELECT 1 FROM digitisation_records r"
                 f" WHERE r.dossier_id = {d}.id AND r.kind IN ({made_digital}))")
    reused = (f"EXISTS (SELECT 1 FROM digitisation_records r WHERE r.dossier_id = {d}.id"
              f" AND r.kind = '{DigitisationKind.REUSED.value}')")
    return Digitisation(paper=paper, digitised=digitised, reused=reused)


def _literals(values: Sequence[str]) -> str:
    # constants of the code, never input: written into the SQL rather than bound
    return ", ".join(f"'{value}'" for value in values)


def _has(table: str, where: str) -> str:
    return f"EXISTS (SELECT 1 FROM {table} x WHERE x.dossier_id = d.id AND {where})"


def _count(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _filter(scope: Scope) -> tuple[str, list[Any]]:
    clauses, params = "", list[Any]()
    if scope.agencies is not None:
        clauses += f" AND d.agency IN ({_marks(scope.agencies)})"
        params += scope.agencies
    if scope.procedure is not None:
        clauses += " AND d.procedure_code = ?"
        params.append(scope.procedure)
    return clauses, params


def _month(postgres: bool) -> str:
    # Vietnam has kept UTC+7 without daylight saving since 1975
    if postgres:
        return "to_char(d.closed_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM')"
    return "strftime('%Y-%m', d.closed_at, '+7 hours')"


_GROUP = "d.agency, d.procedure_code, d.procedure_version"
_SETTLED = ("returned", "early", "on_time", "late", "e_result", "rated", "very_satisfied",
            "satisfied", "dissatisfied")
_INTAKE = ("submitted", "online", "fee_bearing", "paid_online", "paper", "digitised", "reused",
           "certified", "e_certified", "unsynced")


def settled_sql(scope: Scope, postgres: bool) -> tuple[str, list[Any]]:
    where, params = _filter(scope)
    returned = "d.state = 'returned'"
    has_result = _has("documents", "x.kind = 'result'")
    columns = ", ".join((
        _count(returned), _count("d.timeliness = 'early'"), _count("d.timeliness = 'on_time'"),
        _count("d.timeliness = 'late'"),
        _count(f"{returned} AND {has_result}"),
        _count("r.level IS NOT NULL"), _count("r.level = 'very_satisfied'"),
        _count("r.level = 'satisfied'"), _count("r.level = 'dissatisfied'")))
    return (f"SELECT {_GROUP}, {_month(postgres)} AS m, {columns}"
            " FROM dossiers d LEFT JOIN ratings r ON r.dossier_id = d.id"
            f" WHERE d.closed_at >= ? AND d.closed_at < ?{where} GROUP BY {_GROUP}, m",
            [scope.start_at, scope.end_at, *params])


def overdue_sql(scope: Scope) -> tuple[str, list[Any]]:
    where, params = _filter(scope)
    paused = [state.value for state in PAUSED_STATES]
    return (f"SELECT {_GROUP}, COUNT(*) FROM dossiers d"
            " WHERE d.due_at < ? AND d.received_at < ?"
            " AND (d.closed_at IS NULL OR d.closed_at >= ?)"
            f" AND NOT (d.closed_at IS NULL AND d.state IN ({_marks(paused)})){where}"
            f" GROUP BY {_GROUP}",
            [scope.cut, scope.cut, scope.cut, *paused, *params])


def intake_sql(scope: Scope) -> tuple[str, list[Any]]:
    where, params = _filter(scope)
    digitisation = digitisation_sql("d")
    online = _marks(ONLINE_METHODS)
    sinks = scope.portal_sinks
    unsynced = (_count(_has("outbox", f"x.sink IN ({_marks(sinks)}) AND x.status <> "
                                      "'delivered'")) if sinks else "0")
    columns = ", ".join((
        "COUNT(*)", _count("d.channel = 'online'"), _count("d.fee_due > 0"),
        _count("d.fee_due > 0 AND " + _has(
            "payments", f"x.consumed_at IS NOT NULL AND x.method IN ({online})")),
        _count(digitisation.paper), _count(digitisation.digitised),
        _count(digitisation.reused),
        _count(_has("events", "x.trigger = 'certify'")),
        _count(_has("documents", "x.kind = 'certified_copy'")), unsynced))
    return (f"SELECT {_GROUP}, NULL, {columns} FROM dossiers d"
            f" WHERE d.submitted_at >= ? AND d.submitted_at < ?{where} GROUP BY {_GROUP}",
            [*ONLINE_METHODS, *sinks, scope.start_at, scope.end_at, *params])


def tallies(tx: Tx, scope: Scope, *, postgres: bool) -> list[tuple[Key, Tally]]:
    """The grouped counts of the three statements (see the module's docstring)."""
    out: list[tuple[Key, Tally]] = []
    for (sql, params), names in ((settled_sql(scope, postgres), _SETTLED),
                                 (intake_sql(scope), _INTAKE)):
        for row in tx.all(sql, [_instant(tx, p) for p in params]):
            counts = {name: int(value or 0) for name, value in zip(names, row[4:], strict=True)}
            out.append(((row[0], row[1], row[2], row[3]), Tally(**counts)))
    sql, params = overdue_sql(scope)
    for row in tx.all(sql, [_instant(tx, p) for p in params]):
        out.append(((row[0], row[1], row[2], None), Tally(overdue_open=int(row[3]))))
    return out


def _instant(tx: Tx, value: Any) -> Any:
    return tx.instant_in(value) if isinstance(value, datetime) else value
