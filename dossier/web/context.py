"""What every handler shares: the engine, the settings, who is calling, and the helpers that
keep the event loop free (every engine call runs in a worker thread)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from dossier.actors import Actor
from dossier.engine import Engine
from dossier.web.auth import Authenticate
from dossier.web.problems import BadRequest, Unauthorized
from dossier.web.ratelimit import RateLimiter
from dossier.web.security import Csrf, read_body
from dossier.web.settings import WebSettings

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class WebContext:
    engine: Engine
    settings: WebSettings
    authenticate: Authenticate
    csrf: Csrf
    lookup_by_client: RateLimiter
    lookup_by_code: RateLimiter


def context(request: Request) -> WebContext:
    found: WebContext = request.app.state.dossier
    return found


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a worker thread: engine calls block on the database."""
    return await run_in_threadpool(fn, *args, **kwargs)


async def actor_of(request: Request) -> Actor:
    """The authenticated caller, else 401."""
    actor = await call(context(request).authenticate, request)
    if actor is None:
        raise Unauthorized()
    if not isinstance(actor, Actor):
        raise TypeError("authenticate() must return a dossier.Actor or None")
    return actor


async def json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON object body (at most the settings' ``max_json_bytes``)."""
    raw = await read_body(request, context(request).settings.max_json_bytes)
    if not raw.strip():
        if required:
            raise BadRequest("send a JSON object as the body")
        return {}
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and kind != "application/json" and not kind.endswith("+json"):
        raise BadRequest("the body must be application/json")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, a number too long
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    return value
