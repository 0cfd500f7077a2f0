"""Deadlines on dossiers: due dates at reception, hand-over timeliness, supplement rounds
under each clock policy, apology letters, and the timers the sweep fires."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from dossier import Actor, Engine
from dossier.calendar import WorkingCalendar
from dossier.clock import LOCAL_TZ
from dossier.engine import timers
from dossier.errors import (
    ConcurrencyConflict,
    InvalidInput,
    PermissionDenied,
    TransitionNotAllowed,
)
from dossier.sla import classify
from dossier.testing import FrozenClock
from tests.conftest import AGENCY, make_procedure

STEPS = ["receive", "process", "sign", "return"]


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)  # type: ignore[misc]


@pytest.fixture
def staff(clerk: Actor, specialist: Actor, leader: Actor) -> dict[str, Actor]:
    return {"clerk": clerk, "specialist": specialist, "leader": leader}


def register(engine: Engine, code: str = "9.000001", **options: Any) -> str:
    engine.register(make_procedure(code, options.pop("steps", STEPS), **options))
    return code


def received(engine: Engine, clerk: Actor, code: str, channel: str = "counter",
             **data: Any) -> str:
    dossier = engine.submit(code, applicant={"name": "Nguyễn Văn A"}, channel=channel,
                            actor=clerk)
    return engine.fire(dossier.code, "receive", actor=clerk, **data).code


def triggers(engine: Engine, code: str) -> list[str]:
    return [e.trigger for e in engine.history(code)]


# --- due dates at reception -------------------------------------------------------------------

def test_reception_sets_the_due_date_and_the_receipt_shows_it(
        engine: Engine, clerk: Actor) -> None:
    code = received(engine, clerk, register(engine))      # Monday 2025-09-08 09:00
    d = engine.get(code).deadlines
    assert d.clock_started_at == at(2025, 9, 8, 9, 0)
    assert d.due_at == d.appointment_at == at(2025, 9, 22, 9, 0)   # 10 working days
    assert d.warning_at == at(2025, 9, 19, 9, 0)                  # one working day before
    assert d.next_timer_at == d.warning_at
    receive = engine.history(code)[-1]
    assert receive.data["due_at"] == "2025-09-22T09:00:00+07:00"


def test_a_submitted_dossier_has_no_clock_yet(engine: Engine, clerk: Actor) -> None:
    dossier = engine.submit(register(engine), applicant={"name": "A"}, channel="counter",
                            actor=clerk)
    assert dossier.due_at is None
    assert dossier.deadlines.next_timer_at is None


def test_online_dossiers_take_the_online_processing_time(
        engine: Engine, clerk: Actor, citizen: Actor) -> None:
    code = register(engine, online_processing_time={"amount": 5, "unit": "working_days"})
    online = engine.submit(code, applicant={"name": "A"}, channel="online", actor=citizen,
                           agency=AGENCY)
    online = engine.fire(online.code, "receive", actor=clerk)
    assert online.due_at == at(2025, 9, 15, 9, 0)
    assert engine.get(received(engine, clerk, code)).due_at == at(2025, 9, 22, 9, 0)


def test_the_post_channel_counts_from_arrival(engine: Engine, clerk: Actor,
                                              clock: FrozenClock) -> None:
    code = register(engine)
    arrived = at(2025, 9, 5, 16, 0)                          # Friday afternoon
    post = received(engine, clerk, code, channel="post", arrived_at=arrived)
    assert engine.get(post).deadlines.clock_started_at == arrived
    assert engine.get(post).due_at == at(2025, 9, 19, 16, 0)

    waiting = engine.submit(code, applicant={"name": "B"}, channel="post", actor=clerk)
    with pytest.raises(InvalidInput, match="arrived_at"):
        engine.fire(waiting.code, "receive", actor=clerk)
    with pytest.raises(InvalidInput, match="future"):
        engine.fire(waiting.code, "receive", actor=clerk, arrived_at=at(2025, 9, 9, 9, 0))
    with pytest.raises(InvalidInput, match="timezone-aware"):
        engine.fire(waiting.code, "receive", actor=clerk,
                    arrived_at=datetime(2025, 9, 5, 9, 0))  # noqa: DTZ001
    assert engine.get(waiting.code).state == "awaiting_reception"
    counter = engine.submit(code, applicant={"name": "C"}, channel="counter", actor=clerk)
    with pytest.raises(InvalidInput, match="post"):
        engine.fire(counter.code, "receive", actor=clerk, arrived_at=arrived)


def test_deadlines_use_the_agency_calendar_at_reception(db_url: str, clock: FrozenClock,
                                                        clerk: Actor) -> None:
    day_off = WorkingCalendar.vietnam().with_overrides(extra_days_off=[date(2025, 9, 10)])
    engine = Engine(db_url, clock=clock, calendars={AGENCY: day_off})
    code = register(engine)
    first = received(engine, clerk, code)
    assert engine.get(first).due_at == at(2025, 9, 23, 9, 0)
    engine.close()
    # the calendar is edited afterwards: only dates computed from now on move
    engine = Engine(db_url, clock=clock)
    assert engine.get(first).due_at == at(2025, 9, 23, 9, 0)
    assert engine.get(received(engine, clerk, code)).due_at == at(2025, 9, 22, 9, 0)
    engine.close()


def test_calendars_must_be_calendars(db_url: str) -> None:
    with pytest.raises(InvalidInput, match="WorkingCalendar"):
        Engine(db_url, calendars={AGENCY: "VN"})  # type: ignore[dict-item]


# --- hand-overs ------------------------------------------------------------------------------

def test_each_hand_over_is_early_on_time_or_late(engine: Engine, clock: FrozenClock,
                                                 staff: dict[str, Actor]) -> None:
    code = register(engine, budgets={"process": {"amount": 3, "unit": "working_days"},
                                     "sign": {"amount": 1, "unit": "working_days"}})
    dossier = received(engine, staff["clerk"], code)
    steps = engine.get(dossier).deadlines.steps
    assert steps == {"process": at(2025, 9, 11, 9, 0), "sign": at(2025, 9, 12, 9, 0)}

    clock.set(at(2025, 9, 10, 10, 0))
    engine.fire(dossier, "approve", actor=staff["specialist"])        # before 11/9
    clock.set(at(2025, 9, 12, 16, 0))
    engine.fire(dossier, "sign", actor=staff["leader"])               # on 12/9, after 09:00
    clock.set(at(2025, 9, 23, 8, 0))
    returned = engine.fire(dossier, "return_result", actor=staff["clerk"], method="counter")
    marks = {e.trigger: (e.data.get("timeliness"), e.data.get("step_due_at"))
             for e in engine.history(dossier)}
    assert marks["approve"] == ("early", "2025-09-11T09:00:00+07:00")
    assert marks["sign"] == ("on_time", "2025-09-12T09:00:00+07:00")
    assert marks["return_result"] == ("late", "2025-09-22T09:00:00+07:00")  # no budget: due
    assert returned.deadlines.timeliness == "late"
    assert returned.deadlines.next_timer_at is None


@pytest.mark.parametrize(("finished", "expected"), [
    (at(2025, 9, 21, 23, 59), "early"),
    (at(2025, 9, 22, 23, 30), "on_time"),   # 16:30 UTC: still the due date in Hà Nội
    (at(2025, 9, 23, 0, 30), "late"),       # 22/9 17:30 UTC, but 23/9 in Hà Nội
])
def test_timeliness_is_judged_on_the_local_date(finished: datetime, expected: str) -> None:
    assert classify(finished.astimezone(LOCAL_TZ), at(2025, 9, 22, 9, 0)) == expected


# --- supplement rounds -----------------------------------------------------------------------

def _supplement_round(engine: Engine, clock: FrozenClock, staff: dict[str, Actor],
                      code: str) -> str:
    dossier = received(engine, staff["clerk"], code)                  # Mon 08/9 09:00
    clock.set(at(2025, 9, 10, 9, 0))                                  # Wed
    engine.fire(dossier, "request_supplement", actor=staff["specialist"],
                reason="Thiếu bản sao CCCD", legal_basis="Điều 19 Nghị định 61/2018/NĐ-CP")
    clock.set(at(2025, 9, 12, 9, 0))                                  # Fri
    engine.fire(dossier, "supplement", actor=staff["clerk"], on_behalf_of="cd01")
    return dossier


def test_pause_moves_the_due_date_by_the_working_time_spent_waiting(
        engine: Engine, clock: FrozenClock, staff: dict[str, Actor]) -> None:
    code = register(engine, clock_policy="pause",
                    budgets={"sign": {"amount": 9, "unit": "working_days"}})
    dossier = _supplement_round(engine, clock, staff, code)
    d = engine.get(dossier).deadlines
    assert d.due_at == d.appointment_at == at(2025, 9, 24, 9, 0)     # 22/9 + 2 working days
    assert d.steps["sign"] == at(2025, 9, 23, 9, 0)
    assert d.paused_at is None
    assert d.next_timer_at == at(2025, 9, 23, 9, 0)
    [pause] = engine.clock_pauses(dossier)
    assert (pause.started_at, pause.ended_at) == (at(2025, 9, 10, 9, 0), at(2025, 9, 12, 9, 0))
    assert (pause.due_before, pause.due_after) == (at(2025, 9, 22, 9, 0), at(2025, 9, 24, 9, 0))
    assert (pause.reason, pause.actor, pause.role) == ("Thiếu bản sao CCCD", "cv01",
                                                       "specialist")
    assert pause.legal_basis == "Điều 19 Nghị định 61/2018/NĐ-CP"
    back = engine.history(dossier)[-1]
    assert back.data["due_before"] == "2025-09-22T09:00:00+07:00"
    assert back.data["due_at"] == "2025-09-24T09:00:00+07:00"


def test_restart_gives_the_full_time_again(engine: Engine, clock: FrozenClock,
                                           staff: dict[str, Actor]) -> None:
    dossier = _supplement_round(engine, clock, staff, register(engine, clock_policy="restart"))
    assert engine.get(dossier).due_at == at(2025, 9, 26, 9, 0)        # 12/9 + 10 days
    [pause] = engine.clock_pauses(dossier)
    assert pause.due_after == at(2025, 9, 26, 9, 0)
    assert pause.legal_basis == "Điều 19 Nghị định 61/2018/NĐ-CP"


def test_policy_none_keeps_the_clock_running(engine: Engine, clock: FrozenClock,
                                             staff: dict[str, Actor]) -> None:
    dossier = _supplement_round(engine, clock, staff, register(engine, clock_policy="none"))
    assert engine.get(dossier).due_at == at(2025, 9, 22, 9, 0)
    assert engine.clock_pauses(dossier) == []


def test_the_clock_is_stopped_while_waiting(engine: Engine, clock: FrozenClock,
                                            staff: dict[str, Actor]) -> None:
    code = register(engine, clock_policy="pause", legal_basis=["Nghị định 118/2025/NĐ-CP"])
    dossier = received(engine, staff["clerk"], code)
    engine.fire(dossier, "request_supplement", actor=staff["specialist"], reason="Thiếu")
    assert engine.get(dossier).deadlines.next_timer_at is None
    assert engine.sweep(at(2025, 12, 31, 9, 0)).total == 0           # no overdue while paused
    [pause] = engine.clock_pauses(dossier)
    assert pause.ended_at is None
    assert pause.legal_basis == "Nghị định 118/2025/NĐ-CP"  # the procedure's, by default


def test_supplement_before_reception_does_not_touch_the_clock(
        engine: Engine, clock: FrozenClock, staff: dict[str, Actor]) -> None:
    code = register(engine)
    dossier = engine.submit(code, applicant={"name": "A"}, channel="counter",
                            actor=staff["clerk"]).code
    engine.fire(dossier, "request_supplement", actor=staff["clerk"], reason="Thiếu tờ khai")
    clock.set(at(2025, 9, 10, 9, 0))
    engine.fire(dossier, "supplement", actor=staff["clerk"], on_behalf_of="cd01")
    engine.fire(dossier, "receive", actor=staff["clerk"])
    assert engine.get(dossier).due_at == at(2025, 9, 24, 9, 0)        # from the reception
    assert engine.clock_pauses(dossier) == []


def test_the_citizen_runs_out_of_time_to_supplement(engine: Engine, clock: FrozenClock,
                                                    staff: dict[str, Actor]) -> None:
    code = register(engine, supplement_deadline={"amount": 5, "unit": "working_days"})
    dossier = received(engine, staff["clerk"], code)
    waiting = engine.fire(dossier, "request_supplement", actor=staff["specialist"],
                          reason="Thiếu")
    assert waiting.deadlines.supplement_due_at == at(2025, 9, 15, 9, 0)
    assert engine.sweep(at(2025, 9, 15, 8, 59)).total == 0
    report = engine.sweep(at(2025, 9, 15, 9, 0))
    assert report.fired == {"supplement_expired": 1}
    refused = engine.get(dossier)
    assert refused.state == "refused"
    assert refused.deadlines.next_timer_at is None
    last = engine.history(dossier)[-1]
    assert (last.trigger, last.actor, last.role) == ("refuse", "system", "system")
    assert last.data["reason"] == "hết hạn bổ sung"
    assert engine.clock_pauses(dossier)[0].ended_at == at(2025, 9, 15, 9, 0)
    assert engine.sweep(at(2025, 9, 30, 9, 0)).total == 0
    assert engine.verify_audit(dossier)


def test_a_supplement_in_time_cancels_the_expiry(engine: Engine, clock: FrozenClock,
                                                 staff: dict[str, Actor]) -> None:
    code = register(engine, supplement_deadline={"amount": 5, "unit": "working_days"})
    dossier = _supplement_round(engine, clock, staff, code)
    assert engine.get(dossier).deadlines.supplement_due_at is None
    assert engine.sweep(at(2025, 9, 17, 9, 0)).fired == {}
    assert engine.get(dossier).state == "processing"


# --- warnings and overdue --------------------------------------------------------------------

def test_warning_then_overdue_each_once(engine: Engine, clock: FrozenClock,
                                        staff: dict[str, Actor]) -> None:
    dossier = received(engine, staff["clerk"], register(engine))
    assert engine.sweep(at(2025, 9, 19, 8, 59)).total == 0
    assert engine.sweep(at(2025, 9, 19, 9, 0)).fired == {"sla_warning": 1}
    assert engine.sweep(at(2025, 9, 19, 9, 0)).total == 0
    assert engine.get(dossier).deadlines.next_timer_at == at(2025, 9, 22, 9, 0)
    assert engine.sweep(at(2025, 9, 22, 9, 0)).fired == {"overdue": 1}
    assert engine.sweep(at(2025, 9, 29, 9, 0)).total == 0
    events = engine.history(dossier)
    assert [e.trigger for e in events[-2:]] == ["sla_warning", "overdue"]
    warning, overdue = events[-2:]
    assert warning.actor == overdue.actor == "system"
    assert warning.data["remaining"] == "Còn 1 ngày"
    assert overdue.data["appointment_at"] == "2025-09-22T09:00:00+07:00"
    assert engine.get(dossier).state == "processing"        # timers record, they don't move
    assert engine.verify_audit(dossier)


def test_a_late_sweep_sends_overdue_without_a_stale_warning(
        engine: Engine, staff: dict[str, Actor]) -> None:
    dossier = received(engine, staff["clerk"], register(engine))
    assert engine.sweep(at(2025, 10, 1, 9, 0)).fired == {"overdue": 1}
    assert engine.sweep(at(2025, 10, 1, 9, 0)).total == 0
    assert "sla_warning" not in triggers(engine, dossier)


def test_closed_dossiers_have_no_timers(engine: Engine, staff: dict[str, Actor]) -> None:
    dossier = received(engine, staff["clerk"], register(engine))
    engine.fire(dossier, "stop", actor=staff["leader"], reason="Dừng")
    assert engine.get(dossier).deadlines.next_timer_at is None
    assert engine.sweep(at(2025, 12, 1, 9, 0)).total == 0


def test_same_day_procedures_warn_only_with_a_short_offset(
        engine: Engine, staff: dict[str, Actor]) -> None:
    clerk = staff["clerk"]
    birth = engine.submit("1.001193", applicant={"name": "A"}, channel="counter", actor=clerk)
    birth = engine.fire(birth.code, "receive", actor=clerk)
    assert birth.due_at == at(2025, 9, 8, 17, 0)
    assert birth.deadlines.warning_at is None          # one working day before: no warning
    copy = engine.submit("2.000815", applicant={"name": "A"}, channel="counter", actor=clerk,
                         fee_basis={"pages": 1})
    copy = engine.fire(copy.code, "receive", actor=clerk)
    assert copy.deadlines.warning_at == at(2025, 9, 8, 15, 0)   # warning_offset: 2 hours
    assert engine.sweep(at(2025, 9, 8, 17, 0)).fired == {"overdue": 2}


def test_remaining_text(engine: Engine, staff: dict[str, Actor]) -> None:
    dossier = received(engine, staff["clerk"], register(engine))
    assert engine.remaining_text(dossier, at(2025, 9, 18, 14, 0)) == "Còn 1 ngày 5 giờ"
    assert engine.remaining_text(dossier, at(2025, 9, 23, 11, 0)) == "Quá 1 ngày 2 giờ"


# --- apology letters -------------------------------------------------------------------------

def test_an_apology_letter_moves_the_appointment_once_and_late_stays_late(
        engine: Engine, clock: FrozenClock, staff: dict[str, Actor]) -> None:
    dossier = received(engine, staff["clerk"], register(engine))
    clock.set(at(2025, 9, 19, 10, 0))
    extended = engine.fire(dossier, "extend", actor=staff["leader"],
                           reason="Cần xác minh thêm", appointment_at=at(2025, 9, 26, 9, 0))
    d = extended.deadlines
    assert d.appointment_at == at(2025, 9, 26, 9, 0)
    assert d.due_at == at(2025, 9, 22, 9, 0)
    assert d.extended
    assert d.warning_at == at(2025, 9, 25, 9, 0)
    letter = engine.history(dossier)[-1]
    assert letter.trigger == "extend"
    assert letter.data["previous_appointment_at"] == "2025-09-22T09:00:00+07:00"
    with pytest.raises(TransitionNotAllowed, match="at most once"):
        engine.extend(dossier, actor=staff["leader"], reason="Lần nữa",
                      appointment_at=at(2025, 10, 3, 9, 0))
    assert engine.sweep(at(2025, 9, 22, 9, 0)).total == 0   # the citizen was told 26/9
    assert engine.sweep(at(2025, 9, 25, 9, 0)).fired == {"sla_warning": 1}

    clock.set(at(2025, 9, 24, 9, 0))
    engine.fire(dossier, "approve", actor=staff["specialist"])
    engine.fire(dossier, "sign", actor=staff["leader"])
    done = engine.fire(dossier, "return_result", actor=staff["clerk"])
    assert done.deadlines.timeliness == "late"               # after the original 22/9


@pytest.mark.parametrize(("who", "appointment", "error", "message"), [
    ("citizen", at(2025, 9, 26, 9, 0), PermissionDenied, "clerk or leader"),
    ("specialist", at(2025, 9, 26, 9, 0), PermissionDenied, "clerk or leader"),
    ("leader", at(2025, 9, 20, 9, 0), InvalidInput, "later than the current"),
    ("leader", None, InvalidInput, "needs appointment_at"),
])
def test_bad_apology_letters_change_nothing(
        engine: Engine, citizen: Actor, staff: dict[str, Actor], who: str,
        appointment: datetime | None, error: type[Exception], message: str) -> None:
    code = register(engine)
    dossier = engine.submit(code, applicant={"name": "A"}, channel="online", actor=citizen,
                            agency=AGENCY).code
    with pytest.raises(TransitionNotAllowed, match="clock has started"):
        engine.extend(dossier, actor=staff["leader"], reason="x",
                      appointment_at=at(2025, 9, 26, 9, 0))
    engine.fire(dossier, "receive", actor=staff["clerk"])
    before = (engine.get(dossier), engine.history(dossier))
    actor = citizen if who == "citizen" else staff[who]
    data: dict[str, Any] = {"reason": "Chậm"}
    if appointment is not None:
        data["appointment_at"] = appointment
    with pytest.raises(error, match=message):
        engine.fire(dossier, "extend", actor=actor, **data)
    assert (engine.get(dossier), engine.history(dossier)) == before


# --- the sweep -------------------------------------------------------------------------------

def test_sweep_works_in_batches(engine: Engine, staff: dict[str, Actor]) -> None:
    code = register(engine)
    dossiers = [received(engine, staff["clerk"], code) for _ in range(7)]
    report = engine.sweep(at(2025, 9, 22, 9, 0), batch=3)
    assert report.fired == {"overdue": 7}
    assert all(triggers(engine, d)[-1] == "overdue" for d in dossiers)
    with pytest.raises(InvalidInput):
        engine.sweep(at(2025, 9, 22, 9, 0), batch=0)


def test_a_sweep_commits_when_its_time_is_up_and_goes_on(
        engine: Engine, staff: dict[str, Actor], monkeypatch: pytest.MonkeyPatch) -> None:
    code = register(engine)
    dossiers = [received(engine, staff["clerk"], code) for _ in range(5)]
    monkeypatch.setattr(timers, "BATCH_SECONDS", 0.0)  # every fire uses up a batch's time
    transactions = {"n": 0}
    real = engine.kernel.db.transaction

    def counted(*, write: bool = True) -> Any:
        transactions["n"] += 1
        return real(write=write)

    monkeypatch.setattr(engine.kernel.db, "transaction", counted)
    report = engine.sweep(at(2025, 9, 22, 9, 0))
    assert report.fired == {"overdue": 5}
    assert transactions["n"] >= 5  # each transaction fired one and committed
    assert all(triggers(engine, d)[-1] == "overdue" for d in dossiers)


def test_a_step_that_moves_no_deadline_keeps_the_deadlines_it_had(
        engine: Engine, staff: dict[str, Actor]) -> None:
    from dossier import sla
    from dossier.states import State, Trigger

    code = received(engine, staff["clerk"], register(engine))
    dossier = engine.get(code)
    change = sla.on_transition(
        dossier.deadlines, procedure=engine.procedure("9.000001", "1"), channel="counter",
        trigger=Trigger.APPROVE, source=State.PROCESSING, target=State.AWAITING_SIGNATURE,
        data={}, at=at(2025, 9, 9, 9, 0), calendar=engine.calendar_for(AGENCY))
    assert change.deadlines is dossier.deadlines
    assert change.event_data["timeliness"] == "early"


def test_a_sweep_that_dies_midway_loses_nothing(engine: Engine, staff: dict[str, Actor],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    code = register(engine)
    dossiers = [received(engine, staff["clerk"], code) for _ in range(4)]
    real = timers._fire_timer
    calls = {"n": 0}

    def dies_on_the_third(kernel: Any, tx: Any, dossier: str, now: datetime) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the worker is killed
        return real(kernel, tx, dossier, now)

    monkeypatch.setattr(timers, "_fire_timer", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        engine.sweep(at(2025, 9, 22, 9, 0))
    assert all("overdue" not in triggers(engine, d) for d in dossiers)
    monkeypatch.setattr(timers, "_fire_timer", real)
    assert engine.sweep(at(2025, 9, 22, 9, 0)).fired == {"overdue": 4}


def test_two_workers_sweeping_at_once_fire_each_timer_once(
        db_url: str, clock: FrozenClock, staff: dict[str, Actor]) -> None:
    first = Engine(db_url, clock=clock)
    second = Engine(db_url, clock=clock)
    code = register(first)
    dossiers = [received(first, staff["clerk"], code) for _ in range(40)]
    due = at(2025, 9, 22, 9, 0)
    errors: list[BaseException] = []

    def work(engine: Engine) -> None:
        for _ in range(3):
            try:
                engine.sweep(due, batch=5)
            except ConcurrencyConflict:
                continue  # SQLite: the other worker holds the write lock; try again
            except BaseException as exc:
                errors.append(exc)

    workers = [threading.Thread(target=work, args=(e,)) for e in (first, second)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    first.sweep(due)
    assert not errors
    counts = [triggers(first, d).count("overdue") for d in dossiers]
    assert counts == [1] * len(dossiers)
    first.close()
    second.close()


def test_the_sweep_uses_the_clock_by_default(engine: Engine, clock: FrozenClock,
                                             staff: dict[str, Actor]) -> None:
    received(engine, staff["clerk"], register(engine))
    clock.advance(timedelta(days=30))
    assert engine.sweep().fired == {"overdue": 1}
