"""``dossier.testing``: the FrozenClock and the Scenario runner an agency uses to unit-test
its own procedure files.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from dossier import (
    Actor,
    Clock,
    Engine,
    GuardFailed,
    InvalidInput,
    PermissionDenied,
    TransitionNotAllowed,
    load_procedure,
)
from dossier.testing import FrozenClock, Scenario, step

START = datetime(2025, 9, 8, 2, 0, tzinfo=UTC)
HANOI = timezone(timedelta(hours=7))

# An agency's own procedure file, as it would keep it next to its tests.
LY_LICH_TU_PHAP = """\
code = "2.000488"
name = "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam"
field = "Lý lịch tư pháp"
agency_level = "province"
service_level = "full_online"
version = "2025.07"
effective_from = 2025-07-01
legal_basis = "Luật Lý lịch tư pháp 2009"

[processing_time]
amount = 10
unit = "working_days"

[fee]
kind = "flat"
amount = 200000
extra_copy_from = 3
extra_copy_amount = 5000

[[components]]
id = "to_khai"
name = "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp"
must_digitise = true

[[components]]
id = "cccd"
name = "Bản chụp căn cước công dân"
required = false

[[steps]]
name = "receive"
role = "clerk"

[[steps]]
name = "digitise"
role = "clerk"

[[steps]]
name = "pay"
role = "clerk"

[[steps]]
name = "process"
role = "specialist"

[[steps]]
name = "sign"
role = "leader"

