"""/openapi.json is a valid OpenAPI 3.1 document, and requests generated from it (schemathesis,
property-based) never make the API answer 5xx or leave what the document promises."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
from finding_support import staff
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.applications import Starlette
from starlette.testclient import TestClient
from web_support import NUMBER, build, token_of

from dossier.testing import FrozenClock
from dossier.web.openapi import document

CLERK = {"Authorization": f"Bearer {token_of(staff()['clerk'])}"}


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(document())
    assert document()["openapi"] == "3.1.0"


def test_the_document_describes_every_api_route() -> None:
    from dossier.web.api import ROUTES

    described = {(path, method) for path, item in document()["paths"].items()
                 for method in item}
    for route in ROUTES:
        for method in route.methods or ():
            if method != "HEAD":
                assert (route.path, method.lower()) in described


def test_the_app_serves_the_same_document(tmp_path: Path) -> None:
    web = build(f"sqlite:///{tmp_path / 'd.db'}", FrozenClock(datetime(2025, 9, 8, 2,
                                                                       tzinfo=UTC)))
    try:
        assert TestClient(web.app).get("/openapi.json").json() == document()
    finally:
        web.engine.close()


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starlette]:
    folder = tmp_path_factory.mktemp("openapi")
    web = build(f"sqlite:///{folder / 'd.db'}",
                FrozenClock(datetime(2025, 9, 8, 2, tzinfo=UTC)))
    for _ in range(3):  # something to find, page through and fire at
        web.engine.submit("9.900101", applicant={"name": "Nguyễn Văn An", "id_number": NUMBER},
                          channel="counter", actor=staff()["clerk"])
    yield web.app
    web.engine.close()


@pytest.fixture(scope="module")
def api_schema(fuzzed_app: Starlette) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)


OPERATIONS = [(path, method) for path, item in document()["paths"].items() for method in item]


@pytest.mark.parametrize(("path", "method"), OPERATIONS,
                         ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_generated_requests_get_no_5xx_and_what_the_document_says(
        api_schema: schemathesis.BaseSchema, path: str, method: str) -> None:
    # driven through Hypothesis directly: schemathesis' own pytest plugin does not run on
    # this pytest
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=30, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Case) -> None:
        # the engine checks text beyond what JSON Schema says (no control characters, NFC,
        # codes it knows), so a schema-valid request may rightly get 422: that one check is
        # left out; every other (no 5xx, statuses, content types, response schemas) runs
        case.call_and_validate(headers=CLERK, excluded_checks=[positive_data_acceptance])

    run()
