"""The processes of ``bench/soak.py``: API processes firing a mix, and workers.

Every process builds its own :class:`~dossier.Engine` on the same PostgreSQL database, with a
:class:`FastClock` shared by all of them (business time runs ``speed`` times faster than the
wall clock, so that appointments fall due, warnings and overdue events fire, and delivered
outbox rows age within minutes), the presigned signer of ``bench/transitions.py`` and one
in-process sink that records what it is handed.
"""

from __future__ import annotations

import heapq
import random
import time
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bench import pgload, transitions
from dossier import Actor, Dossier, Engine, load_procedure, sample_path
from dossier.engine import OutboxSettings
from dossier.errors import ConcurrencyConflict, DossierError
from dossier.sinks import Message

LY_LICH = "3.000333"
AGENCY = pgload.AGENCY
#: The share of received dossiers left untouched for PARKED_FOR of business time.
PARKED = 0.3
PARKED_FOR = timedelta(days=20)


@dataclass(frozen=True)
class FastClock:
    """Business time: ``origin`` at wall-clock ``origin_wall``, then ``speed`` × as fast."""

    origin: datetime
    origin_wall: float
    speed: float

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=(time.time() - self.origin_wall) * self.speed)


class RecordingSink:
    """Wants every event; remembers each (dossier code, event number) it was handed."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, int]] = []

    def wants(self, message_type: str) -> bool:
        return True

    def deliver(self, message: Message, dossier: Dossier) -> None:
        self.delivered.append((message.code, message.seq))


def settings(clock: FastClock) -> OutboxSettings:
    """A lease of ~10 s of wall time, whatever the clock's speed (at 5 minutes of business
    time, the default, a lease would last a few milliseconds of wall time)."""
    return OutboxSettings(lease=timedelta(seconds=10 * clock.speed), batch=100)


class FixedForms:
    """A form renderer that lays nothing out: the workers store one fixed page per numbered
    form (rendering, ≈70 ms of CPU a form, is ``bench/forms.py``'s subject, and scales with
    worker processes, not with the database)."""

    def __init__(self) -> None:
        from dossier.testing import scanned_pdf

        self.page = scanned_pdf("Biểu mẫu")

    def pdf(self, sheet: Any) -> bytes:
        return self.page

    def html(self, sheet: Any) -> str:
        return ""


def engine_for(url: str, clock: FastClock, sink: RecordingSink) -> Engine:
    """An engine of the soak: the forms its events number are made by the workers."""
    from dossier.forms import FormSettings

    return Engine(url, clock=clock, sinks={"count": sink}, outbox=settings(clock),
                  signers={"presigned": transitions.PresignedSigner()},
                  forms=FixedForms(), form_settings=FormSettings(at_fire=False))


def register(engine: Engine) -> None:
    engine.register(load_procedure(sample_path(transitions.PROCEDURE)))
    engine.register(pgload.procedure())


@dataclass
class Tally:
    """What one API process did: per minute, each operation's latency; errors by kind."""

    latencies: dict[int, array[float]] = field(default_factory=dict)
    operations: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def record(self, minute: int, operation: str, seconds: float) -> None:
        self.latencies.setdefault(minute, array("d")).append(seconds)
        self.operations[operation] = self.operations.get(operation, 0) + 1


