"""Service quality, a part of :class:`~dossier.engine.Engine`'s public API: citizens' ratings
(:meth:`~QualityApi.rate`) and the indicators of Quyết định 766/QĐ-TTg
(:meth:`~QualityApi.quality_report`). The rules of the indicators are in
:mod:`dossier.quality`, their SQL in :mod:`dossier.store.quality_sql`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from dossier import text
from dossier.actors import Actor
from dossier.agencies import AgencyDirectory
from dossier.clock import LOCAL_TZ
from dossier.engine import rating
from dossier.engine.kernel import Kernel
from dossier.errors import InvalidInput
from dossier.policy import check_actor
from dossier.quality.report import QualityReport
from dossier.quality.tally import build_report
from dossier.ratings import Rating
from dossier.sinks.base import is_portal_sync
from dossier.store import quality_sql

#: The longest period one report covers: ten years, far beyond any reporting period.
MAX_PERIOD = timedelta(days=3660)


class QualityApi:
    """Citizens' ratings and the quality report."""

    _kernel: Kernel
    _agencies: AgencyDirectory

    def rate(self, code: str, *, actor: Actor, level: int | str,
             criteria: Mapping[str, int | str] | None = None,
             comment: str | None = None) -> Rating:
        """Record the applicant's rating of dossier ``code`` (đánh giá mức độ hài lòng).

        ``level`` is one of :data:`dossier.ratings.RATING_LEVELS`, by score (3 best), key
        (``"very_satisfied"``, ``"satisfied"``, ``"dissatisfied"``) or Vietnamese label
        (``"Rất hài lòng"``…); ``criteria`` optionally rates aspects of the service
        (:data:`dossier.ratings.RATING_CRITERIA` keys → levels); ``comment`` is free text.

        The applicant rates: the citizen who owns the dossier, or a clerk of its agency
        recording the applicant's answer (a paper form, a kiosk), for a counter dossier
        too; the event then names the owner in ``on_behalf_of``. Only once the dossier is
        ``returned``, and once per dossier: otherwise
        :class:`~dossier.errors.TransitionNotAllowed`. Recorded as a ``rate`` event in the
        dossier's hash chain (the comment's SHA-256 in it, the text in the ratings table)
        and counted by :meth:`quality_report`.
        """
        check_actor(actor)
        return rating.rate(self._kernel, code, actor, level, criteria, comment)

    def rating(self, code: str, *, actor: Actor | None = None) -> Rating | None:
        """The dossier's rating, or None when it was not rated (what a rating form asks
        before it shows itself); with ``actor``, only if they are a party to the dossier."""
        return rating.rating_of(self._kernel, code, actor)

    def quality_report(self, agency: str | None = None, *, start: date, end: date,
                       procedure: str | None = None) -> QualityReport:
        """The indicators of Quyết định 766/QĐ-TTg from ``start`` to ``end`` (Vietnam dates,
        both included) for ``agency`` and every agency below it in the directory (None: all
        agencies), for one ``procedure`` code or all: in total, per agency and per
        procedure, with the on-time rate by month and an estimated score per group.

        Counted in the database (``GROUP BY``), in one read transaction. Which dossiers each
        indicator counts, its formula, its source and what is an estimate: see
        :mod:`dossier.quality.indicators`. Open dossiers are judged at the end of the period,
        or now if that is earlier.
        """
        start_at, end_at = _period(start, end)
        agencies = self._scope(agency)
        if procedure is not None:
            procedure = text.clean("procedure", procedure, text.Kind.PROCEDURE_CODE)
        kernel = self._kernel
        now = kernel.now()
        scope = quality_sql.Scope(
            agencies=agencies, procedure=procedure, start_at=start_at, end_at=end_at,
            cut=min(end_at, now),
            portal_sinks=tuple(sorted(n for n, s in kernel.sinks.items() if is_portal_sync(s))))
        with kernel.transaction(write=False) as tx:
            rows = quality_sql.tallies(tx, scope, postgres=not kernel.db.is_sqlite)
            versions = {(code, version) for (_, code, version, _), _ in rows}
            procedures = {key: kernel.procedures.get(tx, *key) for key in sorted(versions)}
        return build_report(
            rows, service_level=lambda c, v: procedures[c, v].service_level.value,
            portal=bool(scope.portal_sinks), agency=agency, agencies=agencies,
            procedure=procedure, start=start, end=end, as_of=now,
            agency_names=self._agencies.names(),
            procedure_names={code: p.name for (code, _), p in procedures.items()})

    def _scope(self, agency: str | None) -> tuple[str, ...] | None:
        """The agencies a report on ``agency`` covers: it and those below it in the
        directory (just itself when the directory does not list it)."""
        if agency is None:
            return None
        agency = text.clean("agency", agency, text.Kind.AGENCY)
        if agency in self._agencies:
            return tuple(sorted(self._agencies.with_descendants(agency)))
        return (agency,)


def _period(start: object, end: object) -> tuple[datetime, datetime]:
    """``[start, end + 1 day)`` as instants (Vietnam midnight)."""
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise InvalidInput(f"{name} must be a date (datetime.date), e.g. date(2025, 7, 1)")
    assert isinstance(start, date)
    assert isinstance(end, date)
    if end < start:
        raise InvalidInput(f"end ({end.isoformat()}) is before start ({start.isoformat()})")
    if end - start > MAX_PERIOD:
        raise InvalidInput("a report covers at most ten years")
    return (datetime.combine(start, time(0), LOCAL_TZ),
            datetime.combine(end + timedelta(days=1), time(0), LOCAL_TZ))
