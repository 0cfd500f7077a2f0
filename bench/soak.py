"""A soak test on PostgreSQL: four API processes and two workers for ``--minutes``.

Run ``python bench/soak.py [--minutes 10] [--speed N]`` (not part of the test run; it
starts its own ``pg_virtualenv -t`` cluster unless ``PGHOST`` is set). Processes, each with
its own ``Engine`` on one database and one clock that runs ``--speed`` times faster than the
wall clock (by default, so that the run spans 40 days of business time: appointments pass,
warnings and overdue events fire, delivered outbox rows age out):

* **4 API processes** fire a mix at one agency: submissions of two procedures (the fee-bearing,
  digitally signed *lý lịch tư pháp*, and a fee-less one signed on paper), every step of
  their lifecycles (receive, pay at the counter with its receipt, approve, sign, return),
  supplement requests and supplements, and reads (a dossier and its history), as fast as
  they can; 30 % of the dossiers received are then left alone for 20 days of business time
  (their warnings and overdue notices fall due); each process records every operation's
  latency;
* **2 workers** (``dossier.worker.Worker``) sweep timers every second and dispatch the outbox
  every half second to an in-process sink that records each delivery.

It prints, per minute, the operations completed and their p50/p99 latency, then stops the
API processes and the workers, sweeps and dispatches what is left once (at one instant), and
checks: **0 lost and 0 duplicated outbox deliveries** (every event handed to the sink exactly
once), **0 lost and 0 duplicated timers** (no overdue or warning event twice for one
appointment; nothing due after the last sweep; every open dossier past its appointment has
its overdue event), **every audit chain intact** (``verify_audit`` on every dossier), and
**memory flat**: each process's RSS at the end over its RSS at minute 2 (≤ 1.2; with
``--minutes`` under 5, at 40 % of the run). Exit status 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

from bench import pg, soakload  # noqa: E402
from bench.soakload import FastClock, RecordingSink, Tally  # noqa: E402
from dossier.clock import LOCAL_TZ  # noqa: E402

API_PROCESSES, WORKERS = 4, 2
BUSINESS_DAYS = 40  # a run spans this much business time: appointments fall due, rows age
TARGET_RSS = 1.2


def rss(pid: int) -> int:
    """Resident set size of process ``pid``, in bytes (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def server_cpu(url: str) -> float:
    """CPU seconds the cluster has used: the postmaster, the backends it has reaped, and those
    still running (Linux /proc; the postmaster's pid is the first line of postmaster.pid)."""
    import psycopg

    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        data = str(conn.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]
    postmaster = int(Path(data, "postmaster.pid").read_text().split()[0])
    ticks = os.sysconf("SC_CLK_TCK")

    def stat(pid: int) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    fields = stat(postmaster)  # utime, stime, cutime, cstime are fields 14–17 (from 1)
    total = sum(int(x) for x in fields[11:15])
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                child = stat(int(entry.name))
            except OSError:
                continue
            if int(child[1]) == postmaster:
                total += int(child[11]) + int(child[12])
    return total / ticks


def outbox_backlog(url: str) -> int:
    import psycopg

    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        row = conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()
    return int(row[0])  # type: ignore[index]


def wal_position(url: str) -> str:
    import psycopg

    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        return str(conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0])  # type: ignore[index]


def wal_bytes(url: str, since: str) -> int:
    import psycopg

    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        row = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)",
                           (since,)).fetchone()
    return int(row[0])  # type: ignore[index]


def storage(url: str) -> None:
    """Rows and bytes (with indexes and TOAST) per table, and per dossier."""
    import psycopg

    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 3 DESC").fetchall()
        dossiers = int(conn.execute("SELECT count(*) FROM dossiers").fetchone()[0])  # type: ignore[index]
        events = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])  # type: ignore[index]
    total = sum(size for _, _, size in rows)
    print(f"storage: {dossiers:,} dossiers, {events:,} events ({events / dossiers:.1f} per "
          f"dossier), {total / 2**20:,.0f} MiB in all, {total / dossiers / 1024:.1f} KiB per "
          "dossier; by table (rows, with indexes): " + ", ".join(
              f"{name} {size / dossiers / 1024:.2f} KiB" for name, _, size in rows[:8]
              if size > 64 * 1024))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def soak(minutes: float, speed: float) -> int:
    url = pg.fresh_database("bench_soak")
    # business time starts on a Monday morning in Hà Nội (01:00 UTC = 08:00 local)
    clock = FastClock(datetime(2025, 9, 8, 1, 0, tzinfo=UTC), time.time(), speed)
    setup = soakload.engine_for(url, clock, RecordingSink())
    soakload.register(setup)
    setup.close()
    context = multiprocessing.get_context("spawn")
    results: Any = context.Queue()
    stop = context.Event()
    started: list[Any] = []
    try:
        return _soak(url, clock, minutes, context, results, stop, started)
    finally:
        for process in started:  # after a failure: ours, not left behind
            if process.is_alive():
                process.terminate()


