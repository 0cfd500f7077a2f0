"""Who may do what, the order in which ``fire`` checks, and bad input.

Check order (issue 2): unknown dossier → foreign agency / not the citizen's own → unknown
trigger or wrong state → role → guards. Every refused call leaves the dossier row and its
event log exactly as they were.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_procedure

from dossier import (
    Actor,
    Dossier,
    DossierError,
    DossierNotFound,
    Engine,
    GuardFailed,
    InvalidInput,
    PermissionDenied,
    Procedure,
    TransitionNotAllowed,
)

AGENCY = "000.00.12.H12"
OTHER_AGENCY = "000.00.34.H34"
FEE = 50_000
CODE = "9.900011"


# ban_chinh (must be digitised, may be certified) and an optional to_khai
FULL: Procedure = make_procedure(
    CODE, ["receive", "digitise", "certify", "pay", "process", "sign", "return"],
    name="Thủ tục thử quyền", fee=FEE)
PATH: list[tuple[str, str, str]] = [  # (state, trigger, role)
    ("awaiting_reception", "receive", "clerk"),
    ("digitising", "digitise", "clerk"),
    ("certifying", "certify", "certifier"),
    ("awaiting_payment", "pay", "clerk"),
    ("processing", "approve", "specialist"),
    ("awaiting_signature", "sign", "leader"),
    ("awaiting_return", "return_result", "clerk"),
]


@pytest.fixture
def eng(engine: Engine) -> Engine:
    engine.register(FULL)
    return engine


@pytest.fixture
def staff(clerk: Actor, certifier: Actor, specialist: Actor, leader: Actor) -> dict[str, Actor]:
    return {"clerk": clerk, "certifier": certifier, "specialist": specialist, "leader": leader}


@pytest.fixture
def foreign_clerk() -> Actor:
    return Actor(id="nv99", role="clerk", agency=OTHER_AGENCY)


def submit_online(engine: Engine, citizen: Actor) -> Dossier:
    return engine.submit(CODE, applicant={"name": "Lê Văn C", "id_number": "001090012345"},
                         channel="online", actor=citizen, agency=AGENCY)


def walk_to(engine: Engine, code: str, state: str, staff: dict[str, Actor]) -> Dossier:
    dossier = engine.get(code)
    for source, trigger, role in PATH:
        if dossier.state == state:
            break
        if dossier.state != source:
            continue
        data: dict[str, Any] = {}
        if trigger == "digitise":
            engine.attach(code, "ban_chinh", b"%PDF-1.4 scan", "scan.pdf", actor=staff["clerk"])
        if trigger == "pay":
            data["amount"] = dossier.fee_due
        dossier = engine.fire(code, trigger, actor=staff[role], **data)
    assert dossier.state == state
    return dossier


def snapshot(engine: Engine, code: str) -> tuple[Dossier, list[Any]]:
    return engine.get(code), engine.history(code)


# --- check order ---------------------------------------------------------------------------


def test_an_unknown_dossier_is_reported_before_anything_else(
        eng: Engine, foreign_clerk: Actor) -> None:
    with pytest.raises(DossierNotFound):
        eng.fire("000.00.12.H12-250908-9999", "no_such_trigger", actor=foreign_clerk)


def test_an_actor_of_another_agency_is_denied(
        eng: Engine, citizen: Actor, foreign_clerk: Actor) -> None:
    code = submit_online(eng, citizen).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, "receive", actor=foreign_clerk)


def test_a_foreign_agency_is_denied_even_when_the_trigger_is_also_wrong(
        eng: Engine, citizen: Actor, foreign_clerk: Actor) -> None:
    code = submit_online(eng, citizen).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, "approve", actor=foreign_clerk)
    with pytest.raises(PermissionDenied):
        eng.fire(code, "no_such_trigger", actor=foreign_clerk)


def test_a_foreign_leader_is_denied_on_a_dossier_in_its_own_agencys_state(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "awaiting_signature", staff).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, "sign", actor=Actor(id="ld99", role="leader", agency=OTHER_AGENCY))


def test_an_unknown_trigger_is_not_allowed_even_for_a_role_with_no_rights(
        eng: Engine, citizen: Actor, certifier: Actor) -> None:
    code = submit_online(eng, citizen).code
    with pytest.raises(TransitionNotAllowed):
        eng.fire(code, "no_such_trigger", actor=certifier)


def test_a_wrong_state_is_reported_before_a_wrong_role(
        eng: Engine, citizen: Actor) -> None:
    code = submit_online(eng, citizen).code
    with pytest.raises(TransitionNotAllowed):
        eng.fire(code, "approve", actor=citizen)


def test_a_wrong_role_is_denied(eng: Engine, citizen: Actor, specialist: Actor) -> None:
    code = submit_online(eng, citizen).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, "receive", actor=specialist)


def test_a_wrong_role_is_reported_before_a_failing_guard(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "digitising", staff).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, "digitise", actor=staff["certifier"])  # nothing attached either


def test_a_failing_guard_names_the_guard_and_what_is_missing(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "digitising", staff).code
    with pytest.raises(GuardFailed) as caught:
        eng.fire(code, "digitise", actor=staff["clerk"])
    assert caught.value.guard == "components_digitised"
    assert list(caught.value.missing) == ["ban_chinh"]
    assert code in str(caught.value)


def test_paying_an_amount_other_than_the_fee_fails_a_guard(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "awaiting_payment", staff).code
    with pytest.raises(GuardFailed) as caught:
        eng.fire(code, "pay", actor=staff["clerk"], amount=FEE - 1)
    assert caught.value.guard
    assert caught.value.missing
    assert eng.get(code).paid_amount == 0


# --- roles per step ------------------------------------------------------------------------

STAFF_ROLES = ["clerk", "certifier", "specialist", "leader"]


@pytest.mark.parametrize(("state", "trigger", "allowed"), PATH, ids=[t for _, t, _ in PATH])
def test_only_the_role_named_by_the_procedure_may_complete_a_step(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], state: str, trigger: str,
        allowed: str) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, state, staff).code
    data: dict[str, Any] = {"amount": FEE} if trigger == "pay" else {}
    for role in STAFF_ROLES:
        if role != allowed:
            with pytest.raises(PermissionDenied):
                eng.fire(code, trigger, actor=staff[role], **data)
    with pytest.raises(PermissionDenied):
        eng.fire(code, trigger, actor=citizen, **data)
    if trigger == "digitise":
        eng.attach(code, "ban_chinh", b"%PDF-1.4 scan", "scan.pdf", actor=staff["clerk"])
    assert eng.fire(code, trigger, actor=staff[allowed], **data).state != state


# --- citizens ------------------------------------------------------------------------------


def test_a_citizen_submitting_online_owns_the_dossier(eng: Engine, citizen: Actor) -> None:
    dossier = submit_online(eng, citizen)
    assert dossier.owner == citizen.id
    assert dossier.agency == AGENCY


def test_a_citizen_may_not_act_on_a_dossier_someone_else_submitted(
        eng: Engine, citizen: Actor) -> None:
    code = submit_online(eng, citizen).code
    other = Actor(id="cd02", role="citizen")
    with pytest.raises(PermissionDenied):
        eng.fire(code, "withdraw", actor=other)
    assert eng.get(code).state == "awaiting_reception"


def test_a_citizen_may_not_act_on_a_dossier_a_clerk_entered_at_the_counter(
        eng: Engine, citizen: Actor, clerk: Actor) -> None:
    code = eng.submit(CODE, applicant={"name": "Lê Văn C"}, channel="counter",
                      actor=clerk).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, "withdraw", actor=citizen)


def test_a_citizen_not_the_owner_is_denied_even_when_the_trigger_is_also_wrong(
        eng: Engine, citizen: Actor) -> None:
    code = submit_online(eng, citizen).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, "approve", actor=Actor(id="cd02", role="citizen"))


def test_a_clerk_may_not_submit_for_another_agency(eng: Engine, clerk: Actor) -> None:
    with pytest.raises(PermissionDenied):
        eng.submit(CODE, applicant={"name": "Lê Văn C"}, channel="counter", actor=clerk,
                   agency=OTHER_AGENCY)
    assert eng.codes() == []


# --- system --------------------------------------------------------------------------------


def test_system_may_not_record_a_fee_by_firing_pay_the_gateway_callback_does(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    # fire("pay") records a fee a person took at the counter; an online payment completes
    # pay through its provider's callback (see test_payment_engine)
    code = walk_to(eng, submit_online(eng, citizen).code, "awaiting_payment", staff).code
    before = snapshot(eng, code)
    with pytest.raises(PermissionDenied, match="take the fee at the counter"):
        eng.fire(code, "pay", actor=Actor.system(), on_behalf_of=citizen.id,
                 amount=FEE, method="online", reference="VNP123")
    assert snapshot(eng, code) == before
    assert eng.payments(code) == []


def test_system_may_report_a_remote_signature_on_behalf_of_the_signer(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "awaiting_signature", staff).code
    dossier = eng.fire(code, "sign", actor=Actor.system(), on_behalf_of="ld01")
    assert dossier.state == "awaiting_return"
    assert eng.history(code)[-1].on_behalf_of == "ld01"


@pytest.mark.parametrize(("state", "trigger"), [("awaiting_payment", "pay"),
                                                ("awaiting_signature", "sign")])
def test_system_completing_a_step_must_name_who_it_acts_for(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], state: str, trigger: str) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, state, staff).code
    before = snapshot(eng, code)
    data: dict[str, Any] = {"amount": FEE} if trigger == "pay" else {}
    with pytest.raises(InvalidInput):
        eng.fire(code, trigger, actor=Actor.system(), **data)
    assert snapshot(eng, code) == before


@pytest.mark.parametrize(("state", "trigger"), [("awaiting_reception", "receive"),
                                                ("processing", "approve"),
                                                ("awaiting_return", "return_result")])
def test_system_may_not_complete_steps_people_do(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], state: str, trigger: str) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, state, staff).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, trigger, actor=Actor.system(), on_behalf_of="nv01")


def test_a_system_actor_of_another_agency_is_denied(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "awaiting_payment", staff).code
    with pytest.raises(PermissionDenied):
        eng.fire(code, "pay", actor=Actor.system(agency=OTHER_AGENCY), on_behalf_of="cd01",
                 amount=FEE)


# --- bad input -----------------------------------------------------------------------------

BAD_FIRES: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    # name: (state, trigger, role, data)
    "unknown data key": ("awaiting_reception", "receive", "clerk", {"colour": "red"}),
    "refuse without reason": ("awaiting_reception", "refuse", "clerk", {}),
    "refuse with blank reason": ("awaiting_reception", "refuse", "clerk", {"reason": "  "}),
    "supplement request without reason": ("awaiting_reception", "request_supplement",
                                          "clerk", {}),
    "supplement request for unknown component": (
        "awaiting_reception", "request_supplement", "clerk",
        {"reason": "Thiếu", "components": ["khong_co"]}),
    "stop without reason": ("processing", "stop", "leader", {}),
    "negative amount": ("awaiting_payment", "pay", "clerk", {"amount": -FEE}),
    "amount as text": ("awaiting_payment", "pay", "clerk", {"amount": "50000"}),
    "amount as boolean": ("awaiting_payment", "pay", "clerk", {"amount": True}),
    "pay without amount": ("awaiting_payment", "pay", "clerk", {}),
    "unknown payment method": ("awaiting_payment", "pay", "clerk",
                               {"amount": FEE, "method": "barter"}),
    "unknown return method": ("awaiting_return", "return_result", "clerk", {"method": "fax"}),
}


@pytest.mark.parametrize("case", BAD_FIRES)
def test_malformed_trigger_data_is_invalid_input_and_changes_nothing(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], case: str) -> None:
    state, trigger, role, data = BAD_FIRES[case]
    code = walk_to(eng, submit_online(eng, citizen).code, state, staff).code
    before = snapshot(eng, code)
    with pytest.raises(InvalidInput) as caught:
        eng.fire(code, trigger, actor=staff[role], **data)
    assert isinstance(caught.value, DossierError)
    assert isinstance(caught.value, ValueError)
    assert snapshot(eng, code) == before


@pytest.mark.parametrize("actor", ["nv01", {"id": "nv01", "role": "clerk"}, None])
def test_an_actor_that_is_not_an_actor_is_invalid_input_and_changes_nothing(
        eng: Engine, citizen: Actor, actor: Any) -> None:
    code = submit_online(eng, citizen).code
    before = snapshot(eng, code)
    with pytest.raises(InvalidInput):
        eng.fire(code, "receive", actor=actor)
    assert snapshot(eng, code) == before


def test_a_blank_on_behalf_of_is_invalid_input_and_changes_nothing(
        eng: Engine, citizen: Actor, staff: dict[str, Actor]) -> None:
    code = walk_to(eng, submit_online(eng, citizen).code, "awaiting_payment", staff).code
    before = snapshot(eng, code)
    with pytest.raises(InvalidInput):
        eng.fire(code, "pay", actor=Actor.system(), on_behalf_of=" ", amount=FEE)
    assert snapshot(eng, code) == before


BAD_SUBMITS: dict[str, dict[str, Any]] = {
    "unknown channel": {"channel": "fax"},
    "id number too short": {"applicant": {"name": "Lê Văn C", "id_number": "12345"}},
    "id number with a letter": {"applicant": {"name": "Lê Văn C",
                                              "id_number": "00109001234X"}},
    "id number as int": {"applicant": {"name": "Lê Văn C", "id_number": 1090012345}},
    "applicant without name": {"applicant": {"id_number": "001090012345"}},
    "applicant not a mapping": {"applicant": "Lê Văn C"},
    "actor not an Actor": {"actor": "nv01"},
}


@pytest.mark.parametrize("case", BAD_SUBMITS)
def test_a_malformed_submission_is_invalid_input_and_creates_nothing(
        eng: Engine, clerk: Actor, case: str) -> None:
    arguments: dict[str, Any] = {"applicant": {"name": "Lê Văn C"}, "channel": "counter",
                                 "actor": clerk, **BAD_SUBMITS[case]}
    with pytest.raises(InvalidInput) as caught:
        eng.submit(CODE, **arguments)
    assert isinstance(caught.value, ValueError)
    assert eng.codes() == []


def test_an_actor_with_an_unknown_role_cannot_be_made() -> None:
    with pytest.raises(InvalidInput):
        Actor(id="x", role="janitor", agency=AGENCY)


def test_staff_actors_must_name_their_agency() -> None:
    with pytest.raises(InvalidInput):
        Actor(id="nv01", role="clerk")


# --- failed calls change nothing -----------------------------------------------------------

REFUSED_CALLS: dict[str, tuple[str, str, str, dict[str, Any], type[DossierError]]] = {
    "foreign agency": ("processing", "approve", "foreign", {}, PermissionDenied),
    "other citizen": ("processing", "withdraw", "stranger", {}, PermissionDenied),
    "wrong state": ("processing", "receive", "clerk", {}, TransitionNotAllowed),
    "unknown trigger": ("processing", "fly", "specialist", {}, TransitionNotAllowed),
    "wrong role": ("processing", "approve", "clerk", {}, PermissionDenied),
    "guard": ("digitising", "digitise", "clerk", {}, GuardFailed),
    "wrong amount": ("awaiting_payment", "pay", "clerk", {"amount": 1}, GuardFailed),
}


@pytest.mark.parametrize("case", REFUSED_CALLS)
def test_a_refused_call_leaves_the_dossier_and_its_history_untouched(
        eng: Engine, citizen: Actor, staff: dict[str, Actor], foreign_clerk: Actor,
        case: str) -> None:
    state, trigger, who, data, error = REFUSED_CALLS[case]
    actors = {**staff, "foreign": foreign_clerk, "stranger": Actor(id="cd02", role="citizen")}
    code = walk_to(eng, submit_online(eng, citizen).code, state, staff).code
    before = snapshot(eng, code)
    with pytest.raises(error):
        eng.fire(code, trigger, actor=actors[who], **data)
    after = snapshot(eng, code)
    assert after == before
    assert after[0].version == before[0].version
    assert after[0].event_count == len(after[1])
    assert eng.verify_audit(code)
