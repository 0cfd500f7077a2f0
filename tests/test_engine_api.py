"""The public API of issue 2: ``Engine``, ``submit``, ``get``, ``history``, ``procedure``,
``attach`` / ``read_attachment``, and procedure versions kept in the database.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import make_procedure

from dossier import (
    Actor,
    Dossier,
    DossierNotFound,
    Engine,
    Event,
    GuardFailed,
    InvalidInput,
    ProcedureConflict,
    ProcedureNotFound,
    State,
)
from dossier.testing import FrozenClock

AGENCY = "000.00.12.H12"
CODE = "9.900031"
STEPS = ("receive", "digitise", "process", "return")
API: dict[str, Any] = {  # keyword options of this file's procedure, version 1 by default
    "name": "Thủ tục thử API", "agency_level": "commune", "processing_days": 3,
    "components": [
        {"id": "giay_to", "name": "Giấy tờ", "must_digitise": True},
        {"id": "anh_the", "name": "Ảnh thẻ", "must_digitise": True},
        {"id": "ghi_chu", "name": "Ghi chú", "required": False},
    ],
}
PROCEDURE = make_procedure(CODE, STEPS, **API)


@pytest.fixture
def eng(engine: Engine) -> Engine:
    engine.register(PROCEDURE)
    return engine


def submit(engine: Engine, clerk: Actor, name: str = "Nguyễn Văn A") -> Dossier:
    return engine.submit(CODE, applicant={"name": name, "id_number": "001090012345"},
                         channel="counter", actor=clerk)


# --- constructing engines ------------------------------------------------------------------


def test_engine_without_url_uses_dossier_db_in_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FrozenClock,
        clerk: Actor) -> None:
    monkeypatch.chdir(tmp_path)
    engine = Engine(clock=clock)
    engine.register(PROCEDURE)
    code = submit(engine, clerk).code
    engine.close()
    assert (tmp_path / "dossier.db").is_file()
    reopened = Engine(f"sqlite:///{tmp_path / 'dossier.db'}", clock=clock)
    assert reopened.get(code).state == "awaiting_reception"
    reopened.close()


def test_an_in_memory_engine_runs_a_dossier(clock: FrozenClock, clerk: Actor) -> None:
    engine = Engine.in_memory(clock=clock)
    engine.register(PROCEDURE)
    code = submit(engine, clerk).code
    assert engine.fire(code, "receive", actor=clerk).state == "digitising"
    assert engine.verify_audit(code)


def test_in_memory_engines_do_not_share_dossiers(clock: FrozenClock, clerk: Actor) -> None:
    first, second = Engine.in_memory(clock=clock), Engine.in_memory(clock=clock)
    first.register(PROCEDURE)
    code = submit(first, clerk).code
    with pytest.raises(DossierNotFound):
        second.get(code)


def test_one_in_memory_engine_is_safe_to_share_between_threads(
        clock: FrozenClock, clerk: Actor) -> None:
    engine = Engine.in_memory(clock=clock)
    engine.register(PROCEDURE)
    barrier = threading.Barrier(8)

    def work(i: int) -> list[str]:
        barrier.wait()
        codes = []
        for n in range(10):
            code = submit(engine, clerk, f"Người {i}-{n}").code
            engine.fire(code, "receive", actor=clerk)
            codes.append(code)
        return codes

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = [c for chunk in pool.map(work, range(8)) for c in chunk]
    assert len(set(codes)) == 80
    assert sorted(engine.codes()) == sorted(codes)
    for code in codes:
        assert engine.get(code).state == "digitising"
        assert engine.verify_audit(code)


# --- submit --------------------------------------------------------------------------------


def test_submit_creates_the_dossier_awaiting_reception(eng: Engine, clerk: Actor) -> None:
    dossier = submit(eng, clerk)
    assert dossier.state == "awaiting_reception"
    assert eng.get(dossier.code).state == "awaiting_reception"


def test_submit_records_a_submit_event_without_source(
        eng: Engine, clerk: Actor, clock: FrozenClock) -> None:
    dossier = submit(eng, clerk)
    [event] = eng.history(dossier.code)
    assert (event.trigger, event.source, event.target) == ("submit", None,
                                                           "awaiting_reception")
    assert event.actor == clerk.id
    assert event.at == clock.now()


def test_a_counter_submission_belongs_to_the_clerks_agency(eng: Engine, clerk: Actor) -> None:
    dossier = submit(eng, clerk)
    assert dossier.agency == AGENCY
    assert dossier.channel == "counter"


def test_an_online_submission_belongs_to_the_agency_the_citizen_names(
        eng: Engine, citizen: Actor) -> None:
    dossier = eng.submit(CODE, applicant={"name": "A"}, channel="online", actor=citizen,
                         agency="000.00.99.H99")
    assert dossier.agency == "000.00.99.H99"
    assert dossier.owner == citizen.id


def test_an_online_submission_must_name_the_agency(eng: Engine, citizen: Actor) -> None:
    with pytest.raises(InvalidInput):
        eng.submit(CODE, applicant={"name": "A"}, channel="online", actor=citizen)


def test_the_dossier_code_is_agency_local_date_and_a_four_digit_number(
        eng: Engine, clerk: Actor, clock: FrozenClock) -> None:
    clock.set(datetime(2025, 9, 8, 18, 0, tzinfo=UTC))  # already 9 September in Hà Nội
    first, second = submit(eng, clerk), submit(eng, clerk)
    assert first.code == f"{AGENCY}-250909-0001"
    assert second.code == f"{AGENCY}-250909-0002"


def test_submitting_an_unregistered_procedure_is_refused(eng: Engine, clerk: Actor) -> None:
    with pytest.raises(ProcedureNotFound):
        eng.submit("9.999999", applicant={"name": "A"}, channel="counter", actor=clerk)


# --- get / history -------------------------------------------------------------------------


def test_get_returns_a_frozen_dataclass_snapshot(eng: Engine, clerk: Actor) -> None:
    dossier = eng.get(submit(eng, clerk).code)
    assert isinstance(dossier, Dossier)
    assert dataclasses.is_dataclass(dossier)
    with pytest.raises(dataclasses.FrozenInstanceError):
        dossier.state = State.RETURNED  # type: ignore[misc]


def test_a_snapshot_does_not_change_when_the_dossier_moves_on(
        eng: Engine, clerk: Actor) -> None:
    code = submit(eng, clerk).code
    before = eng.get(code)
    eng.fire(code, "receive", actor=clerk)
    assert before.state == "awaiting_reception"
    assert eng.get(code).state == "digitising"


def test_the_state_compares_equal_to_its_name_string(eng: Engine, clerk: Actor) -> None:
    state = eng.get(submit(eng, clerk).code).state
    assert state == "awaiting_reception"
    assert isinstance(state, str)
    assert f"{state}" == "awaiting_reception"


def test_fire_returns_the_same_snapshot_get_reads_afterwards(
        eng: Engine, clerk: Actor) -> None:
    code = submit(eng, clerk).code
    assert eng.fire(code, "receive", actor=clerk) == eng.get(code)


def test_get_of_an_unknown_code_raises_dossier_not_found(eng: Engine) -> None:
    with pytest.raises(DossierNotFound):
        eng.get("000.00.12.H12-250908-0042")
    with pytest.raises(DossierNotFound):
        eng.history("000.00.12.H12-250908-0042")


def test_history_is_oldest_first_with_who_what_and_when(
        eng: Engine, clerk: Actor, specialist: Actor, clock: FrozenClock) -> None:
    code = submit(eng, clerk).code
    submitted_at = clock.now()
    clock.advance(timedelta(minutes=5))
    eng.fire(code, "receive", actor=clerk)
    history = eng.history(code)
    assert all(isinstance(e, Event) for e in history)
    assert [(e.trigger, e.source, e.target, e.actor, e.on_behalf_of) for e in history] == [
        ("submit", None, "awaiting_reception", "nv01", None),
        ("receive", "awaiting_reception", "digitising", "nv01", None),
    ]
    assert [e.at for e in history] == [submitted_at, submitted_at + timedelta(minutes=5)]
    assert all(e.at.utcoffset() == timedelta(0) for e in history)


def test_history_records_who_a_clerk_acted_for(eng: Engine, citizen: Actor,
                                               clerk: Actor) -> None:
    code = eng.submit(CODE, applicant={"name": "A"}, channel="online", actor=citizen,
                      agency=AGENCY).code
    eng.fire(code, "withdraw", actor=clerk, reason="Công dân đề nghị tại quầy")
    last = eng.history(code)[-1]
    assert (last.trigger, last.actor, last.on_behalf_of) == ("withdraw", "nv01", citizen.id)


# --- procedures ----------------------------------------------------------------------------


def test_a_procedure_exposes_its_national_code_and_ordered_steps(eng: Engine) -> None:
    procedure = eng.procedure(CODE, "1")
    assert procedure.code == CODE
    assert [s.name for s in procedure.steps] == ["receive", "digitise", "process", "return"]
    assert [s.role for s in procedure.steps] == ["clerk", "clerk", "specialist", "clerk"]


def test_a_dossier_keeps_its_procedure_version_after_a_newer_one_is_registered(
        eng: Engine, clerk: Actor) -> None:
    old = submit(eng, clerk).code
    eng.register(make_procedure(CODE, ("receive", "return"), **API, version="2",
                                effective_from="2025-09-01"))
    new = submit(eng, clerk).code
    assert eng.get(old).procedure_version == "1"
    assert eng.get(new).procedure_version == "2"
    assert eng.fire(old, "receive", actor=clerk).state == "digitising"   # version 1's path
    assert eng.fire(new, "receive", actor=clerk).state == "awaiting_return"  # version 2's


def test_submit_picks_the_version_in_force_on_the_local_date(
        eng: Engine, clerk: Actor, clock: FrozenClock) -> None:
    eng.register(make_procedure(CODE, ("receive", "return"), **API, version="2025.07",
                                effective_from="2025-07-01"))
    eng.register(make_procedure(CODE, ("receive", "return"), **API, version="2018",
                                effective_from="2018-01-01", effective_until="2025-06-30"))
    clock.set(datetime(2025, 6, 30, 16, 30, tzinfo=UTC))  # 23:30 on 30 June in Hà Nội
    assert submit(eng, clerk).procedure_version in ("1", "2018")
    clock.set(datetime(2025, 6, 30, 17, 30, tzinfo=UTC))  # 00:30 on 1 July in Hà Nội
    assert submit(eng, clerk).procedure_version == "2025.07"


def test_registering_the_same_version_with_other_content_is_a_conflict(eng: Engine) -> None:
    with pytest.raises(ProcedureConflict):
        eng.register(make_procedure(CODE, STEPS, **(API | {"name": "Thủ tục thử API (sửa)"})))


def test_registering_the_same_version_with_the_same_content_twice_is_fine(
        eng: Engine) -> None:
    assert eng.register(make_procedure(CODE, STEPS, **API)) == PROCEDURE
    assert eng.procedure(CODE, "1") == PROCEDURE


def test_a_second_engine_on_the_same_database_sees_registered_procedures(
        eng: Engine, db_url: str, clock: FrozenClock, clerk: Actor) -> None:
    other = Engine(db_url, clock=clock)
    try:
        assert other.procedure(CODE, "1") == PROCEDURE
        dossier = submit(other, clerk)
        assert dossier.procedure_version == "1"
        assert eng.get(dossier.code).state == "awaiting_reception"
    finally:
        other.close()


def test_a_second_engine_refuses_conflicting_content_for_a_registered_version(
        eng: Engine, db_url: str, clock: FrozenClock) -> None:
    other = Engine(db_url, clock=clock)
    try:
        with pytest.raises(ProcedureConflict):
            other.register(
                make_procedure(CODE, STEPS, **(API | {"name": "Thủ tục thử API (sửa)"})))
    finally:
        other.close()


# --- attachments ---------------------------------------------------------------------------


def test_attach_stores_a_file_under_its_sha256(eng: Engine, clerk: Actor) -> None:
    code = submit(eng, clerk).code
    content = b"%PDF-1.7 giay to"
    attachment = eng.attach(code, "giay_to", content, "giay-to.pdf", actor=clerk)
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert attachment.size == len(content)
    assert (attachment.component, attachment.filename) == ("giay_to", "giay-to.pdf")


def test_the_same_bytes_attached_twice_have_the_same_sha256(eng: Engine, clerk: Actor) -> None:
    first, second = submit(eng, clerk).code, submit(eng, clerk).code
    a = eng.attach(first, "giay_to", b"%PDF-1.4 same bytes", "a.pdf", actor=clerk)
    b = eng.attach(second, "anh_the", b"%PDF-1.4 same bytes", "b.pdf", actor=clerk)
    assert a.sha256 == b.sha256
    assert eng.read_attachment(first, a.sha256) == eng.read_attachment(second, b.sha256)


def test_read_attachment_returns_the_stored_bytes(eng: Engine, clerk: Actor) -> None:
    code = submit(eng, clerk).code
    content = bytes(range(256)) * 10
    attachment = eng.attach(code, "giay_to", content, "scan.bin", actor=clerk)
    assert eng.read_attachment(code, attachment.sha256) == content


def test_a_dossier_cannot_read_a_file_attached_to_another(eng: Engine, clerk: Actor) -> None:
    first, second = submit(eng, clerk).code, submit(eng, clerk).code
    attachment = eng.attach(first, "giay_to", b"%PDF-1.4 private", "p.pdf", actor=clerk)
    with pytest.raises(InvalidInput):
        eng.read_attachment(second, attachment.sha256)


def test_attaching_to_an_unknown_component_is_invalid_input(
        eng: Engine, clerk: Actor) -> None:
    code = submit(eng, clerk).code
    with pytest.raises(InvalidInput):
        eng.attach(code, "khong_co", b"%PDF-1.4 x", "x.pdf", actor=clerk)
    assert eng.attachments(code) == []


def test_digitise_is_refused_until_every_must_digitise_component_is_attached(
        eng: Engine, clerk: Actor) -> None:
    code = submit(eng, clerk).code
    eng.fire(code, "receive", actor=clerk)
    with pytest.raises(GuardFailed) as caught:
        eng.fire(code, "digitise", actor=clerk)
    assert caught.value.guard == "components_digitised"
    assert sorted(caught.value.missing) == ["anh_the", "giay_to"]

    eng.attach(code, "giay_to", b"%PDF-1.4 scan 1", "1.pdf", actor=clerk)
    eng.attach(code, "ghi_chu", b"note", "n.txt", actor=clerk)  # optional: does not count
    with pytest.raises(GuardFailed) as caught:
        eng.fire(code, "digitise", actor=clerk)
    assert list(caught.value.missing) == ["anh_the"]

    eng.attach(code, "anh_the", b"\xff\xd8\xff scan 2", "2.jpg", actor=clerk)
    assert eng.fire(code, "digitise", actor=clerk).state == "processing"
