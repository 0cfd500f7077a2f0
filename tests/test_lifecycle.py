"""The standard lifecycle: steps in the procedure's order, the side exits of the issue's
tables, final states, and the national portal's status codes.

Runs on every database the ``engine`` fixture reaches (SQLite, and PostgreSQL under
``pg_virtualenv``). The procedures are defined here, so the tests do not depend on how the
shipped samples evolve.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import make_procedure

from dossier import (
    Actor,
    Dossier,
    DossierError,
    Engine,
    GuardFailed,
    PermissionDenied,
    Procedure,
    TransitionNotAllowed,
    Trigger,
)

AGENCY = "000.00.12.H12"
FEE = 50_000

STEP_STATE = {
    "receive": ("awaiting_reception", "receive"),
    "digitise": ("digitising", "digitise"),
    "certify": ("certifying", "certify"),
    "pay": ("awaiting_payment", "pay"),
    "process": ("processing", "approve"),
    "sign": ("awaiting_signature", "sign"),
    "return": ("awaiting_return", "return_result"),
}
STEP_ROLE = {"receive": "clerk", "digitise": "clerk", "certify": "certifier", "pay": "clerk",
             "process": "specialist", "sign": "leader", "return": "clerk"}

# Commune procedures with a ban_chinh original and an optional to_khai copy.
FULL = make_procedure("9.900001", ["receive", "digitise", "certify", "pay", "process", "sign",
                                   "return"], agency_level="commune", fee=FEE)
PAY_AFTER_PROCESS = make_procedure("9.900002", ["receive", "process", "pay", "sign", "return"],
                                   agency_level="commune", fee=FEE)
SHORTEST = make_procedure("9.900003", ["receive", "return"], agency_level="commune", fee=FEE)
PROCEDURES = {p.code: p for p in (FULL, PAY_AFTER_PROCESS, SHORTEST)}


@pytest.fixture
def eng(engine: Engine) -> Engine:
    for procedure in PROCEDURES.values():
        engine.register(procedure)
    return engine


@pytest.fixture
def staff(clerk: Actor, certifier: Actor, specialist: Actor, leader: Actor) -> dict[str, Actor]:
    return {"clerk": clerk, "certifier": certifier, "specialist": specialist, "leader": leader,
            "system": Actor.system()}


def submit_online(engine: Engine, citizen: Actor, procedure: Procedure = FULL) -> Dossier:
    return engine.submit(procedure.code, applicant={"name": "Trần Thị B"}, channel="online",
                         actor=citizen, agency=AGENCY)


def complete_step(engine: Engine, code: str, step: str, staff: dict[str, Actor]) -> Dossier:
    """Do what ``step`` needs and fire its trigger as the step's role."""
    if step == "digitise":
        engine.attach(code, "ban_chinh", b"%PDF-1.7 scan", "ban-chinh.pdf", actor=staff["clerk"])
    data: dict[str, Any] = {"amount": engine.get(code).fee_due} if step == "pay" else {}
    return engine.fire(code, STEP_STATE[step][1], actor=staff[STEP_ROLE[step]], **data)


def walk_to(engine: Engine, code: str, state: str, staff: dict[str, Actor]) -> Dossier:
    """Complete steps in order until the dossier waits in ``state``."""
    dossier = engine.get(code)
    procedure = PROCEDURES[dossier.procedure_code]
    for spec in procedure.steps:
        if dossier.state == state:
            return dossier
        if dossier.state == STEP_STATE[spec.name.value][0]:
            dossier = complete_step(engine, code, spec.name.value, staff)
    assert dossier.state == state, f"{state} is not on the path of {procedure.code}"
    return dossier


def snapshot(engine: Engine, code: str) -> tuple[Dossier, list[Any]]:
    return engine.get(code), engine.history(code)


# --- steps in order ----------------------------------------------------------------------


