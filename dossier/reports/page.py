"""The quality report as one self-contained HTML page: inline CSS, three inline SVG charts
(on-time by month, online rates by procedure, the score per group), then the numbers.

Nothing is loaded from elsewhere and nothing runs in the browser, so the file opens offline,
passes a strict Content-Security-Policy, and prints.
"""

from __future__ import annotations

from html import escape

from dossier.quality.indicators import GROUP_LABELS, SPECS
from dossier.quality.report import QualityReport, QualitySection
from dossier.reports import svg
from dossier.reports.plain import _title

_STYLE = """
body{font-family:system-ui,"Segoe UI",Roboto,Arial,sans-serif;margin:0 auto;max-width:960px;
padding:16px;color:#1f2328;line-height:1.45}
h1{font-size:1.35rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #d0d7de;padding:4px 6px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#57606a;font-size:.85rem}.estimate{background:#fff8c5;padding:6px 10px}
figure{margin:1rem 0}figcaption{font-size:.9rem;color:#57606a}
"""


def _number(value: float | None) -> str:
    """One decimal, Vietnamese style (``42,9``)."""
    return "–" if value is None else f"{value:.1f}".replace(".", ",")


def _score_chart(section: QualitySection) -> str:
    groups = list(section.groups.items())
    return svg.rows([svg.Bar(GROUP_LABELS[k], (g.score,)) for k, g in groups],
                    title="Điểm ước tính theo nhóm chỉ số",
                    description="Mỗi thanh là điểm của một nhóm trên điểm tối đa của nhóm.",
                    scale=[float(g.weight) for _, g in groups], unit="points")


def _month_chart(report: QualityReport) -> str:
    bars = [svg.Bar(p.month, (p.on_time.rate,)) for p in report.on_time_by_month]
    return svg.columns(bars, title="Tỷ lệ trả kết quả đúng hạn theo tháng",
                       description="Mỗi cột là một tháng: phần hồ sơ trả trước hạn hoặc đúng "
                                   "hạn trong số hồ sơ trả trong tháng.")


def _online_chart(report: QualityReport) -> str:
    # procedures offered neither online nor with a fee have nothing to show here
    bars = [svg.Bar(report.procedure_names.get(code, code),
                    (s.truc_tuyen.online_rate.rate, s.truc_tuyen.online_payment.rate))
            for code, s in report.by_procedure.items()
            if s.truc_tuyen.online_rate.denominator or s.truc_tuyen.online_payment.denominator]
    return svg.rows(bars, title="Tỷ lệ trực tuyến theo thủ tục",
                    description="Mỗi thủ tục có hai thanh: hồ sơ nộp trực tuyến và hồ sơ "
                                "thanh toán phí trực tuyến.",
                    legend=("Hồ sơ trực tuyến", "Thanh toán trực tuyến"))


def _indicator_table(section: QualitySection) -> str:
    out = ["<table><thead><tr><th>Chỉ số</th><th>Công thức</th><th>Tử số</th>"
           "<th>Mẫu số</th><th>Tỷ lệ</th></tr></thead><tbody>"]
    for key, group in section.groups.items():
        out.append(f'<tr><th colspan="5">{escape(GROUP_LABELS[key])} — {group.weight} điểm, '
                   f"ước tính {_number(group.score)}</th></tr>")
        for name, ind in group.indicators().items():
            spec = SPECS[f"{key}.{name}"]
            mark = "" if spec.confirmed else " *"
            if not ind.measured:
                cells = '<td colspan="3" class="n">chưa đo được</td>'
            else:
                cells = (f'<td class="n">{ind.numerator}</td><td class="n">{ind.denominator}'
                         f'</td><td class="n">{svg.percent(ind.rate)}</td>')
            out.append(f"<tr><td>{escape(spec.label)}{mark}</td><td>{escape(spec.formula)}</td>"
                       f"{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _scopes(title: str, sections: dict[str, QualitySection], names: dict[str, str]) -> str:
    if not sections:
        return ""
    out = [f"<h2>{escape(title)}</h2><table><thead><tr><th>Mã</th><th>Tên</th><th>Điểm</th>"
           "<th>Đúng hạn</th><th>Trực tuyến</th><th>TT trực tuyến</th><th>Hài lòng</th>"
           "</tr></thead><tbody>"]
    for code, s in sections.items():
        score = s.score
        out.append(f"<tr><td>{escape(code)}</td><td>{escape(names.get(code, code))}</td>"
                   f'<td class="n">{_number(score.score)}/{score.points}</td>'
                   f'<td class="n">{svg.percent(s.tien_do.on_time_rate.rate)}</td>'
                   f'<td class="n">{svg.percent(s.truc_tuyen.online_rate.rate)}</td>'
                   f'<td class="n">{svg.percent(s.truc_tuyen.online_payment.rate)}</td>'
                   f'<td class="n">{svg.percent(s.hai_long.satisfaction.rate)}</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def render_html(report: QualityReport) -> str:
    """The whole page (UTF-8, Vietnamese)."""
    title = _title(report)
    score = report.score
    return "".join((
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="estimate">Tổng điểm <strong>ước tính</strong>: {_number(score.score)} trên '
        f"{score.points} điểm đo được (thang 100 điểm của Quyết định 766/QĐ-TTg). Cách quy "
        "đổi tỷ lệ ra điểm trong từng nhóm chưa được xác nhận với văn bản gốc.</p>",
        "<h2>Điểm theo nhóm</h2><figure>", _score_chart(report.total),
        "<figcaption>Thanh càng dài, nhóm càng gần điểm tối đa.</figcaption></figure>",
        "<h2>Trả kết quả đúng hạn theo tháng</h2><figure>", _month_chart(report),
        "<figcaption>Xanh: từ 90%; vàng: từ 70%; đỏ: dưới 70%.</figcaption></figure>",
        "<h2>Trực tuyến theo thủ tục</h2><figure>", _online_chart(report), "</figure>",
        "<h2>Các chỉ số</h2>", _indicator_table(report.total),
        _scopes("Theo cơ quan", dict(report.by_agency), dict(report.agency_names)),
        _scopes("Theo thủ tục", dict(report.by_procedure), dict(report.procedure_names)),
        '<p class="note">* Công thức do dossier xây dựng theo nội dung Quyết định 766/QĐ-TTg, '
        f"chưa đối chiếu được với phụ lục gốc. Số liệu tính đến {report.as_of:%d/%m/%Y %H:%M} "
        "(UTC).</p></body></html>\n"))
