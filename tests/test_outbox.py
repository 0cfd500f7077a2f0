"""The transactional outbox: rows written with events, delivered at least once, in order per
dossier and sink, with backoff, dead letters, retry and purge.

Every test runs on SQLite and, under ``pg_virtualenv``, on PostgreSQL (the ``db_url``
fixture). The sinks are small in-test implementations of the port
(:mod:`dossier.sinks.base`): one that records, one that fails a number of times, one that
refuses for good.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dossier import Actor, Dossier, Engine, InvalidInput, load_procedure, sample_path
from dossier.cli import main
from dossier.engine import OutboxSettings
from dossier.engine.outbox import short_error
from dossier.records import OutboxStatus
from dossier.sinks import DeliveryFailed, Message, subscribed
from dossier.testing import FrozenClock
from tests.conftest import AGENCY, ROOT, many_rounds, race

CHUNG_THUC = "2.000815"
APPLICANT = {"name": "Nguyễn Văn A", "id_number": "001090012345"}
REASON = "Thiếu bản chính giấy tờ cần chứng thực"


class Recorder:
    """Records every message it is handed (and the dossier with it)."""

    def __init__(self, types: frozenset[str] | None = None) -> None:
        self.types = types
        self.got: list[Message] = []
        self.dossiers: list[Dossier] = []

    def wants(self, message_type: str) -> bool:
        return subscribed(self.types, message_type)

    def deliver(self, message: Message, dossier: Dossier) -> None:
        self.got.append(message)
        self.dossiers.append(dossier)

    def seqs(self, code: str) -> list[int]:
        return [m.seq for m in self.got if m.code == code]


class Flaky(Recorder):
    """Answers "HTTP 500" to the first ``failures`` deliveries (of ``only`` messages), then
    records like :class:`Recorder`."""

    def __init__(self, failures: int, only: Callable[[Message], bool] = lambda m: True,
                 error: Exception | None = None) -> None:
        super().__init__()
        self.failures = failures
        self.only = only
        self.error = error or DeliveryFailed("HTTP 500 from the partner")
        self.attempts: list[Message] = []

    def deliver(self, message: Message, dossier: Dossier) -> None:
        self.attempts.append(message)
        if self.failures and self.only(message):
            self.failures -= 1
            raise self.error
        super().deliver(message, dossier)


class Refusing(Recorder):
    def deliver(self, message: Message, dossier: Dossier) -> None:
        raise DeliveryFailed("HTTP 410: the partner closed this endpoint", permanent=True)


def no_jitter() -> float:
    return 0.0  # full jitter with 0 drawn: the whole span


@pytest.fixture
def make(db_url: str, clock: FrozenClock) -> Iterator[Callable[..., Engine]]:
    """Engines on the test database with the sample procedure registered."""
    made: list[Engine] = []

    def build(**kwargs: Any) -> Engine:
        kwargs.setdefault("outbox", OutboxSettings(random=no_jitter))
        engine = Engine(db_url, clock=clock, **kwargs)
        # (the tests cycle supplement rounds to make events)
        engine.register(many_rounds(load_procedure(sample_path("chung-thuc-ban-sao-dien-tu"))))
        made.append(engine)
        return engine

    yield build
    for engine in made:
        engine.close()


def submit(engine: Engine, clerk: Actor) -> str:
    return engine.submit(CHUNG_THUC, applicant=APPLICANT, channel="counter", actor=clerk).code


def cycle(engine: Engine, code: str, clerk: Actor, moves: int) -> None:
    """``moves`` more events: ask for a supplement, supplement, and so on."""
    for i in range(moves):
        if i % 2 == 0:
            engine.fire(code, "request_supplement", actor=clerk, reason=REASON)
        else:
            engine.fire(code, "supplement", actor=clerk)


def statuses(engine: Engine, **kwargs: Any) -> list[tuple[str, int, str]]:
    return [(e.dossier_code, e.seq, e.status.value) for e in engine.outbox_messages(**kwargs)]


# --- written with the event ----------------------------------------------------------------


def test_every_event_gets_one_row_per_sink_that_wants_it(make: Callable[..., Engine],
                                                        clerk: Actor) -> None:
    engine = make(sinks={"partner": Recorder(), "desk": Recorder(frozenset({"supplement"}))})
    code = submit(engine, clerk)
    cycle(engine, code, clerk, 2)
    assert [e.seq for e in engine.outbox_messages(sink="partner")] == [1, 2, 3]
    assert [(e.seq, e.type) for e in engine.outbox_messages(sink="desk")] == \
        [(3, "dossier.supplement")]


def test_an_engine_without_sinks_writes_no_rows(make: Callable[..., Engine],
                                                clerk: Actor) -> None:
    engine = make()
    cycle(engine, submit(engine, clerk), clerk, 2)
    assert engine.outbox_messages() == []
    assert engine.dispatch_outbox().attempted == 0


def test_a_transaction_that_fails_after_the_event_leaves_no_outbox_row(
        make: Callable[..., Engine], clerk: Actor) -> None:
    engine = make(sinks={"partner": Recorder()})
    code = submit(engine, clerk)

    def boom(*_: Any) -> Dossier:
        raise RuntimeError("a later step of the same transaction failed")

    engine.kernel.on_transition(boom)  # runs after the event and its outbox rows
    with pytest.raises(RuntimeError):
        engine.fire(code, "receive", actor=clerk)
    assert [e.trigger for e in engine.history(code)] == ["submit"]
    assert [e.seq for e in engine.outbox_messages()] == [1]


def test_a_refused_or_conflicting_fire_leaves_no_outbox_row(
        make: Callable[..., Engine], clerk: Actor) -> None:
    from dossier import ConcurrencyConflict, TransitionNotAllowed

    engine = make(sinks={"partner": Recorder()})
    code = submit(engine, clerk)
    with pytest.raises(ConcurrencyConflict):
        engine.fire(code, "receive", actor=clerk, if_version=0)
    with pytest.raises(TransitionNotAllowed):
        engine.fire(code, "approve", actor=clerk)
    assert [e.seq for e in engine.outbox_messages()] == [1]


def test_the_message_carries_the_contract_and_nothing_personal(
        make: Callable[..., Engine], clerk: Actor) -> None:
    partner = Recorder()
    engine = make(sinks={"partner": partner})
    code = submit(engine, clerk)
    engine.attach(code, "ban_chinh", b"%PDF-1.4 scan", "cccd-nguyen-van-a.pdf", actor=clerk)
    engine.fire(code, "receive", actor=clerk, note="gọi Nguyễn Văn A số 0912345678")
    engine.dispatch_outbox()
    after = engine.get(code)
    submitted, attached, received = (m.body() for m in partner.got)
    assert received["type"] == "dossier.receive"
    assert (received["code"], received["agency"], received["seq"]) == (code, AGENCY, 3)
    assert received["state"] == after.state.value == "digitising"
    assert received["portal_status"] == after.portal_status
    assert received["at"] == after.updated_at.isoformat()
    assert datetime.fromisoformat(received["due_at"]) == after.deadlines.appointment_at
    assert received["due_at"].endswith("+00:00")
    assert submitted["data"] == {"channel": "counter", "fee_due": 2000,
                                 "procedure": CHUNG_THUC, "version": "2025.07"}
    assert "filename" not in attached["data"]
    assert attached["data"]["component"] == "ban_chinh"
    text = json.dumps([m.body() for m in partner.got], ensure_ascii=False)
    for personal in ("Nguyễn", "nguyen", APPLICANT["id_number"], "0912345678", "applicant"):
        assert personal not in text
    assert partner.dossiers[-1].code == code  # the sink gets the dossier as it is now


def test_one_event_has_one_message_id_for_every_sink_and_attempt(
        make: Callable[..., Engine], clerk: Actor, clock: FrozenClock) -> None:
    flaky, other = Flaky(1), Recorder()
    engine = make(sinks={"flaky": flaky, "other": other})
    submit(engine, clerk)
    engine.dispatch_outbox()
    clock.advance(timedelta(minutes=1))
    engine.dispatch_outbox()
    ids = {m.id for m in [*flaky.attempts, *other.got]}
    assert len(ids) == 1
    assert ids.pop().startswith("msg_")
    assert [m.attempt for m in flaky.attempts] == [1, 2]


# --- retries, backoff, dead letters -------------------------------------------------------


def test_a_receiver_answering_500_twice_gets_the_message_on_the_third_dispatch(
        make: Callable[..., Engine], clerk: Actor, clock: FrozenClock) -> None:
    flaky = Flaky(2)
    engine = make(sinks={"partner": flaky})
    submit(engine, clerk)
    start = clock.now()

    report = engine.dispatch_outbox()
    assert (report.delivered, report.failed, report.dead) == (0, 1, 0)
    [entry] = engine.outbox_messages()
    assert entry.next_attempt_at == start + timedelta(seconds=10)  # backoff_base
    assert entry.last_error == "HTTP 500 from the partner"
    assert engine.dispatch_outbox().attempted == 0  # not due yet

    clock.advance(timedelta(seconds=10))
    assert engine.dispatch_outbox().failed == 1
    [entry] = engine.outbox_messages()
    assert entry.next_attempt_at == clock.now() + timedelta(seconds=20)  # doubled
    clock.advance(timedelta(seconds=19))
    assert engine.dispatch_outbox().attempted == 0

    clock.advance(timedelta(seconds=1))
    assert engine.dispatch_outbox().delivered == 1
    assert [m.attempt for m in flaky.attempts] == [1, 2, 3]
    assert [m.seq for m in flaky.got] == [1]
    assert statuses(engine) == [(flaky.got[0].code, 1, "delivered")]


def test_a_dossier_s_later_event_waits_while_an_earlier_one_fails(
        make: Callable[..., Engine], clerk: Actor, clock: FrozenClock) -> None:
    stuck_code: list[str] = []
    flaky = Flaky(3, only=lambda m: m.code in stuck_code and m.seq == 2)
    engine = make(sinks={"partner": flaky})
    stuck, fine = submit(engine, clerk), submit(engine, clerk)
    stuck_code.append(stuck)
    cycle(engine, stuck, clerk, 3)
    cycle(engine, fine, clerk, 3)

    for _ in range(3):
        engine.dispatch_outbox()
        assert flaky.seqs(stuck) == [1]  # 2 fails; 3 and 4 are held back
        clock.advance(timedelta(hours=1))
    assert flaky.seqs(fine) == [1, 2, 3, 4]
    engine.dispatch_outbox()
    assert flaky.seqs(stuck) == [1, 2, 3, 4]


def test_a_message_is_dead_after_max_attempts_and_holds_back_the_next(
        make: Callable[..., Engine], clerk: Actor, clock: FrozenClock) -> None:
    flaky = Flaky(3, only=lambda m: m.seq == 1)
    engine = make(sinks={"partner": flaky},
                  outbox=OutboxSettings(max_attempts=3, random=no_jitter))
    code = submit(engine, clerk)
    cycle(engine, code, clerk, 1)
    reports = []
    for _ in range(4):
        reports.append(engine.dispatch_outbox())
        clock.advance(timedelta(hours=2))
    assert [(r.failed, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    assert statuses(engine) == [(code, 1, "dead"), (code, 2, "pending")]
    assert flaky.got == []
    backlog = engine.outbox_backlog()["partner"]
    assert (backlog.pending, backlog.dead) == (1, 1)

    assert engine.retry_outbox(sink="partner") == 1
    [dead_one] = engine.outbox_messages(status="pending", limit=1)
    assert dead_one.attempts == 0  # a fresh round of attempts
    assert engine.dispatch_outbox().delivered == 2
    assert flaky.seqs(code) == [1, 2]


def test_purging_a_dead_message_releases_the_next(make: Callable[..., Engine], clerk: Actor,
                                                  clock: FrozenClock) -> None:
    engine = make(sinks={"partner": Refusing()})
    code = submit(engine, clerk)
    cycle(engine, code, clerk, 1)
    report = engine.dispatch_outbox()
    assert (report.dead, report.failed) == (1, 0)  # permanent: dead at once
    [dead] = engine.outbox_messages(status="dead")
    assert dead.last_error == "HTTP 410: the partner closed this endpoint"

    partner = Recorder()
    fixed = make(sinks={"partner": partner})
    assert fixed.purge_outbox(ids=[dead.id]) == 1
    assert fixed.dispatch_outbox().delivered == 1
    assert partner.seqs(code) == [2]


def test_a_sink_s_unexpected_exception_is_retried_and_its_text_not_kept(
        make: Callable[..., Engine], clerk: Actor, caplog: pytest.LogCaptureFixture) -> None:
    leaky = Flaky(1, error=KeyError(f"{APPLICANT['name']} {APPLICANT['id_number']}"))
    engine = make(sinks={"partner": leaky})
    submit(engine, clerk)
    assert engine.dispatch_outbox().failed == 1
    [entry] = engine.outbox_messages()
    assert entry.last_error is not None
    assert entry.last_error.startswith("KeyError")
    for text in (entry.last_error, caplog.text):
        assert APPLICANT["id_number"] not in text
        assert "Nguyễn" not in text


def test_a_failure_reason_is_kept_short_on_one_line_without_id_numbers() -> None:
    assert short_error("HTTP 500\nbody: citizen 001090012345") == "HTTP 500 body: citizen …"
    assert len(short_error("x" * 1000)) == 200
    assert short_error("") == "failed"


def test_rows_of_a_sink_the_engine_does_not_have_stay_pending(
        make: Callable[..., Engine], clerk: Actor, caplog: pytest.LogCaptureFixture) -> None:
    writer = make(sinks={"old": Recorder()})
    submit(writer, clerk)
    partner = Recorder()
    engine = make(sinks={"partner": partner})
    report = engine.dispatch_outbox()
    assert report.unconfigured == {"old": 1}
    assert report.attempted == 0
    assert "old (1)" in caplog.text
    assert statuses(engine, sink="old")[0][2] == "pending"
    assert set(engine.outbox_backlog()) == {"old", "partner"}
    assert engine.purge_outbox(sink="old", status="pending") == 1


def test_delivered_rows_are_pruned_after_the_retention(
        make: Callable[..., Engine], clerk: Actor, clock: FrozenClock) -> None:
    engine = make(sinks={"partner": Recorder()},
                  outbox=OutboxSettings(retention=timedelta(days=1)))
    code = submit(engine, clerk)
    engine.dispatch_outbox()
    clock.advance(timedelta(hours=12))
    cycle(engine, code, clerk, 1)
    assert engine.dispatch_outbox().pruned == 0
    clock.advance(timedelta(hours=13))
    report = engine.dispatch_outbox()
    assert report.pruned == 1
    assert statuses(engine) == [(code, 2, "delivered")]


def test_workers_pruning_at_once_never_wait_for_each_other(
        make: Callable[..., Engine], clerk: Actor, clock: FrozenClock) -> None:
    """PostgreSQL: a prune skips the rows another worker's prune holds (two DELETEs locking
    overlapping rows in no set order deadlocked under the soak)."""
    from dossier.store import outbox_repo

    engine = make(sinks={"partner": Recorder()}, outbox=OutboxSettings(retention=timedelta(0)))
    if engine.db.is_sqlite:
        pytest.skip("SQLite has one writer at a time")
    for _ in range(3):
        submit(engine, clerk)
    engine.dispatch_outbox()
    clock.advance(timedelta(seconds=1))
    cutoff = clock.now()
    with engine.kernel.transaction() as held:
        assert outbox_repo.prune(held, delivered_before=cutoff, limit=2) == 2
        with engine.kernel.transaction() as other:
            other.execute("SET LOCAL lock_timeout = '2s'")
            assert outbox_repo.prune(other, delivered_before=cutoff, limit=10) == 1
    assert statuses(engine) == []


def test_the_backlog_counts_pending_and_dead_with_the_oldest_age(
        make: Callable[..., Engine], clerk: Actor, clock: FrozenClock) -> None:
    engine = make(sinks={"partner": Recorder(), "refused": Refusing()})
    submit(engine, clerk)
    engine.dispatch_outbox()
    submit(engine, clerk)
    clock.advance(timedelta(minutes=3))
    backlog = engine.outbox_backlog()
    assert (backlog["partner"].pending, backlog["partner"].dead) == (1, 0)
    assert backlog["partner"].oldest_pending_age == timedelta(minutes=3)
    assert (backlog["refused"].pending, backlog["refused"].dead) == (1, 1)


def test_a_limit_bounds_the_attempts_of_one_dispatch(make: Callable[..., Engine],
                                                     clerk: Actor) -> None:
    partner = Recorder()
    engine = make(sinks={"partner": partner}, outbox=OutboxSettings(batch=2))
    for _ in range(5):
        submit(engine, clerk)
    assert engine.dispatch_outbox(limit=3).delivered == 3
    assert engine.dispatch_outbox().delivered == 2


def test_a_leased_message_is_left_alone_until_the_lease_runs_out(
        make: Callable[..., Engine], clerk: Actor, clock: FrozenClock) -> None:
    slow = Recorder()
    engine = make(sinks={"partner": slow})
    code = submit(engine, clerk)
    with engine.kernel.transaction() as tx:  # a dispatcher elsewhere holds the row
        tx.execute("UPDATE outbox SET lease_until = ?",
                   (tx.instant_in(clock.now() + timedelta(minutes=5)),))
    assert engine.dispatch_outbox().attempted == 0
    clock.advance(timedelta(minutes=5))
    assert engine.dispatch_outbox().delivered == 1
    assert slow.seqs(code) == [1]


def test_a_dispatcher_starts_no_delivery_once_half_its_lease_is_gone(
        make: Callable[..., Engine], clerk: Actor, clock: FrozenClock) -> None:
    lease = timedelta(minutes=4)

    left: list[timedelta] = []

    class Slow(Recorder):  # each delivery takes a minute and a half
        def deliver(self, message: Message, dossier: Dossier) -> None:
            [row] = [e for e in engine.outbox_messages() if e.message_id == message.id]
            assert row.lease_until is not None
            left.append(row.lease_until - clock.now())
            super().deliver(message, dossier)
            clock.advance(timedelta(seconds=90))

    engine = make(sinks={"partner": Slow()}, outbox=OutboxSettings(lease=lease, batch=5))
    for _ in range(5):
        submit(engine, clerk)
    report = engine.dispatch_outbox()
    assert (report.delivered, report.lost) == (5, 0)
    # two per claim (with 4:00 and 2:30 left), the rest given back and claimed again
    assert left == [lease, lease - timedelta(seconds=90)] * 2 + [lease]
    assert {e.lease_until for e in engine.outbox_messages()} == {None}


# --- a worker killed between delivery and acknowledgement --------------------------------

# The child dispatches with a sink that appends each message to the receiver's log, then
# SIGKILLs its own process after the KILL_AT-th delivery: delivered, not acknowledged.
_KILLED_WORKER = """
import json, os, signal, sys
from datetime import datetime
from dossier import Engine
from dossier.testing import FrozenClock

