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


# --- every job, metrics, health, logs --------------------------------------------------------

def test_once_runs_every_job(engine: Engine, clerk: Actor, clock: FrozenClock) -> None:
    _overdue_dossier(engine, clerk, clock)
    worker = Worker(engine)
    outcomes = worker.run_all_once()
    assert list(outcomes) == ["sweep", "payments", "receipts", "signatures", "outbox",
                              "forms"]
    assert "1 overdue" in outcomes["sweep"]


def test_a_job_set_to_none_does_not_run(engine: Engine) -> None:
    worker = Worker(engine, payments_interval=None, outbox_interval=None, forms_interval=None)
    assert set(worker.jobs) == {"sweep", "receipts", "signatures"}


def test_metrics_and_health_are_served(engine: Engine, clerk: Actor,
                                       clock: FrozenClock) -> None:
    from urllib.request import urlopen

    _overdue_dossier(engine, clerk, clock)
    worker = Worker(engine, interval=0.05, metrics_port=0)
    assert worker.metrics is not None
    worker.start()
    try:
        port = worker.metrics_port
        deadline = time.monotonic() + 10
        while worker.fired < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        with urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            assert answer.status == 200
            assert answer.read().decode().startswith("ok")
    finally:
        worker.stop()
    assert 'dossier_timers_fired_total{timer="overdue"} 1.0' in text
    assert "dossier_due_timers 0.0" in text
    assert 'dossier_job_runs_total{job="sweep",outcome="ok"}' in text
    assert "dossier_sweep_duration_seconds_count" in text


def test_health_says_which_job_is_late(engine: Engine) -> None:
    worker = Worker(engine, interval=0.01, metrics_port=0)
    assert worker.metrics is not None
    worker.metrics._started -= 60  # (no run for a minute)
    healthy, lines = worker.metrics.health()
    assert not healthy
    assert any(line.startswith("sweep LATE") for line in lines)


def test_json_logs_mask_id_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import logging

    from dossier import logs

    logs.configure("json")
    try:
        logging.getLogger("dossier.test").warning("applicant 001090012345 at %s", "quầy 1")
    finally:
        logging.getLogger().handlers.clear()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "applicant *** at quầy 1"
    assert (line["level"], line["logger"]) == ("warning", "dossier.test")


def test_sigterm_finishes_the_run_in_progress(tmp_path: Path) -> None:
    """A worker process told to stop mid-job finishes that job and exits 0."""
    import os
    import signal
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'w.db'}"
    Engine(url).close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dossier", "worker", "--database", url, "--interval", "0.2",
         "--log-format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        deadline = time.monotonic() + 20
        lines: list[str] = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline() if proc.stderr else ""
            lines.append(line)
            if "worker:" in line:
                break
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "worker stopped after" in out
    assert "stopping after the runs in progress" in err


def test_the_forms_job_makes_the_forms_timers_numbered(engine: Engine, clerk: Actor) -> None:
    engine.register(make_procedure("9.000002", ["receive", "process", "return"]))
    code = engine.submit("9.000002", applicant={"name": "A"}, channel="counter",
                         actor=clerk).code
    kernel = engine.kernel
    with kernel.transaction() as tx:  # as the sweep fires: through the kernel, not fire()
        kernel.fire(tx, code, "receive", clerk, {}, now=kernel.now())
    assert Worker(engine).issue_forms_once() == 1
    assert [d.kind for d in engine.documents(code)] == ["form-01"]
