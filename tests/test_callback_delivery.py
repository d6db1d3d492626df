"""Callbacks end to end: the fake POSTs the task object to callback_url on every status change,
in order, with retries, faults and a journal; a hanging receiver never slows the API."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_kling import apispec
from mock_kling.assemble import build_backend
from mock_kling.core.auth import make_token
from mock_kling.core.clock import ManualClock, SystemClock
from mock_kling.core.config import Config
from mock_kling.http.app import create_app
from mock_kling.testing.receiver import CallbackReceiver

from .conftest import API_PATH, valid_body


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as receiver:
        yield receiver


def _submit(client: FlaskClient, auth: dict[str, str], url: str, **fields: Any) -> str:
    body = valid_body(callback_url=url, **fields)
    response = client.post(API_PATH, json=body, headers=auth)
    assert response.status_code == 200, response.get_json()
    task_id: str = response.get_json()["data"]["task_id"]
    return task_id


def _advance(client: FlaskClient, seconds: float) -> None:
    assert client.post("/__mock__/clock/advance", json={"seconds": seconds}).status_code == 200


def _journal(client: FlaskClient) -> list[dict[str, Any]]:
    journal: list[dict[str, Any]] = client.get("/__mock__/callbacks").get_json()
    return journal


def test_every_status_change_is_posted_in_order(
    client: FlaskClient, auth: dict[str, str], receiver: CallbackReceiver
):
    task_id = _submit(client, auth, receiver.url, external_task_id="cb-1")
    _advance(client, 10)
    deliveries = receiver.deliveries
    assert [d.body["task_status"] for d in deliveries] == ["submitted", "processing", "succeed"]
    for delivery in deliveries:
        assert delivery.method == "POST"
        assert delivery.headers["Content-Type"] == "application/json"
        assert delivery.body["task_id"] == task_id
        assert delivery.body["task_info"] == {"external_task_id": "cb-1"}
        apispec.validator("callback").validate(delivery.body)
    assert "code" not in deliveries[0].body  # the bare task object, not an envelope
    video = deliveries[-1].body["task_result"]["videos"][0]
    assert video["url"].startswith("http://localhost/__mock__/media/")
    assert [d.body["updated_at"] - d.body["created_at"] for d in deliveries] == [0, 2000, 10000]


def test_failed_task_callback_carries_the_reason(
    client: FlaskClient, auth: dict[str, str], receiver: CallbackReceiver
):
    _submit(client, auth, receiver.url, prompt="mock:fail_at_submit")
    _advance(client, 5)
    last = receiver.deliveries[-1].body
    assert (last["task_status"], last["task_status_msg"]) == ("failed", "Image pixel is invalid")
    apispec.validator("callback").validate(last)


def test_retries_after_500_keep_status_order(
    client: FlaskClient, auth: dict[str, str], receiver: CallbackReceiver
):
    receiver.answer(500, 500)  # the first two attempts fail
    _submit(client, auth, receiver.url)
    _advance(client, 10)
    journal = _journal(client)
    start = journal[0]["at_ms"]
    assert [
        (j["status"], j["attempt"], j["http_status"], j["at_ms"] - start, j["result"])
        for j in journal
    ] == [
        ("submitted", 1, 500, 0, "retrying"),
        ("submitted", 2, 500, 1000, "retrying"),  # backoff 1 s
        ("submitted", 3, 200, 3000, "delivered"),  # then 2 s; processing (due at 2 s) waited
        ("processing", 1, 200, 3000, "delivered"),
        ("succeed", 1, 200, 10000, "delivered"),
    ]
    assert journal[0]["error"] == "non-2xx answer 500"
    assert [d.body["task_status"] for d in receiver.deliveries if d.answered == 200] == [
        "submitted",
        "processing",
        "succeed",
    ]


def test_refused_connection_is_retried_then_given_up(client: FlaskClient, auth: dict[str, str]):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _submit(client, auth, f"http://127.0.0.1:{port}/hook", prompt="mock:stuck")
    _advance(client, 60)
    journal = [j for j in _journal(client) if j["status"] == "submitted"]
    assert [j["attempt"] for j in journal] == [1, 2, 3, 4, 5]
    assert [j["at_ms"] - journal[0]["at_ms"] for j in journal] == [0, 1000, 3000, 7000, 15000]
    assert all(j["error"].startswith("connection refused") for j in journal)
    assert journal[-1]["result"] == "gave_up"
    statuses = [j["status"] for j in _journal(client)]
    assert statuses.count("processing") == 5  # the next status is still tried after giving up


def test_callback_faults_duplicate_drop_delay(
    client: FlaskClient, auth: dict[str, str], receiver: CallbackReceiver
):
    task_id = _submit(client, auth, receiver.url, prompt="mock:stuck")  # submitted due now
    for fault in (
        {"action": "duplicate", "task_id": task_id},
        {"action": "drop", "task_id": task_id},
    ):
        assert client.post("/__mock__/callbacks/faults", json=fault).status_code == 201
    _advance(client, 5)
    journal = _journal(client)
    assert [(j["status"], j["fault"], j["result"]) for j in journal] == [
        ("submitted", None, "delivered"),
        ("submitted", "duplicate", "delivered"),
        ("processing", "drop", "dropped"),
    ]
    assert [d.body["task_status"] for d in receiver.deliveries] == ["submitted", "submitted"]

    other = _submit(client, auth, receiver.url, prompt="mock:stuck")
    client.post(
        "/__mock__/callbacks/faults", json={"action": "delay", "seconds": 30, "task_id": other}
    )
    _advance(client, 29)
    assert len(receiver.deliveries) == 2
    _advance(client, 1)
    assert [d.body["task_id"] for d in receiver.deliveries[2:]] == [other, other]


def test_no_callback_without_callback_url(client: FlaskClient, auth: dict[str, str]):
    client.post(API_PATH, json=valid_body(callback_url=""), headers=auth)
    _advance(client, 20)
    assert _journal(client) == []


def test_forced_outcome_replans_the_callbacks(
    client: FlaskClient, auth: dict[str, str], receiver: CallbackReceiver
):
    task_id = _submit(client, auth, receiver.url)
    _advance(client, 3)
    client.post(
        f"/__mock__/tasks/{task_id}/outcome", json={"result": "fail", "processing_seconds": 1}
    )
    _advance(client, 20)
    assert [d.body["task_status"] for d in receiver.deliveries] == [
        "submitted",
        "processing",
        "failed",
    ]


def test_a_hanging_receiver_does_not_hold_the_api(auth: dict[str, str], receiver: CallbackReceiver):
    """System clock, background delivery: the API answers while a delivery hangs."""
    receiver.hang()
    config = Config(seed=2, submitted_seconds=0, processing_seconds=0, callback_timeout_seconds=30)
    backend = build_backend(config, SystemClock())
    client = create_app(backend=backend).test_client()
    header = {
        "Authorization": "Bearer "
        + make_token(
            "mock-access-key", config.key_pairs["mock-access-key"], SystemClock().now_ms() / 1000
        )
    }
    try:
        task_id = _submit(client, header, receiver.url)
        for _ in range(20):
            assert client.get(f"{API_PATH}/{task_id}", headers=header).status_code == 200
            assert client.post(API_PATH, json=valid_body(), headers=header).status_code == 200
        assert receiver.deliveries == []  # the first delivery is still hanging
        assert backend.pending_callbacks() == 3  # submitted in flight; the others wait their turn
    finally:
        receiver.release()
        receiver.wait_for(3)
        backend.close()
    assert [d.body["task_status"] for d in receiver.deliveries] == [
        "submitted",
        "processing",
        "succeed",
    ]


def test_a_seeded_run_repeats_ids_outcomes_and_journal(
    auth: dict[str, str], receiver: CallbackReceiver
):
    def run() -> tuple[list[Any], list[Any]]:
        clock = ManualClock()
        client = create_app(Config(seed=77, failure_rate=0.5), clock=clock).test_client()
        for n in range(6):
            _submit(client, auth, receiver.url, prompt="mock:stuck" if n == 3 else "go")
        client.post("/__mock__/clock/advance", json={"seconds": 15})
        tasks = [
            (t["task"]["task_id"], t["task"]["task_status"])
            for t in client.get("/__mock__/tasks").get_json()
        ]
        journal = [{k: v for k, v in j.items() if k != "latency_ms"} for j in _journal(client)]
        return tasks, journal

    first = run()
    assert first == run()
    assert {status for _, status in first[0]} >= {"failed", "succeed", "processing"}


def test_callback_hosts_can_be_restricted(auth: dict[str, str], clock: ManualClock):
    client = create_app(Config(seed=1, callback_hosts=("127.0.0.1",)), clock=clock).test_client()
    allowed = client.post(
        API_PATH, json=valid_body(callback_url="http://127.0.0.1:9/x"), headers=auth
    )
    assert allowed.status_code == 200
    refused = client.post(API_PATH, json=valid_body(callback_url="http://10.1.2.3/x"), headers=auth)
    assert (refused.status_code, refused.get_json()["code"]) == (400, 1201)
    assert refused.get_json()["message"] == (
        "callback_url host '10.1.2.3' is not allowed on this server (allowed: 127.0.0.1)"
    )
