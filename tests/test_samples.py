"""Every shipped sample procedure: loads cleanly, carries its real figures, runs end to end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from dossier import Actor, Engine, load_procedure
from dossier.cli import main
from dossier.clock import LOCAL_TZ
from dossier.errors import GuardFailed, ProcedureNotFound
from dossier.fees import FeeBasis, compute_fee
from dossier.procedure import AgencyLevel, FeeKind, Procedure, TimeUnit, read_procedure
from dossier.states import Step
from dossier.testing import (
    FrozenClock,
    Scenario,
    ScenarioResult,
    scanned_pdf,
    step,
    test_signer,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
PDF = b"%PDF-1.4\n% scanned for the test\n"
SCAN = scanned_pdf("Giấy khai sinh (bản chính)")

CHUNG_THUC = SAMPLES / "chung-thuc-ban-sao-dien-tu.toml"
CHUNG_THUC_2018 = SAMPLES / "chung-thuc-ban-sao-dien-tu-2018.toml"
CHUNG_THUC_2025_11 = SAMPLES / "chung-thuc-ban-sao-dien-tu-2025-11.toml"
CHU_KY = SAMPLES / "chung-thuc-chu-ky.toml"
KHAI_SINH = SAMPLES / "dang-ky-khai-sinh.toml"
KET_HON = SAMPLES / "dang-ky-ket-hon.toml"
TRICH_LUC = SAMPLES / "cap-ban-sao-trich-luc-ho-tich.toml"
LY_LICH = SAMPLES / "ly-lich-tu-phap.toml"
LY_LICH_2025_03 = SAMPLES / "ly-lich-tu-phap-2025-03.toml"
XAY_DUNG = SAMPLES / "cap-phep-xay-dung-nha-o.toml"
XAY_DUNG_2026 = SAMPLES / "cap-phep-xay-dung-nha-o-2026.toml"
SAME_DAY = (0, TimeUnit.SAME_DAY, time(15))

# file → (code, version, agency level, processing time (amount, unit, cutoff), fee kind)
EXPECTED: dict[str, tuple[str, str, AgencyLevel, tuple[int, TimeUnit, time | None], FeeKind]] = {
    CHUNG_THUC.name: ("2.000815", "2025.07", AgencyLevel.COMMUNE, SAME_DAY, FeeKind.PER_PAGE),
    CHUNG_THUC_2018.name: ("2.000815", "2021.12", AgencyLevel.DISTRICT, SAME_DAY,
                           FeeKind.PER_PAGE),
    CHUNG_THUC_2025_11.name: ("2.000815", "2025.11", AgencyLevel.COMMUNE, SAME_DAY,
                              FeeKind.PER_PAGE),
    CHU_KY.name: ("2.000884", "2025.11", AgencyLevel.COMMUNE, SAME_DAY, FeeKind.PER_COPY),
    KHAI_SINH.name: ("1.001193", "2025.07", AgencyLevel.COMMUNE, SAME_DAY, FeeKind.EXEMPT),
    KET_HON.name: ("1.000894", "2025.07", AgencyLevel.COMMUNE, SAME_DAY, FeeKind.EXEMPT),
    TRICH_LUC.name: ("2.000635", "2025.07", AgencyLevel.COMMUNE, SAME_DAY, FeeKind.PER_COPY),
    LY_LICH.name: ("3.000333", "2025.07", AgencyLevel.PROVINCE,
                   (10, TimeUnit.WORKING_DAYS, None), FeeKind.FLAT),
    LY_LICH_2025_03.name: ("3.000333", "2025.03", AgencyLevel.PROVINCE,
                           (10, TimeUnit.WORKING_DAYS, None), FeeKind.FLAT),
    XAY_DUNG.name: ("1.009994", "2025.07-hanoi", AgencyLevel.COMMUNE,
                    (15, TimeUnit.WORKING_DAYS, None), FeeKind.FLAT),
    XAY_DUNG_2026.name: ("1.009994", "2026.07-hanoi", AgencyLevel.COMMUNE,
                         (15, TimeUnit.WORKING_DAYS, None), FeeKind.FLAT),
}

ALL_SAMPLES = sorted(SAMPLES.glob("*.toml"))


def fee(path: Path, **fee_basis: int) -> int:
    return compute_fee(load_procedure(path).fee, FeeBasis.parse(fee_basis))


def run(scenario: Scenario, *steps: Any) -> ScenarioResult:
    result = scenario.run(*steps)
    result.engine.close()
    return result


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


# --- every sample -----------------------------------------------------------------------------

def test_the_samples_folder_ships_every_known_file() -> None:
    assert {p.name for p in ALL_SAMPLES} >= set(EXPECTED)
    assert len({load_procedure(SAMPLES / name).code for name in EXPECTED}) == 7


@pytest.mark.parametrize("path", ALL_SAMPLES, ids=lambda p: p.name)
def test_each_sample_loads_without_warnings(path: Path) -> None:
    procedure, warnings = read_procedure(path)
    assert warnings == []
    assert procedure.steps[0].name is Step.RECEIVE
    assert procedure.steps[-1].name is Step.RETURN
    assert procedure.legal_basis


@pytest.mark.parametrize("path", [SAMPLES / name for name in EXPECTED], ids=lambda p: p.name)
def test_each_sample_carries_its_real_code_time_and_fee_kind(path: Path) -> None:
    code, version, level, (amount, unit, cutoff), kind = EXPECTED[path.name]
    procedure = load_procedure(path)
    assert (procedure.code, procedure.version, procedure.agency_level) == (code, version, level)
    assert procedure.processing_time.amount == amount
    assert procedure.processing_time.unit is unit
    assert procedure.processing_time.cutoff == cutoff
    assert procedure.fee is not None
    assert procedure.fee.kind is kind


def test_dossier_validate_accepts_every_sample_silently(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, ALL_SAMPLES)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.count(": ok (") == len(ALL_SAMPLES)


@pytest.mark.parametrize("path", ALL_SAMPLES, ids=lambda p: p.name)
def test_each_sample_runs_through_its_steps_to_returned(path: Path) -> None:
    procedure = load_procedure(path)
    start = datetime.combine(procedure.effective_from + timedelta(days=1), time(2), tzinfo=UTC)
    scenario = Scenario(procedure, start=start, fee_basis={"pages": 3, "copies": 2})
    due = compute_fee(procedure.fee, FeeBasis.parse({"pages": 3, "copies": 2}))
    to_attach = {c.id: scanned_pdf(c.name) for c in procedure.components
                 if c.must_digitise or c.may_certify}
    steps = []
    for spec in procedure.steps:
        data: dict[str, Any] = {"amount": due} if spec.name is Step.PAY else {}
        attach = to_attach if spec.name in (Step.DIGITISE, Step.CERTIFY) else None
        if spec.name is Step.SIGN:  # digital signing: the signed result fires sign
            steps.append(step(spec.role.value, "sign_result", advance=timedelta(minutes=10)))
        elif spec.name is Step.CERTIFY:  # one certified copy each; the last fires certify
            steps.extend(step(spec.role.value, "certify_copy", component=c.id, attach=attach)
                         for c in procedure.components if c.may_certify and c.required)
        else:
            steps.append(step(spec.role.value, spec.trigger, attach=attach,
                              advance=timedelta(minutes=10), **data))
    result = run(scenario, *steps)
    assert result.state == "returned"
    assert result.dossier.procedure_version == procedure.version
    assert result.dossier.paid_amount == due
    assert result.triggers == ["submit", *(spec.trigger for spec in procedure.steps)]


def test_every_sample_can_be_registered_in_one_engine() -> None:
    engine = Engine.in_memory()
    try:
        for path in ALL_SAMPLES:
            engine.register(load_procedure(path))
        for path in ALL_SAMPLES:
            procedure = load_procedure(path)
            assert engine.procedure(procedure.code, procedure.version) == procedure
    finally:
        engine.close()


# --- chứng thực bản sao điện tử từ bản chính (2.000815) ------------------------------------------

@pytest.mark.parametrize("path", [CHUNG_THUC, CHUNG_THUC_2018], ids=lambda p: p.name)
@pytest.mark.parametrize(("pages", "copies", "amount"), [
    (1, 1, 2_000), (2, 1, 4_000), (3, 1, 5_000), (3, 2, 10_000), (12, 1, 14_000),
    (250, 1, 200_000), (250, 2, 400_000)])
def test_chung_thuc_fee_is_tiered_and_capped_per_copy(path: Path, pages: int, copies: int,
                                                      amount: int) -> None:
    assert fee(path, pages=pages, copies=copies) == amount


def test_chung_thuc_is_received_digitised_paid_certified_and_returned() -> None:
    result = Scenario(CHUNG_THUC, fee_basis={"pages": 3}).run(
        step("clerk", "receive"),
        step("clerk", "digitise", expect=GuardFailed),
        step("clerk", "digitise", attach={"ban_chinh": SCAN}),
        step("clerk", "pay", amount=5_000, method="cash"),
        step("certifier", "certify", expect=GuardFailed),  # no certified copy yet
        step("certifier", "certify_copy", component="ban_chinh"),
        step("clerk", "return_result", method="counter"),
    )
    assert result.state == "returned"
    assert result.dossier.fee_due == result.dossier.paid_amount == 5_000
    blocked, uncopied = result.errors
    assert isinstance(blocked, GuardFailed)
    assert (blocked.guard, blocked.missing) == ("components_digitised", ("ban_chinh",))
    assert isinstance(uncopied, GuardFailed)
    assert (uncopied.guard, uncopied.missing) == ("copies_certified", ("ban_chinh",))
    [copy] = [d for d in result.engine.documents(result.dossier.code)
              if d.kind == "certified_copy"]
    assert (copy.kind, copy.component, copy.number) == ("certified_copy", "ban_chinh", 1)
    result.engine.close()
    assert result.triggers == ["submit", "receive", "digitise", "pay", "certify",
                               "return_result"]


def test_chung_thuc_refuses_a_payment_that_is_not_the_exact_fee() -> None:
    result = run(
        Scenario(CHUNG_THUC, fee_basis={"pages": 250}),
        step("clerk", "receive"),
        step("clerk", "digitise", attach={"ban_chinh": PDF}),
        step("clerk", "pay", amount=250_000, expect=GuardFailed),
        step("clerk", "pay", amount=200_000),
    )
    assert result.state == "certifying"
    assert result.dossier.paid_amount == 200_000


def test_chung_thuc_2018_runs_at_the_district_before_july_2025() -> None:
    result = run(
        Scenario(CHUNG_THUC_2018, fee_basis={"pages": 1, "copies": 3},
                 start=local(2025, 6, 30, 8)),
        step("clerk", "receive"),
        step("clerk", "digitise", attach={"ban_chinh": SCAN}),
        step("clerk", "pay", amount=6_000),
        step("certifier", "certify_copy", component="ban_chinh"),
        step("clerk", "return_result"),
    )
    assert result.state == "returned"
    assert result.dossier.procedure_version == "2021.12"


# --- the two versions of 2.000815 -----------------------------------------------------------------

@pytest.fixture
def two_versions() -> Iterator[tuple[Engine, FrozenClock]]:
    clock = FrozenClock(local(2025, 6, 30, 9))
    engine = Engine.in_memory(clock=clock, signers={"test": test_signer(clock)})
    # registered newest first: the choice must come from the dates, not the order
    engine.register(load_procedure(CHUNG_THUC))
    engine.register(load_procedure(CHUNG_THUC_2018))
    yield engine, clock
    engine.close()


CLERK = Actor(id="nv01", role="clerk", agency="000.00.12.H12")


def submit(engine: Engine) -> Any:
    return engine.submit("2.000815", applicant={"name": "Nguyễn Văn A"}, channel="counter",
                         actor=CLERK, fee_basis={"pages": 3})


def test_the_two_2_000815_versions_meet_without_gap_or_overlap() -> None:
    old, new = load_procedure(CHUNG_THUC_2018), load_procedure(CHUNG_THUC)
    assert old.effective_until == date(2025, 6, 30)
    assert new.effective_from == date(2025, 7, 1)
    assert old.in_force_on(date(2025, 6, 30))
    assert not new.in_force_on(date(2025, 6, 30))
    assert new.in_force_on(date(2025, 7, 1))
    assert not old.in_force_on(date(2025, 7, 1))


@pytest.mark.parametrize(("instant", "version"), [
    (local(2025, 6, 30, 9), "2021.12"),
    (local(2025, 6, 30, 23, 59), "2021.12"),       # 16:59 UTC: still 30 June in Hà Nội
    (local(2025, 7, 1, 0, 0), "2025.07"),          # 17:00 UTC on 30 June: already July locally
    (local(2025, 7, 1, 9), "2025.07"),
    (local(2022, 1, 3, 9), "2021.12"),
])
def test_submit_picks_the_version_in_force_on_the_local_date(
        two_versions: tuple[Engine, FrozenClock], instant: datetime, version: str) -> None:
    engine, clock = two_versions
    clock.set(instant)
    assert submit(engine).procedure_version == version


def test_no_version_is_in_force_before_the_first_one(
        two_versions: tuple[Engine, FrozenClock]) -> None:
    engine, clock = two_versions
    clock.set(local(2021, 12, 5, 9))
    with pytest.raises(ProcedureNotFound, match=r"2\.000815"):
        submit(engine)


def test_a_dossier_keeps_its_version_for_life(two_versions: tuple[Engine, FrozenClock]) -> None:
    engine, clock = two_versions
    clock.set(local(2025, 6, 30, 16, 30))
    dossier = submit(engine)
    assert dossier.procedure_version == "2021.12"
    certifier = Actor(id="ct01", role="certifier", agency=CLERK.agency)
    clock.set(local(2025, 7, 1, 8))  # the new rules are in force from here on
    assert submit(engine).procedure_version == "2025.07"
    engine.fire(dossier.code, "receive", actor=CLERK)
    engine.attach(dossier.code, "ban_chinh", SCAN, "ban_chinh.pdf", actor=CLERK)
    moves: list[tuple[str, Actor, dict[str, Any]]] = [
        ("digitise", CLERK, {}), ("pay", CLERK, {"amount": 5_000}),
        ("certify_copy", certifier, {}), ("return_result", CLERK, {})]
    for trigger, actor, data in moves:
        if trigger == "certify_copy":
            dossier = engine.certify_copy(dossier.code, "ban_chinh", actor=actor, signer="test")
        else:
            dossier = engine.fire(dossier.code, trigger, actor=actor, **data)
        assert dossier.procedure_version == "2021.12"
    final = engine.get(dossier.code)
    assert final.state == "returned"
    assert final.procedure_version == "2021.12"
    assert engine.history(dossier.code)[0].data["version"] == "2021.12"


# --- đăng ký khai sinh (1.001193) ---------------------------------------------------------------

def test_khai_sinh_is_free() -> None:
    procedure = load_procedure(KHAI_SINH)
    assert procedure.fee is not None
    assert procedure.fee.reason
    assert not procedure.has_step(Step.PAY)
    assert fee(KHAI_SINH) == 0
    assert fee(KHAI_SINH, copies=5) == 0


def test_khai_sinh_is_signed_by_the_commune_chairman_the_same_day() -> None:
    procedure = load_procedure(KHAI_SINH)
    assert [(s.name.value, s.role.value) for s in procedure.steps] == [
        ("receive", "clerk"), ("process", "specialist"), ("sign", "leader"),
        ("return", "clerk")]
    result = run(
        Scenario(procedure, channel="online"),
        step("clerk", "receive"),
        step("specialist", "approve", advance=timedelta(hours=1)),
        step("leader", "sign_result", advance=timedelta(hours=1)),
        step("clerk", "return_result", method="online"),
    )
    assert result.state == "returned"
    assert result.dossier.fee_due == 0
    assert result.dossier.owner == "citizen01"
    assert result.triggers == ["submit", "receive", "approve", "sign", "return_result"]


# --- phiếu lý lịch tư pháp (3.000333, Công an tỉnh) ---------------------------------------------

@pytest.mark.parametrize("path", [LY_LICH, LY_LICH_2025_03], ids=lambda p: p.name)
@pytest.mark.parametrize(("copies", "amount"), [
    (1, 200_000), (2, 200_000), (3, 205_000), (4, 210_000)])
def test_ly_lich_tu_phap_fee(path: Path, copies: int, amount: int) -> None:
    assert fee(path, copies=copies) == amount


def test_ly_lich_tu_phap_cites_the_new_fee_circular_and_marks_its_amounts_a_setting() -> None:
    for path in (LY_LICH, LY_LICH_2025_03):
        procedure = load_procedure(path)
        assert procedure.fee is not None
        assert "16/2025/TT-BTC" in procedure.fee.legal_basis
        assert "AGENCY SETTING" in path.read_text(encoding="utf-8")
    assert not any("244/2016" in basis for basis in load_procedure(LY_LICH).legal_basis)


def test_ly_lich_tu_phap_step_budgets_fit_in_ten_working_days() -> None:
    procedure = load_procedure(LY_LICH)
    hours = sum(s.budget.working_hours_upper_bound() for s in procedure.steps if s.budget)
    assert hours <= 10 * 8
    assert all(s.budget is not None for s in procedure.steps)


def test_ly_lich_tu_phap_is_paid_before_processing_and_signed_by_a_leader() -> None:
    result = run(
        Scenario(LY_LICH, fee_basis={"copies": 4}, agency="000.00.05.H12"),  # Công an tỉnh
        step("clerk", "receive"),
        step("clerk", "pay", amount=210_000, method="pos", reference="BL-0001"),
        step("specialist", "approve", advance=timedelta(days=6)),
        step("specialist", "sign_result", expect="PermissionDenied"),
        step("leader", "sign_result", advance=timedelta(days=1)),
        step("clerk", "return_result"),
    )
    assert result.state == "returned"
    assert result.dossier.paid_amount == 210_000
    assert result.triggers == ["submit", "receive", "pay", "approve", "sign", "return_result"]


# --- giấy phép xây dựng nhà ở riêng lẻ (1.009994) ------------------------------------------------

def test_xay_dung_fee_is_the_flat_ha_noi_figure() -> None:
    assert fee(XAY_DUNG) == 75_000
    assert fee(XAY_DUNG, copies=2) == 75_000


def test_xay_dung_collects_the_fee_after_processing() -> None:
    procedure: Procedure = load_procedure(XAY_DUNG)
    assert procedure.step_index(Step.PROCESS) < procedure.step_index(Step.PAY) \
        < procedure.step_index(Step.SIGN)
    assert {c.id for c in procedure.components if c.must_digitise} == {
        "don_de_nghi", "giay_to_dat", "ban_ve_thiet_ke"}


def test_xay_dung_needs_the_drawings_scanned_before_appraisal() -> None:
    result = run(
        Scenario(XAY_DUNG),
        step("clerk", "receive"),
        step("clerk", "digitise", attach={"don_de_nghi": PDF, "giay_to_dat": PDF + b"2"},
             expect=GuardFailed),
        step("clerk", "digitise", attach={"ban_ve_thiet_ke": PDF + b"3"}),
        step("specialist", "approve", advance=timedelta(days=9)),
        step("leader", "sign_result", expect="TransitionNotAllowed"),  # the fee comes first
        step("clerk", "pay", amount=75_000, method="transfer"),
        step("leader", "sign_result", advance=timedelta(days=2)),
        step("clerk", "return_result", method="counter"),
    )
    assert result.state == "returned"
    missing_scan, unpaid = result.errors
    assert isinstance(missing_scan, GuardFailed)
    assert (missing_scan.guard, missing_scan.missing) == ("components_digitised",
                                                          ("ban_ve_thiet_ke",))
    assert "not allowed in state 'awaiting_payment'" in str(unpaid)
    assert result.triggers == ["submit", "receive", "digitise", "approve", "pay", "sign",
                               "return_result"]
