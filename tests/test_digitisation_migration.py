"""Migration 0009: the digitisation records and the special case, on a database from 0007,
and back down again. (Written beside 0008; the branches are linked when merged.)"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from dossier import Actor, Engine, load_procedure, sample_path
from dossier.store import Database, schema, upgrade
from dossier.store.schema import _config, current_revision
from dossier.testing import FrozenClock


def _columns(db: Database, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(db.engine).get_columns(table)}


def test_0009_follows_0008() -> None:
    script = ScriptDirectory(str(schema._MIGRATIONS)).get_revision("0009")
    assert script is not None
    assert script.down_revision == "0008"


def test_a_0008_database_upgrades_keeping_its_dossiers(
        empty_db_url: str, clerk: Actor, clock: FrozenClock) -> None:
    db = Database(empty_db_url)
    try:
        upgrade(db, "0008")
        assert "digitisation_records" not in sa.inspect(db.engine).get_table_names()
        upgrade(db)
        assert current_revision(db) == schema.HEAD
        assert {"case_id"} <= _columns(db, "dossiers")
        assert {"seq", "kind", "component", "sha256", "pages", "source", "source_ref",
                "returned_electronically", "actor", "at"} <= _columns(db, "digitisation_records")
    finally:
        db.dispose()
    engine = Engine(empty_db_url, clock=clock)
    try:
        engine.register(load_procedure(sample_path("ly-lich-tu-phap")))
        code = engine.submit("3.000333", applicant={"name": "A"}, channel="counter",
                             actor=clerk, case="cu_tru_nhieu_noi").code
        assert engine.history(code)[0].data["applicant_case"] == "cu_tru_nhieu_noi"
        assert engine.verify_audit(code)
    finally:
        engine.close()


def test_0009_downgrades_to_0008(empty_db_url: str) -> None:
    db = Database(empty_db_url)
    try:
        upgrade(db)
        config = _config(db)
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0008")
        assert current_revision(db) == "0008"
        assert "digitisation_records" not in sa.inspect(db.engine).get_table_names()
        assert "case_id" not in _columns(db, "dossiers")
    finally:
        db.dispose()
