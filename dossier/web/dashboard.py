"""``GET /chi-so?agency=…&from=YYYY-MM-DD&to=YYYY-MM-DD``: the quality dashboard (bảng chỉ
số), the report of :meth:`~dossier.engine.Engine.quality_report` for an agency (and those
below it) and a period, as :func:`dossier.reports.render_html` draws it, inside our page.

That renderer makes a self-contained file (its own ``<style>``); here its stylesheet is
scoped to the report's container and allowed by its hash in this page's CSP, so the page
still runs under a policy without ``unsafe-inline``. Default period: the last 90 days.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.clock import LOCAL_TZ
from dossier.reports import render_html
from dossier.web.context import call, context
from dossier.web.pages import render
from dossier.web.security import csp_with_styles, style_hash

DEFAULT_DAYS = 90
_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
_BODY = re.compile(r"<body>(.*)</body>", re.S)
_STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')


def report_fragment(html: str) -> tuple[str, str]:
    """``(css, body)`` of a rendered report: its stylesheet scoped to ``.report`` (not our
    page's body), and its body with each ``style`` attribute (which the CSP refuses) turned
    into a class whose rule joins the stylesheet."""
    css = "".join(_STYLE.findall(html)).replace("body{", ".report{")
    found = _BODY.search(html)
    body = found.group(1) if found else ""
    classes: dict[str, str] = {}

    def to_class(match: re.Match[str]) -> str:
        name = classes.setdefault(match.group(1), f"rs{len(classes)}")
        return f' class="{name}"'

    body = _STYLE_ATTRIBUTE.sub(to_class, body)
    css += "".join(f".report .{name}{{{rule}}}" for rule, name in classes.items())
    return css, body


def _date(value: str | None, fallback: date) -> date | None:
    if not value:
        return fallback
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


async def dashboard(request: Request) -> Response:
    engine = context(request).engine
    today = engine.clock.now().astimezone(LOCAL_TZ).date()
    query = request.query_params
    agency = query.get("agency") or None
    start = _date(query.get("from"), today - timedelta(days=DEFAULT_DAYS - 1))
    end = _date(query.get("to"), today)
    agencies = sorted(((a.code, a.display_name) for a in engine.agencies), key=lambda a: a[0])
    page = {"agency": agency or "", "agencies": agencies, "error": None, "report": None,
            "css": "", "start": start.isoformat() if start else query.get("from", ""),
            "end": end.isoformat() if end else query.get("to", "")}
    if start is None or end is None:
        page["error"] = "Ngày phải có dạng năm-tháng-ngày, ví dụ 2025-07-01."
        return render(request, "chi-so.html.j2", page, status=422)
    if end < start:
        page["error"] = "Ngày kết thúc phải sau ngày bắt đầu."
        return render(request, "chi-so.html.j2", page, status=422)
    report = await call(engine.quality_report, agency, start=start, end=end)
    css, body = report_fragment(render_html(report))
    page.update(report=body, css=css)
    return render(request, "chi-so.html.j2", page, headers={
        "Content-Security-Policy": csp_with_styles([style_hash(css)])})


ROUTES = [Route("/chi-so", dashboard, methods=["GET"])]
