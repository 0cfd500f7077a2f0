"""Migration 0008: the work queue's columns written with every change, and filled in for the
dossiers of a database that is upgraded to it."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from finding_support import KEY, PAID, advance, setup, staff, submit

from dossier import Engine
from dossier.store import Database, schema, upgrade
from dossier.testing import FrozenClock


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    return empty_db_url


def queue_columns(db: Database) -> dict[str, tuple[Any, ...]]:
    """code → (step_role, step_due_at) as stored."""
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT code, step_role, step_due_at FROM dossiers"))
        return {row[0]: (row[1], row[2]) for row in rows}


def test_0008_fills_in_the_step_role_and_step_due_of_existing_dossiers(
        db_url: str, clock: FrozenClock) -> None:
    engine = setup(Engine(db_url, clock=clock, applicant_key=KEY))
    codes = [submit(engine).code for _ in range(7)]
    for steps, code in enumerate(codes[:6]):
        advance(engine, code, steps)  # reception, pay, process, sign, return, returned
    advance(engine, codes[6], 2)
    engine.fire(codes[6], "request_supplement", actor=staff()["specialist"], reason="Thiếu")
    snapshots = [engine.get(code) for code in codes]
    engine.close()
    db = Database(db_url)
    written = queue_columns(db)
    config = schema._config(db)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")
    upgrade(db)
    try:
        assert queue_columns(db) == written
    finally:
        db.dispose()
    assert [written[d.code][0] for d in snapshots] == [
        "clerk", "clerk", "specialist", "leader", "clerk", None, None]
    processing, waiting = snapshots[2], snapshots[6]
    assert processing.step_due_at == processing.deadlines.steps["process"]
    assert processing.step_due_at != processing.due_at  # its own budget, not the dossier's
    assert waiting.step_due_at == waiting.deadlines.supplement_due_at is not None
    assert snapshots[0].step_due_at is None
    assert snapshots[5].step_due_at is None
    assert PAID.code == processing.procedure_code