@pytest.mark.parametrize("procedure", PROCEDURES.values(), ids=PROCEDURES.keys())
def test_each_step_moves_the_dossier_to_the_next_steps_state(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], procedure: Procedure) -> None:
    dossier = submit_online(eng, citizen, procedure)
    names = [spec.name.value for spec in procedure.steps]
    expected_next = [STEP_STATE[n][0] for n in names[1:]] + ["returned"]
    seen = []
    for name in names:
        assert dossier.state == STEP_STATE[name][0]
        dossier = complete_step(eng, dossier.code, name, staff)
        seen.append(dossier.state)
    assert seen == expected_next


@pytest.mark.parametrize("procedure", PROCEDURES.values(), ids=PROCEDURES.keys())
def test_history_of_a_completed_dossier_lists_submit_then_every_step_trigger_in_order(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], procedure: Procedure) -> None:
    dossier = submit_online(eng, citizen, procedure)
    walk_to(eng, dossier.code, "awaiting_return", staff)
    complete_step(eng, dossier.code, "return", staff)
    triggers = [e.trigger for e in eng.history(dossier.code) if e.trigger != "attach"]
    assert triggers == ["submit"] + [STEP_STATE[s.name.value][1] for s in procedure.steps]


def test_a_returned_dossier_is_final_and_closed(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    dossier = submit_online(eng, citizen)
    walk_to(eng, dossier.code, "awaiting_return", staff)
    returned = complete_step(eng, dossier.code, "return", staff)
    assert returned.state == "returned"
    assert returned.is_final
    assert returned.closed_at is not None


def test_a_fee_may_be_collected_after_processing(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    dossier = submit_online(eng, citizen, PAY_AFTER_PROCESS)
    dossier = walk_to(eng, dossier.code, "processing", staff)
    dossier = eng.fire(dossier.code, "approve", actor=staff["specialist"])
    assert dossier.state == "awaiting_payment"
    dossier = eng.fire(dossier.code, "pay", actor=staff["clerk"], amount=FEE)
    assert dossier.state == "awaiting_signature"
    assert dossier.paid_amount == FEE


def test_a_step_cannot_be_skipped(eng: Engine, citizen: Actor,
                                  staff: dict[str, Actor]) -> None:
    dossier = walk_to(eng, submit_online(eng, citizen).code, "digitising", staff)
    with pytest.raises(TransitionNotAllowed):
        eng.fire(dossier.code, "approve", actor=staff["specialist"])
    assert eng.get(dossier.code).state == "digitising"


def test_a_trigger_of_a_step_the_procedure_does_not_use_is_not_allowed(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    dossier = walk_to(eng, submit_online(eng, citizen, SHORTEST).code, "awaiting_return", staff)
    with pytest.raises(TransitionNotAllowed):
        eng.fire(dossier.code, "approve", actor=staff["specialist"])


# --- request_supplement / supplement -----------------------------------------------------


def test_clerk_requests_a_supplement_at_reception(
        eng: Engine, citizen: Actor, clerk: Actor) -> None:
    code = submit_online(eng, citizen).code
    dossier = eng.fire(code, "request_supplement", actor=clerk, reason="Thiếu tờ khai",
                       components=["to_khai"])
    assert dossier.state == "awaiting_supplement"
    assert dossier.resume_state == "awaiting_reception"


def test_specialist_requests_a_supplement_during_processing(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "processing", staff).code
    dossier = eng.fire(code, "request_supplement", actor=staff["specialist"], reason="Thiếu")
    assert dossier.state == "awaiting_supplement"
    assert dossier.resume_state == "processing"


def test_specialist_may_not_request_a_supplement_at_reception(
        eng: Engine, citizen: Actor, specialist: Actor) -> None:
    code = submit_online(eng, citizen).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, "request_supplement", actor=specialist, reason="Thiếu")


def test_clerk_may_not_request_a_supplement_during_processing(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "processing", staff).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, "request_supplement", actor=staff["clerk"], reason="Thiếu")


@pytest.mark.parametrize("state", ["digitising", "certifying", "awaiting_payment",
                                   "awaiting_signature", "awaiting_return"])
def test_a_supplement_cannot_be_requested_outside_reception_and_processing(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], state: str) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, state, staff).code
    for actor in (staff["clerk"], staff["specialist"]):
        with pytest.raises(TransitionNotAllowed):
            eng.fire(code, "request_supplement", actor=actor, reason="Thiếu")


