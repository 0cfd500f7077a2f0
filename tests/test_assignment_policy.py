"""``policy.check_assignment`` and ``policy.step_role`` over every state, role and assignee
(hypothesis): the rule of issue 11, pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from finding_support import PAID
from hypothesis import given
from hypothesis import strategies as st

from dossier import Actor, Dossier, PermissionDenied, Role, State
from dossier.policy import ASSIGNED_WORK, check_assignment, step_role
from dossier.states import STEP_BY_STATE

AGENCY = "000.00.12.H12"
NOW = datetime(2025, 9, 8, 2, 0, tzinfo=UTC)
BLANK = Dossier(id=1, code=f"{AGENCY}-250908-0001", procedure_code=PAID.code,
                procedure_version=PAID.version, agency=AGENCY, channel="counter",
                state=State.AWAITING_RECEPTION, resume_state=None, owner="cd01",
                applicant={"name": "A"}, fee_due=0, paid_amount=0, version=1, event_count=1,
                head_hash="0" * 64, submitted_at=NOW, received_at=None, updated_at=NOW,
                closed_at=None)
people = st.builds(lambda role, n: Actor(id=f"{role[:2]}{n}", role=role,
                                         agency=None if role in ("citizen", "system")
                                         else AGENCY),
                   st.sampled_from([r.value for r in Role]), st.integers(1, 3))


@given(state=st.sampled_from(list(State)), assignee=st.none() | st.sampled_from(
    ["cl1", "sp1", "le1", "ce2"]), actor=people)
def test_only_the_assignee_a_leader_system_or_the_citizen_pass_an_assignment(
        state: State, assignee: str | None, actor: Actor) -> None:
    dossier = replace(BLANK, state=state, assignee=assignee)
    held = assignee is not None and actor.id != assignee and actor.role in (
        Role.CLERK, Role.SPECIALIST, Role.CERTIFIER)
    if held:
        with pytest.raises(PermissionDenied, match=f"assigned to {assignee}"):
            check_assignment(actor, dossier, "approve")
    else:
        check_assignment(actor, dossier, "approve")


@given(state=st.sampled_from(list(State)))
def test_the_step_role_is_the_procedures_role_for_the_state_and_none_off_the_steps(
        state: State) -> None:
    step = STEP_BY_STATE.get(state)
    roles = {spec.name: spec.role for spec in PAID.steps}
    assert step_role(PAID, state) == (roles.get(step) if step else None)


def test_the_work_held_for_the_assignee_is_the_steps_triggers_and_its_decisions() -> None:
    assert {t.value for t in ASSIGNED_WORK} == {
        "receive", "digitise", "certify", "pay", "approve", "sign", "return_result",
        "request_supplement", "refuse"}
