"""The two sides of ``bench/pg.py``'s fire-rate comparison: engine processes and pgbench.

Both run the four steps of :data:`PROCEDURE` (receive → approve → sign on paper → return) on
dossiers of their own, one transaction per step, against the same tables of the same
database: each engine process on dossiers it submitted, pgbench on 100,000 copies of one
(each client in its own range, a random one per lifecycle). The pgbench script sends, per
step, the statements the engine sends (see ``python bench/pg.py --trace``): the dossier row
read (every column), the number of form 01 on receive (an upsert of its counter), the row
update with its event insert in one statement (the columns that step changes), on return the
documents read and the result's digitisation record, the cancelling of pending payments, and
the commit. pgbench reads the row by id where
the engine reads it by code (both unique-index look-ups) and lets the server make the hashes
(``md5``).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AGENCY = "000.00.05.H12"
PROCEDURE: dict[str, Any] = {
    "code": "9.000001", "name": "Thủ tục đo tốc độ", "field": "Đo lường",
    "agency_level": "commune", "service_level": "partial_online", "version": "1",
    "effective_from": "2025-01-01", "processing_time": {"amount": 5, "unit": "working_days"},
    "components": [{"id": "to_khai", "name": "Tờ khai", "form": "original"}],
    "steps": [{"name": "receive", "role": "clerk"}, {"name": "process", "role": "specialist"},
              {"name": "sign", "role": "leader"}, {"name": "return", "role": "clerk"}],
    "signing": "paper",
}
#: (trigger, role, the columns the step's row update sets besides the bookkeeping)
STEPS: tuple[tuple[str, str, str], ...] = (
    ("receive", "clerk", "state = 'processing', received_at = now(), next_timer_at ="
     " now() + interval '6 days', clock_started_at = now(), due_at = now() + interval '7 days',"
     " appointment_at = now() + interval '7 days', warning_at = now() + interval '6 days',"
     " step_role = 'specialist', step_due_at = now() + interval '3 days'"),
    ("approve", "specialist", "state = 'awaiting_signature', step_role = 'leader'"),
    ("sign", "leader", "state = 'awaiting_return', step_role = 'clerk'"),
    ("return_result", "clerk", "state = 'returned', closed_at = now(), next_timer_at = NULL,"
     " timeliness = 'early', step_role = NULL, step_due_at = NULL"),
)

_COLUMNS = ("id, code, procedure_code, procedure_version, agency, channel, state, resume_state,"
            " owner, applicant, fee_due, paid_amount, version, event_count, head_hash,"
            " submitted_at, received_at, updated_at, closed_at, clock_started_at, due_at,"
            " appointment_at, warning_at, step_due, paused_at, supplement_due_at, warned_for,"
            " overdue_for, extended, timeliness, next_timer_at, assignee, step_role")


def procedure() -> Any:
    from dossier.procedure import parse_procedure

    return parse_procedure(PROCEDURE, "<bench>")[0]


def pgbench_script(first_id: int, per_client: int) -> str:
    """One lifecycle on a random dossier of the client's own range of ``per_client`` ids."""
    lines = [f"\\set n {first_id} + :client_id * {per_client} + random(0, {per_client - 1})"]
    for trigger, role, sets in STEPS:
        lines += [
            "BEGIN;",
            f"SELECT {_COLUMNS} FROM dossiers WHERE id = :n \\gset d_"]
        if trigger == "receive":
            # the number of form 01 (Giấy tiếp nhận), taken in the transaction
            # (pgbench reads ":name" as a variable: the key's colons are made by the server)
            lines.append("INSERT INTO counters (scope, key, value) VALUES ('form', replace('"
                         + AGENCY + ";tt03-2025;form-01;2026', ';', chr(58)), 1)"
                         " ON CONFLICT (scope, key) DO UPDATE SET value = counters.value + 1"
                         " RETURNING value;")
        lines += [
            "WITH changed AS (UPDATE dossiers SET version = :d_version + 1, event_count ="
            " :d_event_count + 1, head_hash = md5(random()::text) || md5(random()::text),"
            f" updated_at = now(), {sets} WHERE id = :n AND version = :d_version RETURNING id)"
            " INSERT INTO events (dossier_id, seq, trigger, source, target, actor, role,"
            " on_behalf_of, at, data, prev_hash, hash, key_id) SELECT id, :d_event_count + 1,"
            f" '{trigger}', 'processing', 'awaiting_return', 'nv01', '{role}', NULL, now(),"
            " '{\"step_due_at\":\"2025-09-15T17:00:00+07:00\",\"timeliness\":\"early\"}',"
            " :d_head_hash, md5(random()::text) || md5(random()::text), NULL FROM changed"
            " RETURNING id;"]
        if trigger == "return_result":
            # the result's digitisation record (Thông tư 01/2023): is there a signed result?
            lines.append("SELECT d.code, x.kind, x.filename, x.sha256, x.size, x.media_type,"
                         " x.signed_by, x.provider, x.created_at, x.component, x.number, x.book"
                         " FROM documents x JOIN dossiers d ON d.id = x.dossier_id"
                         " WHERE x.dossier_id = :n ORDER BY x.id;")
            lines.append("INSERT INTO digitisation_records (dossier_id, seq, kind, component,"
                         " sha256, pages, source, source_ref, returned_electronically, actor, at)"
                         " VALUES (:n, :d_event_count + 1, 'result', NULL, NULL, NULL, NULL,"
                         " NULL, false, 'nv01', now());")
            lines.append("UPDATE payments SET state = 'cancelled', updated_at = now()"
                         " WHERE dossier_id = :n AND state = 'pending' AND id <> -1;")
        lines.append("END;")
    return "\n".join(lines) + "\n"