@pytest.mark.parametrize("resume", ["awaiting_reception", "processing"])
def test_a_supplement_by_the_citizen_returns_the_dossier_to_the_state_that_asked(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], resume: str) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, resume, staff).code
    asker = staff["clerk"] if resume == "awaiting_reception" else staff["specialist"]
    eng.fire(code, "request_supplement", actor=asker, reason="Thiếu tờ khai")
    dossier = eng.fire(code, "supplement", actor=citizen)
    assert dossier.state == resume
    assert dossier.resume_state is None


def test_a_clerk_supplementing_for_the_citizen_records_the_citizen_on_behalf_of(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "processing", staff).code
    eng.fire(code, "request_supplement", actor=staff["specialist"], reason="Thiếu")
    dossier = eng.fire(code, "supplement", actor=staff["clerk"])
    assert dossier.state == "processing"
    last = eng.history(code)[-1]
    assert (last.trigger, last.actor, last.on_behalf_of) == ("supplement", "nv01", citizen.id)


def test_a_dossier_can_be_processed_to_the_end_after_a_supplement(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "processing", staff).code
    eng.fire(code, "request_supplement", actor=staff["specialist"], reason="Thiếu")
    eng.fire(code, "supplement", actor=citizen)
    walk_to(eng, code, "awaiting_return", staff)
    assert complete_step(eng, code, "return", staff).state == "returned"


def test_a_supplement_is_not_allowed_when_none_was_requested(
        eng: Engine, citizen: Actor) -> None:
    code = submit_online(eng, citizen).code
    with pytest.raises(TransitionNotAllowed):
        eng.fire(code, "supplement", actor=citizen)


# --- refuse --------------------------------------------------------------------------------


def test_clerk_refuses_a_dossier_at_reception(eng: Engine, citizen: Actor,
                                              clerk: Actor) -> None:
    dossier = eng.fire(submit_online(eng, citizen).code, "refuse", actor=clerk,
                       reason="Không thuộc thẩm quyền")
    assert dossier.state == "refused"
    assert dossier.is_final


def test_clerk_refuses_a_dossier_awaiting_supplement(
        eng: Engine, citizen: Actor, clerk: Actor) -> None:
    code = submit_online(eng, citizen).code
    eng.fire(code, "request_supplement", actor=clerk, reason="Thiếu")
    assert eng.fire(code, "refuse", actor=clerk, reason="Quá hạn bổ sung").state == "refused"


def test_leader_refuses_a_dossier_during_processing(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "processing", staff).code
    assert eng.fire(code, "refuse", actor=staff["leader"], reason="Không đủ điều kiện"
                    ).state == "refused"


def test_clerk_may_not_refuse_during_processing(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "processing", staff).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, "refuse", actor=staff["clerk"], reason="Không đủ điều kiện")


def test_leader_may_not_refuse_at_reception(eng: Engine, citizen: Actor,
                                            leader: Actor) -> None:
    code = submit_online(eng, citizen).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, "refuse", actor=leader, reason="Không đủ điều kiện")


@pytest.mark.parametrize("state", ["digitising", "certifying", "awaiting_payment",
                                   "awaiting_signature", "awaiting_return"])
def test_refusal_is_not_allowed_outside_reception_supplement_and_processing(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], state: str) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, state, staff).code
    for actor in (staff["clerk"], staff["leader"]):
        with pytest.raises(TransitionNotAllowed):
            eng.fire(code, "refuse", actor=actor, reason="Không")


# --- withdraw ------------------------------------------------------------------------------

BEFORE_RETURN = ["awaiting_reception", "digitising", "certifying", "awaiting_payment",
                 "processing", "awaiting_signature"]


def _to_supplement_from(engine: Engine, code: str, resume: str,
                        staff: dict[str, Actor]) -> Dossier:
    walk_to(engine, code, resume, staff)
    asker = staff["clerk"] if resume == "awaiting_reception" else staff["specialist"]
    return engine.fire(code, "request_supplement", actor=asker, reason="Thiếu")


