"""The quality report as a text table (for a terminal) and as CSV (for a spreadsheet)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from dossier.quality.indicators import GROUP_LABELS, SPECS
from dossier.quality.report import QualityReport, QualitySection
from dossier.reports.svg import percent

#: The CSV's columns, in order.
CSV_HEADER = ("scope", "code", "name", "group", "indicator", "label", "numerator",
              "denominator", "rate", "measured", "confirmed")


def _title(report: QualityReport) -> str:
    who = "mọi cơ quan" if report.agency is None else \
        f"{report.agency_names.get(report.agency, report.agency)} ({report.agency}"
    if report.agency is not None:
        below = len(report.agencies or ()) - 1
        who += f" và {below} đơn vị trực thuộc)" if below > 0 else ")"
    what = f", thủ tục {report.procedure}" if report.procedure else ""
    return (f"Chỉ số chất lượng phục vụ (QĐ 766/QĐ-TTg) — {who}{what}, "
            f"{report.start:%d/%m/%Y}–{report.end:%d/%m/%Y}")


def _points(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}".replace(".", ",")


def _score(section: QualitySection) -> str:
    """The estimated score out of the points measured (``41,3/82``)."""
    score = section.score
    return f"{_points(score.score)}/{score.points}" if score.points else "–"


def render_table(report: QualityReport) -> str:
    """A fixed-width table: the total's groups and indicators, the estimated score, then one
    line per agency and per procedure."""
    lines = [_title(report), ""]
    width = 52
    lines.append(f"{'Nhóm / chỉ số':<{width}} {'Tử số':>7} {'Mẫu số':>7} {'Tỷ lệ':>7}")
    for key, group in report.total.groups.items():
        lines.append(f"{GROUP_LABELS[key]} ({group.weight} điểm){'':<4}"
                     f"điểm ước tính: {_points(group.score)}")
        for name, ind in group.indicators().items():
            label = SPECS[f"{key}.{name}"].label
            if not ind.measured:
                lines.append(f"  {label:<{width - 2}} {'chưa đo được':>23}")
                continue
            lines.append(f"  {label:<{width - 2}} {ind.numerator:>7} {ind.denominator:>7} "
                         f"{percent(ind.rate):>7}")
    score = report.score
    lines.append(f"Tổng điểm (ước tính): {_points(score.score)} / {score.points} điểm đo được "
                 "(trên 100)")
    for heading, sections, names in (
            ("Theo cơ quan", report.by_agency, report.agency_names),
            ("Theo thủ tục", report.by_procedure, report.procedure_names)):
        if not sections:
            continue
        lines += ["", f"{heading:<{width - 14}} {'Điểm':>8} {'Đúng hạn':>9} {'Trực tuyến':>10} "
                      f"{'Hài lòng':>9}"]
        for code, s in sections.items():
            name = f"{code} {names.get(code, '')}".strip()[:width - 16]
            lines.append(f"  {name:<{width - 16}} {_score(s):>8} "
                         f"{percent(s.tien_do.on_time_rate.rate):>9} "
                         f"{percent(s.truc_tuyen.online_rate.rate):>10} "
                         f"{percent(s.hai_long.satisfaction.rate):>9}")
    if report.on_time_by_month:
        lines += ["", "Trả đúng hạn theo tháng: " + "  ".join(
            f"{p.month} {percent(p.on_time.rate)} ({p.on_time.numerator}/"
            f"{p.on_time.denominator})" for p in report.on_time_by_month)]
    return "\n".join(lines) + "\n"


def _rows(scope: str, code: str, name: str, section: QualitySection) -> Iterator[list[object]]:
    for key, group in section.groups.items():
        for indicator, ind in group.indicators().items():
            spec = SPECS[f"{key}.{indicator}"]
            yield [scope, code, name, key, indicator, spec.label, ind.numerator,
                   ind.denominator, "" if ind.rate is None else f"{ind.rate:.6f}",
                   ind.measured, spec.confirmed]


def render_csv(report: QualityReport) -> str:
    """One row per indicator and scope (``total``, each ``agency``, each ``procedure``) and
    one per month of the on-time series (``month``); columns :data:`CSV_HEADER`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(_rows("total", "", "", report.total))
    for code, section in report.by_agency.items():
        writer.writerows(_rows("agency", code, report.agency_names.get(code, code), section))
    for code, section in report.by_procedure.items():
        writer.writerows(_rows("procedure", code, report.procedure_names.get(code, code),
                               section))
    for point in report.on_time_by_month:
        rate = point.on_time.rate
        writer.writerow(["month", point.month, point.month, "tien_do", "on_time_by_month",
                         "Trả đúng hạn trong tháng", point.on_time.numerator,
                         point.on_time.denominator, "" if rate is None else f"{rate:.6f}",
                         True, False])
    return out.getvalue()