def run_pgbench(script: Path, database: str, clients: int, seconds: float) -> float:
    """Lifecycles per second pgbench completed (connection time excluded)."""
    binary = next(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), None)
    out = subprocess.run([str(binary or "pgbench"), "-n", "-M", "prepared", "-f", str(script),
                          "-c", str(clients), "-j", str(clients), "-T", str(round(seconds)),
                          database], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise RuntimeError(f"no tps in pgbench's output:\n{out}")


@dataclass(frozen=True)
class Window:
    """What one engine process did in one timed window."""

    fires: int
    seconds: float
    cpu: float


def _worker(url: str, start: int, commands: Any, results: Any) -> None:
    """An engine process: submits dossiers (untimed), then runs lifecycles for as long as
    each command says, reporting fires, wall time and its own CPU time."""
    from dossier import Actor, Engine
    from dossier.forms import FormSettings

    # the form's number is taken in the transaction; its PDF is the worker's (bench/forms.py)
    engine = Engine(url, form_settings=FormSettings(at_fire=False))
    engine.register(procedure())
    actors = {role: Actor(id=f"{role[:2]}01", role=role, agency=AGENCY)
              for role in ("clerk", "specialist", "leader")}
    waiting: list[str] = []

    def new_code() -> str:
        return engine.submit(PROCEDURE["code"], applicant={"name": "Nguyễn Văn A"},
                             channel="counter", actor=actors["clerk"]).code

    def top_up(count: int) -> None:
        while len(waiting) < count:
            waiting.append(new_code())

    top_up(start)
    results.put("ready")
    while True:
        command = commands.get()
        if command is None:
            break
        seconds, deadline_at = command
        while time.time() < deadline_at:  # all processes start together
            time.sleep(0.0005)
        cpu, began, fires = time.process_time(), time.perf_counter(), 0
        stop = began + seconds
        while time.perf_counter() < stop:
            code = waiting.pop() if waiting else new_code()
            for trigger, role, _ in STEPS:
                engine.fire(code, trigger, actor=actors[role])
            fires += len(STEPS)
        window = Window(fires=fires, seconds=time.perf_counter() - began,
                        cpu=time.process_time() - cpu)
        top_up(int(fires / len(STEPS) * 1.5) + 50)  # before answering: nothing runs meanwhile
        results.put(window)
    engine.close()


class EngineProcesses:
    """``count`` engine processes kept between windows (spawned once: start-up is not timed)."""

    def __init__(self, url: str, count: int, dossiers_each: int,
                 source: Path | None = None) -> None:
        """``source``: another checkout whose ``dossier`` the processes import (to compare)."""
        context = multiprocessing.get_context("spawn")
        self._results: Any = context.Queue()
        self._commands = [context.Queue() for _ in range(count)]
        self._processes = [context.Process(target=_worker, daemon=True,
                                           args=(url, dossiers_each, commands, self._results))
                           for commands in self._commands]
        path = list(sys.path)
        if source is not None:  # a spawned process starts with the parent's sys.path
            sys.path.insert(0, str(source))
        try:
            for process in self._processes:
                process.start()
        finally:
            sys.path[:] = path
        for _ in self._processes:
            if self._results.get(timeout=600) != "ready":
                raise RuntimeError("an engine process did not start")

    def window(self, seconds: float, processes: int) -> list[Window]:
        """``processes`` of them fire for ``seconds``, together."""
        start_at = time.time() + 0.2
        for commands in self._commands[:processes]:
            commands.put((seconds, start_at))
        try:
            return [self._results.get(timeout=seconds + 600) for _ in range(processes)]
        except queue.Empty:
            raise RuntimeError("an engine process stopped answering") from None

    def close(self) -> None:
        for commands in self._commands:
            commands.put(None)
        for process in self._processes:
            process.join(timeout=30)


def fires_per_second(windows: Sequence[Window]) -> float:
    return sum(w.fires / w.seconds for w in windows)


def cpu_per_fire(windows: Sequence[Window]) -> float:
    return sum(w.cpu for w in windows) / max(1, sum(w.fires for w in windows))


def pg_env_database(url: str) -> str:
    """The database name of ``url`` (pgbench takes the rest from the PG* variables)."""
    return url.rsplit("/", 1)[-1].split("?", 1)[0] or os.environ.get("PGDATABASE", "postgres")