@pytest.mark.parametrize("state", BEFORE_RETURN)
def test_the_citizen_who_submitted_may_withdraw_before_awaiting_return(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], state: str) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, state, staff).code
    dossier = eng.fire(code, "withdraw", actor=citizen, reason="Không còn nhu cầu")
    assert dossier.state == "withdrawn"
    assert eng.history(code)[-1].actor == citizen.id


@pytest.mark.parametrize("resume", ["awaiting_reception", "processing"])
def test_the_citizen_may_withdraw_while_a_supplement_is_awaited(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], resume: str) -> None:
    code = submit_online(eng, citizen).code
    _to_supplement_from(eng, code, resume, staff)
    assert eng.fire(code, "withdraw", actor=citizen).state == "withdrawn"


@pytest.mark.parametrize("state", BEFORE_RETURN)
def test_a_clerk_withdrawing_for_the_citizen_records_the_citizen_on_behalf_of(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], state: str) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, state, staff).code
    assert eng.fire(code, "withdraw", actor=staff["clerk"]).state == "withdrawn"
    last = eng.history(code)[-1]
    assert (last.actor, last.on_behalf_of) == (staff["clerk"].id, citizen.id)


def test_a_dossier_awaiting_return_cannot_be_withdrawn(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "awaiting_return", staff).code
    with pytest.raises(TransitionNotAllowed):
        eng.fire(code, "withdraw", actor=citizen)
    with pytest.raises(TransitionNotAllowed):
        eng.fire(code, "withdraw", actor=staff["clerk"])
    assert eng.get(code).state == "awaiting_return"


@pytest.mark.parametrize("role", ["specialist", "certifier", "leader"])
def test_only_the_citizen_or_a_clerk_may_withdraw(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], role: str) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "processing", staff).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, "withdraw", actor=staff[role])


# --- stop ----------------------------------------------------------------------------------

AFTER_RECEPTION = ["digitising", "certifying", "awaiting_payment", "processing",
                   "awaiting_signature", "awaiting_return"]


@pytest.mark.parametrize("state", AFTER_RECEPTION)
def test_a_leader_may_stop_a_received_dossier(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], state: str) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, state, staff).code
    dossier = eng.fire(code, "stop", actor=staff["leader"], reason="Theo yêu cầu cơ quan")
    assert dossier.state == "stopped"
    assert dossier.is_final


def test_a_leader_may_stop_a_received_dossier_awaiting_supplement(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = submit_online(eng, citizen).code
    _to_supplement_from(eng, code, "processing", staff)
    assert eng.fire(code, "stop", actor=staff["leader"], reason="Dừng").state == "stopped"


def test_a_dossier_not_yet_received_cannot_be_stopped(
        eng: Engine, citizen: Actor, leader: Actor) -> None:
    code = submit_online(eng, citizen).code
    with pytest.raises(TransitionNotAllowed):
        eng.fire(code, "stop", actor=leader, reason="Dừng")
    assert eng.get(code).state == "awaiting_reception"


def test_a_dossier_awaiting_supplement_before_reception_cannot_be_stopped(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = submit_online(eng, citizen).code
    _to_supplement_from(eng, code, "awaiting_reception", staff)
    with pytest.raises((TransitionNotAllowed, GuardFailed)):
        eng.fire(code, "stop", actor=staff["leader"], reason="Dừng")
    assert eng.get(code).state == "awaiting_supplement"


@pytest.mark.parametrize("role", ["clerk", "specialist", "certifier"])
def test_only_a_leader_may_stop(eng: Engine, citizen: Actor, staff: dict[str, Actor],
                                role: str) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "processing", staff).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, "stop", actor=staff[role], reason="Dừng")
    with pytest.raises(PermissionDenied):
        eng.fire(code, "stop", actor=citizen, reason="Dừng")


# --- final states --------------------------------------------------------------------------

def _returned(engine: Engine, code: str, staff: dict[str, Actor], citizen: Actor) -> None:
    walk_to(engine, code, "awaiting_return", staff)
    complete_step(engine, code, "return", staff)