def _soak(url: str, clock: FastClock, minutes: float, context: Any, results: Any, stop: Any,
          started: list[Any]) -> int:
    workers = [context.Process(target=soakload.worker_process,
                               args=(url, clock, i, stop, results)) for i in range(WORKERS)]
    for process in workers:
        process.start()
        started.append(process)
    ready = [results.get(timeout=300) for _ in workers]
    began = time.time() + 20  # time for the API processes to start (they wait for it)
    stop_at = began + minutes * 60
    apis = [context.Process(target=soakload.api_process,
                            args=(url, clock, seed, began, stop_at, results))
            for seed in range(API_PROCESSES)]
    for process in apis:
        process.start()
        started.append(process)
    ready += [results.get(timeout=300) for _ in apis]
    cpu_before, wal_before = server_cpu(url), wal_position(url)
    reference_at = min(120.0, 0.4 * minutes * 60)
    samples: dict[int, list[tuple[float, int]]] = {p.pid or 0: [] for p in (*apis, *workers)}
    while time.time() < began:
        time.sleep(0.1)
    while (now := time.time()) < stop_at - 1:  # the last sample a second before the end
        for pid, found in samples.items():
            found.append((now - began, rss(pid)))
        time.sleep(max(0.0, min(5.0, stop_at - 1 - time.time())))
    tallies = [results.get(timeout=300)[2] for _ in apis]
    cpu_used, wal_used = server_cpu(url) - cpu_before, wal_bytes(url, wal_before)
    backlog = outbox_backlog(url)
    stop.set()
    began_stopping = time.time()
    delivered: list[tuple[str, int]] = []
    fired = 0
    for _ in workers:
        # a worker stops once its jobs in progress are done: a dispatch delivers everything
        # that was due when it began, which may be the whole backlog
        _, _, sink_delivered, worker_fired = results.get(timeout=3600)
        delivered += sink_delivered
        fired += worker_fired
    for process in (*apis, *workers):
        process.join(timeout=60)
    print(f"outbox backlog when the API processes stopped: {backlog:,} messages; the workers "
          f"stopped {time.time() - began_stopping:.0f} s later")
    report_minutes(tallies, cpu_used, wal_used)
    ok = check(url, clock, delivered, fired)
    storage(url)
    ok = report_memory(samples, reference_at) and ok
    print("soak: all checks passed" if ok else "soak: A CHECK FAILED")
    return 0 if ok else 1


def report_minutes(tallies: list[Tally], server_seconds: float, wal: int) -> None:
    minutes = sorted({m for t in tallies for m in t.latencies})
    print(f"{'minute':>6} {'operations':>10} {'per s':>7} {'p50 ms':>7} {'p99 ms':>7}")
    for minute in minutes:
        values = [v for t in tallies for v in t.latencies.get(minute, ())]
        print(f"{minute + 1:>6} {len(values):>10,} {len(values) / 60:>7,.0f} "
              f"{statistics.median(values) * 1e3:>7.1f} {percentile(values, 0.99) * 1e3:>7.1f}")
    operations: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for t in tallies:
        operations.update(t.operations)
        errors.update(t.errors)
    print("operations: " + ", ".join(f"{k} {v:,}" for k, v in operations.most_common()))
    done = sum(operations.values())
    print(f"server CPU: {server_seconds:,.0f} s for {done:,} operations, "
          f"{server_seconds / done * 1e6:,.0f} µs each (all PostgreSQL processes, the "
          "workers' queries included); WAL written: "
          f"{wal / 2**20:,.0f} MiB, {wal / done / 1024:.1f} KiB per operation")
    print("refused or conflicting (expected: a worker moved the dossier first): "
          + (", ".join(f"{k} {v:,}" for k, v in errors.most_common()) or "none"))