[[steps]]
name = "return"
role = "clerk"
"""


@pytest.fixture
def procedure_file(tmp_path: Path) -> Path:
    path = tmp_path / "ly-lich-tu-phap.toml"
    path.write_text(LY_LICH_TU_PHAP, encoding="utf-8")
    return path


# --- FrozenClock ---------------------------------------------------------------------------


def test_frozen_clock_stands_still_at_its_start() -> None:
    clock = FrozenClock(START)
    assert clock.now() == START
    assert clock.now() == START


def test_frozen_clock_returns_aware_utc_even_from_a_local_start() -> None:
    clock = FrozenClock(datetime(2025, 9, 8, 9, 0, tzinfo=HANOI))
    assert clock.now() == START
    assert clock.now().utcoffset() == timedelta(0)


def test_frozen_clock_set_moves_to_the_given_instant() -> None:
    clock = FrozenClock(START)
    clock.set(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_frozen_clock_advance_moves_forward_and_returns_the_new_instant() -> None:
    clock = FrozenClock(START)
    assert clock.advance(timedelta(hours=3)) == START + timedelta(hours=3)
    assert clock.now() == START + timedelta(hours=3)


def test_frozen_clock_rejects_a_naive_start() -> None:
    with pytest.raises(InvalidInput):
        FrozenClock(datetime(2025, 9, 8, 9, 0))  # noqa: DTZ001 - naive on purpose


def test_frozen_clock_rejects_setting_a_naive_instant() -> None:
    clock = FrozenClock(START)
    with pytest.raises(InvalidInput):
        clock.set(datetime(2025, 9, 8, 9, 0))  # noqa: DTZ001 - naive on purpose
    assert clock.now() == START


def test_frozen_clock_is_a_clock() -> None:
    assert isinstance(FrozenClock(START), Clock)


def test_an_engine_stamps_events_with_the_injected_clock(
        clock: FrozenClock, clerk: Actor, procedure_file: Path) -> None:
    engine = Engine.in_memory(clock=clock)
    engine.register(load_procedure(procedure_file))
    code = engine.submit("2.000488", applicant={"name": "A"}, channel="counter",
                         actor=clerk).code
    clock.advance(timedelta(hours=2))
    engine.fire(code, "receive", actor=clerk)
    assert [e.at for e in engine.history(code)] == [START, START + timedelta(hours=2)]
    assert engine.get(code).received_at == START + timedelta(hours=2)


# --- Scenario ------------------------------------------------------------------------------


def test_an_agency_tests_its_procedure_file_end_to_end(procedure_file: Path) -> None:
    result = Scenario(procedure_file, agency="000.00.12.H12").run(
        step("clerk", "receive"),
        step("clerk", "digitise", attach={"to_khai": b"%PDF-1.7 to khai"}),
        step("clerk", "pay", amount=200_000),
        step("specialist", "approve"),
        step("leader", "sign", expect="GuardFailed"),  # a digital procedure: no signed result
        step("leader", "sign_result"),
        step("clerk", "return_result", method="post"),
    )
    assert result.state == "returned"
    assert result.triggers == ["submit", "receive", "digitise", "pay", "approve", "sign",
                               "return_result"]
    assert [e.guard for e in result.errors] == ["result_signed"]  # type: ignore[attr-defined]
    [receipt] = result.engine.receipts(result.dossier.code)
    assert (receipt.amount, receipt.payment_method) == (200_000, "cash")
    [document] = [d for d in result.engine.documents(result.dossier.code)
                  if not d.kind.startswith("form-") and d.kind != "receipt"]
    assert result.events[-2].data["document"] == document.sha256


def test_a_scenario_accepts_an_already_loaded_procedure(procedure_file: Path) -> None:
    result = Scenario(load_procedure(procedure_file)).run(step("clerk", "receive"))
    assert result.state == "digitising"


def test_a_scenario_records_an_expected_error_and_goes_on(procedure_file: Path) -> None:
    result = Scenario(str(procedure_file)).run(
        step("clerk", "receive"),
        step("clerk", "digitise", expect=GuardFailed),  # nothing scanned yet
        step("clerk", "digitise", attach={"to_khai": b"scan"}),
    )
    assert result.state == "awaiting_payment"
    assert [type(e) for e in result.errors] == [GuardFailed]
    assert result.errors[0].guard == "components_digitised"  # type: ignore[attr-defined]
    assert result.triggers == ["submit", "receive", "digitise"]


def test_expect_may_name_the_error_class_by_name(procedure_file: Path) -> None:
    result = Scenario(procedure_file).run(
        step("specialist", "receive", expect="PermissionDenied"),
        step("clerk", "approve", expect="TransitionNotAllowed"),
    )
    assert result.state == "awaiting_reception"
    assert [type(e) for e in result.errors] == [PermissionDenied, TransitionNotAllowed]


def test_expect_by_name_matches_a_base_class(procedure_file: Path) -> None:
    result = Scenario(procedure_file).run(step("clerk", "fly", expect="DossierError"))
    assert [type(e) for e in result.errors] == [TransitionNotAllowed]


def test_an_unexpected_error_fails_the_scenario(procedure_file: Path) -> None:
    with pytest.raises(GuardFailed):
        Scenario(procedure_file).run(
            step("clerk", "receive"),
            step("clerk", "digitise"),
        )


def test_a_step_expected_to_fail_that_succeeds_fails_the_scenario(
        procedure_file: Path) -> None:
    with pytest.raises(AssertionError):
        Scenario(procedure_file).run(step("clerk", "receive", expect=PermissionDenied))


def test_a_step_may_advance_the_clock_first(procedure_file: Path) -> None:
    result = Scenario(procedure_file, start=START).run(
        step("clerk", "receive", advance=timedelta(hours=4)),
    )
    assert [e.at for e in result.events] == [START, START + timedelta(hours=4)]


def test_roles_act_as_role01_of_the_scenarios_agency(procedure_file: Path) -> None:
    result = Scenario(procedure_file, agency="000.00.56.H56").run(step("clerk", "receive"))
    assert result.dossier.agency == "000.00.56.H56"
    assert [e.actor for e in result.events] == ["clerk01", "clerk01"]


def test_an_online_scenario_is_submitted_by_the_citizen_who_may_withdraw(
        procedure_file: Path) -> None:
    result = Scenario(procedure_file, channel="online").run(
        step("clerk", "receive"),
        step("citizen", "withdraw", reason="Không cần nữa"),
    )
    assert result.state == "withdrawn"
    assert result.events[0].actor == "citizen01"


def test_a_scenario_step_may_act_as_a_given_actor(procedure_file: Path) -> None:
    outsider = Actor(id="nv99", role="clerk", agency="000.00.99.H99")
    result = Scenario(procedure_file).run(step(outsider, "receive", expect=PermissionDenied))
    assert result.state == "awaiting_reception"


def test_an_online_payment_step_completes_pay_as_system_for_the_citizen(
        procedure_file: Path) -> None:
    result = Scenario(procedure_file, channel="online").run(
        step("clerk", "receive"),
        step("clerk", "digitise", attach={"to_khai": b"scan"}),
        step("citizen", "pay_online"),
    )
    assert result.state == "processing"
    pay = result.events[-1]
    assert (pay.trigger, pay.actor, pay.on_behalf_of) == ("pay", "system", "citizen01")
    [payment] = result.engine.payments(result.dossier.code)
    assert (payment.provider, payment.state) == ("fake", "succeeded")


def test_a_system_step_may_not_record_a_fee_taken_at_the_counter(procedure_file: Path) -> None:
    result = Scenario(procedure_file).run(
        step("clerk", "receive"),
        step("clerk", "digitise", attach={"to_khai": b"scan"}),
        step("system", "pay", amount=200_000, on_behalf_of="citizen01",
             expect="PermissionDenied"),
    )
    assert result.state == "awaiting_payment"
    assert result.engine.payments(result.dossier.code) == []


def test_the_fee_basis_sets_the_fee_due(procedure_file: Path) -> None:
    result = Scenario(procedure_file, fee_basis={"copies": 4}).run(step("clerk", "receive"))
    assert result.dossier.fee_due == 200_000 + 2 * 5_000


def test_the_scenario_result_gives_the_engine_for_further_checks(
        procedure_file: Path) -> None:
    result = Scenario(procedure_file).run(step("clerk", "receive"))
    assert result.engine.verify_audit(result.dossier.code)
    assert result.engine.get(result.dossier.code) == result.dossier


# --- the README's example, as an agency would write it ------------------------------------


def test_certified_copy_is_returned_after_payment() -> None:
    from dossier import sample_path
    from dossier.testing import Scenario, scanned_pdf, step

    result = Scenario(sample_path("chung-thuc-ban-sao-dien-tu"), fee_basis={"pages": 3}).run(
        step("clerk", "receive"),
        step("clerk", "digitise", attach={"ban_chinh": scanned_pdf("Giấy khai sinh")}),
        step("clerk", "pay", amount=4_000, expect="GuardFailed"),  # wrong amount: refused
        step("clerk", "pay", amount=5_000),                        # cash: a receipt is issued
        step("certifier", "certify_copy", component="ban_chinh"),  # signs, fires certify
        step("clerk", "return_result", method="counter"),
    )
    assert result.state == "returned"
    assert result.triggers == ["submit", "receive", "digitise", "pay", "certify",
                               "return_result"]
    assert [type(e).__name__ for e in result.errors] == ["GuardFailed"]