url, log_path, at, kill_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

class Killed:
    delivered = 0
    def wants(self, message_type):
        return True
    def deliver(self, message, dossier):
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps([message.id, message.code, message.seq]) + "\\n")
        Killed.delivered += 1
        if Killed.delivered == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

engine = Engine(url, clock=FrozenClock(datetime.fromisoformat(at)), sinks={"partner": Killed()})
engine.dispatch_outbox()
"""


class Logging(Recorder):
    """The receiver's side: appends each message to the same log as the killed worker."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def deliver(self, message: Message, dossier: Dossier) -> None:
        with self.path.open("a", encoding="utf-8") as log:
            log.write(json.dumps([message.id, message.code, message.seq]) + "\n")


@pytest.mark.slow
def test_a_worker_killed_after_delivering_leaves_the_message_to_be_delivered_again(
        make: Callable[..., Engine], clerk: Actor, clock: FrozenClock, db_url: str,
        tmp_path: Path) -> None:
    received = tmp_path / "received.jsonl"
    engine = make(sinks={"partner": Logging(received)})
    codes = [submit(engine, clerk) for _ in range(3)]
    for code in codes:
        cycle(engine, code, clerk, 3)  # 12 messages
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_WORKER, db_url, str(received),
         clock.now().isoformat(), "5"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    lines = [json.loads(line) for line in received.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 5
    killed_id, killed_code, killed_seq = lines[-1]

    # its lease still holds: the other dossiers go on, the killed one's dossier waits
    engine.dispatch_outbox()
    lines = [json.loads(line) for line in received.read_text(encoding="utf-8").splitlines()]
    assert [seq for _, code, seq in lines[5:] if code == killed_code] == []
    clock.advance(engine.outbox_settings.lease)
    engine.dispatch_outbox()

    lines = [json.loads(line) for line in received.read_text(encoding="utf-8").splitlines()]
    ids: dict[tuple[str, int], set[str]] = {}
    for message_id, code, seq in lines:
        ids.setdefault((code, seq), set()).add(message_id)
    assert set(ids) == {(code, seq) for code in codes for seq in (1, 2, 3, 4)}
    assert all(len(found) == 1 for found in ids.values())  # a duplicate keeps its id
    assert [line for line in lines if line[0] == killed_id] == \
        [[killed_id, killed_code, killed_seq]] * 2
    assert len(lines) == 13  # every message once, the killed one twice
    for code in codes:  # and each dossier's in order
        seqs = [seq for _, c, seq in lines if c == code]
        assert seqs == sorted(seqs)
    assert {e.status for e in engine.outbox_messages()} == {OutboxStatus.DELIVERED}


# --- two dispatchers ----------------------------------------------------------------------


class Timed(Recorder):
    """Records when each delivery started and ended, and takes a moment over each."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[str, float, float]] = []
        self.lock = threading.Lock()

    def deliver(self, message: Message, dossier: Dossier) -> None:
        started = time.perf_counter()
        time.sleep(0.002)
        with self.lock:
            self.got.append(message)
            self.spans.append((message.id, started, time.perf_counter()))


@pytest.mark.postgres
def test_two_dispatchers_never_deliver_one_message_at_once(
        make: Callable[..., Engine], clerk: Actor, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite takes one writer at a time")
    sink = Timed()
    settings = OutboxSettings(batch=3)
    first, second = make(sinks={"partner": sink}, outbox=settings), \
        make(sinks={"partner": sink}, outbox=settings)
    codes = [submit(first, clerk) for _ in range(12)]
    for code in codes:
        cycle(first, code, clerk, 4)

    reports = race(2, lambda i: (first, second)[i].dispatch_outbox())
    assert not [r for r in reports if isinstance(r, BaseException)]
    assert sum(r.delivered for r in reports if not isinstance(r, BaseException)) == 60
    assert len({m.id for m in sink.got}) == len(sink.got) == 60
    for code in codes:
        assert sink.seqs(code) == [1, 2, 3, 4, 5]
    by_id: dict[str, list[tuple[float, float]]] = {}
    for message_id, start, end in sink.spans:
        by_id.setdefault(message_id, []).append((start, end))
    for spans in by_id.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


# --- the command line, and the application role on PostgreSQL --------------------------------


def test_the_outbox_command_lists_retries_and_purges(
        make: Callable[..., Engine], clerk: Actor, db_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    engine = make(sinks={"partner": Refusing()})
    code = submit(engine, clerk)
    cycle(engine, code, clerk, 1)
    engine.dispatch_outbox()
    dead, waiting = engine.outbox_messages()

    assert main(["outbox", "list", "--database", db_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{dead.id} partner dead {code} #1 dossier.submit attempts=1 ")
    assert lines[0].endswith(f"{dead.message_id} error: HTTP 410: the partner closed this "
                             "endpoint")
    assert lines[1].startswith(f"{waiting.id} partner pending {code} #2 dossier.")
    assert lines[2] == "2 messages"
    assert "Nguyễn" not in "".join(lines)

    assert main(["outbox", "list", "--database", db_url, "--status", "dead"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 messages"
    assert main(["outbox", "retry", "--database", db_url, "--sink", "partner"]) == 0
    assert capsys.readouterr().out == "1 messages queued for delivery again\n"
    assert engine.outbox_messages(ids=[dead.id])[0].status is OutboxStatus.PENDING
    assert main(["outbox", "purge", "--database", db_url, "--status", "pending",
                 "--id", str(dead.id), str(waiting.id)]) == 0
    assert capsys.readouterr().out == "2 pending messages deleted\n"
    assert engine.outbox_messages() == []


def test_the_outbox_command_fails_with_a_message_on_bad_input(
        db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    Engine(db_url).close()  # (the command opens an existing database only)
    assert main(["outbox", "list", "--database", db_url, "--sink", "no such/sink"]) == 1
    assert "sink name" in capsys.readouterr().err


@pytest.mark.postgres
def test_the_application_role_writes_delivers_purges_and_reads_the_feed(
        make: Callable[..., Engine], clerk: Actor, db_url: str, clock: FrozenClock) -> None:
    import uuid

    import sqlalchemy as sa

    from dossier.store.grants import grant_statements

    owner = make()
    if owner.db.is_sqlite:
        pytest.skip("SQLite has no roles")
    role = f"app_{uuid.uuid4().hex[:8]}"
    schema = db_url.rsplit("csearch_path%3D", 1)[1]
    with owner.db.engine.begin() as conn:
        for statement in (f"CREATE ROLE {role} LOGIN PASSWORD 'app-secret'",
                          *grant_statements(role, schema)):
            conn.execute(sa.text(statement))
    url = sa.make_url(db_url).set(username=role, password="app-secret")
    partner = Flaky(1, only=lambda m: m.seq == 1, error=DeliveryFailed("no", permanent=True))
    app = Engine(url.render_as_string(hide_password=False), clock=clock,
                 sinks={"partner": partner}, outbox=OutboxSettings(retention=timedelta(0)))
    try:
        code = submit(app, clerk)
        cycle(app, code, clerk, 1)
        assert app.dispatch_outbox().dead == 1
        assert app.retry_outbox() == 1
        clock.advance(timedelta(seconds=1))
        assert app.dispatch_outbox().delivered == 2
        clock.advance(timedelta(seconds=1))
        assert app.dispatch_outbox().pruned == 2  # DELETE of delivered rows
        assert keys_of(app.events_since(None)[0]) == [(code, 1), (code, 2)]
        app.fire(code, "supplement", actor=clerk)
        partner.failures, partner.only = 1, lambda m: True
        app.dispatch_outbox()
        assert app.purge_outbox() == 1
    finally:
        app.close()
        with owner.db.engine.begin() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {role}"))
            conn.execute(sa.text(f"DROP ROLE {role}"))


def keys_of(events: list[Any]) -> list[tuple[str, int]]:
    return [(e.code, e.seq) for e in events]


# --- input --------------------------------------------------------------------------------


@pytest.mark.parametrize(("sinks", "message"), [
    ({"": Recorder()}, "sink name"),
    ({"a b": Recorder()}, "sink name"),
    ({"x" * 33: Recorder()}, "sink name"),
    ({"partner": object()}, "Sink methods"),
    ([Recorder()], "map names"),
])
def test_sinks_are_checked(db_url: str, sinks: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Engine(db_url, sinks=sinks)


@pytest.mark.parametrize(("options", "message"), [
    ({"max_attempts": 0}, "max_attempts"),
    ({"batch": True}, "batch"),
    ({"backoff_base": timedelta(0)}, "longer than zero"),
    ({"backoff_cap": timedelta(seconds=1)}, "backoff_cap"),
    ({"lease": 300}, "lease"),
    ({"retention": timedelta(days=-1)}, "retention"),
    ({"jitter": "none"}, "jitter"),
])
def test_outbox_settings_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        OutboxSettings(**options)


@pytest.mark.parametrize(("call", "message"), [
    (lambda e: e.dispatch_outbox(limit=0), "limit"),
    (lambda e: e.outbox_messages(status="gone"), "status"),
    (lambda e: e.outbox_messages(limit=5000), "limit"),
    (lambda e: e.outbox_messages(sink="no such sink"), "sink name"),
    (lambda e: e.retry_outbox(ids="12"), "ids"),
    (lambda e: e.retry_outbox(ids=[0]), "ids"),
    (lambda e: e.purge_outbox(status=None), "status"),
])
def test_outbox_calls_check_their_input(make: Callable[..., Engine],
                                        call: Callable[[Engine], Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        call(make())


def test_engine_outbox_needs_outbox_settings(db_url: str) -> None:
    with pytest.raises(InvalidInput, match="OutboxSettings"):
        Engine(db_url, outbox={"max_attempts": 3})  # type: ignore[arg-type]


@given(failures=st.integers(1, 200), base=st.integers(1, 600), extra=st.integers(0, 7200),
       draw=st.floats(0, 1, exclude_max=True), jitter=st.sampled_from(["full", "equal"]))
def test_the_backoff_stays_within_its_span(failures: int, base: int, extra: int, draw: float,
                                           jitter: str) -> None:
    settings = OutboxSettings(backoff_base=timedelta(seconds=base),
                              backoff_cap=timedelta(seconds=base + extra),
                              jitter=jitter,  # type: ignore[arg-type]
                              random=lambda: draw)
    span = min(base + extra, base * 2 ** (failures - 1))
    wait = settings.backoff(failures).total_seconds()
    assert (wait > 0) if jitter == "full" else (span / 2 - 1e-6 <= wait)
    assert wait <= span + 1e-6
    assert wait <= base + extra + 1e-6


@given(failures=st.integers(1, 30))
def test_without_jitter_the_backoff_doubles_up_to_the_cap(failures: int) -> None:
    settings = OutboxSettings(random=no_jitter)
    assert settings.backoff(failures) == min(timedelta(hours=1),
                                             timedelta(seconds=10) * 2 ** (failures - 1))


@given(draw=st.one_of(st.floats(allow_nan=True), st.integers(-5, 5)))
def test_a_random_source_out_of_range_cannot_make_a_zero_or_huge_wait(draw: float) -> None:
    wait = OutboxSettings(random=lambda: draw).backoff(1)
    assert timedelta(0) < wait <= timedelta(seconds=10)


def test_outbox_status_values() -> None:
    assert [s.value for s in OutboxStatus] == ["pending", "delivered", "dead"]
