"""Digitisation records: components digitised here (by whom, when, pages), components reused
from an earlier result or the citizen's data store (bytes checked against the source's
SHA-256), the result (digital, returned electronically), written with their events."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import AGENCY, make_procedure

from dossier import (
    Actor,
    AuditError,
    DigitisationKind,
    Engine,
    GuardFailed,
    InvalidInput,
    PermissionDenied,
    ReuseKind,
    ReuseSource,
    load_procedure,
    sample_path,
)
from dossier.digitisation import flags
from dossier.testing import FrozenClock, scanned_pdf, test_signer

CLERK = Actor(id="nv01", role="clerk", agency=AGENCY)
CERTIFIER = Actor(id="ct01", role="certifier", agency=AGENCY)
SPECIALIST = Actor(id="cv01", role="specialist", agency=AGENCY)
LEADER = Actor(id="ld01", role="leader", agency=AGENCY)
CITIZEN = Actor(id="cd01", role="citizen")
FOREIGN = Actor(id="nv99", role="clerk", agency="000.00.34.H34")
ORIGINAL = scanned_pdf("Giấy khai sinh (bản chính)")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2025, 9, 8, 2, 0, tzinfo=UTC))  # Monday 09:00 in Hà Nội


@pytest.fixture
def engine(tmp_path: Path, clock: FrozenClock) -> Iterator[Engine]:
    eng = Engine(f"sqlite:///{tmp_path / 'd.db'}", clock=clock,
                 signers={"test": test_signer(clock)})
    eng.register(load_procedure(sample_path("chung-thuc-ban-sao-dien-tu")))
    yield eng
    eng.close()


def certified(engine: Engine, clock: FrozenClock, method: str = "counter") -> str:
    """A chứng thực dossier taken to its end: scanned (2 pages), paid, certified, returned."""
    code = engine.submit("2.000815", applicant={"name": "Nguyễn Văn A"}, channel="counter",
                         actor=CLERK, fee_basis={"pages": 2}).code
    engine.fire(code, "receive", actor=CLERK)
    engine.attach(code, "ban_chinh", ORIGINAL, "ban-chinh.pdf", actor=CLERK)
    clock.advance(timedelta(minutes=5))
    engine.fire(code, "digitise", actor=CLERK, pages={"ban_chinh": 2})
    engine.fire(code, "pay", actor=CLERK, amount=4_000)
    engine.certify_copy(code, "ban_chinh", actor=CERTIFIER, signer="test")
    engine.fire(code, "return_result", actor=CLERK, method=method)
    return code


def test_digitise_records_each_stored_component_with_who_when_and_pages(
        engine: Engine, clock: FrozenClock) -> None:
    code = certified(engine, clock)
    scan, result = engine.digitisation(code)
    digitise = next(e for e in engine.history(code) if e.trigger == "digitise")
    assert scan.kind is DigitisationKind.DIGITISED
    assert (scan.component, scan.pages, scan.by, scan.at, scan.seq) == (
        "ban_chinh", 2, "nv01", digitise.at, digitise.seq)
    assert scan.sha256 == hashlib.sha256(ORIGINAL).hexdigest()
    assert digitise.data["pages"] == {"ban_chinh": 2}
    assert result.kind is DigitisationKind.RESULT
    assert result.result_digitised
    assert result.sha256 == engine.documents(code)[-1].sha256   # the certified copy
    assert result.returned_electronically is False
    assert engine.verify_audit(code)


def test_pages_are_optional_and_checked(engine: Engine) -> None:
    code = engine.submit("2.000815", applicant={"name": "A"}, channel="counter",
                         actor=CLERK, fee_basis={"pages": 1}).code
    engine.fire(code, "receive", actor=CLERK)
    engine.attach(code, "ban_chinh", ORIGINAL, "ban-chinh.pdf", actor=CLERK)
    for bad in ({"ban_chinh": 0}, {"khong_co": 1}, {"ban_chinh": True}, [1]):
        with pytest.raises(InvalidInput, match="pages"):
            engine.fire(code, "digitise", actor=CLERK, pages=bad)
    engine.fire(code, "digitise", actor=CLERK)
    [scan] = engine.digitisation(code)
    assert scan.pages is None


def test_a_result_returned_online_is_flagged_electronic(
        engine: Engine, clock: FrozenClock) -> None:
    code = certified(engine, clock, method="online")
    summary = flags(code, engine.digitisation(code))
    assert summary.digitised == {"ban_chinh"}
    assert summary.reused == frozenset()
    assert summary.result_digitised
    assert summary.returned_electronically


def test_a_paper_result_is_not_digitised(clock: FrozenClock) -> None:
    engine = Engine.in_memory(clock=clock)
    try:
        engine.register(make_procedure("9.400001", ["receive", "process", "sign", "return"]))
        code = engine.submit("9.400001", applicant={"name": "A"}, channel="counter",
                             actor=CLERK).code
        for trigger, actor in (("receive", CLERK), ("approve", SPECIALIST), ("sign", LEADER),
                               ("return_result", CLERK)):
            engine.fire(code, trigger, actor=actor)
        [result] = engine.digitisation(code)
        assert (result.kind, result.sha256, result.returned_electronically) == (
            DigitisationKind.RESULT, None, False)
        assert not flags(code, [result]).result_digitised
    finally:
        engine.close()


# --- reuse ----------------------------------------------------------------------------------

def test_a_result_of_an_earlier_dossier_is_reused_and_not_scanned_again(
        engine: Engine, clock: FrozenClock) -> None:
    earlier = certified(engine, clock)
    copy = engine.documents(earlier)[-1]
    content = engine.read_document(earlier, copy.sha256)
    code = engine.submit("2.000815", applicant={"name": "Nguyễn Văn A"}, channel="counter",
                         actor=CLERK, fee_basis={"pages": 1}).code
    engine.fire(code, "receive", actor=CLERK)
    source = ReuseSource(kind=ReuseKind.DOSSIER, reference=earlier, sha256=copy.sha256)
    engine.attach(code, "ban_chinh", content, "ban-sao.pdf", actor=CLERK, reused_from=source)
    engine.fire(code, "digitise", actor=CLERK, pages={"ban_chinh": 1})
    [reuse] = engine.digitisation(code)
    assert (reuse.kind, reuse.component, reuse.source, reuse.source_ref, reuse.sha256) == (
        DigitisationKind.REUSED, "ban_chinh", ReuseKind.DOSSIER, earlier, copy.sha256)
    attach = engine.history(code)[-2]
    assert attach.data["reused_from"] == {"kind": "dossier", "reference": earlier}
    assert flags(code, [reuse]).reused == {"ban_chinh"}
    assert engine.verify_audit(code)


def test_a_document_from_the_citizens_data_store_is_reused_as_a_mapping(engine: Engine) -> None:
    code = engine.submit("2.000815", applicant={"name": "A"}, channel="counter",
                         actor=CLERK).code
    digest = hashlib.sha256(ORIGINAL).hexdigest()
    engine.attach(code, "ban_chinh", ORIGINAL, "kho.pdf", actor=CLERK,
                  reused_from={"kind": "data_store", "reference": "KDL-001090012345-17",
                               "sha256": digest})
    [reuse] = engine.digitisation(code)
    assert (reuse.source, reuse.source_ref, reuse.by) == (ReuseKind.DATA_STORE,
                                                           "KDL-001090012345-17", "nv01")


@pytest.mark.parametrize(("source", "message"), [
    ({"kind": "data_store", "reference": "KDL-1", "sha256": "0" * 64}, "not that document"),
    ({"kind": "dossier", "reference": "000.00.12.H12-250908-9999", "sha256": None},
     "no earlier dossier"),
    ({"kind": "wallet", "reference": "x", "sha256": None}, "kind must be one of"),
    ({"kind": "data_store", "reference": "KDL-1"}, "reused_from must be"),
    ({"kind": "data_store", "reference": "KDL-1", "sha256": "ABC"}, "64 lower-case hex"),
])
def test_a_reuse_that_does_not_check_out_writes_nothing(
        engine: Engine, source: dict[str, object], message: str) -> None:
    code = engine.submit("2.000815", applicant={"name": "A"}, channel="counter",
                         actor=CLERK).code
    if "sha256" in source and source["sha256"] is None:
        source = {**source, "sha256": hashlib.sha256(ORIGINAL).hexdigest()}
    before = (engine.get(code), engine.history(code))
    with pytest.raises(InvalidInput, match=message):
        engine.attach(code, "ban_chinh", ORIGINAL, "x.pdf", actor=CLERK, reused_from=source)
    assert (engine.get(code), engine.history(code)) == before
    assert engine.attachments(code) == []
    assert engine.digitisation(code) == []


def test_an_earlier_dossier_must_hold_the_document(engine: Engine, clock: FrozenClock) -> None:
    earlier = certified(engine, clock)
    code = engine.submit("2.000815", applicant={"name": "A"}, channel="counter",
                         actor=CLERK).code
    digest = hashlib.sha256(ORIGINAL).hexdigest()   # its scan, not its certified copy
    with pytest.raises(InvalidInput, match="has no result or certified copy"):
        engine.attach(code, "ban_chinh", ORIGINAL, "x.pdf", actor=CLERK,
                      reused_from={"kind": "dossier", "reference": earlier, "sha256": digest})


# --- who may read, and what a tampered record looks like ----------------------------------------

def test_reading_the_record_checks_who_asks(engine: Engine, clock: FrozenClock) -> None:
    code = certified(engine, clock)
    assert len(engine.digitisation(code, actor=CLERK)) == 2
    with pytest.raises(PermissionDenied):
        engine.digitisation(code, actor=FOREIGN)
    with pytest.raises(PermissionDenied):
        engine.digitisation(code, actor=CITIZEN)    # submitted at the counter: no owner


@pytest.mark.parametrize(("sql", "field"), [
    ("UPDATE digitisation_records SET pages = 7 WHERE kind = 'digitised'", "digitisation"),
    ("UPDATE digitisation_records SET returned_electronically = 1 WHERE kind = 'result'",
     "digitisation"),
    ("UPDATE digitisation_records SET actor = 'nv02'", "digitisation"),
    ("UPDATE dossiers SET case_id = 'cu_tru_nhieu_noi'", "case"),
])
def test_verify_audit_names_an_edited_record(engine: Engine, clock: FrozenClock,
                                             tmp_path: Path, sql: str, field: str) -> None:
    code = certified(engine, clock)
    with sqlite3.connect(tmp_path / "d.db") as db:
        db.execute(sql)
    with pytest.raises(AuditError) as caught:
        engine.verify_audit(code)
    assert caught.value.field == field


def test_the_digitise_guard_still_needs_every_scan(engine: Engine) -> None:
    code = engine.submit("2.000815", applicant={"name": "A"}, channel="counter",
                         actor=CLERK).code
    engine.fire(code, "receive", actor=CLERK)
    with pytest.raises(GuardFailed, match="components_digitised"):
        engine.fire(code, "digitise", actor=CLERK, pages={"ban_chinh": 1})
    assert engine.digitisation(code) == []


def test_a_shown_paper_cannot_be_attached(clock: FrozenClock) -> None:
    engine = Engine.in_memory(clock=clock)
    try:
        engine.register(load_procedure(sample_path("dang-ky-khai-sinh")))
        code = engine.submit("1.001193", applicant={"name": "A"}, channel="counter",
                             actor=CLERK).code
        with pytest.raises(InvalidInput, match="only shown at the counter"):
            engine.attach(code, "giay_to_tuy_than", ORIGINAL, "cccd.pdf", actor=CLERK)
    finally:
        engine.close()
