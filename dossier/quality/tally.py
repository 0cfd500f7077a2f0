"""From the database's aggregates to a :class:`~dossier.quality.report.QualityReport`.

The store counts dossiers with ``GROUP BY`` (:mod:`dossier.store.quality_sql`): one
:class:`Tally` per agency, procedure version and (for the returned ones) month. Here those
few rows are added up per scope — everything, each agency, each procedure — and divided.
Pure: no database, no loop over dossiers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime

from dossier.quality.indicators import (
    NOT_MEASURED,
    CongKhai,
    HaiLong,
    Indicator,
    SoHoa,
    TienDo,
    TrucTuyen,
)
from dossier.quality.report import MonthPoint, QualityReport, QualitySection
from dossier.states import State

#: States in which an open dossier's lateness is not judged (766: dossiers waiting for a
#: supplement, for a financial obligation, or stopped are left out of the on-time rate).
PAUSED_STATES: tuple[State, ...] = (State.AWAITING_SUPPLEMENT, State.AWAITING_PAYMENT,
                                     State.STOPPED)
#: ``service_level`` values of procedures offered online, fully or in part.
FULL_ONLINE, PARTIAL_ONLINE = "full_online", "partial_online"


@dataclass(frozen=True, kw_only=True)
class Tally:
    """Counts of dossiers of one agency and procedure version (and month, for the returned).

    Returned in the period: ``returned``, ``early``, ``on_time``, ``late``, ``e_result``,
    ``rated`` and the ratings per level. Open at the period's end past the due date, not
    paused: ``overdue_open``. Submitted in the period: the rest (``paper``: received on paper,
    the base of ``digitised``; see :class:`~dossier.quality.indicators.SoHoa`).
    """

    returned: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    e_result: int = 0
    rated: int = 0
    very_satisfied: int = 0
    satisfied: int = 0
    dissatisfied: int = 0
    overdue_open: int = 0
    submitted: int = 0
    online: int = 0
    fee_bearing: int = 0
    paid_online: int = 0
    paper: int = 0
    digitised: int = 0
    reused: int = 0
    certified: int = 0
    e_certified: int = 0
    unsynced: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                        for f in fields(self)})


ZERO = Tally()
#: (agency, procedure code, procedure version, month or None) → its counts
Key = tuple[str, str, str, str | None]


def _of(numerator: int, denominator: int) -> Indicator:
    return Indicator(numerator=numerator, denominator=denominator)


def section(parts: Iterable[tuple[str, str, Tally]], service_level: Callable[[str, str], str],
            *, portal: bool) -> QualitySection:
    """The five groups over ``parts`` (procedure code, version, counts); ``service_level``
    of a procedure version; ``portal``: the engine has a portal sink (else the sync
    indicator is not measured)."""
    t = ZERO
    full = partial = ZERO
    charging: set[str] = set()
    paying: set[str] = set()
    for code, version, counts in parts:
        t += counts
        level = service_level(code, version)
        if level == FULL_ONLINE:
            full += counts
        elif level == PARTIAL_ONLINE:
            partial += counts
        if counts.fee_bearing:
            charging.add(code)
        if counts.paid_online:
            paying.add(code)
    judged = t.early + t.on_time + t.late + t.overdue_open
    ratings = t.very_satisfied + t.satisfied + t.dissatisfied
    return QualitySection(
        cong_khai=CongKhai(portal_synced=_of(t.submitted - t.unsynced, t.submitted)
                           if portal else NOT_MEASURED),
        tien_do=TienDo(early=_of(t.early, judged), on_time=_of(t.on_time, judged),
                       late=_of(t.late, judged), overdue_open=_of(t.overdue_open, judged),
                       on_time_rate=_of(t.early + t.on_time, judged)),
        so_hoa=SoHoa(digitised=_of(t.digitised, t.paper),
                     electronic_result=_of(t.e_result, t.returned),
                     reused_data=_of(t.reused, t.submitted),
                     certified_copies=_of(t.e_certified, t.certified)),
        truc_tuyen=TrucTuyen(
            full_online=_of(full.online, full.submitted),
            partial_online=_of(partial.online, partial.submitted),
            online_rate=_of(full.online + partial.online, full.submitted + partial.submitted),
            online_payment=_of(t.paid_online, t.fee_bearing),
            procedures_paying_online=_of(len(paying), len(charging))),
        hai_long=HaiLong(satisfaction=_of(t.returned - t.dissatisfied, t.returned),
                         rated=_of(t.rated, t.returned),
                         very_satisfied=_of(t.very_satisfied, ratings),
                         satisfied=_of(t.satisfied, ratings),
                         dissatisfied=_of(t.dissatisfied, ratings),
                         complaints_on_time=NOT_MEASURED),
        submitted=t.submitted, returned=t.returned)


def build_report(rows: Iterable[tuple[Key, Tally]], *,
                 service_level: Callable[[str, str], str], portal: bool,
                 agency: str | None, agencies: tuple[str, ...] | None,
                 procedure: str | None, start: date, end: date, as_of: datetime,
                 agency_names: Mapping[str, str], procedure_names: Mapping[str, str],
                 ) -> QualityReport:
    """The report from the store's grouped counts (see :class:`Tally`)."""
    merged: dict[tuple[str, str, str], Tally] = defaultdict(lambda: ZERO)
    months: dict[str, Tally] = defaultdict(lambda: ZERO)
    for (where, code, version, month), counts in rows:
        merged[where, code, version] += counts
        if month is not None:
            months[month] += counts
    parts = [(key, counts) for key, counts in sorted(merged.items())]

    def scope(keep: Callable[[tuple[str, str, str]], bool]) -> QualitySection:
        return section(((code, version, counts) for (a, code, version), counts in parts
                        if keep((a, code, version))), service_level, portal=portal)

    by_agency = {name: scope(lambda k, n=name: k[0] == n)  # type: ignore[misc]
                 for name in sorted({k[0] for k, _ in parts})}
    by_procedure = {name: scope(lambda k, n=name: k[1] == n)  # type: ignore[misc]
                    for name in sorted({k[1] for k, _ in parts})}
    series = tuple(MonthPoint(month=m, on_time=_of(c.early + c.on_time,
                                                   c.early + c.on_time + c.late))
                   for m, c in sorted(months.items()))
    return QualityReport(
        agency=agency, agencies=agencies, procedure=procedure, start=start, end=end,
        as_of=as_of, total=scope(lambda _: True), by_agency=by_agency,
        by_procedure=by_procedure, on_time_by_month=series,
        agency_names={code: agency_names.get(code, code)
                      for code in (*by_agency, *([agency] if agency else []))},
        procedure_names={code: procedure_names.get(code, code) for code in by_procedure})
