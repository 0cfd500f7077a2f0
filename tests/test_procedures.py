"""Procedure files: loading, schema errors naming file and field, lint, and the CLI around them."""

from __future__ import annotations

import copy
import json
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

from dossier import load_procedure
from dossier.cli import main
from dossier.errors import ProcedureDefinitionError
from dossier.procedure import (
    AgencyLevel,
    FeeKind,
    Procedure,
    ServiceLevel,
    TimeUnit,
    lint,
    read_procedure,
)
from dossier.states import Role, Step

# A small valid procedure: receive → pay → process → sign → return, 5 working days, 50,000 đ.
BASE: dict[str, Any] = {
    "code": "1.000001",
    "name": "Thủ tục thử nghiệm",
    "field": "Thử nghiệm",
    "agency_level": "commune",
    "service_level": "partial_online",
    "version": "1",
    "effective_from": date(2025, 7, 1),
    "legal_basis": ["Nghị định 118/2025/NĐ-CP"],
    "processing_time": {"amount": 5, "unit": "working_days"},
    "fee": {"kind": "flat", "name": "Lệ phí thử", "amount": 50_000},
    "components": [{"id": "don", "name": "Đơn đề nghị", "form": "original"}],
    "steps": [
        {"name": "receive", "role": "clerk"},
        {"name": "pay", "role": "clerk"},
        {"name": "process", "role": "specialist"},
        {"name": "sign", "role": "leader"},
        {"name": "return", "role": "clerk"},
    ],
}


