"""Shared fixtures: an engine on every database the run can reach, a frozen clock, actors.

PostgreSQL tests run when ``DOSSIER_PG_URL`` is set, or when ``PGHOST``/``PGDATABASE`` come
from ``pg_virtualenv`` (see ``.ci/run``); otherwise they are skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dossier import Actor, Engine, Procedure, load_procedure
from dossier.procedure import parse_procedure
from dossier.states import DEFAULT_STEP_ROLES, Step
from dossier.testing import FrozenClock

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
AGENCY = "000.00.12.H12"


def make_procedure(code: str, steps: Sequence[str], *, version: str = "1",
                   name: str | None = None, fee: int = 50_000,
                   components: list[dict[str, Any]] | None = None,
                   optional: tuple[str, str] = ("to_khai", "Tờ khai"),
                   agency_level: str = "province", service_level: str = "partial_online",
                   processing_days: int = 10, effective_from: str = "2025-01-01",
                   effective_until: str | None = None,
                   budgets: dict[str, dict[str, Any]] | None = None,
                   **extra: Any) -> Procedure:
    """A throw-away test procedure using ``steps`` in that order, each with its usual role
    (``dossier.states.DEFAULT_STEP_ROLES``), and a flat ``fee`` when it has ``pay``.

    Unless ``components`` are given, it asks for a ``ban_chinh`` original, which must be
    digitised when the procedure has ``digitise`` and may be certified when it has
    ``certify``, and an ``optional`` copy, given as ``(id, name)``. ``name`` defaults to
    "Thủ tục thử CODE". ``budgets`` gives steps a time budget (``{"process": {"amount": 5,
    "unit": "working_days"}}``); ``extra`` adds procedure fields as they are written in TOML
    (``clock_policy="pause"``, ``supplement_deadline={…}``…).
    """
    if components is None:
        components = [
            {"id": "ban_chinh", "name": "Bản chính", "form": "original",
             "must_digitise": "digitise" in steps, "may_certify": "certify" in steps},
            {"id": optional[0], "name": optional[1], "form": "copy", "required": False},
        ]
    data: dict[str, Any] = {
        "code": code, "name": name or f"Thủ tục thử {code}", "field": "Thử nghiệm",
        "agency_level": agency_level, "service_level": service_level, "version": version,
        "effective_from": effective_from,
        "processing_time": {"amount": processing_days, "unit": "working_days"},
        "components": components,
        "steps": [{"name": s, "role": DEFAULT_STEP_ROLES[Step(s)].value,
                   **({"budget": budgets[s]} if budgets and s in budgets else {})}
                  for s in steps],
        **extra,
    }
    if effective_until is not None:
        data["effective_until"] = effective_until
    if "pay" in steps:
        data["fee"] = {"kind": "flat", "amount": fee}
    return parse_procedure(data, f"<{code}>")[0]


def postgres_url() -> str | None:
    if os.environ.get("DOSSIER_PG_URL"):
        return os.environ["DOSSIER_PG_URL"]
    if os.environ.get("PGHOST") and os.environ.get("PGDATABASE"):
        user = os.environ.get("PGUSER", "postgres")
        password = os.environ.get("PGPASSWORD", "")
        port = os.environ.get("PGPORT", "5432")
        host = os.environ["PGHOST"]
        auth = f"{user}:{password}@" if password else f"{user}@"
        return f"postgresql+psycopg://{auth}{host}:{port}/{os.environ['PGDATABASE']}"
    return None


@pytest.fixture
def clock() -> FrozenClock:
    # Monday 2025-09-08 09:00 in Hà Nội
    return FrozenClock(datetime(2025, 9, 8, 2, 0, tzinfo=UTC))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'dossier.db'}"


def _fresh_pg_schema(url: str) -> str:
    """A new PostgreSQL schema per test, so tests never see each other's rows."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """A fresh database URL: a SQLite file, and PostgreSQL when one is reachable."""
    if request.param == "sqlite":
        return sqlite_url
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL: set DOSSIER_PG_URL or run under pg_virtualenv")
    return _fresh_pg_schema(url)


@pytest.fixture
def engine(db_url: str, clock: FrozenClock) -> Iterator[Engine]:
    eng = Engine(db_url, clock=clock)
    for path in sorted(SAMPLES.glob("*.toml")):
        eng.register(load_procedure(path))
    yield eng
    eng.close()


@pytest.fixture
def clerk() -> Actor:
    return Actor(id="nv01", role="clerk", agency=AGENCY)


@pytest.fixture
def citizen() -> Actor:
    return Actor(id="cd01", role="citizen")


@pytest.fixture
def certifier() -> Actor:
    return Actor(id="ct01", role="certifier", agency=AGENCY)


@pytest.fixture
def specialist() -> Actor:
    return Actor(id="cv01", role="specialist", agency=AGENCY)


@pytest.fixture
def leader() -> Actor:
    return Actor(id="ld01", role="leader", agency=AGENCY)