def _refused(engine: Engine, code: str, staff: dict[str, Actor], citizen: Actor) -> None:
    engine.fire(code, "refuse", actor=staff["clerk"], reason="Không")


def _withdrawn(engine: Engine, code: str, staff: dict[str, Actor], citizen: Actor) -> None:
    engine.fire(code, "withdraw", actor=citizen)


def _stopped(engine: Engine, code: str, staff: dict[str, Actor], citizen: Actor) -> None:
    walk_to(engine, code, "processing", staff)
    engine.fire(code, "stop", actor=staff["leader"], reason="Dừng")


FINALS: dict[str, Callable[[Engine, str, dict[str, Actor], Actor], None]] = {
    "returned": _returned, "refused": _refused, "withdrawn": _withdrawn, "stopped": _stopped}


@pytest.mark.parametrize("final", FINALS)
def test_a_final_state_accepts_no_trigger_from_anyone(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], final: str) -> None:
    code = submit_online(eng, citizen).code
    FINALS[final](eng, code, staff, citizen)
    before = snapshot(eng, code)
    assert before[0].state == final
    for trigger in Trigger:
        for actor in (*staff.values(), citizen):
            behalf = "cd01" if actor.role == "system" else None
            with pytest.raises(TransitionNotAllowed):
                eng.fire(code, trigger.value, actor=actor, on_behalf_of=behalf)
    assert snapshot(eng, code) == before


@pytest.mark.parametrize("final", FINALS)
def test_a_final_dossier_takes_no_more_files(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], final: str) -> None:
    code = submit_online(eng, citizen).code
    FINALS[final](eng, code, staff, citizen)
    before = snapshot(eng, code)
    with pytest.raises(DossierError):
        eng.attach(code, "to_khai", b"%PDF-1.4 late", "late.pdf", actor=staff["clerk"])
    assert snapshot(eng, code) == before


# --- national portal status ----------------------------------------------------------------

def _reach(engine: Engine, code: str, target: str, staff: dict[str, Actor]) -> Dossier:
    if target == "refused_before_reception":
        return engine.fire(code, "refuse", actor=staff["clerk"], reason="Không")
    if target == "refused_after_reception":
        walk_to(engine, code, "processing", staff)
        return engine.fire(code, "refuse", actor=staff["leader"], reason="Không")
    if target == "refused_in_supplement_before_reception":
        _to_supplement_from(engine, code, "awaiting_reception", staff)
        return engine.fire(code, "refuse", actor=staff["clerk"], reason="Không")
    if target == "refused_in_supplement_after_reception":
        _to_supplement_from(engine, code, "processing", staff)
        return engine.fire(code, "refuse", actor=staff["clerk"], reason="Không")
    if target == "awaiting_supplement":
        return _to_supplement_from(engine, code, "awaiting_reception", staff)
    if target == "withdrawn":
        return engine.fire(code, "withdraw", actor=staff["clerk"])
    if target == "stopped":
        walk_to(engine, code, "processing", staff)
        return engine.fire(code, "stop", actor=staff["leader"], reason="Dừng")
    if target == "returned":
        walk_to(engine, code, "awaiting_return", staff)
        return complete_step(engine, code, "return", staff)
    return walk_to(engine, code, target, staff)


PORTAL = {
    "awaiting_reception": 1, "digitising": 2, "certifying": 2,
    "refused_before_reception": 3, "refused_in_supplement_before_reception": 3,
    "processing": 4, "awaiting_signature": 4, "awaiting_supplement": 5,
    "awaiting_payment": 6, "withdrawn": 7, "stopped": 8, "awaiting_return": 9,
    "refused_after_reception": 9, "refused_in_supplement_after_reception": 9, "returned": 10,
}


@pytest.mark.parametrize(("target", "status"), PORTAL.items())
def test_portal_status_is_the_national_code_for_where_the_dossier_is(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], target: str, status: int) -> None:
    code = submit_online(eng, citizen).code
    dossier = _reach(eng, code, target, staff)
    assert dossier.portal_status == status
    assert eng.get(code).portal_status == status