def check(url: str, clock: FastClock, delivered: list[tuple[str, int]], fired: int) -> bool:
    """Drain once, then the delivery, timer and audit checks."""
    sink = RecordingSink()
    engine = soakload.engine_for(url, clock, sink)
    final = clock.now()
    swept = engine.sweep(final)
    while engine.dispatch_outbox().attempted:
        pass
    engine.issue_pending_forms()
    delivered += sink.delivered
    with engine.kernel.transaction(write=False) as tx:
        events = tx.all("SELECT d.code, e.seq, e.trigger, e.data FROM events e"
                        " JOIN dossiers d ON d.id = e.dossier_id")
        codes = [r[0] for r in tx.all("SELECT code FROM dossiers ORDER BY id")]
    times = Counter(delivered)
    lost = sum(1 for code, seq, _, _ in events if (code, seq) not in times)
    duplicated = sum(n - 1 for n in times.values() if n > 1)
    unknown = len(set(times) - {(code, seq) for code, seq, _, _ in events})
    print(f"outbox: {len(events):,} events, {len(delivered):,} deliveries: {lost} lost, "
          f"{duplicated} duplicated, {unknown} of no event")
    timer_events = Counter((code, trigger, data) for code, _, trigger, data in events
                           if trigger in ("overdue", "sla_warning"))
    twice = sum(n - 1 for n in timer_events.values() if n > 1)
    overdue: dict[str, set[str]] = {}
    for code, trigger, data in timer_events:
        if trigger == "overdue":
            overdue.setdefault(code, set()).add(json.loads(data)["appointment_at"])
    due_left = engine.due_timers(final)
    with engine.kernel.transaction(write=False) as tx:
        late = [(code, tx.instant_out(at)) for code, at in tx.all(
            "SELECT code, appointment_at FROM dossiers WHERE closed_at IS NULL"
            " AND paused_at IS NULL AND appointment_at <= ?", (final,))]
    missing = sum(1 for code, at in late if at is None
                  or at.astimezone(LOCAL_TZ).isoformat() not in overdue.get(code, set()))
    print(f"timers: {fired + swept.total:,} fired by the workers and the last sweep; "
          f"{twice} twice for one appointment, {due_left} still due after the last sweep, "
          f"{missing} of {len(late):,} open dossiers past their appointment without their "
          "overdue event")
    with engine.kernel.transaction(write=False) as tx:
        numbered = Counter((code, json.loads(data)["form"]["kind"])
                           for code, _, _, data in events if '"form"' in data)
        made = Counter(tx.all("SELECT d.code, m.kind FROM documents m JOIN dossiers d"
                              " ON d.id = m.dossier_id WHERE substr(m.kind, 1, 5) = 'form-'"))
    forms_lost = sum(max(0, n - made[key]) for key, n in numbered.items())
    forms_twice = sum(max(0, n - numbered[key]) for key, n in made.items())
    print(f"forms: {sum(numbered.values()):,} numbered by events, {sum(made.values()):,} made "
          f"by the workers: {forms_lost} lost, {forms_twice} made twice")
    began = time.perf_counter()
    broken = 0
    for code in codes:
        try:
            engine.verify_audit(code)
        except Exception:
            broken += 1
    print(f"audit: {len(codes):,} chains verified in {time.perf_counter() - began:.0f} s, "
          f"{broken} broken")
    engine.close()
    return lost == duplicated == unknown == twice == due_left == missing == broken \
        == forms_lost == forms_twice == 0


def report_memory(samples: dict[int, list[tuple[float, int]]], reference_at: float) -> bool:
    worst = 0.0
    for pid, found in samples.items():
        reference = next(size for at, size in found if at >= reference_at)
        end = found[-1][1]
        worst = max(worst, end / reference)
        print(f"rss pid {pid}: {reference / 2**20:6.1f} MiB at {reference_at:.0f} s, "
              f"{end / 2**20:6.1f} MiB at the end ({end / reference:.2f})")
    print(f"memory: largest end / reference {worst:.2f} (target ≤ {TARGET_RSS})")
    return worst <= TARGET_RSS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--speed", type=float, default=None,
                        help="how much faster business time runs than the wall clock "
                             "(default: the run spans 40 days of business time)")
    args = parser.parse_args(argv)
    if args.speed is None:
        args.speed = BUSINESS_DAYS * 86_400 / (args.minutes * 60)
    if not os.environ.get("PGHOST"):
        return pg.in_cluster([str(Path(__file__).resolve()), *(sys.argv[1:] if argv is None
                                                                else argv)])
    print(f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
          f"{API_PROCESSES} API processes and {WORKERS} workers for {args.minutes:g} min; "
          f"business time × {args.speed:,.0f} ({timedelta(seconds=60 * args.speed)} a minute)")
    with pg.quiet():
        return soak(args.minutes, args.speed)


if __name__ == "__main__":
    raise SystemExit(main())
