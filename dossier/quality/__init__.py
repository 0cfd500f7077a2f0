"""Service quality as Quyết định 766/QĐ-TTg measures it: indicators, groups, the report.

:meth:`dossier.Engine.quality_report` builds a :class:`QualityReport`; :mod:`dossier.reports`
renders it (table, CSV, HTML with charts). See :mod:`dossier.quality.indicators` for every
formula, its source and what is an estimate.
"""

from dossier.quality.indicators import (
    GROUP_LABELS,
    SPECS,
    WEIGHTS,
    CongKhai,
    HaiLong,
    Indicator,
    IndicatorSpec,
    SoHoa,
    TienDo,
    TrucTuyen,
)
from dossier.quality.report import MonthPoint, QualityReport, QualityScore, QualitySection
from dossier.quality.tally import PAUSED_STATES

__all__ = [
    "GROUP_LABELS", "PAUSED_STATES", "SPECS", "WEIGHTS", "CongKhai", "HaiLong", "Indicator",
    "IndicatorSpec", "MonthPoint", "QualityReport", "QualityScore", "QualitySection", "SoHoa",
    "TienDo", "TrucTuyen",
]
