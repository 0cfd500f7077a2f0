"""Supplement requests and the apology letter follow the procedure version's rules: one
supplement request by default, an optional limit in working days after reception, and the
letter only before the due date (at least ``apology_before`` before it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from conftest import AGENCY, make_procedure

from dossier import Actor, Engine, GuardFailed, ProcedureDefinitionError, TransitionNotAllowed
from dossier.clock import LOCAL_TZ
from dossier.procedure import lint, parse_procedure
from dossier.procedure.model import (
    DEFAULT_MAX_SUPPLEMENT_REQUESTS,
    DEFAULT_SUPPLEMENT_REQUEST_WITHIN_DAYS,
)
from dossier.testing import FrozenClock

CLERK = Actor(id="nv01", role="clerk", agency=AGENCY)
SPECIALIST = Actor(id="cv01", role="specialist", agency=AGENCY)
LEADER = Actor(id="ld01", role="leader", agency=AGENCY)
STEPS = ["receive", "process", "return"]


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)  # type: ignore[misc]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(at(2025, 9, 8, 9, 0))  # a Monday


@pytest.fixture
def engine(clock: FrozenClock) -> Iterator[Engine]:
    eng = Engine.in_memory(clock=clock)
    yield eng
    eng.close()


def received(engine: Engine, code: str, **options: Any) -> str:
    engine.register(make_procedure(code, options.pop("steps", STEPS), **options))
    dossier = engine.submit(code, applicant={"name": "Nguyễn Văn A"}, channel="counter",
                            actor=CLERK)
    return engine.fire(dossier.code, "receive", actor=CLERK).code


def supplement_round(engine: Engine, code: str) -> None:
    engine.fire(code, "request_supplement", actor=SPECIALIST, reason="Thiếu bản vẽ")
    engine.fire(code, "supplement", actor=CLERK)


def unchanged(engine: Engine, code: str) -> tuple[Any, Any]:
    return engine.get(code), engine.history(code)


# --- the defaults and the lint ---------------------------------------------------------------

def test_the_defaults_are_one_request_and_no_time_limit() -> None:
    assert DEFAULT_MAX_SUPPLEMENT_REQUESTS == 1
    assert DEFAULT_SUPPLEMENT_REQUEST_WITHIN_DAYS is None
    procedure = make_procedure("9.300001", STEPS)
    assert procedure.max_supplement_requests == 1
    assert procedure.supplement_request_within_days is None
    assert procedure.apology_before is None
    assert lint(procedure) == []


def test_the_lint_warns_when_a_procedure_overrides_a_legal_default() -> None:
    procedure = make_procedure("9.300002", STEPS, max_supplement_requests=2,
                               supplement_request_within_days=5)
    warnings = {f.path: f.message for f in lint(procedure) if f.level == "warning"}
    assert "hướng dẫn một lần" in warnings["max_supplement_requests"]
    assert "cite the law" in warnings["supplement_request_within_days"]
    assert all(f.level == "warning" for f in lint(procedure))


def test_an_apology_lead_time_is_a_setting_without_a_warning() -> None:
    procedure = make_procedure("9.300003", STEPS,
                               apology_before={"amount": 4, "unit": "working_hours"})
    assert lint(procedure) == []


@pytest.mark.parametrize(("field", "value", "message"), [
    ("max_supplement_requests", 0, "greater than or equal to 1"),
    ("supplement_request_within_days", 0, "greater than or equal to 1"),
    ("apology_before", {"amount": 2, "unit": "calendar_days"}, "working_hours or working_days"),
])
def test_bad_rule_values_are_schema_errors(field: str, value: Any, message: str) -> None:
    with pytest.raises(ProcedureDefinitionError, match=message) as caught:
        make_procedure("9.300004", STEPS, **{field: value})
    assert caught.value.errors[0][0].startswith(field)


# --- how many supplement requests ------------------------------------------------------------

def test_a_second_supplement_request_is_refused_by_default(engine: Engine) -> None:
    code = received(engine, "9.300010")
    supplement_round(engine, code)
    before = unchanged(engine, code)
    with pytest.raises(GuardFailed) as caught:
        engine.fire(code, "request_supplement", actor=SPECIALIST, reason="Thiếu thêm")
    assert caught.value.guard == "supplement_requests_left"
    assert "max_supplement_requests" in str(caught.value)
    assert unchanged(engine, code) == before


def test_a_request_before_reception_counts_too(engine: Engine) -> None:
    engine.register(make_procedure("9.300011", STEPS))
    code = engine.submit("9.300011", applicant={"name": "A"}, channel="counter",
                         actor=CLERK).code
    engine.fire(code, "request_supplement", actor=CLERK, reason="Thiếu tờ khai")
    engine.fire(code, "supplement", actor=CLERK)
    engine.fire(code, "receive", actor=CLERK)
    with pytest.raises(GuardFailed, match="supplement_requests_left"):
        engine.fire(code, "request_supplement", actor=SPECIALIST, reason="Thiếu bản vẽ")


def test_a_procedure_may_allow_more_rounds(engine: Engine) -> None:
    code = received(engine, "9.300012", max_supplement_requests=2)
    supplement_round(engine, code)
    supplement_round(engine, code)
    with pytest.raises(GuardFailed, match="supplement_requests_left"):
        engine.fire(code, "request_supplement", actor=SPECIALIST, reason="Lần ba")
    assert engine.verify_audit(code)


# --- within how many working days of reception ----------------------------------------------

def test_a_request_within_the_days_after_reception_is_allowed(
        engine: Engine, clock: FrozenClock) -> None:
    code = received(engine, "9.300020", supplement_request_within_days=3)
    clock.set(at(2025, 9, 11, 9, 0))  # Thursday: exactly 3 working days after Monday 09:00
    assert engine.fire(code, "request_supplement", actor=SPECIALIST,
                       reason="Thiếu bản vẽ").state == "awaiting_supplement"


def test_a_request_after_the_days_is_refused_with_the_last_moment(
        engine: Engine, clock: FrozenClock) -> None:
    code = received(engine, "9.300021", supplement_request_within_days=3)
    clock.set(at(2025, 9, 11, 9, 1))
    before = unchanged(engine, code)
    with pytest.raises(GuardFailed) as caught:
        engine.fire(code, "request_supplement", actor=SPECIALIST, reason="Thiếu bản vẽ")
    assert caught.value.guard == "supplement_request_in_time"
    assert "09:00 11/09/2025" in str(caught.value)
    assert unchanged(engine, code) == before


def test_the_days_count_working_days_on_the_agency_calendar(
        engine: Engine, clock: FrozenClock) -> None:
    clock.set(at(2025, 8, 29, 9, 0))  # Friday before the National Day holiday (1–2/9/2025)
    code = received(engine, "9.300022", supplement_request_within_days=2)
    clock.set(at(2025, 9, 3, 8, 59))  # Mon 1 and Tue 2 are days off: Fri, Wed count
    assert engine.fire(code, "request_supplement", actor=SPECIALIST,
                       reason="Thiếu").state == "awaiting_supplement"


def test_before_reception_the_time_limit_does_not_apply(
        engine: Engine, clock: FrozenClock) -> None:
    engine.register(make_procedure("9.300023", STEPS, supplement_request_within_days=1))
    code = engine.submit("9.300023", applicant={"name": "A"}, channel="counter",
                         actor=CLERK).code
    clock.set(at(2025, 9, 30, 9, 0))
    assert engine.fire(code, "request_supplement", actor=CLERK,
                       reason="Thiếu").state == "awaiting_supplement"


# --- the rules come from the dossier's version -----------------------------------------------

def test_a_dossier_keeps_the_rules_of_the_version_it_was_submitted_under(
        engine: Engine, clock: FrozenClock) -> None:
    engine.register(make_procedure("9.300030", STEPS, version="old", effective_from="2025-01-01",
                                   effective_until="2025-09-30", max_supplement_requests=2))
    engine.register(make_procedure("9.300030", STEPS, version="new",
                                   effective_from="2025-10-01"))
    old = engine.submit("9.300030", applicant={"name": "A"}, channel="counter",
                        actor=CLERK).code
    engine.fire(old, "receive", actor=CLERK)
    clock.set(at(2025, 10, 1, 9, 0))
    new = engine.submit("9.300030", applicant={"name": "B"}, channel="counter",
                        actor=CLERK).code
    engine.fire(new, "receive", actor=CLERK)
    for code in (old, new):
        supplement_round(engine, code)
    supplement_round(engine, old)                     # v"old" allows two rounds
    with pytest.raises(GuardFailed, match="supplement_requests_left"):
        engine.fire(new, "request_supplement", actor=SPECIALIST, reason="Lần hai")


# --- the apology letter ------------------------------------------------------------------------

def test_an_apology_letter_before_the_due_date_is_issued(
        engine: Engine, clock: FrozenClock) -> None:
    code = received(engine, "9.300040")       # due Monday 22/9 09:00 (10 working days)
    clock.set(at(2025, 9, 22, 8, 59))
    after = engine.extend(code, actor=LEADER, reason="Cần xác minh",
                          appointment_at=at(2025, 9, 26, 9, 0))
    assert after.deadlines.extended


@pytest.mark.parametrize("now", [at(2025, 9, 22, 9, 0), at(2025, 9, 23, 10, 0)])
def test_an_apology_letter_at_or_after_the_due_date_is_refused(
        engine: Engine, clock: FrozenClock, now: datetime) -> None:
    code = received(engine, "9.300041")
    clock.set(now)
    before = unchanged(engine, code)
    with pytest.raises(TransitionNotAllowed, match="before the due date; the last moment was "
                                                   "09:00 22/09/2025"):
        engine.extend(code, actor=LEADER, reason="Chậm", appointment_at=at(2025, 9, 30, 9, 0))
    assert unchanged(engine, code) == before


def test_the_agency_lead_time_moves_the_last_moment_earlier(
        engine: Engine, clock: FrozenClock) -> None:
    code = received(engine, "9.300042", apology_before={"amount": 1, "unit": "working_days"})
    clock.set(at(2025, 9, 19, 9, 1))           # less than a working day before 22/9 09:00
    with pytest.raises(TransitionNotAllowed, match=r"09:00 19/09/2025 \(1 working day before"):
        engine.fire(code, "extend", actor=LEADER, reason="Chậm",
                    appointment_at=at(2025, 9, 30, 9, 0))
    clock.set(at(2025, 9, 19, 9, 0))
    assert engine.fire(code, "extend", actor=LEADER, reason="Chậm",
                       appointment_at=at(2025, 9, 30, 9, 0)).deadlines.extended


def test_the_rules_are_read_from_a_procedure_file() -> None:
    procedure, warnings = parse_procedure({
        "code": "9.300050", "name": "Thử", "field": "Thử", "agency_level": "commune",
        "service_level": "offline", "version": "1", "effective_from": "2025-07-01",
        "processing_time": {"amount": 5, "unit": "working_days"},
        "max_supplement_requests": 2, "supplement_request_within_days": 3,
        "apology_before": {"amount": 4, "unit": "working_hours"},
        "steps": ["receive", "return"]})
    assert (procedure.max_supplement_requests, procedure.supplement_request_within_days) == (2, 3)
    assert procedure.apology_before is not None
    assert procedure.apology_before.amount == 4
    assert {w.path for w in warnings} == {"max_supplement_requests",
                                          "supplement_request_within_days"}


# --- special cases in the lint -----------------------------------------------------------------

def test_the_lint_checks_special_cases() -> None:
    case = {"id": "gap", "name": "Gấp", "processing_time": {"amount": 1, "unit": "working_days"}}
    with pytest.raises(ProcedureDefinitionError, match="case id 'gap' is used twice"):
        make_procedure("9.300060", STEPS, cases=[case, case])
    procedure = make_procedure("9.300061", STEPS, cases=[case],
                               budgets={"process": {"amount": 2, "unit": "working_days"}})
    warnings = {f.path: f.message for f in lint(procedure)}
    assert "more than case 'gap' allows" in warnings["cases[0].processing_time"]
    assert "which article" in warnings["cases[0].legal_basis"]
    same = {**case, "processing_time": {"amount": 10, "unit": "working_days"},
            "legal_basis": "Điều 1"}
    assert [f.path for f in lint(make_procedure("9.300062", STEPS, cases=[same]))] == [
        "cases[0].processing_time"]


def test_a_shown_component_cannot_be_digitised() -> None:
    with pytest.raises(ProcedureDefinitionError, match="only shown"):
        make_procedure("9.300063", ["receive", "digitise", "return"], components=[
            {"id": "cccd", "name": "Căn cước", "form": "shown", "must_digitise": True}])
