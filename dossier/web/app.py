"""The ASGI application: :func:`create_app` wires the routes, the error answers and the
security headers around one :class:`~dossier.engine.Engine`."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dossier.engine import Engine
from dossier.errors import DossierError
from dossier.resources import template_dir
from dossier.web import api, callbacks, dashboard, pages, rating_page
from dossier.web.auth import Authenticate, bearer_tokens
from dossier.web.context import WebContext, call, context
from dossier.web.openapi import document
from dossier.web.problems import (
    HttpProblem,
    from_error,
    from_http,
    problem,
    status_of,
    unexpected,
)
from dossier.web.ratelimit import RateLimiter
from dossier.web.security import Csrf, SecurityHeaders
from dossier.web.settings import WebSettings

log = logging.getLogger("dossier.web")
_MACHINE_PATHS = ("/api/", "/signing/", "/openapi.json", "/healthz")


def _wants_page(request: Request) -> bool:
    """Whether an error should be a page (a person's browser on a page route) rather than
    problem+json (an integrator, a gateway, a signer)."""
    path = request.url.path
    if path.startswith(_MACHINE_PATHS) or path.endswith("/ipn"):
        return False
    return "text/html" in request.headers.get("accept", "")


async def _library_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DossierError)
    if _wants_page(request):
        status = status_of(exc)
        detail = str(exc) if status < 500 else "Hệ thống đang gặp sự cố, vui lòng thử lại sau."
        return pages.error_page(request, status, "Không thực hiện được yêu cầu", detail)
    return from_error(request, exc)


async def _http_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpProblem)
    if _wants_page(request):
        return pages.error_page(request, exc.status, exc.title, exc.detail, exc.headers)
    return from_http(request, exc)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {404: "Not found", 405: "Method not allowed"}
    title = titles.get(exc.status_code, "HTTP error")
    headers = dict(exc.headers or {})
    if _wants_page(request):
        vietnamese = {404: "Không tìm thấy trang", 405: "Phương thức không được hỗ trợ"}
        return pages.error_page(request, exc.status_code,
                                vietnamese.get(exc.status_code, title),
                                "Địa chỉ này không có trên hệ thống.", headers)
    return problem(exc.status_code, title, str(exc.detail), kind=title.lower().replace(" ", "-"),
                   instance=request.url.path, headers=headers)


class _Unexpected:
    """ASGI middleware inside the security headers: an exception nothing else handled is
    logged and answered with a bare 500 problem (Starlette's own handler for ``Exception``
    sits outside every middleware, so its answer would lack the headers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            request = Request(scope)
            log.exception("%s %s failed", request.method, request.url.path)
            if started:
                raise
            await unexpected(request)(scope, receive, send)


async def healthz(request: Request) -> Response:
    """200 when the database answers; 503 otherwise (for a load balancer's probe)."""
    try:
        await call(context(request).engine.due_timers)
    except Exception:
        log.exception("health check failed")
        return JSONResponse({"status": "unavailable"}, status_code=503,
                            headers={"Cache-Control": "no-store"})
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def openapi(request: Request) -> Response:
    return JSONResponse(document())


_CSS = (template_dir() / "web" / "static" / "dossier.css").read_bytes()


async def stylesheet(request: Request) -> Response:
    return Response(_CSS, media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600"})


def routes() -> list[BaseRoute]:
    """Every route of the application."""
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/static/dossier.css", stylesheet, methods=["GET"]),
        *pages.ROUTES, *rating_page.ROUTES, *dashboard.ROUTES, *callbacks.ROUTES,
        *api.ROUTES,
    ]


def create_app(engine: Engine, *, authenticate: Authenticate | None = None,
               settings: WebSettings | None = None,
               middleware: Sequence[Middleware] = ()) -> Starlette:
    """The web application over ``engine``: mount it in yours, or serve it as it is.

    ``authenticate(request) -> Actor | None`` says who calls the JSON API (default: the
    bearer tokens of ``settings.tokens``); ``settings`` carries the limits and the CSRF
    secret (default: :class:`WebSettings` with no token); ``middleware`` runs outside ours.
    """
    if not isinstance(engine, Engine):
        raise TypeError("create_app() takes a dossier.Engine")
    settings = settings or WebSettings()
    state = WebContext(
        engine=engine, settings=settings,
        authenticate=authenticate or bearer_tokens(settings.tokens),
        csrf=Csrf(settings.csrf_secret),
        lookup_by_client=RateLimiter(settings.lookup.per_client, settings.lookup.window),
        lookup_by_code=RateLimiter(settings.lookup.per_code, settings.lookup.window))
    app = Starlette(
        routes=routes(),
        middleware=[*middleware, Middleware(SecurityHeaders), Middleware(_Unexpected)],
        exception_handlers={
            DossierError: _library_error, HttpProblem: _http_problem,
            HTTPException: _http_exception,
        })
    app.state.dossier = state
    return app