def toml_value(value: Any) -> str:
    """Just enough TOML for these tests: scalars, dates, arrays and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | date):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


def to_toml(data: dict[str, Any]) -> str:
    return "".join(f"{key} = {toml_value(value)}\n" for key, value in data.items())


def base() -> dict[str, Any]:
    return copy.deepcopy(BASE)


@pytest.fixture
def write(tmp_path: Path) -> Any:
    """``write(data)`` → path of a TOML file holding ``data`` (a fresh name each call)."""
    counter = iter(range(1000))

    def _write(data: dict[str, Any], name: str | None = None) -> Path:
        path = tmp_path / (name or f"procedure-{next(counter)}.toml")
        path.write_text(to_toml(data), encoding="utf-8")
        return path
    return _write


def errors_of(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(ProcedureDefinitionError) as info:
        load_procedure(path)
    assert info.value.file == str(path)
    return info.value.errors


def paths_of(path: Path) -> list[str]:
    return [field for field, _ in errors_of(path)]


# --- loading --------------------------------------------------------------------------------

def test_a_valid_file_loads_into_a_procedure(write: Any) -> None:
    procedure = load_procedure(write(base()))
    assert isinstance(procedure, Procedure)
    assert procedure.code == "1.000001"
    assert procedure.agency_level is AgencyLevel.COMMUNE
    assert procedure.service_level is ServiceLevel.PARTIAL_ONLINE
    assert procedure.effective_from == date(2025, 7, 1)
    assert procedure.effective_until is None
    assert [(s.name, s.role) for s in procedure.steps] == [
        (Step.RECEIVE, Role.CLERK), (Step.PAY, Role.CLERK), (Step.PROCESS, Role.SPECIALIST),
        (Step.SIGN, Role.LEADER), (Step.RETURN, Role.CLERK)]
    assert procedure.fee is not None
    assert procedure.fee.kind is FeeKind.FLAT
    assert procedure.fee.amount == 50_000


def test_load_procedure_accepts_a_string_path(write: Any) -> None:
    assert load_procedure(str(write(base()))).code == "1.000001"


def test_steps_compare_equal_to_their_names_and_roles(write: Any) -> None:
    procedure = load_procedure(write(base()))
    assert [s.name for s in procedure.steps] == ["receive", "pay", "process", "sign", "return"]
    assert procedure.steps[3].role == "leader"
    assert procedure.steps[2].trigger == "approve"


def test_a_cutoff_is_read_as_a_local_time(write: Any) -> None:
    data = base()
    data["processing_time"] = {"amount": 0, "unit": "same_day", "cutoff": "15:00"}
    procedure = load_procedure(write(data))
    assert procedure.processing_time.unit is TimeUnit.SAME_DAY
    assert procedure.processing_time.cutoff == time(15, 0)


def test_a_single_legal_basis_string_becomes_a_one_item_tuple(write: Any) -> None:
    data = base()
    data["legal_basis"] = "Luật Hộ tịch 2014"
    assert load_procedure(write(data)).legal_basis == ("Luật Hộ tịch 2014",)


def test_the_same_content_has_the_same_hash(write: Any) -> None:
    first, second = load_procedure(write(base())), load_procedure(write(base()))
    assert first.content_hash == second.content_hash
    changed = base()
    changed["fee"]["amount"] = 60_000
    assert load_procedure(write(changed)).content_hash != first.content_hash


def test_an_unknown_role_names_the_file_and_the_field_path(write: Any) -> None:
    data = base()
    data["steps"][3]["role"] = "leaderr"
    path = write(data, name="sai-vai-tro.toml")
    with pytest.raises(ProcedureDefinitionError) as info:
        load_procedure(path)
    message = str(info.value)
    assert "steps[3].role: unknown role 'leaderr'" in message
    assert "sai-vai-tro.toml" in message
    assert message.startswith(f"{path}: steps[3].role: unknown role 'leaderr' (expected one of: ")


def test_a_missing_file_raises_a_definition_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "khong-co.toml"
    with pytest.raises(ProcedureDefinitionError) as info:
        load_procedure(path)
    assert info.value.file == str(path)
    assert str(info.value) == f"{path}: cannot read file: No such file or directory"


def test_bad_toml_raises_a_definition_error(tmp_path: Path) -> None:
    path = tmp_path / "hong.toml"
    path.write_text('code = "2.000815\nname = ', encoding="utf-8")
    with pytest.raises(ProcedureDefinitionError) as info:
        load_procedure(path)
    assert str(info.value).startswith(f"{path}: invalid TOML: ")


def test_a_file_that_is_not_utf8_raises_a_definition_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "Đăng ký"'.encode("utf-16"))
    with pytest.raises(ProcedureDefinitionError) as info:
        load_procedure(path)
    assert str(info.value) == f"{path}: file is not UTF-8 text"


def test_every_schema_error_is_reported_at_once(write: Any) -> None:
    data = base()
    data["code"] = "2815"
    data["agency_level"] = "huyen"
    data["steps"][1]["role"] = "cashier"
    assert sorted(paths_of(write(data))) == ["agency_level", "code", "steps[1].role"]


def test_a_missing_required_field_is_named(write: Any) -> None:
    data = base()
    del data["name"]
    assert errors_of(write(data)) == [("name", "Field required")]


def test_a_misspelt_field_is_refused_not_ignored(write: Any) -> None:
    data = base()
    data["steps"][0]["budjet"] = {"amount": 1, "unit": "working_hours"}
    assert errors_of(write(data)) == [("steps[0].budjet", "unknown field (check its spelling)")]


def test_a_malformed_national_code_is_refused(write: Any) -> None:
    data = base()
    data["code"] = "2.815"
    assert errors_of(write(data)) == [
        ("code", "national procedure code '2.815' must look like '2.000815'")]


def test_a_malformed_cutoff_is_refused(write: Any) -> None:
    data = base()
    data["processing_time"] = {"amount": 0, "unit": "same_day", "cutoff": "3pm"}
    assert errors_of(write(data)) == [
        ("processing_time.cutoff", "expected a time as 'HH:MM', got '3pm'")]


def test_an_unknown_time_unit_is_refused(write: Any) -> None:
    data = base()
    data["processing_time"] = {"amount": 5, "unit": "ngay"}
    assert paths_of(write(data)) == ["processing_time.unit"]


def test_a_zero_amount_is_refused_for_units_other_than_same_day(write: Any) -> None:
    data = base()
    data["processing_time"] = {"amount": 0, "unit": "working_days"}
    assert errors_of(write(data)) == [
        ("processing_time", "amount must be positive for unit 'working_days'")]


def test_fee_tiers_with_a_gap_are_refused(write: Any) -> None:
    data = base()
    data["fee"] = {"kind": "per_page", "tiers": [
        {"from_page": 1, "to_page": 2, "per_page": 2000}, {"from_page": 4, "per_page": 1000}]}
    [(field, message)] = errors_of(write(data))
    assert field == "fee"
    assert message.startswith("tiers[1].from_page is 4, expected 3")


def test_extra_copy_from_without_its_amount_is_refused(write: Any) -> None:
    data = base()
    data["fee"]["extra_copy_from"] = 3
    assert errors_of(write(data)) == [
        ("fee", "give both extra_copy_from and extra_copy_amount, or neither")]


def test_effective_until_before_effective_from_is_refused(write: Any) -> None:
    data = base()
    data["effective_until"] = date(2025, 6, 30)
    assert errors_of(write(data)) == [
        ("effective_until", "2025-06-30 is before effective_from (2025-07-01); it is the last "
                            "day in force, inclusive")]


def test_effective_until_may_equal_effective_from(write: Any) -> None:
    data = base()
    data["effective_until"] = date(2025, 7, 1)
    procedure = load_procedure(write(data))
    assert procedure.in_force_on(date(2025, 7, 1))
    assert not procedure.in_force_on(date(2025, 7, 2))


def test_a_component_id_must_be_a_slug(write: Any) -> None:
    data = base()
    data["components"][0]["id"] = "Đơn"
    assert paths_of(write(data)) == ["components[0].id"]


# --- lint -----------------------------------------------------------------------------------

def test_an_unknown_step_name_is_an_error(write: Any) -> None:
    data = base()
    data["steps"][2]["name"] = "approve"
    [(field, message)] = errors_of(write(data))
    assert field == "steps[2].name"
    assert message.startswith("unknown step 'approve' (expected one of: receive, digitise, ")


def test_a_duplicated_step_is_an_error(write: Any) -> None:
    data = base()
    data["steps"].insert(3, {"name": "process", "role": "specialist"})
    assert errors_of(write(data)) == [
        ("steps[3].name", "step 'process' is listed twice (first at steps[2])")]


def test_a_pay_step_with_a_zero_fee_is_an_error(write: Any) -> None:
    data = base()
    data["fee"]["amount"] = 0
    assert errors_of(write(data)) == [
        ("fee", "the procedure has a 'pay' step but no fee rule that charges money")]


def test_a_pay_step_without_a_fee_rule_is_an_error(write: Any) -> None:
    data = base()
    del data["fee"]
    assert errors_of(write(data)) == [
        ("fee", "the procedure has a 'pay' step but no fee rule that charges money")]


def test_a_pay_step_with_an_exempt_fee_is_an_error(write: Any) -> None:
    data = base()
    data["fee"] = {"kind": "exempt", "reason": "miễn"}
    assert paths_of(write(data)) == ["fee"]


def test_a_fee_without_a_pay_step_is_an_error(write: Any) -> None:
    data = base()
    del data["steps"][1]
    assert errors_of(write(data)) == [
        ("fee", "the procedure charges a fee but has no 'pay' step to collect it")]


def test_an_exempt_fee_without_a_pay_step_is_fine(write: Any) -> None:
    data = base()
    del data["steps"][1]
    data["fee"] = {"kind": "exempt", "reason": "Miễn lệ phí"}
    procedure, warnings = read_procedure(write(data))
    assert procedure.fee is not None
    assert procedure.fee.kind is FeeKind.EXEMPT
    assert warnings == []


def test_a_certify_step_without_a_certifiable_component_is_an_error(write: Any) -> None:
    data = base()
    data["steps"].insert(1, {"name": "certify", "role": "certifier"})
    assert errors_of(write(data)) == [
        ("components", "the procedure has a 'certify' step but no component may_certify")]


def test_step_budgets_past_the_processing_time_are_an_error(write: Any) -> None:
    data = base()
    data["processing_time"] = {"amount": 1, "unit": "working_days"}
    data["steps"][0]["budget"] = {"amount": 4, "unit": "working_hours"}
    data["steps"][2]["budget"] = {"amount": 5, "unit": "working_hours"}
    assert errors_of(write(data)) == [
        ("steps", "step budgets add up to 9 working hours, more than the processing time "
                  "allows (8 working hours)")]


def test_step_budgets_that_exactly_fill_the_processing_time_are_fine(write: Any) -> None:
    data = base()
    data["processing_time"] = {"amount": 2, "unit": "working_days"}
    data["steps"][0]["budget"] = {"amount": 4, "unit": "working_hours"}
    data["steps"][2]["budget"] = {"amount": 1, "unit": "working_days"}
    data["steps"][3]["budget"] = {"amount": 4, "unit": "working_hours"}
    procedure, warnings = read_procedure(write(data))
    assert procedure.steps[2].budget is not None
    assert warnings == []


def test_the_first_step_must_be_receive(write: Any) -> None:
    data = base()
    data["steps"][0], data["steps"][2] = data["steps"][2], data["steps"][0]
    assert errors_of(write(data)) == [
        ("steps[0].name", "the first step must be 'receive', not 'process'")]


def test_the_last_step_must_be_return(write: Any) -> None:
    data = base()
    data["steps"].pop()
    assert errors_of(write(data)) == [
        ("steps[3].name", "the last step must be 'return', not 'sign'")]


def test_a_procedure_without_steps_is_an_error(write: Any) -> None:
    data = base()
    data["steps"] = []
    assert errors_of(write(data)) == [
        ("steps", "a procedure needs at least the steps 'receive' and 'return'")]


def test_every_lint_error_is_reported_at_once(write: Any) -> None:
    data = base()
    data["steps"] = [{"name": "process", "role": "specialist"},
                     {"name": "sign", "role": "leader"}]
    assert paths_of(write(data)) == ["steps[0].name", "steps[1].name", "fee"]


def test_warnings_do_not_stop_loading(write: Any) -> None:
    data = base()
    data["components"][0]["may_certify"] = True
    data["components"][0]["must_digitise"] = True
    path = write(data)
    procedure = load_procedure(path)
    _, warnings = read_procedure(path)
    assert [(w.level, w.path) for w in warnings] == [("warning", "components")] * 2
    assert "may_certify but there is no 'certify' step" in warnings[0].message
    assert "must_digitise but there is no 'digitise' step" in warnings[1].message
    assert lint(procedure) == warnings


def test_a_digitise_step_with_nothing_to_digitise_is_a_warning(write: Any) -> None:
    data = base()
    data["steps"].insert(1, {"name": "digitise", "role": "clerk"})
    _, warnings = read_procedure(write(data))
    assert [w.message for w in warnings] == [
        "the 'digitise' step has no component that must_digitise"]


def test_a_same_day_amount_is_a_warning(write: Any) -> None:
    data = base()
    data["processing_time"] = {"amount": 1, "unit": "same_day"}
    _, warnings = read_procedure(write(data))
    assert [(w.path, w.message) for w in warnings] == [
        ("processing_time.amount", "same_day ignores amount; write 0")]


def test_a_budget_in_calendar_days_is_a_warning(write: Any) -> None:
    data = base()
    data["steps"][2]["budget"] = {"amount": 2, "unit": "calendar_days"}
    _, warnings = read_procedure(write(data))
    assert [w.path for w in warnings] == ["steps[2].budget.unit"]


def test_sla_fields_load_with_their_defaults(write: Any) -> None:
    procedure = load_procedure(write(base()))
    assert procedure.clock_policy == "restart"
    assert procedure.online_processing_time is None
    assert procedure.supplement_deadline is None
    assert (procedure.warning_offset.amount, procedure.warning_offset.unit) == (1, "working_days")
    data = base()
    data.update(online_processing_time={"amount": 3, "unit": "working_days"},
                clock_policy="pause", supplement_deadline={"amount": 5, "unit": "working_days"},
                warning_offset={"amount": 4, "unit": "working_hours"})
    procedure = load_procedure(write(data))
    assert procedure.processing_time_for("online").amount == 3
    assert procedure.processing_time_for("counter") == procedure.processing_time
    assert procedure.clock_policy == "pause"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("clock_policy", "freeze", "Input should be 'restart', 'pause' or 'none'"),
    ("warning_offset", {"amount": 1, "unit": "calendar_days"}, "working_hours or working_days"),
    ("supplement_deadline", {"amount": 0, "unit": "working_days"}, "must be positive"),
])
def test_bad_sla_fields_are_errors(write: Any, field: str, value: Any, message: str) -> None:
    data = base()
    data[field] = value
    errors = errors_of(write(data))
    assert [path for path, _ in errors] == [field]
    assert message in errors[0][1]


@pytest.mark.parametrize(("changes", "path", "message"), [
    ({"online_processing_time": {"amount": 30, "unit": "working_days"}},
     "online_processing_time", "more time than counter ones"),
    ({"warning_offset": {"amount": 20, "unit": "working_days"}},
     "warning_offset", "no warning is sent"),
    ({"clock_policy": "none", "supplement_deadline": {"amount": 5, "unit": "working_days"}},
     "supplement_deadline", "keeps running"),
])
def test_sla_lint_warnings(write: Any, changes: dict[str, Any], path: str,
                           message: str) -> None:
    data = base()
    data.update(changes)
    _, warnings = read_procedure(write(data))
    assert [w.path for w in warnings] == [path]
    assert message in warnings[0].message


def test_lint_lists_errors_before_warnings() -> None:
    data = base()
    data["components"][0]["may_certify"] = True
    procedure = Procedure.model_validate(data)
    broken = procedure.model_copy(update={"steps": procedure.steps[1:]})
    assert [f.level for f in lint(broken)] == ["error", "warning"]


# --- dossier validate / diagram ---------------------------------------------------------------

def test_validate_a_valid_file_exits_0_and_says_ok(
        write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(base())
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: ok (1.000001 v1, 5 steps)\n"
    assert err == ""


def test_validate_prints_every_error_as_file_field_message_and_exits_1(
        write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    data = base()
    data["code"] = "2815"
    data["steps"][3]["role"] = "leaderr"
    path = write(data)
    assert main(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0] == f"{path}: code: national procedure code '2815' must look like '2.000815'"
    assert lines[1].startswith(f"{path}: steps[3].role: unknown role 'leaderr' (expected one of:")


def test_validate_reports_lint_errors_like_schema_errors(
        write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    data = base()
    del data["steps"][1]
    path = write(data)
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"{path}: fee: the procedure charges a fee but has no 'pay' step to collect it\n")


def test_validate_prints_warnings_but_exits_0(
        write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    data = base()
    data["processing_time"] = {"amount": 1, "unit": "same_day"}
    path = write(data)
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: ok (1.000001 v1, 5 steps)\n"
    assert err == f"{path}: processing_time.amount: warning: same_day ignores amount; write 0\n"


def test_validate_a_missing_file_exits_1(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "khong-co.toml"
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().err == f"{path}: cannot read file: No such file or directory\n"


def test_validate_bad_toml_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hong.toml"
    path.write_text("code = = 1\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().err.startswith(f"{path}: invalid TOML: ")


def test_validate_checks_every_file_and_fails_if_any_fails(
        write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(base())
    bad_data = base()
    bad_data["steps"][0]["role"] = "boss"
    bad = write(bad_data)
    assert main(["validate", str(bad), str(good)]) == 1
    out, err = capsys.readouterr()
    assert out == f"{good}: ok (1.000001 v1, 5 steps)\n"
    assert err.startswith(f"{bad}: steps[0].role: unknown role 'boss'")


def test_diagram_prints_a_mermaid_state_diagram_with_every_step(
        write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(base())
    assert main(["diagram", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("stateDiagram-v2\n")
    lines = [line.strip() for line in out.splitlines()]
    assert "[*] --> awaiting_reception: submit" in lines
    for move in ("awaiting_reception --> awaiting_payment: receive",
                 "awaiting_payment --> processing: pay",
                 "processing --> awaiting_signature: approve",
                 "awaiting_signature --> awaiting_return: sign",
                 "awaiting_return --> returned: return_result"):
        assert any(line.startswith(move) for line in lines), move
    assert "returned --> [*]" in lines


def test_diagram_of_an_invalid_file_prints_its_errors_and_exits_1(
        write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    data = base()
    data["steps"][3]["role"] = "leaderr"
    path = write(data)
    assert main(["diagram", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{path}: steps[3].role: unknown role 'leaderr'")


# --- shorthands -----------------------------------------------------------------------------

def test_a_component_without_id_gets_one_from_its_name(write: Any) -> None:
    data = base()
    data["components"] = [{"name": "Giấy chứng sinh (bản chính)"}, {"name": "Đơn đề nghị"}]
    procedure = load_procedure(write(data))
    assert [c.id for c in procedure.components] == ["giay_chung_sinh_ban_chinh", "don_de_nghi"]


def test_two_components_with_the_same_id_are_refused(write: Any) -> None:
    data = base()
    data["components"] = [{"id": "don", "name": "Đơn"}, {"id": "don", "name": "Đơn khác"}]
    assert errors_of(write(data)) == [
        ("components[1].id", "component id 'don' is used twice (first at components[0])")]


def test_steps_given_as_names_take_the_default_roles(write: Any) -> None:
    data = base()
    data["steps"] = ["receive", "pay", "process", "sign", "return"]
    procedure = load_procedure(write(data))
    assert [(s.name, s.role) for s in procedure.steps] == [
        ("receive", "clerk"), ("pay", "clerk"), ("process", "specialist"),
        ("sign", "leader"), ("return", "clerk")]


def test_an_unknown_step_name_in_the_short_form_is_named(write: Any) -> None:
    data = base()
    data["steps"] = ["receive", "proces", "return"]
    assert ("steps[1].name", "unknown step 'proces' (expected one of: receive, digitise, "
            "certify, pay, process, sign, return)") in errors_of(write(data))
