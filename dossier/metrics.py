"""The worker's ``/metrics`` (Prometheus text format) and ``/healthz`` endpoints.

Each worker has its own :class:`prometheus_client.CollectorRegistry` (no process-global
state, so a host application or a test can run several). Counters and histograms are
updated by the jobs; the backlog gauges (due timers, outbox rows waiting and the age of the
oldest) are read from the database when Prometheus scrapes, so they are right whichever
worker did the work.

``/healthz`` answers 200 while every enabled job has succeeded within three of its
intervals (or has not had three intervals yet), 503 otherwise, with one line per job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("dossier.worker")

#: (sink, messages waiting, age in seconds of the oldest) for the outbox gauges
Backlog = Callable[[], Iterable[tuple[str, int, float]]]


class WorkerMetrics:
    """What the worker's jobs report, and the gauges read at scrape time."""

    def __init__(self, *, due_timers: Callable[[], int], outbox_backlog: Backlog) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.job_runs = Counter("dossier_job_runs", "Worker job runs by outcome",
                                ["job", "outcome"], registry=self.registry)
        self.job_seconds = Histogram("dossier_job_duration_seconds", "Worker job run time",
                                     ["job"], registry=self.registry)
        self.sweep_seconds = Histogram("dossier_sweep_duration_seconds",
                                       "Timer sweep run time", registry=self.registry)
        self.timers_fired = Counter("dossier_timers_fired", "Timers fired by the sweep",
                                    ["timer"], registry=self.registry)
        self.deliveries = Counter("dossier_outbox_deliveries", "Outbox deliveries by outcome",
                                  ["outcome"], registry=self.registry)
        self.registry.register(_Backlog(due_timers, outbox_backlog))
        self._last_ok: dict[str, float] = {}
        self._intervals: dict[str, float] = {}
        self._started = time.monotonic()
        self._lock = threading.Lock()

    def expect(self, job: str, interval: float) -> None:
        """``job`` runs every ``interval`` seconds: /healthz checks it keeps doing so."""
        self._intervals[job] = interval

    def ran(self, job: str, seconds: float, *, ok: bool) -> None:
        self.job_runs.labels(job, "ok" if ok else "error").inc()
        self.job_seconds.labels(job).observe(seconds)
        if ok:
            with self._lock:
                self._last_ok[job] = time.monotonic()

    def health(self) -> tuple[bool, list[str]]:
        """Whether every job is keeping up, and one line per job."""
        now = time.monotonic()
        healthy, lines = True, []
        with self._lock:
            for job, interval in sorted(self._intervals.items()):
                last = self._last_ok.get(job, self._started)
                late = now - last > 3 * interval + 5
                healthy &= not late
                lines.append(f"{job} {'LATE' if late else 'ok'} "
                             f"(last success {now - last:.0f} s ago)")
        return healthy, lines


class _Backlog(Collector):
    def __init__(self, due_timers: Callable[[], int], outbox_backlog: Backlog) -> None:
        self._due_timers = due_timers
        self._outbox_backlog = outbox_backlog

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            due = self._due_timers()
            backlog = list(self._outbox_backlog())
        except Exception:  # a scrape must not fail because the database blinked
            log.warning("metrics: cannot read the backlog from the database", exc_info=True)
            return
        yield GaugeMetricFamily("dossier_due_timers", "Dossiers with a timer due", value=due)
        waiting = GaugeMetricFamily("dossier_outbox_backlog", "Outbox messages not delivered",
                                    labels=["sink"])
        age = GaugeMetricFamily("dossier_outbox_oldest_age_seconds",
                                "Age of the oldest undelivered outbox message", labels=["sink"])
        for sink, count, oldest in backlog:
            waiting.add_metric([sink], count)
            age.add_metric([sink], oldest)
        yield waiting
        yield age


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not news
        pass


class MetricsServer:
    """``/metrics`` and ``/healthz`` over HTTP, in a daemon thread."""

    def __init__(self, metrics: WorkerMetrics, host: str = "127.0.0.1", port: int = 0) -> None:
        prometheus = make_wsgi_app(metrics.registry)

        def app(environ: Mapping[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            if path == "/metrics":
                answer: Iterable[bytes] = prometheus(environ, start)
                return answer
            if path == "/healthz":
                healthy, lines = metrics.health()
                start("200 OK" if healthy else "503 Service Unavailable",
                      [("Content-Type", "text/plain; charset=utf-8")])
                return [("ok\n" if healthy else "late\n").encode() + "\n".join(lines).encode()]
            start("404 Not Found", [("Content-Type", "text/plain")])
            return [b"/metrics or /healthz\n"]

        self._server: WSGIServer = make_server(host, port, app, handler_class=_QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="dossier-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