class Counter:
    """One API process's clerks, specialist and leader at one agency, and its dossiers."""

    def __init__(self, engine: Engine, clock: FastClock, rng: random.Random,
                 signed_pdf: bytes) -> None:
        self.engine = engine
        self.clock = clock
        self.rng = rng
        self.pdf = signed_pdf
        self.staff = {role: Actor(id=f"{role[:2]}{rng.randrange(100):02d}", role=role,
                                  agency=AGENCY) for role in ("clerk", "specialist", "leader")}
        self.open: dict[str, str] = {}    # code → state last seen
        self.digital: set[str] = set()    # the open dossiers whose result is signed digitally
        self.parked: list[tuple[datetime, str]] = []  # a heap: (when its officer is back, code)
        self.closed: list[str] = []

    def act(self) -> str:
        """One operation of the mix; its name."""
        now = self.clock.now()
        while self.parked and self.parked[0][0] <= now:
            _, code = heapq.heappop(self.parked)
            self._seen(self.engine.get(code))  # the sweep may have moved it meanwhile
        roll = self.rng.random()
        if roll < 0.15 or not self.open:
            return self.submit()
        if roll < 0.30:
            code = self.rng.choice(self.closed or list(self.open))
            self.engine.get(code)
            self.engine.history(code)
            return "read"
        return self.advance(self.rng.choice(list(self.open)))

    def submit(self) -> str:
        procedure = LY_LICH if self.rng.random() < 0.6 else pgload.PROCEDURE["code"]
        dossier = self.engine.submit(procedure, applicant={"name": "Nguyễn Văn A"},
                                     channel="counter", actor=self.staff["clerk"])
        self.open[dossier.code] = dossier.state.value
        if procedure == LY_LICH:
            self.digital.add(dossier.code)
        return "submit"

    def advance(self, code: str) -> str:
        """The dossier's next step (or, now and then, a supplement round); its trigger."""
        state, fire, staff = self.open[code], self.engine.fire, self.staff
        try:
            if state == "awaiting_reception":
                trigger, after = "receive", fire(code, "receive", actor=staff["clerk"])
            elif state == "awaiting_payment":
                trigger, after = "pay", fire(code, "pay", actor=staff["clerk"], method="cash",
                                             amount=transitions.FEE)
            elif state == "processing" and self.rng.random() < 0.1:
                trigger = "request_supplement"
                after = fire(code, trigger, actor=staff["specialist"],
                             reason="Thiếu bản sao giấy tờ tùy thân")
            elif state == "processing":
                trigger, after = "approve", fire(code, "approve", actor=staff["specialist"])
            elif state == "awaiting_signature" and code in self.digital:
                trigger = "sign_result"
                result = self.engine.sign_result(code, actor=staff["leader"],
                                                 signer="presigned", document=self.pdf)
                assert isinstance(result, Dossier)
                after = result
            elif state == "awaiting_signature":
                trigger, after = "sign", fire(code, "sign", actor=staff["leader"])
            elif state == "awaiting_supplement":
                trigger, after = "supplement", fire(code, "supplement", actor=staff["clerk"])
            else:
                trigger = "return_result"
                after = fire(code, trigger, actor=staff["clerk"])
        except ConcurrencyConflict:
            raise  # another process (a worker's sweep) wrote it first: try another next time
        except DossierError:
            # the sweep moved it meanwhile (a refusal): look again
            after = self.engine.get(code)
            self._seen(after)
            raise
        self._seen(after)
        if trigger == "receive" and self.rng.random() < PARKED:
            # some dossiers wait in processing for weeks: their warnings and overdue
            # notices fall due and the workers' sweeps fire them
            heapq.heappush(self.parked, (self.clock.now() + PARKED_FOR, code))
            del self.open[code]
        return trigger

    def _seen(self, dossier: Dossier) -> None:
        if dossier.is_final:
            self.open.pop(dossier.code, None)
            self.digital.discard(dossier.code)
            self.closed.append(dossier.code)
            del self.closed[:-200]
        else:
            self.open[dossier.code] = dossier.state.value


def api_process(url: str, clock: FastClock, seed: int, start_at: float, stop_at: float,
                results: Any) -> None:
    """Fire the mix from ``start_at`` until ``stop_at`` (wall clock); put the :class:`Tally`
    in ``results``."""
    engine = engine_for(url, clock, RecordingSink())
    counter = Counter(engine, clock, random.Random(seed), transitions.signed_result())
    tally = Tally()
    results.put(("ready", seed))
    while time.time() < start_at:
        time.sleep(0.01)
    began = start_at
    while (now := time.time()) < stop_at:
        at = time.perf_counter()
        try:
            operation = counter.act()
        except DossierError as exc:
            tally.errors[type(exc).__name__] = tally.errors.get(type(exc).__name__, 0) + 1
            continue
        tally.record(int((now - began) // 60), operation, time.perf_counter() - at)
    engine.close()
    results.put(("api", seed, tally))


def worker_process(url: str, clock: FastClock, index: int, stop: Any, results: Any) -> None:
    """The engine's worker (sweep every second, outbox every half second) until ``stop``."""
    import logging

    from dossier.worker import Worker

    # a dispatch that outlasts its half-second interval is skipped by APScheduler, which
    # says so every time: expected under this load
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    sink = RecordingSink()
    engine = engine_for(url, clock, sink)
    worker = Worker(engine, interval=1.0, outbox_interval=0.5, payments_interval=None,
                    receipts_interval=None, signatures_interval=None, forms_interval=2.0)
    worker.start()
    results.put(("ready", -index))
    stop.wait()
    worker.stop()
    engine.close()
    results.put(("worker", index, sink.delivered, worker.fired))
