"""The public pages, in Vietnamese, server-rendered from ``templates/web/`` (no script).

* ``GET /tra-cuu``: the lookup form; with ``code`` and ``id_number``: the answer. An unknown
  code and a wrong ID number get the same page, word for word and status for status (404),
  and every try counts against two limits (:class:`~dossier.web.settings.LookupLimit`): per
  client address and per dossier code, 429 with ``Retry-After`` past them.
* ``/danh-gia/{code}`` (:mod:`dossier.web.rating_page`) and ``/chi-so``
  (:mod:`dossier.web.dashboard`) use the rendering helpers here.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from dossier.clock import LOCAL_TZ
from dossier.errors import DossierNotFound, InvalidInput
from dossier.policy import check_id_number
from dossier.resources import template_dir
from dossier.web.context import call, context
from dossier.web.problems import TooManyRequests

log = logging.getLogger("dossier.web")
#: the longest dossier code the lookup reads (codes are ~25 characters)
MAX_CODE = 64


def local_time(value: datetime | None, pattern: str = "%H:%M %d/%m/%Y") -> str:
    """An instant as people in Việt Nam read it (Asia/Ho_Chi_Minh)."""
    return "" if value is None else value.astimezone(LOCAL_TZ).strftime(pattern)


def money(value: int) -> str:
    return f"{value:,}".replace(",", ".") + " đồng"


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(template_dir() / "web")),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["local_time"] = local_time
    env.filters["money"] = money
    return env


_ENV = environment()


def render(request: Request, name: str, values: dict[str, Any], *, status: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page from ``templates/web/NAME``; never cached (pages may show a dossier)."""
    # links carry the prefix an integrator mounted the application under
    root = str(request.scope.get("root_path", "")).rstrip("/")
    html = _ENV.get_template(name).render(path=request.url.path.removeprefix(root), root=root,
                                          **values)
    return HTMLResponse(html, status_code=status,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def error_page(request: Request, status: int, title: str, detail: str,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    return render(request, "loi.html.j2", {"status": status, "title": title,
                                           "detail": detail}, status=status, headers=headers)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def throttle(request: Request, code: str) -> None:
    """Count one try of ``code``'s ID number from this client: 429 past either limit."""
    ctx = context(request)
    wait = max(ctx.lookup_by_client.hit(client_address(request)),
               ctx.lookup_by_code.hit(code))
    if wait:
        raise TooManyRequests(f"Bạn đã tra cứu quá nhiều lần. Vui lòng thử lại sau "
                              f"{max(1, wait // 60)} phút.", wait)


async def lookup(request: Request) -> Response:
    query = request.query_params
    code = query.get("code", "").strip()
    number = query.get("id_number", "").strip()
    form: dict[str, Any] = {"code": code[:MAX_CODE], "status": None, "error": None,
                            "not_found": False}
    if "code" not in query and "id_number" not in query:
        return render(request, "tra-cuu.html.j2", form)
    if not code or not number:
        form["error"] = "Vui lòng nhập cả mã hồ sơ và số định danh cá nhân."
        return render(request, "tra-cuu.html.j2", form, status=400)
    try:
        check_id_number("id_number", number)
    except InvalidInput:
        form["error"] = ("Số định danh cá nhân gồm 12 chữ số (căn cước công dân) "
                         "hoặc 9 chữ số (chứng minh nhân dân).")
        return render(request, "tra-cuu.html.j2", form, status=422)
    if len(code) > MAX_CODE:
        return render(request, "tra-cuu.html.j2", {**form, "not_found": True}, status=404)
    throttle(request, code)
    try:
        status = await call(context(request).engine.lookup, code, id_number=number)
    except DossierNotFound:
        return render(request, "tra-cuu.html.j2", {**form, "not_found": True}, status=404)
    return render(request, "tra-cuu.html.j2", {**form, "status": status})


async def home(request: Request) -> Response:
    return RedirectResponse("/tra-cuu", status_code=303)


ROUTES = [
    Route("/", home, methods=["GET"]),
    Route("/tra-cuu", lookup, methods=["GET"]),
]
