"""Concurrency: dossier numbers are unique and gapless under concurrent submissions, one
``fire`` wins a race, stale versions are refused, and a busy SQLite never leaks raw errors.

Every test runs on SQLite and, under ``pg_virtualenv``, on PostgreSQL (the ``db_url``
fixture); one engine shared by threads stands for a web server, two engines on one URL for
two processes.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from dossier import (
    Actor,
    ConcurrencyConflict,
    Dossier,
    Engine,
    TransitionNotAllowed,
    load_procedure,
    sample_path,
    samples,
)
from dossier.store import Database
from dossier.testing import FrozenClock
from tests.conftest import race

CHUNG_THUC = "2.000815"
DAY = "250908"  # the clock fixture's local date in Hà Nội
THREADS = 8
PER_THREAD = 25

T = TypeVar("T")


def _submit(engine: Engine, clerk: Actor, name: str = "Nguyễn Văn A") -> Dossier:
    return engine.submit(CHUNG_THUC, applicant={"name": name}, channel="counter", actor=clerk)


def _number(code: str, agency: str) -> int:
    match = re.fullmatch(rf"{re.escape(agency)}-{DAY}-(\d{{4,}})", code)
    assert match, f"{code!r} is not {{agency}}-{{yymmdd}}-{{nnnn}}"
    return int(match.group(1))


@pytest.fixture
def second_engine(db_url: str, clock: FrozenClock, engine: Engine) -> Iterator[Engine]:
    """Another engine on the same database, as a second process would have.

    It registers the samples too (a no-op: same content), as a process started with the
    same procedure files does.
    """
    other = Engine(db_url, clock=clock)
    for path in samples():
        other.register(load_procedure(path))
    yield other
    other.close()


def test_a_second_engine_uses_a_procedure_only_the_first_registered(
        engine: Engine, db_url: str, clock: FrozenClock, clerk: Actor) -> None:
    code = _submit(engine, clerk).code
    other = Engine(db_url, clock=clock)
    try:
        assert other.fire(code, "receive", actor=clerk).state == "digitising"
        assert _submit(other, clerk).code.endswith("-0002")
    finally:
        other.close()


def test_concurrent_submissions_through_one_engine_get_unique_gapless_codes(
        engine: Engine, clerk: Actor) -> None:
    def submit_many(i: int) -> list[str]:
        return [_submit(engine, clerk, f"Người nộp {i}-{n}").code for n in range(PER_THREAD)]

    results = race(THREADS, submit_many)

    codes = [code for result in results for code in _ok(result)]
    numbers = sorted(_number(code, clerk.agency or "") for code in codes)
    assert numbers == list(range(1, THREADS * PER_THREAD + 1))
    assert sorted(engine.codes()) == sorted(codes)
    assert all(code.endswith(f"-{n:04d}") for code, n in zip(sorted(codes), numbers,
                                                                strict=True))


def test_two_engines_on_one_database_never_hand_out_the_same_code(
        engine: Engine, second_engine: Engine, clerk: Actor) -> None:
    engines = (engine, second_engine)

    def submit_many(i: int) -> list[str]:
        return [_submit(engines[i % 2], clerk).code for _ in range(PER_THREAD)]

    results = race(THREADS, submit_many)

    codes = [code for result in results for code in _ok(result)]
    assert len(set(codes)) == len(codes) == THREADS * PER_THREAD
    numbers = sorted(_number(code, clerk.agency or "") for code in codes)
    assert numbers == list(range(1, THREADS * PER_THREAD + 1))


def test_each_agency_counts_its_own_dossiers(engine: Engine, clerk: Actor) -> None:
    other_clerk = Actor(id="nv99", role="clerk", agency="000.00.99.H12")
    engine.register(load_procedure(sample_path("chung-thuc-ban-sao-dien-tu")))
    first = _submit(engine, clerk)
    other = _submit(engine, other_clerk)
    assert first.code == f"{clerk.agency}-{DAY}-0001"
    assert other.code == f"{other_clerk.agency}-{DAY}-0001"


@pytest.mark.parametrize("shared", [True, False], ids=["one engine", "two engines"])
def test_only_one_of_several_concurrent_fires_of_a_trigger_wins(
        engine: Engine, second_engine: Engine, clerk: Actor, shared: bool) -> None:
    code = _submit(engine, clerk).code
    engines = (engine, engine if shared else second_engine)

    results = race(THREADS, lambda i: engines[i % 2].fire(code, "receive", actor=clerk))

    winners = [r for r in results if isinstance(r, Dossier)]
    losers = [r for r in results if not isinstance(r, Dossier)]
    assert len(winners) == 1
    assert all(isinstance(r, ConcurrencyConflict | TransitionNotAllowed) for r in losers), losers
    history = engine.history(code)
    assert [e.trigger for e in history] == ["submit", "receive"]
    assert engine.get(code).version == winners[0].version == 2
    assert engine.verify_audit(code)


@pytest.mark.parametrize("shared", [True, False], ids=["one engine", "two engines"])
def test_one_of_several_clerks_taking_the_same_fee_at_once_records_it(
        engine: Engine, second_engine: Engine, clerk: Actor, shared: bool) -> None:
    code = _submit(engine, clerk).code
    engine.fire(code, "receive", actor=clerk)
    engine.attach(code, "ban_chinh", b"%PDF-1.4 scan", "ban-chinh.pdf", actor=clerk)
    fee = engine.fire(code, "digitise", actor=clerk).fee_due
    engines = (engine, engine if shared else second_engine)

    results = race(THREADS, lambda i: engines[i % 2].fire(code, "pay", actor=clerk,
                                                            amount=fee))

    winners = [r for r in results if isinstance(r, Dossier)]
    losers = [r for r in results if not isinstance(r, Dossier)]
    assert len(winners) == 1
    assert all(isinstance(r, ConcurrencyConflict | TransitionNotAllowed) for r in losers), losers
    assert [p.state for p in engine.payments(code)] == ["succeeded"]
    assert len(engine.receipts(code)) == 1
    assert [e.trigger for e in engine.history(code)].count("pay") == 1
    assert engine.verify_audit(code)


def test_a_stale_if_version_is_a_conflict_and_writes_nothing(
        engine: Engine, clerk: Actor) -> None:
    submitted = _submit(engine, clerk)
    received = engine.fire(submitted.code, "receive", actor=clerk,
                           if_version=submitted.version)

    with pytest.raises(ConcurrencyConflict, match=submitted.code):
        engine.fire(submitted.code, "digitise", actor=clerk, if_version=submitted.version)

    assert engine.get(submitted.code) == received
    assert len(engine.history(submitted.code)) == 2
    assert engine.verify_audit(submitted.code)


def test_past_9999_the_number_widens_instead_of_wrapping(
        engine: Engine, clerk: Actor) -> None:
    assert _submit(engine, clerk).code.endswith("-0001")
    with engine.db.engine.begin() as conn:
        changed = conn.execute(
            sa.text("UPDATE counters SET value = 9999 WHERE scope = 'dossier' AND key = :key"),
            {"key": f"{clerk.agency}:{DAY}"}).rowcount
    assert changed == 1

    assert _submit(engine, clerk).code == f"{clerk.agency}-{DAY}-10000"
    assert _submit(engine, clerk).code == f"{clerk.agency}-{DAY}-10001"


def test_a_locked_sqlite_database_is_a_concurrency_conflict_not_a_raw_error(
        sqlite_url: str, clock: FrozenClock, clerk: Actor) -> None:
    engine = Engine(sqlite_url, clock=clock)
    try:
        engine.register(load_procedure(sample_path("chung-thuc-ban-sao-dien-tu")))
        code = _submit(engine, clerk).code
        _short_busy_timeout(engine.db, milliseconds=50)
        path = sqlite_url.removeprefix("sqlite:///")
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            with pytest.raises(ConcurrencyConflict, match="busy"):
                engine.fire(code, "receive", actor=clerk)
            with pytest.raises(ConcurrencyConflict, match="busy"):
                _submit(engine, clerk)
            assert engine.get(code).state == "awaiting_reception"  # WAL: readers go on
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        assert engine.fire(code, "receive", actor=clerk).state == "digitising"
        assert [e.trigger for e in engine.history(code)] == ["submit", "receive"]
        assert engine.verify_audit(code)
    finally:
        engine.close()


def _short_busy_timeout(db: Database, *, milliseconds: int) -> None:
    """Make new connections give up on a held lock after ``milliseconds`` (default 10 s)."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA busy_timeout={milliseconds}")

    db.engine.dispose()
    sa.event.listen(db.engine, "connect", on_connect)


def _ok(result: T | BaseException) -> T:
    if isinstance(result, BaseException):
        raise result
    return result
