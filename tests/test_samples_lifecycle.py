"""Every sample version lives its whole life on the days it is in force: submitted, taken
through each of its steps by the role its file names, returned on time, its fee paid to the
đồng, its digitisation recorded and its audit intact; and on its first and last day in force
a submission picks exactly that version. Special cases (cases = […]) set the time limit."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dossier import Actor, DigitisationKind, Engine, InvalidInput, ProcedureNotFound
from dossier.calendar import WorkingCalendar
from dossier.clock import LOCAL_TZ
from dossier.digitisation import flags
from dossier.fees import FeeBasis, compute_fee
from dossier.procedure import Medium, Procedure, load_procedure
from dossier.records import NO_DEADLINES
from dossier.sla import start_clock
from dossier.states import Step
from dossier.testing import Scenario, ScenarioResult, scanned_pdf, step

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
ALL = sorted(SAMPLES.glob("*.toml"))
CALENDAR = WorkingCalendar.vietnam()
AGENCY = "000.00.12.H12"
CLERK = Actor(id="nv01", role="clerk", agency=AGENCY)
BASIS = {"pages": 3, "copies": 2}


def office_morning(day: date, *, backwards: bool = False) -> datetime:
    """09:00 on ``day`` if it is a working day, else on the nearest one (after, or before)."""
    while not CALENDAR.is_working_day(day):
        day += timedelta(days=-1 if backwards else 1)
    return datetime.combine(day, time(9), LOCAL_TZ)


def days_in_force(procedure: Procedure) -> dict[str, datetime]:
    """The first and the last office morning the version is in force (an open-ended one:
    half a year on)."""
    last = procedure.effective_until or procedure.effective_from + timedelta(days=183)
    return {"first day": office_morning(procedure.effective_from),
            "last day": office_morning(last, backwards=True)}


CASES = [(path, when) for path in ALL for when in ("first day", "last day")]


def whole_life(procedure: Procedure, start: datetime, *, case: str | None = None,
               method: str = "counter") -> ScenarioResult:
    """Submit at ``start`` and complete every step in order, ten minutes apart."""
    due_fee = compute_fee(procedure.fee, FeeBasis.parse(BASIS))
    steps = []
    for spec in procedure.steps:
        role, later = spec.role.value, timedelta(minutes=10)
        if spec.name is Step.DIGITISE:
            scans = {c.id: scanned_pdf(c.name) for c in procedure.components if c.must_digitise}
            steps.append(step(role, "digitise", attach=scans, advance=later,
                              pages=dict.fromkeys(scans, 1)))
        elif spec.name is Step.CERTIFY:
            originals = {c.id: scanned_pdf(c.name) for c in procedure.components
                         if c.may_certify and c.id not in _digitised(procedure)}
            steps.extend(step(role, "certify_copy", component=c.id,
                              attach={c.id: originals[c.id]} if c.id in originals else None)
                         for c in procedure.components if c.may_certify and c.required)
        elif spec.name is Step.PAY:
            steps.append(step(role, "pay", amount=due_fee, advance=later))
        elif spec.name is Step.SIGN and procedure.signing is Medium.DIGITAL:
            steps.append(step(role, "sign_result", advance=later))
        elif spec.name is Step.RETURN:
            steps.append(step(role, "return_result", method=method, advance=later))
        else:
            steps.append(step(role, spec.trigger, advance=later))
    scenario = Scenario(procedure, agency=AGENCY, start=start, fee_basis=BASIS, case=case)
    return scenario.run(*steps)


def _digitised(procedure: Procedure) -> set[str]:
    return {c.id for c in procedure.components if c.must_digitise}


@pytest.mark.parametrize(("path", "when"), CASES,
                         ids=[f"{p.stem}-{w.replace(' ', '-')}" for p, w in CASES])
def test_each_sample_version_lives_its_whole_life_while_in_force(path: Path, when: str) -> None:
    procedure = load_procedure(path)
    start = days_in_force(procedure)[when]
    result = whole_life(procedure, start)
    try:
        dossier, engine = result.dossier, result.engine
        assert result.state == "returned"
        assert dossier.procedure_version == procedure.version
        assert result.triggers == ["submit", *(s.trigger for s in procedure.steps)]
        assert dossier.paid_amount == dossier.fee_due == compute_fee(
            procedure.fee, FeeBasis.parse(BASIS))
        assert dossier.received_at is not None
        expected_due = CALENDAR.add(dossier.received_at, procedure.processing_time.amount,
                                    procedure.processing_time.unit,
                                    procedure.processing_time.cutoff)
        assert dossier.due_at == expected_due
        assert dossier.deadlines.timeliness in ("early", "on_time")
        summary = flags(dossier.code, engine.digitisation(dossier.code))
        assert summary.digitised == _digitised(procedure)
        assert summary.result_digitised == (procedure.signing is Medium.DIGITAL
                                            or procedure.has_step(Step.CERTIFY))
        assert not summary.returned_electronically
        assert engine.verify_audit(dossier.code)
    finally:
        result.engine.close()


@pytest.fixture(scope="module")
def every_sample() -> Any:
    engine = Engine.in_memory()
    for path in ALL:
        engine.register(load_procedure(path))
    yield engine
    engine.close()


@pytest.mark.parametrize(("path", "when"), CASES,
                         ids=[f"{p.stem}-{w.replace(' ', '-')}" for p, w in CASES])
def test_a_submission_on_a_day_in_force_picks_that_version(
        every_sample: Engine, path: Path, when: str) -> None:
    procedure = load_procedure(path)
    start = days_in_force(procedure)[when]
    every_sample.kernel.clock = _Fixed(start)
    dossier = every_sample.submit(procedure.code, applicant={"name": "A"}, channel="counter",
                                  actor=CLERK, fee_basis=BASIS)
    assert dossier.procedure_version == procedure.version


class _Fixed:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@pytest.mark.parametrize(("code", "instant", "version"), [
    ("3.000333", datetime(2025, 6, 30, 23, 59, tzinfo=LOCAL_TZ), "2025.03"),
    ("3.000333", datetime(2025, 7, 1, 0, 0, tzinfo=LOCAL_TZ), "2025.07"),
    ("2.000815", datetime(2025, 10, 31, 16, 0, tzinfo=LOCAL_TZ), "2025.07"),
    ("2.000815", datetime(2025, 11, 1, 8, 0, tzinfo=LOCAL_TZ), "2025.11"),
    ("1.009994", datetime(2026, 6, 30, 16, 0, tzinfo=LOCAL_TZ), "2025.07-hanoi"),
    ("1.009994", datetime(2026, 7, 1, 8, 0, tzinfo=LOCAL_TZ), "2026.07-hanoi"),
])
def test_versions_meet_at_midnight_local_time(every_sample: Engine, code: str,
                                              instant: datetime, version: str) -> None:
    every_sample.kernel.clock = _Fixed(instant)
    dossier = every_sample.submit(code, applicant={"name": "A"}, channel="counter",
                                  actor=CLERK, fee_basis=BASIS)
    assert dossier.procedure_version == version


@pytest.mark.parametrize(("code", "instant"), [
    ("3.000333", datetime(2025, 2, 28, 16, 0, tzinfo=LOCAL_TZ)),   # still Sở Tư pháp
    ("2.000884", datetime(2025, 10, 31, 16, 0, tzinfo=LOCAL_TZ)),  # before Nghị định 280/2025
])
def test_no_sample_version_before_the_first(every_sample: Engine, code: str,
                                            instant: datetime) -> None:
    every_sample.kernel.clock = _Fixed(instant)
    with pytest.raises(ProcedureNotFound):
        every_sample.submit(code, applicant={"name": "A"}, channel="counter", actor=CLERK)


# --- special cases: the time limit declared at submission --------------------------------------

LY_LICH = [SAMPLES / "ly-lich-tu-phap.toml", SAMPLES / "ly-lich-tu-phap-2025-03.toml"]


@pytest.mark.parametrize("path", LY_LICH, ids=lambda p: p.stem)
@pytest.mark.parametrize("case", ["cu_tru_nhieu_noi", "nguoi_nuoc_ngoai"])
def test_ly_lich_tu_phap_gives_15_working_days_in_its_cases(path: Path, case: str) -> None:
    procedure = load_procedure(path)
    result = whole_life(procedure, days_in_force(procedure)["first day"], case=case,
                        method="online")
    try:
        dossier = result.dossier
        assert dossier.received_at is not None
        assert dossier.due_at == CALENDAR.add(dossier.received_at, 15, "working_days")
        assert result.events[0].data["applicant_case"] == case
        assert dossier.deadlines.timeliness == "early"
        assert flags(dossier.code, result.engine.digitisation(dossier.code)
                     ).returned_electronically
    finally:
        result.engine.close()


def test_the_declared_case_never_leaves_in_a_message() -> None:
    from dossier.engine.messages import public_data

    data = {"procedure": "3.000333", "applicant_case": "nguoi_nuoc_ngoai", "fee_due": 200_000}
    assert public_data(data) == {"procedure": "3.000333", "fee_due": 200_000}


def test_a_case_survives_a_supplement_round_that_restarts_the_clock() -> None:
    procedure = load_procedure(LY_LICH[0])
    start = datetime(2025, 9, 8, 9, 0, tzinfo=LOCAL_TZ)
    result = Scenario(procedure, agency=AGENCY, start=start, case="cu_tru_nhieu_noi").run(
        step("clerk", "receive"),
        step("clerk", "pay", amount=200_000),
        step("specialist", "request_supplement", reason="Thiếu tờ khai", advance=timedelta(days=1)),
        step("clerk", "supplement", advance=timedelta(days=1)),
    )
    try:
        supplement = result.events[-1]
        restarted = datetime.fromisoformat(supplement.data["due_at"])
        assert restarted == CALENDAR.add(supplement.at, 15, "working_days")
    finally:
        result.engine.close()


def test_an_unknown_case_is_refused_with_the_procedures_cases() -> None:
    procedure = load_procedure(LY_LICH[0])
    scenario = Scenario(procedure, agency=AGENCY, case="hoc_sinh")
    with pytest.raises(InvalidInput, match="cu_tru_nhieu_noi, nguoi_nuoc_ngoai"):
        scenario.run()


def test_ket_hon_takes_five_working_days_when_the_conditions_need_verifying() -> None:
    procedure = load_procedure(SAMPLES / "dang-ky-ket-hon.toml")
    start = datetime(2025, 9, 8, 9, 0, tzinfo=LOCAL_TZ)
    result = whole_life(procedure, start, case="can_xac_minh")
    try:
        # received at 09:10 (each step ten minutes after the last)
        assert result.dossier.due_at == datetime(2025, 9, 15, 9, 10, tzinfo=LOCAL_TZ)
        assert result.state == "returned"
        assert result.dossier.fee_due == 0
    finally:
        result.engine.close()


@settings(max_examples=60, deadline=None)
@given(day=st.dates(date(2025, 7, 1), date(2026, 6, 30)),
       minute=st.integers(0, 9 * 60),
       case=st.sampled_from([None, "cu_tru_nhieu_noi", "nguoi_nuoc_ngoai"]),
       channel=st.sampled_from(["counter", "online", "post"]))
def test_ly_lich_tu_phap_due_date_is_10_or_15_working_days(
        day: date, minute: int, case: str | None, channel: str) -> None:
    procedure = load_procedure(LY_LICH[0])
    received = datetime.combine(day, time(7, 30), LOCAL_TZ) + timedelta(minutes=minute)
    deadlines = start_clock(NO_DEADLINES, procedure, channel, received, CALENDAR, case)
    days = 10 if case is None else 15
    assert deadlines.due_at == CALENDAR.add(received, days, "working_days")
    assert deadlines.due_at is not None
    base = start_clock(NO_DEADLINES, procedure, channel, received, CALENDAR).due_at
    assert base is not None
    assert (deadlines.due_at > base) == (case is not None)


# --- fees ---------------------------------------------------------------------------------------

def fee_of(name: str, **basis: int) -> int:
    return compute_fee(load_procedure(SAMPLES / name).fee, FeeBasis.parse(basis))


@given(copies=st.integers(1, 500))
def test_ly_lich_tu_phap_fee_is_flat_plus_5000_from_the_third_certificate(copies: int) -> None:
    for path in LY_LICH:
        assert fee_of(path.name, copies=copies) == 200_000 + 5_000 * max(0, copies - 2)


@given(copies=st.integers(1, 500), pages=st.integers(1, 500))
def test_per_copy_fees_ignore_pages(copies: int, pages: int) -> None:
    assert fee_of("cap-ban-sao-trich-luc-ho-tich.toml", copies=copies, pages=pages) \
        == 8_000 * copies
    assert fee_of("chung-thuc-chu-ky.toml", copies=copies, pages=pages) == 10_000 * copies


@given(copies=st.integers(1, 50))
def test_civil_status_registrations_are_free(copies: int) -> None:
    assert fee_of("dang-ky-ket-hon.toml", copies=copies) == 0
    assert fee_of("dang-ky-khai-sinh.toml", copies=copies) == 0


# --- who does what, as the files say ------------------------------------------------------------

def test_a_signature_is_certified_on_paper_by_the_certifier() -> None:
    procedure = load_procedure(SAMPLES / "chung-thuc-chu-ky.toml")
    assert procedure.signing is Medium.PAPER
    assert [(s.name.value, s.role.value) for s in procedure.steps] == [
        ("receive", "clerk"), ("pay", "clerk"), ("sign", "certifier"), ("return", "clerk")]
    result = Scenario(procedure, agency=AGENCY, start=datetime(2025, 11, 3, 9, 0,
                                                               tzinfo=LOCAL_TZ),
                      fee_basis={"copies": 2}).run(
        step("clerk", "receive"),
        step("clerk", "pay", amount=20_000),
        step("leader", "sign", expect="PermissionDenied"),
        step("certifier", "sign"),
        step("clerk", "return_result"),
    )
    try:
        assert result.state == "returned"
        [record] = result.engine.digitisation(result.dossier.code)
        assert record.kind is DigitisationKind.RESULT
        assert record.sha256 is None
    finally:
        result.engine.close()


@pytest.mark.parametrize("name", ["dang-ky-khai-sinh.toml", "dang-ky-ket-hon.toml",
                                  "cap-ban-sao-trich-luc-ho-tich.toml", "chung-thuc-chu-ky.toml"])
def test_identity_papers_are_shown_not_submitted(name: str) -> None:
    procedure = load_procedure(SAMPLES / name)
    shown = [c for c in procedure.components if c.form.value == "shown"]
    assert [c.id for c in shown] == ["giay_to_tuy_than"]
    assert "xuất trình" in shown[0].name


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_each_sample_header_cites_its_sources(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    header = text[:text.index("\ncode = ")]
    assert header.startswith("# ")
    assert any(word in header for word in ("Luật", "Nghị định", "Thông tư"))
    procedure = load_procedure(path)
    assert procedure.legal_basis
    assert procedure.fee is not None
    assert procedure.fee.legal_basis
