"""GET /__mock__/metrics: Prometheus' text format, parsed with prometheus_client's own parser."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from mock_kling.assemble import build_backend
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import Config
from mock_kling.core.delivery import CallbackFault
from mock_kling.http.app import create_app
from mock_kling.http.context import FAST_PATH
from mock_kling.http.metrics import api_route

from .conftest import API_PATH, valid_body

HEADERS = {"Authorization": "Bearer sk-k"}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Flaky:
    """A callback sender that answers 500 to the first send of each task, then 200."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, url: str, body: bytes, timeout: float) -> tuple[int | None, str | None]:
        first = url not in self.seen
        self.seen.add(url)
        return (500, None) if first else (200, None)


def _fake(**config: Any) -> Any:
    backend = build_backend(
        Config(seed=1, api_keys=["sk-k"], **config), ManualClock(), sender=Flaky()
    )
    app = create_app(backend=backend)
    return app.test_client(), backend


def _scrape(client: Any) -> Samples:
    answer = client.get("/__mock__/metrics")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _value(samples: Samples, name: str, **labels: str) -> float:
    matching = [
        value
        for (sample, sample_labels), value in samples.items()
        if sample == name and labels.items() <= dict(sample_labels).items()
    ]
    assert len(matching) == 1, (name, labels, matching)
    return matching[0]


def test_requests_tasks_callbacks_and_the_fast_path_are_counted_per_replica():
    client, backend = _fake(callback_attempts=2, callback_backoff_seconds=1)
    hooks = [f"http://receiver.test/hook{n}" for n in range(3)]
    ids = []
    for hook in hooks:
        created = client.post(API_PATH, json=valid_body(callback_url=hook), headers=HEADERS)
        ids.append(created.get_json()["data"]["task_id"])
    client.post(API_PATH, json=valid_body(), headers=HEADERS)  # no callback
    client.get(f"{API_PATH}/{ids[0]}", headers=HEADERS)
    client.get(f"{API_PATH}/nope", headers=HEADERS)  # 404
    client.post(API_PATH, json={"model_name": 5}, headers=HEADERS)  # 400
    backend.add_callback_fault(CallbackFault("drop", times=1))
    backend.advance(60)

    samples = _scrape(client)
    assert _value(samples, "mock_kling_tasks", status="succeed") == 4
    (name,) = {dict(labels)["replica"] for _, labels in samples}  # one replica, on every sample
    assert name.endswith(f":{os.getpid()}")
    route = API_PATH
    assert _value(samples, "mock_kling_requests_total", route=route, code="200") == 4
    assert _value(samples, "mock_kling_requests_total", route=route, code="400") == 1
    assert _value(samples, "mock_kling_requests_total", route=route + "/<ref>", code="200") == 1
    assert _value(samples, "mock_kling_requests_total", route=route + "/<ref>", code="404") == 1
    # 3 tasks x 3 notifications; one dropped by the fault; each task's first send fails once
    attempts = backend.attempts()
    assert _value(samples, "mock_kling_callbacks_dropped_total") == 1
    assert _value(samples, "mock_kling_callbacks_retried_total") == 3
    assert _value(samples, "mock_kling_callbacks_failed_total") == 0
    assert _value(samples, "mock_kling_callbacks_taken_over_total") == 0
    sent = sum(a.result in ("delivered", "retrying", "gave_up") for a in attempts)
    assert _value(samples, "mock_kling_callbacks_sent_total") == sent == 3 + 8
    assert _value(samples, "mock_kling_store_round_trip_seconds") >= 0
    counts = client.application.extensions[FAST_PATH].counts()  # as at the scrape
    assert _value(samples, "mock_kling_fast_path_answered_total") == counts["answered"] > 0
    for reason, count in counts["fell_back"].items():
        assert _value(samples, "mock_kling_fast_path_fell_back_total", reason=reason) == count

    again = _scrape(client)  # the first scrape is counted as a control request
    assert _value(again, "mock_kling_requests_total", route="/__mock__/metrics", code="200") == 1


def test_a_gave_up_delivery_counts_as_failed():
    client, backend = _fake(callback_attempts=1)
    client.post(API_PATH, json=valid_body(callback_url="http://receiver.test/a"), headers=HEADERS)
    backend.advance(60)  # submitted fails (first send) and is given up; the rest are delivered
    samples = _scrape(client)
    assert _value(samples, "mock_kling_callbacks_failed_total") == 1
    assert _value(samples, "mock_kling_callbacks_retried_total") == 0
    assert _value(samples, "mock_kling_callbacks_sent_total") == 3


def test_two_fakes_in_one_process_keep_metrics_of_their_own():
    (one, _), (two, _) = _fake(), _fake()
    one.post(API_PATH, json=valid_body(), headers=HEADERS)
    assert _value(_scrape(one), "mock_kling_tasks", status="submitted") == 1
    assert not any(name == "mock_kling_tasks" for name, _ in _scrape(two))  # none: no task
    assert not any(
        name == "mock_kling_requests_total" and ("code", "200") in labels
        and ("route", API_PATH) in labels
        for name, labels in _scrape(two)
    )  # fmt: skip


def test_api_routes_are_labelled_by_template():
    assert api_route("GET", API_PATH) == API_PATH
    assert api_route("GET", f"{API_PATH}/123") == f"{API_PATH}/<ref>"
    assert api_route("GET", "/v1/videos/other") == "<unmatched API path>"
