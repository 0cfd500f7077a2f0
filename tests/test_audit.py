"""The hash-chained, append-only event log, ``dossier verify-audit``, and personal data.

To tamper with a log the way an operator with database access could, a test first drops
the append-only triggers (the database itself refuses UPDATE and DELETE on ``events``).
"""

from __future__ import annotations

import gc
import logging
from itertools import pairwise

import pytest
import sqlalchemy as sa
from conftest import make_procedure

from dossier import (
    Actor,
    AuditError,
    Dossier,
    Engine,
    InvalidInput,
    Procedure,
)
from dossier.audit import event_hash
from dossier.cli import main

AGENCY = "000.00.12.H12"
FEE = 30_000
CODE = "9.900021"
ID_NUMBER = "001090012345"


PROCEDURE: Procedure = make_procedure(
    CODE, ["receive", "digitise", "pay", "process", "sign", "return"],
    name="Thủ tục thử nhật ký", processing_days=5, fee=FEE,
    components=[{"id": "to_khai", "name": "Tờ khai", "must_digitise": True}])


@pytest.fixture
def eng(engine: Engine) -> Engine:
    engine.register(PROCEDURE)
    return engine


@pytest.fixture
def staff(clerk: Actor, specialist: Actor, leader: Actor) -> dict[str, Actor]:
    return {"clerk": clerk, "specialist": specialist, "leader": leader}


def run_to_the_end(engine: Engine, staff: dict[str, Actor], name: str = "Phạm Thị D") -> Dossier:
    """A dossier through its whole lifecycle: 8 events (submit, receive, attach, digitise,
    pay, approve, sign, return_result)."""
    clerk = staff["clerk"]
    d = engine.submit(CODE, applicant={"name": name, "id_number": ID_NUMBER},
                      channel="counter", actor=clerk)
    engine.fire(d.code, "receive", actor=clerk)
    engine.attach(d.code, "to_khai", b"%PDF-1.4 to khai", "to-khai.pdf", actor=clerk)
    engine.fire(d.code, "digitise", actor=clerk)
    engine.fire(d.code, "pay", actor=clerk, amount=FEE, method="cash")
    engine.fire(d.code, "approve", actor=staff["specialist"])
    engine.fire(d.code, "sign", actor=staff["leader"])
    return engine.fire(d.code, "return_result", actor=clerk, method="counter")


def execute(engine: Engine, *statements: str, **params: object) -> None:
    with engine.db.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), params)


def drop_append_only_guards(engine: Engine) -> None:
    if engine.db.engine.dialect.name == "sqlite":
        execute(engine, "DROP TRIGGER events_append_only_update",
                "DROP TRIGGER events_append_only_delete")
    else:
        execute(engine, "DROP TRIGGER events_append_only ON events")


def tamper(engine: Engine, statement: str, code: str) -> None:
    """Run ``statement`` on the events of dossier ``code`` (``:dossier`` is its row id)."""
    drop_append_only_guards(engine)
    dossier_id = engine.get(code).id
    execute(engine, statement, dossier=dossier_id)


@pytest.fixture
def dossier(eng: Engine, staff: dict[str, Actor]) -> Dossier:
    return run_to_the_end(eng, staff)


# --- intact logs ---------------------------------------------------------------------------


def test_an_intact_log_verifies(eng: Engine, dossier: Dossier) -> None:
    assert eng.verify_audit(dossier.code) is True


def test_a_freshly_submitted_dossier_verifies(eng: Engine, clerk: Actor) -> None:
    d = eng.submit(CODE, applicant={"name": "A"}, channel="counter", actor=clerk)
    assert eng.verify_audit(d.code) is True


def test_each_event_links_to_the_hash_of_the_one_before(eng: Engine, dossier: Dossier) -> None:
    events = eng.history(dossier.code)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    assert eng.get(dossier.code).head_hash == events[-1].hash
    assert eng.get(dossier.code).event_count == len(events)


