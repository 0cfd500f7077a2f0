"""The JSON API for integrators, under ``/api/v1/`` (described by ``/openapi.json``).

Every route authenticates the caller (401 without a known token) and passes them to the
engine as ``actor=``, so the party rules of the library apply to reads as to writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dossier.actors import Actor
from dossier.errors import InvalidInput
from dossier.web import serialise
from dossier.web.context import actor_of, call, context, json_object
from dossier.web.problems import NotFound
from dossier.web.security import read_body

#: keywords of Engine.fire that trigger data may not shadow
_FIRE_KEYWORDS = frozenset({"code", "trigger", "actor", "on_behalf_of", "if_version"})
_FIND_TEXT = ("agency", "procedure", "channel", "owner", "assignee", "text", "order", "after")


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def _get(body: Mapping[str, Any], key: str, kind: type | tuple[type, ...], *,
         required: bool = False) -> Any:
    """``body[key]`` if it is of ``kind`` (None when absent and not required), else 422."""
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"the body needs {key!r}")
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise InvalidInput(f"{key!r} must be {_NAMES.get(names, names)}")
    return value


_NAMES = {"str": "text", "dict": "a JSON object", "int": "a whole number", "list": "a list"}


def _query_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise InvalidInput(f"{name} must be a whole number")
    return int(raw)


async def submit(request: Request) -> Response:
    actor = await actor_of(request)
    body = await json_object(request)
    engine = context(request).engine
    dossier = await call(
        engine.submit, _get(body, "procedure", str, required=True),
        applicant=_get(body, "applicant", dict, required=True),
        channel=_get(body, "channel", str, required=True), actor=actor,
        agency=_get(body, "agency", str), fee_basis=_get(body, "fee_basis", dict))
    return _json(serialise.dossier(dossier), 201,
                 {"Location": f"/api/v1/dossiers/{dossier.code}"})


async def find(request: Request) -> Response:
    actor = await actor_of(request)
    query = request.query_params
    known = {*_FIND_TEXT, "state", "overdue", "limit"}
    unknown = sorted(set(query) - known)
    if unknown:
        raise InvalidInput(f"unknown query parameters: {', '.join(unknown)} (known: "
                           f"{', '.join(sorted(known))})")
    criteria: dict[str, Any] = {k: query[k] for k in _FIND_TEXT if k in query}
    states = query.getlist("state")
    if states:
        criteria["state"] = states
    overdue = query.get("overdue", "false")
    if overdue not in ("true", "false"):
        raise InvalidInput("overdue must be true or false")
    page = await call(context(request).engine.find, **criteria, overdue=overdue == "true",
                      limit=_query_int(request, "limit", 50), actor=actor)
    return _json(serialise.page(page, serialise.dossier))


async def get(request: Request) -> Response:
    actor = await actor_of(request)
    dossier = await call(context(request).engine.get, request.path_params["code"], actor=actor)
    return _json(serialise.dossier(dossier))


async def history(request: Request) -> Response:
    actor = await actor_of(request)
    events = await call(context(request).engine.history, request.path_params["code"],
                        actor=actor)
    return _json({"items": [serialise.event(e) for e in events]})


async def fire(request: Request) -> Response:
    actor = await actor_of(request)
    body = await json_object(request, required=False)
    unknown = sorted(set(body) - {"data", "if_version", "on_behalf_of"})
    if unknown:
        raise InvalidInput(f"the body takes data, if_version and on_behalf_of, not "
                           f"{', '.join(unknown)}")
    data = _get(body, "data", dict) or {}
    shadowing = sorted(_FIRE_KEYWORDS & set(data))
    if shadowing:
        raise InvalidInput(f"trigger data may not be called {', '.join(shadowing)}")
    dossier = await call(context(request).engine.fire, request.path_params["code"],
                         request.path_params["trigger"], actor=actor,
                         on_behalf_of=_get(body, "on_behalf_of", str),
                         if_version=_get(body, "if_version", int), **data)
    return _json(serialise.dossier(dossier))


async def assign(request: Request) -> Response:
    actor = await actor_of(request)
    body = await json_object(request)
    if "assignee" not in body:
        raise InvalidInput("the body needs 'assignee': {id, role}, or null to unassign")
    given = _get(body, "assignee", dict)
    assignee = None
    if given is not None:
        # an officer of the assigning actor's agency: assignment never crosses agencies
        assignee = Actor(id=_get(given, "id", str, required=True),
                         role=_get(given, "role", str, required=True), agency=actor.agency)
    dossier = await call(context(request).engine.assign, request.path_params["code"],
                         assignee, actor=actor, if_version=_get(body, "if_version", int))
    return _json(serialise.dossier(dossier))


async def queue(request: Request) -> Response:
    actor = await actor_of(request)
    page = await call(context(request).engine.queue, actor,
                      limit=_query_int(request, "limit", 50),
                      after=request.query_params.get("after"))
    return _json(serialise.page(page, serialise.work_item))


async def attachments(request: Request) -> Response:
    actor = await actor_of(request)
    found = await call(context(request).engine.attachments, request.path_params["code"],
                       actor=actor)
    return _json({"items": [serialise.attachment(a) for a in found]})


async def attach(request: Request) -> Response:
    actor = await actor_of(request)
    component = request.query_params.get("component")
    filename = request.query_params.get("filename")
    if not component or not filename:
        raise InvalidInput("give the component and the file's name: "
                           "?component=…&filename=…")
    media_type = request.headers.get("content-type", "").split(";")[0].strip() or None
    data = await read_body(request, context(request).settings.max_upload_bytes)
    found = await call(context(request).engine.attach, request.path_params["code"],
                       component, data, filename, actor=actor,
                       media_type=media_type)
    return _json(serialise.attachment(found), 201)


async def read_attachment(request: Request) -> Response:
    engine = context(request).engine
    return await _stored_file(request, engine.attachments, engine.read_attachment, "attachment")


async def documents(request: Request) -> Response:
    actor = await actor_of(request)
    found = await call(context(request).engine.documents, request.path_params["code"],
                       actor=actor)
    return _json({"items": [serialise.document(d) for d in found]})


async def read_document(request: Request) -> Response:
    engine = context(request).engine
    return await _stored_file(request, engine.documents, engine.read_document, "document")


async def _stored_file(request: Request, listing: Callable[..., Sequence[Any]],
                       read: Callable[..., bytes], what: str) -> Response:
    """One of a dossier's stored files (an attachment, a document), with the media type its
    listing records; an unknown SHA-256 is a 404 that names what was asked for."""
    actor = await actor_of(request)
    code, sha = request.path_params["code"], request.path_params["sha256"]
    listed = await call(listing, code, actor=actor)
    media = next((f.media_type for f in listed if f.sha256 == sha), None)
    if media is None:
        raise NotFound(f"dossier {code} has no {what} {sha}")
    data = await call(read, code, sha, actor=actor)
    return Response(data, media_type=media, headers={"Cache-Control": "no-store"})


PREFIX = "/api/v1"
ROUTES = [
    Route(f"{PREFIX}/dossiers", submit, methods=["POST"]),
    Route(f"{PREFIX}/dossiers", find, methods=["GET"]),
    Route(f"{PREFIX}/dossiers/{{code}}", get, methods=["GET"]),
    Route(f"{PREFIX}/dossiers/{{code}}/history", history, methods=["GET"]),
    Route(f"{PREFIX}/dossiers/{{code}}/fire/{{trigger}}", fire, methods=["POST"]),
    Route(f"{PREFIX}/dossiers/{{code}}/assign", assign, methods=["POST"]),
    Route(f"{PREFIX}/dossiers/{{code}}/attachments", attachments, methods=["GET"]),
    Route(f"{PREFIX}/dossiers/{{code}}/attachments", attach, methods=["POST"]),
    Route(f"{PREFIX}/dossiers/{{code}}/attachments/{{sha256}}", read_attachment,
          methods=["GET"]),
    Route(f"{PREFIX}/dossiers/{{code}}/documents", documents, methods=["GET"]),
    Route(f"{PREFIX}/dossiers/{{code}}/documents/{{sha256}}", read_document, methods=["GET"]),
    Route(f"{PREFIX}/queue", queue, methods=["GET"]),
]
