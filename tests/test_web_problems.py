"""Every library error maps to one HTTP status, as an RFC 9457 problem that never carries an
ID number, and a server fault tells nothing of its cause."""

from __future__ import annotations

import inspect
import json

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from dossier import Engine, errors
from dossier.web import create_app
from dossier.web.app import routes
from dossier.web.problems import STATUS, from_error, status_of

EVERY_ERROR = [cls for _, cls in inspect.getmembers(errors, inspect.isclass)
               if issubclass(cls, errors.DossierError)]


def _instance(cls: type[errors.DossierError]) -> errors.DossierError:
    if cls is errors.GuardFailed:
        return cls("X-1", "paid", ["payment"])
    if cls is errors.AuditError:
        return cls("X-1", 3, "hash differs")
    if cls in (errors.ConfigError, errors.ProcedureDefinitionError):
        return cls("f.toml", [("a.b", "wrong")])
    return cls("the dossier of 001090012345 went wrong; do this")


def test_every_error_class_of_the_library_has_its_own_line_in_the_table() -> None:
    assert set(EVERY_ERROR) == set(STATUS)


@pytest.mark.parametrize("cls", EVERY_ERROR, ids=lambda c: c.__name__)
def test_each_error_is_one_status_in_a_problem_without_the_id_number(
        cls: type[errors.DossierError]) -> None:
    request = Request({"type": "http", "method": "GET", "path": "/api/v1/x",
                       "query_string": b"id_number=001090012345", "headers": []})
    response = from_error(request, _instance(cls))
    body = json.loads(bytes(response.body))
    assert response.status_code == status_of(_instance(cls)) == STATUS[cls]
    assert response.media_type == "application/problem+json"
    assert set(body) >= {"type", "title", "status", "detail", "instance"}
    assert body["status"] == response.status_code
    assert body["instance"] == "/api/v1/x"
    assert "001090012345" not in response.body.decode()


def test_a_subclass_nobody_listed_takes_its_parent_s_status() -> None:
    class VendorSigningError(errors.RemoteSigningError):
        pass

    assert status_of(VendorSigningError("down")) == 502


def test_server_faults_hide_their_message() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    body = json.loads(bytes(from_error(request, errors.ConfigError(
        "/etc/dossier.toml", [("signers.a.key_file", "cannot read /secret/key.p12")])).body))
    assert body["status"] == 500
    assert "key.p12" not in body["detail"]


def test_an_unexpected_exception_is_a_bare_500_problem() -> None:
    engine = Engine.in_memory()
    app = create_app(engine)

    async def boom(request: Request) -> None:
        raise RuntimeError("secret internals")

    app.router.routes.insert(0, Route("/api/v1/boom", boom))
    answer = TestClient(app, raise_server_exceptions=False).get("/api/v1/boom")
    engine.close()
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert "secret internals" not in answer.text
    assert "default-src 'self'" in answer.headers["content-security-policy"]


def test_every_route_is_reachable_from_the_route_list() -> None:
    paths = {getattr(r, "path", "") for r in routes()}
    for required in ("/healthz", "/openapi.json", "/payments/{provider}/ipn",
                     "/payments/{provider}/return", "/signing/{provider}/callback", "/tra-cuu",
                     "/api/v1/dossiers", "/api/v1/dossiers/{code}",
                     "/api/v1/dossiers/{code}/fire/{trigger}"):
        assert required in paths


def test_create_app_takes_an_engine_only() -> None:
    with pytest.raises(TypeError):
        create_app("sqlite://")  # type: ignore[arg-type]


def test_the_app_is_a_starlette_application_an_integrator_can_mount() -> None:
    engine = Engine.in_memory()
    outer = Starlette()
    outer.mount("/dich-vu-cong", create_app(engine))
    answer = TestClient(outer).get("/dich-vu-cong/healthz")
    engine.close()
    assert answer.json() == {"status": "ok"}
