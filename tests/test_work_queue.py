"""Work queues and assignment (issue 11): who sees what in which order, the ``assign`` event,
the guard that keeps an assigned step for its assignee, and the row replayed from events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from finding_support import AGENCY, FREE, KEY, OTHER, advance, setup, staff, submit

from dossier import (
    Actor,
    AuditError,
    Engine,
    InvalidInput,
    PermissionDenied,
    State,
    TransitionNotAllowed,
)
from dossier.store import Database
from dossier.testing import FrozenClock

ONE, TWO = staff(n=1), staff(n=2)


@pytest.fixture
def eng(db_url: str, clock: FrozenClock) -> Iterator[Engine]:
    engine = setup(Engine(db_url, clock=clock, applicant_key=KEY))
    yield engine
    engine.close()


def at_processing(eng: Engine, clock: FrozenClock, n: int) -> list[str]:
    """``n`` dossiers waiting for a specialist, received an hour apart (so due in that order)."""
    codes = []
    for _ in range(n):
        code = submit(eng).code
        advance(eng, code, 2)
        codes.append(code)
        clock.advance(timedelta(hours=1))
    return codes


def queue_codes(eng: Engine, actor: Actor, limit: int = 50) -> list[str]:
    codes: list[str] = []
    after = None
    while True:
        page = eng.queue(actor, limit=limit, after=after)
        codes += [item.dossier.code for item in page.items]
        if page.next is None:
            return codes
        after = page.next


def test_a_queue_has_my_assigned_dossiers_first_then_unassigned_each_by_step_due(
        eng: Engine, clock: FrozenClock) -> None:
    codes = at_processing(eng, clock, 6)
    unreceived = submit(eng).code  # the clerk's, not the specialist's
    eng.assign(codes[4], ONE["specialist"], actor=ONE["clerk"])
    eng.assign(codes[1], ONE["specialist"], actor=ONE["leader"])
    eng.assign(codes[2], TWO["specialist"], actor=ONE["leader"])  # someone else's
    mine = eng.queue(ONE["specialist"])
    assert [i.dossier.code for i in mine.items] == [codes[1], codes[4], codes[0], codes[3],
                                                    codes[5]]
    assert [i.assigned for i in mine.items] == [True, True, False, False, False]
    dues = [i.dossier.step_due_at for i in mine.items]
    assert dues[0] is not None
    assert dues[0] < dues[1]
    assert dues[2] < dues[3] < dues[4]
    assert all(i.remaining is not None and i.remaining > timedelta(0) for i in mine.items)
    assert mine.items[0].remaining_text is not None
    assert mine.items[0].remaining_text.startswith("Còn")
    assert queue_codes(eng, TWO["specialist"]) == [codes[2], codes[0], codes[3], codes[5]]
    assert queue_codes(eng, ONE["specialist"], limit=2) == [i.dossier.code for i in mine.items]
    assert unreceived in queue_codes(eng, ONE["clerk"])
    assert unreceived not in queue_codes(eng, ONE["specialist"])


def test_a_queue_leaves_out_other_agencies_other_roles_and_closed_dossiers(
        eng: Engine, clock: FrozenClock) -> None:
    ours = at_processing(eng, clock, 2)
    foreign = submit(eng, agency=OTHER).code
    advance(eng, foreign, 2)
    done = submit(eng, procedure=FREE.code).code
    advance(eng, done, 3)
    assert eng.get(done).state is State.RETURNED
    assert queue_codes(eng, ONE["specialist"]) == ours
    assert queue_codes(eng, staff(OTHER)["specialist"]) == [foreign]
    assert queue_codes(eng, ONE["leader"]) == []  # no dossier waits for a signature
    assert done not in queue_codes(eng, ONE["clerk"])


def test_dossiers_without_a_step_due_come_after_the_dated_ones(
        eng: Engine, clock: FrozenClock) -> None:
    waiting = submit(eng).code          # not received: no due date yet
    clock.advance(timedelta(hours=1))
    received = submit(eng).code
    eng.fire(received, "receive", actor=ONE["clerk"])  # now at pay, due in 2 working hours
    items = eng.queue(ONE["clerk"]).items
    assert [i.dossier.code for i in items] == [received, waiting]
    assert items[1].remaining is None
    assert items[1].remaining_text is None


def test_a_citizens_queue_is_their_open_dossiers_waiting_for_them_first(
        eng: Engine, clock: FrozenClock) -> None:
    citizen = Actor(id="cd01", role="citizen")
    first = submit(eng, citizen="cd01").code
    clock.advance(timedelta(hours=1))
    asked = submit(eng, citizen="cd01").code
    advance(eng, asked, 2)
    eng.fire(asked, "request_supplement", actor=ONE["specialist"], reason="Thiếu tờ khai")
    submit(eng, citizen="cd02")
    closed = submit(eng, citizen="cd01", procedure=FREE.code).code
    advance(eng, closed, 3)
    items = eng.queue(citizen).items
    assert [i.dossier.code for i in items] == [asked, first]
    assert [i.assigned for i in items] == [True, False]
    assert items[0].dossier.step_due_at == eng.get(asked).deadlines.supplement_due_at


def test_the_system_has_no_queue(eng: Engine) -> None:
    with pytest.raises(InvalidInput, match="queue"):
        eng.queue(Actor.system())


def test_only_the_assignee_or_a_leader_completes_an_assigned_step(
        eng: Engine, clock: FrozenClock) -> None:
    code = at_processing(eng, clock, 1)[0]
    eng.assign(code, ONE["specialist"], actor=ONE["clerk"])
    before = eng.history(code)
    with pytest.raises(PermissionDenied, match=f"assigned to {ONE['specialist'].id}"):
        eng.fire(code, "approve", actor=TWO["specialist"])
    with pytest.raises(PermissionDenied, match="assigned to"):
        eng.fire(code, "request_supplement", actor=TWO["specialist"], reason="Thiếu")
    assert eng.history(code) == before
    assert eng.fire(code, "approve", actor=ONE["specialist"]).state is State.AWAITING_SIGNATURE


def test_another_clerk_may_neither_receive_nor_refuse_an_assigned_reception(
        eng: Engine) -> None:
    code = submit(eng).code
    eng.assign(code, TWO["clerk"], actor=ONE["leader"])
    with pytest.raises(PermissionDenied, match="nv02"):
        eng.fire(code, "receive", actor=ONE["clerk"])
    with pytest.raises(PermissionDenied, match="nv02"):
        eng.fire(code, "refuse", actor=ONE["clerk"], reason="Sai thẩm quyền")
    with pytest.raises(PermissionDenied, match="a leader may not receive"):
        eng.fire(code, "receive", actor=ONE["leader"])  # the role check comes first
    assert eng.fire(code, "receive", actor=TWO["clerk"]).state is State.AWAITING_PAYMENT


def test_a_leader_is_never_held_back_by_an_assignment(eng: Engine, clock: FrozenClock) -> None:
    signing = submit(eng).code
    advance(eng, signing, 3)
    eng.assign(signing, TWO["leader"], actor=ONE["clerk"])
    assert eng.fire(signing, "sign", actor=ONE["leader"]).state is State.AWAITING_RETURN
    processing = at_processing(eng, clock, 1)[0]
    eng.assign(processing, TWO["specialist"], actor=ONE["clerk"])
    refused = eng.fire(processing, "refuse", actor=ONE["leader"], reason="Không đủ điều kiện")
    assert refused.state is State.REFUSED
    assert refused.assignee is None


def test_the_fee_at_the_counter_is_held_for_the_assigned_clerk(
        eng: Engine, clock: FrozenClock) -> None:
    code = submit(eng).code
    eng.fire(code, "receive", actor=ONE["clerk"])
    eng.assign(code, TWO["clerk"], actor=ONE["leader"])
    fee = eng.get(code).fee_due
    with pytest.raises(PermissionDenied, match="assigned to nv02"):
        eng.confirm_counter_payment(code, actor=ONE["clerk"], amount=fee)
    assert eng.payments(code) == []
    eng.confirm_counter_payment(code, actor=TWO["clerk"], amount=fee)
    assert eng.get(code).state is State.PROCESSING


def test_reassignment_is_another_event_and_the_same_assignee_records_nothing(
        eng: Engine, clock: FrozenClock) -> None:
    code = at_processing(eng, clock, 1)[0]
    first = eng.assign(code, ONE["specialist"], actor=ONE["clerk"])
    assert first.assignee == ONE["specialist"].id
    again = eng.assign(code, ONE["specialist"], actor=ONE["leader"])
    assert again.version == first.version
    second = eng.assign(code, TWO["specialist"], actor=ONE["leader"], if_version=first.version)
    assert second.assignee == TWO["specialist"].id
    released = eng.assign(code, None, actor=ONE["clerk"])
    assert released.assignee is None
    assigns = [e for e in eng.history(code) if e.trigger == "assign"]
    assert [(e.actor, e.data["assignee"], e.data["step"]) for e in assigns] == [
        ("nv01", "cv01", "process"), ("ld01", "cv02", "process"), ("nv01", None, "process")]
    assert all(e.source == e.target == "processing" for e in assigns)
    assert eng.find(assignee="cv02").items == ()
    assert eng.verify_audit(code)


def test_leaving_the_step_ends_the_assignment(eng: Engine, clock: FrozenClock) -> None:
    code = at_processing(eng, clock, 1)[0]
    eng.assign(code, ONE["specialist"], actor=ONE["clerk"])
    assert [d.code for d in eng.find(assignee="cv01").items] == [code]
    after = eng.fire(code, "approve", actor=ONE["specialist"])
    assert after.assignee is None
    assert after.step_role is not None
    assert after.step_role.value == "leader"
    assert eng.find(assignee="cv01").items == ()
    assert eng.verify_audit(code)


@pytest.mark.parametrize(("who", "error", "message"), [
    ("specialist", PermissionDenied, "clerk or leader"),
    ("foreign", PermissionDenied, "belongs to agency"),
    ("citizen", PermissionDenied, "not submitted by"),
])
def test_only_a_clerk_or_leader_of_the_agency_assigns(
        eng: Engine, clock: FrozenClock, who: str, error: type[Exception], message: str) -> None:
    code = at_processing(eng, clock, 1)[0]
    actor = {"specialist": ONE["specialist"], "foreign": staff(OTHER)["clerk"],
             "citizen": Actor(id="cd09", role="citizen")}[who]
    with pytest.raises(error, match=message):
        eng.assign(code, TWO["specialist"], actor=actor)
    assert eng.get(code).assignee is None


@pytest.mark.parametrize("assignee", [
    Actor(id="nv02", role="clerk", agency=AGENCY),              # not the step's role
    Actor(id="cv05", role="specialist", agency=OTHER),          # another agency
    Actor.system(AGENCY),
    Actor(id="cd01", role="citizen"),
])
def test_the_assignee_must_do_the_step_in_the_dossiers_agency(
        eng: Engine, clock: FrozenClock, assignee: Actor) -> None:
    code = at_processing(eng, clock, 1)[0]
    with pytest.raises(InvalidInput, match="process step is done by a specialist"):
        eng.assign(code, assignee, actor=ONE["leader"])
    with pytest.raises(InvalidInput, match=r"dossier\.Actor"):
        eng.assign(code, "cv01", actor=ONE["leader"])  # type: ignore[arg-type]


def test_a_dossier_at_no_step_cannot_be_assigned(eng: Engine, clock: FrozenClock) -> None:
    code = at_processing(eng, clock, 1)[0]
    eng.fire(code, "request_supplement", actor=ONE["specialist"], reason="Thiếu")
    with pytest.raises(TransitionNotAllowed, match="no step"):
        eng.assign(code, ONE["specialist"], actor=ONE["leader"])
    done = submit(eng, procedure=FREE.code).code
    advance(eng, done, 3)
    with pytest.raises(TransitionNotAllowed):
        eng.assign(done, ONE["clerk"], actor=ONE["leader"])


def test_assign_is_not_a_trigger_of_fire(eng: Engine) -> None:
    code = submit(eng).code
    with pytest.raises(TransitionNotAllowed):
        eng.fire(code, "assign", actor=ONE["clerk"])


def test_the_control_sheet_shows_the_assignment(eng: Engine, clock: FrozenClock) -> None:
    code = at_processing(eng, clock, 1)[0]
    eng.assign(code, TWO["specialist"], actor=ONE["leader"])
    # (8/9/2025: Thông tư 01/2018 still applies, whose control sheet is Mẫu 05)
    html = eng.render_form(code, "form-05", format="html").decode()
    assert "Người được phân công xử lý: cv02" in html
    assert "Phân công xử lý: giao cho cv02" in html


@pytest.mark.parametrize(("column", "value", "field"), [
    ("assignee", "cv09", "assignee"),
    ("step_role", "clerk", "step_role"),
])
def test_an_edited_assignment_is_caught_by_verify_audit(
        eng: Engine, db_url: str, clock: FrozenClock, column: str, value: str,
        field: str) -> None:
    code = at_processing(eng, clock, 1)[0]
    eng.assign(code, ONE["specialist"], actor=ONE["clerk"])
    db = Database(db_url)
    with db.engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE dossiers SET {column} = :v WHERE code = :c"),
                     {"v": value, "c": code})
    db.dispose()
    with pytest.raises(AuditError) as caught:
        eng.verify_audit(code)
    assert caught.value.field == field
