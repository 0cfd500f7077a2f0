"""The timer worker: an APScheduler interval job around ``engine.sweep``."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dossier import Actor, Engine
from dossier.cli import main
from dossier.errors import InvalidInput
from dossier.testing import FrozenClock
from dossier.worker import Worker
from tests.conftest import make_procedure


def _overdue_dossier(engine: Engine, clerk: Actor, clock: FrozenClock) -> str:
    engine.register(make_procedure("9.000002", ["receive", "process", "return"]))
    code = engine.submit("9.000002", applicant={"name": "A"}, channel="counter",
                         actor=clerk).code
    engine.fire(code, "receive", actor=clerk)
    clock.advance(timedelta(days=30))
    return code


def test_the_background_worker_fires_due_timers(engine: Engine, clerk: Actor,
                                                clock: FrozenClock) -> None:
    code = _overdue_dossier(engine, clerk, clock)
    worker = Worker(engine, interval=0.05, batch=10)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while worker.fired < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop()
    assert worker.fired == 1
    assert worker.sweeps >= 1
    assert [e.trigger for e in engine.history(code)].count("overdue") == 1


def test_sweep_once_reports_what_it_fired(engine: Engine, clerk: Actor,
                                          clock: FrozenClock) -> None:
    _overdue_dossier(engine, clerk, clock)
    worker = Worker(engine)
    report = worker.sweep_once()
    assert report is not None
    assert report.fired == {"overdue": 1}
    assert worker.sweep_once() is not None
    assert worker.fired == 1


@pytest.mark.parametrize(("options", "message"), [
    ({"interval": 0}, "interval"), ({"interval": "5"}, "interval"), ({"batch": 0}, "batch")])
def test_bad_settings(engine: Engine, options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Worker(engine, **options)  # type: ignore[arg-type]


def test_the_worker_command_sweeps_once(tmp_path: Path, clerk: Actor,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    clock = FrozenClock(datetime(2025, 9, 8, 2, 0, tzinfo=UTC))
    engine = Engine(url, clock=clock)
    _overdue_dossier(engine, clerk, clock)  # due 22/9/2025: long past on the real clock
    engine.close()
    assert main(["worker", "--database", url, "--once"]) == 0
    assert "1 overdue" in capsys.readouterr().out
    assert main(["worker", "--database", url, "--once"]) == 0
    assert "nothing due" in capsys.readouterr().out


def test_the_worker_polls_signature_requests(engine: Engine) -> None:
    worker = Worker(engine, signatures_interval=5)
    assert worker.poll_signatures_once() == engine.poll_signatures()
    with pytest.raises(InvalidInput, match="signatures_interval"):
        Worker(engine, signatures_interval=0)
