"""The Prometheus metrics of one fake (`GET /__mock__/metrics`): requests by route and code, tasks
by status, callbacks sent / failed / retried / taken over, the store's round trip and the fast
path's fall-backs. Each app has a registry of its own (two fakes in one process never collide),
and every sample carries the `replica` label: the replicas of a team server are told apart."""

from __future__ import annotations

import os
import socket
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mock_kling.core.backend import Backend
from mock_kling.core.events import CallbackAttempted, Event, RequestJournaled
from mock_kling.core.tasks import Task
from mock_kling.http import routes

if TYPE_CHECKING:
    from mock_kling.http.fastpath import FastPath

CONTENT_TYPE = CONTENT_TYPE_LATEST
EXTENSION = "mock_kling.metrics"  # the app's Metrics in `app.extensions`
# What became of a callback attempt (`Attempt.result`) -> the counters it adds to.
_SENT = ("delivered", "retrying", "gave_up")  # a send was made (dropped and takeover: none)
_CALLBACKS = {
    "sent": "Callback sends made (each attempt that reached the sender)",
    "failed": "Callback deliveries given up: every attempt failed",
    "retried": "Callback attempts that failed and were queued again (a retry is due)",
    "taken_over": "Deliveries this replica claimed after another replica's lease ran out",
    "dropped": "Callback notifications dropped by a callback fault (never sent)",
}


def replica_name() -> str:
    """This process among the replicas: host name and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Metrics:
    """The metrics of one app over its backend (and its fast path, read at scrape time)."""

    def __init__(
        self,
        backend: Backend,
        fast_path: Callable[[], FastPath | None],
        replica: str | None = None,
    ) -> None:
        self.replica = replica or replica_name()
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "mock_kling_requests",
            "HTTP requests answered, by route (the URL rule) and HTTP status",
            ["replica", "route", "code"],
            registry=self.registry,
        )
        self._callbacks = {
            kind: Counter(
                f"mock_kling_callbacks_{kind}", text, ["replica"], registry=self.registry
            ).labels(self.replica)
            for kind, text in _CALLBACKS.items()
        }
        self.registry.register(_AtScrape(backend, fast_path, self.replica))
        backend.subscribe(self._on_event)

    def count_request(self, route: str, code: int) -> None:
        self._requests.labels(self.replica, route, str(code)).inc()

    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, RequestJournaled):  # every API call, the fast path's too
            record = event.record
            self.count_request(api_route(record.method, record.path), record.http_status)
        elif isinstance(event, CallbackAttempted):
            result = event.attempt.result
            if result in _SENT:
                self._callbacks["sent"].inc()
            kind = {"gave_up": "failed", "retrying": "retried", "takeover": "taken_over"}.get(
                result, result
            )
            if kind in self._callbacks and kind != "sent":
                self._callbacks[kind].inc()


def api_route(method: str, path: str) -> str:
    """The route label of an API call: its prefix and route, the task ref as `<ref>`."""
    for prefix in routes.PREFIXES:
        route = prefix + routes.PATH
        if path == route:
            return route
        if path.startswith(route + "/"):
            return route + "/<ref>"
    return "<unmatched API path>"


class _AtScrape(Collector):
    """What is read when scraped: tasks by status, the store's round trip, the fast path."""

    def __init__(
        self, backend: Backend, fast_path: Callable[[], FastPath | None], replica: str
    ) -> None:
        self._backend, self._fast_path, self._replica = backend, fast_path, replica

    def collect(self) -> Iterator[Metric]:
        backend, replica = self._backend, self._replica
        started = time.perf_counter()
        backend.task_count()  # one small read: one round trip on SQLite and Redis
        round_trip = time.perf_counter() - started
        yield _gauge(
            "mock_kling_store_round_trip_seconds",
            "How long one small read of the store (the task count) took at this scrape",
            replica,
            {(): round_trip},
        )
        tasks = backend.all_tasks()
        yield _gauge(
            "mock_kling_tasks",
            "Tasks in the store by status now (the store's: replicas sharing it agree)",
            replica,
            {(status,): count for status, count in _by_status(tasks, backend.now_ms()).items()},
            ["status"],
        )
        fast_path = self._fast_path()
        if fast_path is None:
            return
        counts = fast_path.counts()
        answered = CounterMetricFamily(
            "mock_kling_fast_path_answered",
            "Requests the fast path answered without Flask",
            labels=["replica"],
        )
        answered.add_metric([replica], counts["answered"])
        yield answered
        fell_back = CounterMetricFamily(
            "mock_kling_fast_path_fell_back",
            "Requests the fast path handed to Flask, by reason",
            labels=["replica", "reason"],
        )
        for reason, count in counts["fell_back"].items():
            fell_back.add_metric([replica, reason], count)
        yield fell_back


def _by_status(tasks: list[Task], now_ms: int) -> Tally[str]:
    return Tally(task.step_at(now_ms).status for task in tasks)


def _gauge(
    name: str,
    text: str,
    replica: str,
    values: dict[tuple[str, ...], float],
    labels: list[str] | None = None,
) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, text, labels=["replica", *(labels or [])])
    for label_values, value in values.items():
        gauge.add_metric([replica, *label_values], value)
    return gauge
