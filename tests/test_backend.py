"""The one door: events to subscribers, one settling way to advance time, a store that
keeps recording after a reset, and background failures that are reported instead of vanishing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_kling.assemble import build_backend
from mock_kling.core.clock import ManualClock, SystemClock
from mock_kling.core.config import Config
from mock_kling.core.events import (
    CallbackAttempted,
    ClockMoved,
    Event,
    RequestJournaled,
    Reset,
    StepReached,
    TaskCreated,
)
from mock_kling.http.app import create_app
from mock_kling.store.memory import MemoryStore
from mock_kling.store.sqlite import SqliteStore

from .conftest import API_PATH, valid_body

HOOK = "http://receiver.test/hook"


class Recorder:
    """A callback sender that answers 200 and keeps what it was sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def __call__(self, url: str, body: bytes, timeout: float) -> tuple[int | None, str | None]:
        self.sent.append(json.loads(body))
        return 200, None


def _client(backend: Any) -> FlaskClient:
    return create_app(backend=backend).test_client()


def _submit(client: FlaskClient, **overrides: Any) -> str:
    response = client.post(
        API_PATH, json=valid_body(**overrides), headers={"Authorization": "Bearer sk-k"}
    )
    assert response.status_code == 200, response.get_json()
    task_id: str = response.get_json()["data"]["task_id"]
    return task_id


def test_advancing_the_clock_a_test_holds_settles_callbacks():
    """Bug: ManualClock.advance moved time without running callbacks (Backend.advance did).
    The README's in-process example advances the clock it made, and must see callbacks."""
    clock, sender = ManualClock(), Recorder()
    backend = build_backend(Config(seed=1, api_keys=["sk-k"]), clock, sender=sender)
    client = _client(backend)
    _submit(client, callback_url=HOOK)
    clock.advance(10)
    assert [body["task_status"] for body in sender.sent] == ["submitted", "processing", "succeed"]
    assert backend.pending_callbacks() == 0


def test_events_tell_each_change_in_order():
    clock = ManualClock()
    backend = build_backend(Config(seed=1, api_keys=["sk-k"]), clock, sender=Recorder())
    events: list[Event] = []
    unsubscribe = backend.subscribe(events.append)
    client = _client(backend)
    task_id = _submit(client, callback_url=HOOK)
    backend.advance(2)
    kinds = [type(event).__name__ for event in events]
    assert kinds[:2] == ["TaskCreated", "RequestJournaled"]
    created = events[0]
    assert isinstance(created, TaskCreated)
    assert created.task.task_id == task_id
    reached = [e.step.status for e in events if isinstance(e, StepReached)]
    assert reached == ["processing"]
    attempted = [e.attempt.status for e in events if isinstance(e, CallbackAttempted)]
    assert attempted == ["submitted", "processing"]
    assert isinstance(events[-1], ClockMoved)
    backend.reset()
    assert isinstance(events[-1], Reset)
    unsubscribe()
    backend.reset()
    assert sum(isinstance(e, Reset) for e in events) == 1
    assert not any(isinstance(e, RequestJournaled) and e.record.code != 0 for e in events)


def test_a_store_keeps_recording_after_a_reset(tmp_path: Path):
    """Bug: POST /__mock__/reset replaced the request journal and with it the persistence hook,
    so requests after a reset were no longer kept. The state now lives in the store."""
    path = str(tmp_path / "fake.db")
    config = Config(seed=1, api_keys=["sk-k"])
    backend = build_backend(config, ManualClock(), store=SqliteStore(path))
    client = _client(backend)
    assert client.post("/__mock__/reset").status_code == 200
    task_id = _submit(client)
    reopened = SqliteStore(path)
    assert [task.task_id for task in reopened.all_tasks()] == [task_id]
    assert [record.path for record in reopened.requests()] == [API_PATH]


class _FailingOnce(MemoryStore):
    """A store whose claim_due raises once: a bug in the driver's path."""

    failed = False

    def claim_due(self, now_ms: int, limit: int) -> list[Any]:
        if not self.failed:
            self.failed = True
            raise RuntimeError("store broke once")
        return super().claim_due(now_ms, limit)


def test_an_error_in_the_driver_is_recorded_and_the_driver_goes_on():
    sender = Recorder()
    config = Config(seed=1, api_keys=["sk-k"], submitted_seconds=0, processing_seconds=0)
    backend = build_backend(config, SystemClock(), store=_FailingOnce(), sender=sender)
    try:
        task_id = _submit(_client(backend), callback_url=HOOK)

        def delivered(attempt: Any) -> bool:
            return (attempt.task_id, attempt.status, attempt.result) == (
                task_id,
                "succeed",
                "delivered",
            )

        assert backend.wait_for_attempt(delivered, timeout=5) is not None
        assert [type(e).__name__ for e in backend.errors] == ["RuntimeError"]
        assert backend.error_records()[0].where == "callback driver"
    finally:
        backend.close()


def test_an_error_in_a_callback_job_is_recorded_and_not_retried_forever():
    backend = build_backend(Config(seed=1, api_keys=["sk-k"]), ManualClock(), sender=Recorder())

    def broken_subscriber(event: Event) -> None:
        if isinstance(event, CallbackAttempted):
            raise ValueError("subscriber bug")

    backend.subscribe(broken_subscriber)
    _submit(_client(backend), callback_url=HOOK)
    backend.advance(10)
    assert {record.where for record in backend.error_records()} == {"callback job"}
    assert backend.pending_callbacks() == 0


def test_advance_needs_a_manual_clock():
    backend = build_backend(Config(seed=1), SystemClock())
    with pytest.raises(Exception, match="system clock"):
        backend.advance(1)