def test_the_database_refuses_to_update_an_event(eng: Engine, dossier: Dossier) -> None:
    with pytest.raises(sa.exc.DBAPIError):
        execute(eng, "UPDATE events SET actor = 'ke_gian' WHERE dossier_id = :dossier",
                dossier=dossier.id)
    assert eng.verify_audit(dossier.code)


def test_the_database_refuses_to_delete_an_event(eng: Engine, dossier: Dossier) -> None:
    with pytest.raises(sa.exc.DBAPIError):
        execute(eng, "DELETE FROM events WHERE dossier_id = :dossier", dossier=dossier.id)
    assert eng.verify_audit(dossier.code)


# --- tampering -----------------------------------------------------------------------------


def test_editing_an_events_data_is_detected_at_that_event(
        eng: Engine, dossier: Dossier) -> None:
    tamper(eng, "UPDATE events SET data = '{\"amount\": 1, \"method\": \"cash\"}' "
                "WHERE dossier_id = :dossier AND seq = 5", dossier.code)
    with pytest.raises(AuditError) as caught:
        eng.verify_audit(dossier.code)
    assert caught.value.seq == 5
    assert dossier.code in str(caught.value)


def test_editing_an_events_actor_is_detected_at_that_event(
        eng: Engine, dossier: Dossier) -> None:
    tamper(eng, "UPDATE events SET actor = 'ld99' WHERE dossier_id = :dossier AND seq = 7",
           dossier.code)
    with pytest.raises(AuditError) as caught:
        eng.verify_audit(dossier.code)
    assert caught.value.seq == 7


def test_editing_an_event_and_recomputing_its_hash_is_detected_at_the_next_event(
        eng: Engine, dossier: Dossier) -> None:
    third = eng.history(dossier.code)[2]
    forged = event_hash(dossier=dossier.code, seq=3, trigger=third.trigger, source=third.source,
                        target=third.target, actor="ke_gian", role=third.role,
                        on_behalf_of=third.on_behalf_of, at=third.at, data=third.data,
                        prev_hash=third.prev_hash)
    tamper(eng, f"UPDATE events SET actor = 'ke_gian', hash = '{forged}' "
                "WHERE dossier_id = :dossier AND seq = 3", dossier.code)
    with pytest.raises(AuditError) as caught:
        eng.verify_audit(dossier.code)
    assert caught.value.seq == 4


def test_deleting_a_middle_event_is_detected_at_its_position(
        eng: Engine, dossier: Dossier) -> None:
    tamper(eng, "DELETE FROM events WHERE dossier_id = :dossier AND seq = 4", dossier.code)
    with pytest.raises(AuditError) as caught:
        eng.verify_audit(dossier.code)
    assert caught.value.seq == 4


def test_deleting_the_first_event_is_detected(eng: Engine, dossier: Dossier) -> None:
    tamper(eng, "DELETE FROM events WHERE dossier_id = :dossier AND seq = 1", dossier.code)
    with pytest.raises(AuditError) as caught:
        eng.verify_audit(dossier.code)
    assert caught.value.seq == 1


def test_deleting_the_last_event_is_detected(eng: Engine, dossier: Dossier) -> None:
    last = dossier.event_count
    tamper(eng, f"DELETE FROM events WHERE dossier_id = :dossier AND seq = {last}",
           dossier.code)
    with pytest.raises(AuditError) as caught:
        eng.verify_audit(dossier.code)
    assert caught.value.code == dossier.code
    # the message says which event is gone: the dossier records `last` events
    assert caught.value.seq == last or str(last) in str(caught.value)


