"""The public status lookup (tra cứu, issue 11): what it shows, and that a wrong ID number
tells nothing an unknown code does not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from finding_support import KEY, advance, id_number, setup, staff, submit

from dossier import DossierNotFound, Engine, InvalidInput, PublicStatus, State
from dossier.public import mask_name
from dossier.testing import FrozenClock

NUMBER = id_number(42)


@pytest.fixture
def eng(db_url: str, clock: FrozenClock) -> Iterator[Engine]:
    engine = setup(Engine(db_url, clock=clock, applicant_key=KEY))
    yield engine
    engine.close()


def test_the_right_id_number_shows_the_public_status(eng: Engine) -> None:
    code = submit(eng, number=NUMBER, name="Nguyễn Văn An").code
    people = staff()
    advance(eng, code, 2)
    eng.assign(code, people["specialist"], actor=people["clerk"])
    eng.fire(code, "request_supplement", actor=people["specialist"], reason="Thiếu tờ khai "
             "(ghi chú nội bộ)")
    status = eng.lookup(code, id_number=NUMBER)
    assert isinstance(status, PublicStatus)
    assert (status.code, status.procedure_name, status.state, status.portal_status,
            status.status_label, status.applicant) == (
        code, "Thủ tục thử 9.900101", State.AWAITING_SUPPLEMENT, 5, "Chờ bổ sung hồ sơ",
        "Nguyễn V** A**")
    assert status.appointment_at == eng.get(code).deadlines.appointment_at
    assert [e.kind for e in status.timeline] == ["submit", "receive", "pay",
                                                 "request_supplement"]
    shown = repr(status)
    for private in ("nv01", "cv01", "ghi chú", NUMBER, "Văn", "assign"):
        assert private not in shown


def test_the_timeline_says_when_the_result_was_ready_and_returned(eng: Engine) -> None:
    code = submit(eng, number=NUMBER).code
    advance(eng, code, 5)
    status = eng.lookup(code, id_number=NUMBER)
    assert [e.kind for e in status.timeline] == ["submit", "receive", "pay", "result_ready",
                                                 "return_result"]
    assert status.portal_status == 10
    assert status.closed_at is not None


def test_a_wrong_number_an_unknown_code_and_a_dossier_without_a_number_look_alike(
        eng: Engine) -> None:
    with_number = submit(eng, number=NUMBER).code
    without = submit(eng).code
    other = submit(eng, number=id_number(43)).code
    failures = []
    for code, number in ((with_number, id_number(43)), ("000.00.12.H12-250908-9999", NUMBER),
                         (without, NUMBER), (other, NUMBER), ("x\x00" * 40, NUMBER),
                         (with_number + " ", NUMBER)):
        with pytest.raises(DossierNotFound) as caught:
            eng.lookup(code, id_number=number)
        failures.append((type(caught.value), str(caught.value)))
    assert len(set(failures)) == 1
    assert NUMBER not in failures[0][1]
    assert with_number not in failures[0][1]


def test_lookup_needs_the_applicant_key(db_url: str, clock: FrozenClock) -> None:
    engine = setup(Engine(db_url, clock=clock))
    try:
        code = submit(engine, number=NUMBER).code
        with pytest.raises(InvalidInput, match="applicant key"):
            engine.lookup(code, id_number=NUMBER)
    finally:
        engine.close()


@pytest.mark.parametrize("number", ["12345", "00109001234a", "", 1090012345, "０" * 12])
def test_a_malformed_id_number_is_invalid_input_and_not_echoed(
        eng: Engine, number: object) -> None:
    code = submit(eng, number=NUMBER).code
    with pytest.raises(InvalidInput, match="12 digits") as caught:
        eng.lookup(code, id_number=number)  # type: ignore[arg-type]
    assert str(number) not in str(caught.value) or number == ""


def test_a_dossier_indexed_under_an_old_key_is_found_with_the_key_list(
        db_url: str, clock: FrozenClock) -> None:
    engine = setup(Engine(db_url, clock=clock, applicant_key="o" * 32))
    code = submit(engine, number=NUMBER).code
    engine.close()
    engine = Engine(db_url, clock=clock, applicant_key=["n" * 32, "o" * 32])
    try:
        assert engine.lookup(code, id_number=NUMBER).code == code
    finally:
        engine.close()


@pytest.mark.parametrize(("name", "masked"), [
    ("Nguyễn Văn An", "Nguyễn V** A**"),
    ("Trần Thị Ngọc Bích", "Trần T** N** B**"),
    ("  Lê   Ý  ", "Lê Ý**"),
    ("Hùng", "H**"),
    ("", ""),
])
def test_the_applicant_name_is_masked_after_the_family_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_an_applicant_key_must_be_long(db_url: str) -> None:
    with pytest.raises(InvalidInput, match="at least 32"):
        Engine(db_url, applicant_key="short")
    with pytest.raises(InvalidInput, match="applicant_key"):
        Engine(db_url, applicant_key=[b"k" * 32, 7])  # type: ignore[list-item]


def test_the_applicant_key_comes_from_the_environment(
        db_url: str, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOSSIER_APPLICANT_KEY", f"{'n' * 32}, {KEY}")
    engine = setup(Engine(db_url, clock=clock))
    try:
        code = submit(engine, number=NUMBER).code
        assert engine.lookup(code, id_number=NUMBER).code == code
        assert [d.code for d in engine.find(applicant_id=NUMBER).items] == [code]
    finally:
        engine.close()
