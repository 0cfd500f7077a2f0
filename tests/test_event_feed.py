"""The event feed: ``engine.events_since(cursor)`` reaches every event of every dossier once,
in a stable order, and on PostgreSQL never skips an event that commits late with a smaller
id (two writers, one holding its transaction open)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from dossier import Actor, Engine, Event, InvalidInput, load_procedure, sample_path
from dossier.records import FeedEvent
from dossier.states import Trigger
from dossier.testing import FrozenClock
from tests.conftest import AGENCY, many_rounds

CHUNG_THUC = "2.000815"
REASON = "Thiếu bản chính giấy tờ cần chứng thực"


@pytest.fixture
def engine(db_url: str, clock: FrozenClock) -> Iterator[Engine]:
    eng = Engine(db_url, clock=clock)
    # the tests cycle supplement rounds to make events
    eng.register(many_rounds(load_procedure(sample_path("chung-thuc-ban-sao-dien-tu"))))
    yield eng
    eng.close()


def submit(engine: Engine, clerk: Actor) -> str:
    return engine.submit(CHUNG_THUC, applicant={"name": "Nguyễn Văn A"}, channel="counter",
                         actor=clerk).code


def move(engine: Engine, code: str, clerk: Actor) -> None:
    """One more event: a supplement asked for, or given."""
    if engine.get(code).state == "awaiting_supplement":
        engine.fire(code, "supplement", actor=clerk)
    else:
        engine.fire(code, "request_supplement", actor=clerk, reason=REASON)


def read_all(engine: Engine, cursor: str | None = None,
             limit: int = 1000) -> tuple[list[FeedEvent], str]:
    events: list[FeedEvent] = []
    while True:
        page, cursor = engine.events_since(cursor, limit=limit)
        events += page
        if not page:
            assert cursor is not None
            return events, cursor


def keys(events: list[FeedEvent]) -> list[tuple[str, int]]:
    return [(e.code, e.seq) for e in events]


def test_paging_reaches_every_event_once_in_a_stable_order(engine: Engine,
                                                           clerk: Actor) -> None:
    codes = [submit(engine, clerk) for _ in range(4)]
    for round_ in range(3):
        for code in codes[round_:]:
            move(engine, code, clerk)
    paged, _ = read_all(engine, limit=4)
    whole, _ = read_all(engine)
    assert keys(paged) == keys(whole)
    assert sorted(keys(paged)) == sorted({(c, s) for c in codes
                                          for s in range(1, len(engine.history(c)) + 1)})
    for code in codes:  # a dossier's events in their order
        assert [s for c, s in keys(paged) if c == code] == \
            [e.seq for e in engine.history(code)]


def test_feed_events_are_events_with_their_dossier(engine: Engine, clerk: Actor) -> None:
    code = submit(engine, clerk)
    [event], _ = engine.events_since(None)
    assert isinstance(event, Event)
    assert (event.code, event.agency, event.trigger) == (code, AGENCY, Trigger.SUBMIT.value)
    assert event.hash == engine.history(code)[0].hash


def test_a_cursor_resumes_after_what_it_returned(engine: Engine, clerk: Actor) -> None:
    first = submit(engine, clerk)
    seen, cursor = read_all(engine)
    assert keys(seen) == [(first, 1)]
    assert engine.events_since(cursor) == ([], cursor)  # nothing new: the same cursor
    second = submit(engine, clerk)
    move(engine, first, clerk)
    later, _ = read_all(engine, cursor)
    assert keys(later) == [(second, 1), (first, 2)]


def test_an_empty_ledger_gives_an_empty_page_and_a_cursor(engine: Engine) -> None:
    events, cursor = engine.events_since(None)
    assert events == []
    assert engine.events_since(cursor) == ([], cursor)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "", "not a cursor", "!!!!", _b64("v2:0:1"), _b64("v1:0"), _b64("v1:-1:2"),
    _b64("v1:0:1:2"), _b64("v1:x:1"), _b64(f"v1:0:{2**64}"), _b64("v1:０:1"), "A" * 101,
    "djE6MDox\x00", 12, b"djE6MDox",
])
def test_a_malformed_cursor_is_invalid_input(engine: Engine, cursor: Any) -> None:
    with pytest.raises(InvalidInput, match="cursor"):
        engine.events_since(cursor)


@pytest.mark.parametrize("limit", [0, 1001, True, 2.5, "10"])
def test_the_limit_is_checked(engine: Engine, limit: Any) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        engine.events_since(None, limit=limit)


# --- PostgreSQL: transactions commit out of id order ------------------------------------------


@pytest.fixture
def pg_engine(engine: Engine) -> Engine:
    if engine.db.is_sqlite:
        pytest.skip("SQLite takes one writer at a time: id order is commit order")
    return engine


@pytest.mark.postgres
def test_an_event_that_commits_after_later_ids_is_not_skipped(
        pg_engine: Engine, db_url: str, clock: FrozenClock, clerk: Actor) -> None:
    engine = pg_engine
    slow_code, fast_code = submit(engine, clerk), submit(engine, clerk)
    seen, cursor = read_all(engine)
    inserted, release = threading.Event(), threading.Event()

    def slow_writer() -> None:  # inserts its event first, commits last
        kernel = engine.kernel
        with kernel.transaction() as tx:
            kernel.fire(tx, slow_code, Trigger.RECEIVE, clerk, {}, now=kernel.now())
            inserted.set()
            assert release.wait(30)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert inserted.wait(30)
        other = Engine(db_url, clock=clock)  # another process
        try:
            for _ in range(3):
                move(other, fast_code, clerk)  # larger ids, committed first
        finally:
            other.close()
        page, cursor = read_all(engine, cursor)
        assert page == []  # held back behind the open transaction, not skipped past it
    finally:
        release.set()
        thread.join(30)
    page, cursor = read_all(engine, cursor)
    assert keys(page) == [(slow_code, 2), (fast_code, 2), (fast_code, 3), (fast_code, 4)]
    slow_id = _event_id(engine, slow_code, 2)
    assert all(slow_id < _event_id(engine, fast_code, seq) for seq in (2, 3, 4))
    assert len(seen) + len(page) == 6


def _event_id(engine: Engine, code: str, seq: int) -> int:
    with engine.kernel.transaction(write=False) as tx:
        row = tx.one("SELECT e.id FROM events e JOIN dossiers d ON d.id = e.dossier_id"
                     " WHERE d.code = ? AND e.seq = ?", (code, seq))
    return int(row[0])


@pytest.mark.postgres
def test_a_reader_polling_two_concurrent_writers_sees_every_event_once(
        pg_engine: Engine, db_url: str, clock: FrozenClock, clerk: Actor) -> None:
    engine = pg_engine
    codes = [submit(engine, clerk) for _ in range(4)]
    writers = [Engine(db_url, clock=clock) for _ in range(2)]
    done = threading.Event()
    read: list[FeedEvent] = []

    def reader() -> None:
        cursor = None
        while True:
            finished = done.is_set()  # looked at before reading: the last read sees all
            page, cursor = engine.events_since(cursor, limit=7)
            read.extend(page)
            if finished and not page:
                return

    def write(writer: Engine, mine: list[str]) -> None:
        for _ in range(15):
            for code in mine:
                move(writer, code, clerk)

    polling = threading.Thread(target=reader)
    polling.start()
    threads = [threading.Thread(target=write, args=(w, codes[i::2]))
               for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    done.set()
    polling.join(120)
    for writer in writers:
        writer.close()
    expected = {(c, s) for c in codes for s in range(1, len(engine.history(c)) + 1)}
    assert len(expected) == 4 * 16
    assert sorted(keys(read)) == sorted(expected)  # every one, none twice
    again, _ = read_all(engine)
    assert keys(again) == keys(read)  # the same order on a second reading


@pytest.mark.postgres
def test_a_checkpoint_taken_while_a_writer_is_open_still_verifies_after_it_commits(
        pg_engine: Engine, db_url: str, clock: FrozenClock, clerk: Actor) -> None:
    """The event that commits late with a smaller id is outside the checkpoint both when it is
    taken and when it is verified: no false "rewritten" report."""
    engine = pg_engine
    keyed = Engine(db_url, clock=clock, audit_key="a-province-audit-key-0123456789abcdef")
    try:
        slow_code, fast_code = submit(keyed, clerk), submit(keyed, clerk)
        inserted, release = threading.Event(), threading.Event()

        def slow_writer() -> None:
            kernel = keyed.kernel
            with kernel.transaction() as tx:
                kernel.fire(tx, slow_code, Trigger.RECEIVE, clerk, {}, now=kernel.now())
                inserted.set()
                assert release.wait(30)

        thread = threading.Thread(target=slow_writer)
        thread.start()
        try:
            assert inserted.wait(30)
            move(keyed, fast_code, clerk)       # a larger id, committed first
            statement = keyed.audit_checkpoint()
        finally:
            release.set()
            thread.join(30)
        assert "below_txid" in statement
        report = keyed.verify_checkpoint(statement)
        assert report.ok, report.problems
        assert keyed.verify_checkpoint(keyed.audit_checkpoint()).ok
    finally:
        keyed.close()
    del engine