def test_swapping_two_events_is_detected_at_the_first_of_them(
        eng: Engine, dossier: Dossier) -> None:
    tamper(eng, "UPDATE events SET seq = -1 WHERE dossier_id = :dossier AND seq = 2",
           dossier.code)
    execute(eng, "UPDATE events SET seq = 2 WHERE dossier_id = :dossier AND seq = 3",
            "UPDATE events SET seq = 3 WHERE dossier_id = :dossier AND seq = -1",
            dossier=dossier.id)
    with pytest.raises(AuditError) as caught:
        eng.verify_audit(dossier.code)
    assert caught.value.seq == 2


def test_tampering_with_one_dossier_does_not_break_another(
        eng: Engine, staff: dict[str, Actor], dossier: Dossier) -> None:
    other = run_to_the_end(eng, staff, name="Hoàng Văn E")
    tamper(eng, "UPDATE events SET actor = 'x' WHERE dossier_id = :dossier AND seq = 2",
           dossier.code)
    assert eng.verify_audit(other.code)
    with pytest.raises(AuditError):
        eng.verify_audit(dossier.code)


# --- the CLI -------------------------------------------------------------------------------


def verify_audit_cli(*args: str) -> int:
    """``dossier verify-audit ARGS``; a collection afterwards makes any database connection
    the command left open surface here (as a ResourceWarning), not in a later test."""
    status = main(["verify-audit", *args])
    gc.collect()
    return status


def test_verify_audit_command_exits_0_for_intact_logs(
        eng: Engine, dossier: Dossier, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert verify_audit_cli("--database", db_url) == 0
    assert dossier.code in capsys.readouterr().out


def test_verify_audit_command_exits_1_when_a_log_is_broken(
        eng: Engine, staff: dict[str, Actor], dossier: Dossier, db_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    run_to_the_end(eng, staff, name="Hoàng Văn E")
    tamper(eng, "DELETE FROM events WHERE dossier_id = :dossier AND seq = 3", dossier.code)
    assert verify_audit_cli("--database", db_url) == 1
    out = capsys.readouterr().out
    assert dossier.code in out


def test_verify_audit_command_checks_one_dossier_by_code(
        eng: Engine, staff: dict[str, Actor], dossier: Dossier, db_url: str) -> None:
    intact = run_to_the_end(eng, staff, name="Hoàng Văn E")
    tamper(eng, "DELETE FROM events WHERE dossier_id = :dossier AND seq = 3", dossier.code)
    assert verify_audit_cli(intact.code, "--database", db_url) == 0
    assert verify_audit_cli(dossier.code, "--database", db_url) == 1


# --- personal data -------------------------------------------------------------------------


def test_a_whole_lifecycle_never_logs_the_applicants_id_number(
        eng: Engine, staff: dict[str, Actor], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="dossier")
    dossier = run_to_the_end(eng, staff)
    eng.verify_audit(dossier.code)
    eng.history(dossier.code)
    assert caplog.records, "the engine logs its transitions"
    assert ID_NUMBER not in caplog.text
    assert all(ID_NUMBER not in record.getMessage() for record in caplog.records)


def test_the_repr_of_a_dossier_does_not_show_the_id_number(
        eng: Engine, dossier: Dossier) -> None:
    assert eng.get(dossier.code).applicant["id_number"] == ID_NUMBER  # stored…
    assert ID_NUMBER not in repr(eng.get(dossier.code))               # …but not shown
    assert ID_NUMBER not in str(eng.get(dossier.code))
    assert ID_NUMBER not in repr(eng.history(dossier.code))


@pytest.mark.parametrize("bad", ["00109001234", "0010900123456", "00109001234X"])
def test_an_invalid_id_number_is_refused_without_echoing_it(
        eng: Engine, clerk: Actor, caplog: pytest.LogCaptureFixture, bad: str) -> None:
    caplog.set_level(logging.DEBUG, logger="dossier")
    with pytest.raises(InvalidInput) as caught:
        eng.submit(CODE, applicant={"name": "A", "id_number": bad}, channel="counter",
                   actor=clerk)
    assert bad not in str(caught.value)
    assert bad not in repr(caught.value)
    assert bad not in caplog.text
