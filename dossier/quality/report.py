"""The quality report: the indicators of Quyết định 766 in total, per agency and per
procedure, with the on-time rate by month. Value types; :mod:`dossier.quality.tally` builds
them from the database's aggregates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from dossier.quality.indicators import (
    WEIGHTS,
    CongKhai,
    HaiLong,
    Indicator,
    SoHoa,
    TienDo,
    TrucTuyen,
)


@dataclass(frozen=True, kw_only=True)
class QualityScore:
    """The estimated 766 score: ``score`` out of the ``points`` measured (of 100)."""

    score: float
    points: int

    @property
    def percent(self) -> float | None:
        """``score`` as a share of the points measured (None when nothing was)."""
        return self.score / self.points if self.points else None

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "points": self.points, "percent": self.percent,
                "estimate": True}


@dataclass(frozen=True, kw_only=True)
class QualitySection:
    """The five groups for one scope (everything, one agency, or one procedure)."""

    cong_khai: CongKhai
    tien_do: TienDo
    so_hoa: SoHoa
    truc_tuyen: TrucTuyen
    hai_long: HaiLong
    #: dossiers submitted in the period, and returned in it (the two bases of the rates)
    submitted: int = 0
    returned: int = 0

    @property
    def groups(self) -> dict[str, CongKhai | TienDo | SoHoa | TrucTuyen | HaiLong]:
        return {key: getattr(self, key) for key in WEIGHTS}

    @property
    def score(self) -> QualityScore:
        """An estimate (see :mod:`dossier.quality.indicators`): the groups' scores summed
        over the groups that have one."""
        scored = [g for g in self.groups.values() if g.score is not None]
        return QualityScore(score=sum(g.score or 0.0 for g in scored),
                            points=sum(g.weight for g in scored))

    def as_dict(self) -> dict[str, Any]:
        return {"submitted": self.submitted, "returned": self.returned,
                "score": self.score.as_dict(),
                "groups": {key: group.as_dict() for key, group in self.groups.items()}}


@dataclass(frozen=True, kw_only=True)
class MonthPoint:
    """One month (``"2025-07"``, Vietnam time) of returned dossiers: those on time (early or
    on the due date) out of all returned that month."""

    month: str
    on_time: Indicator

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month, **self.on_time.as_dict()}


@dataclass(frozen=True, kw_only=True)
class QualityReport:
    """The indicators of Quyết định 766/QĐ-TTg for ``agency`` (with the agencies below it in
    the directory: ``agencies``; None: every agency) and ``procedure`` (None: every one),
    from ``start`` to ``end`` (Vietnam dates, both included), as of ``as_of``.

    The groups are reachable on the report itself for the total (``report.tien_do.on_time_rate
    .rate``), per agency (``report.by_agency["000.00.12.H12"].truc_tuyen``) and per procedure
    (``report.by_procedure["2.000815"]``); ``on_time_by_month`` is the chart's series.
    ``agency_names`` and ``procedure_names`` are what renderers print. :meth:`as_dict` is
    JSON-serialisable. Scores are estimates (see :mod:`dossier.quality.indicators`).
    """

    agency: str | None
    agencies: tuple[str, ...] | None
    procedure: str | None
    start: date
    end: date
    as_of: datetime
    total: QualitySection
    by_agency: Mapping[str, QualitySection]
    by_procedure: Mapping[str, QualitySection]
    on_time_by_month: tuple[MonthPoint, ...]
    agency_names: Mapping[str, str] = field(default_factory=dict)
    procedure_names: Mapping[str, str] = field(default_factory=dict)

    cong_khai = property(lambda self: self.total.cong_khai)
    tien_do = property(lambda self: self.total.tien_do)
    so_hoa = property(lambda self: self.total.so_hoa)
    truc_tuyen = property(lambda self: self.total.truc_tuyen)
    hai_long = property(lambda self: self.total.hai_long)

    @property
    def score(self) -> QualityScore:
        """The total's estimated score."""
        return self.total.score

    def as_dict(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "agencies": list(self.agencies) if self.agencies is not None else None,
            "procedure": self.procedure, "start": self.start.isoformat(),
            "end": self.end.isoformat(), "as_of": self.as_of.isoformat(),
            "estimate": True,
            "total": self.total.as_dict(),
            "by_agency": {code: {"name": self.agency_names.get(code, code), **s.as_dict()}
                          for code, s in self.by_agency.items()},
            "by_procedure": {code: {"name": self.procedure_names.get(code, code),
                                    **s.as_dict()}
                             for code, s in self.by_procedure.items()},
            "on_time_by_month": [p.as_dict() for p in self.on_time_by_month],
        }
