"""Persists the fake to a JSON Lines file by subscribing to the backend's events: every change is
appended (and reaches the OS) before the API answers; a clean stop rewrites the file compacted;
a start replays it."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mock_kling.core.attempts import Attempt
from mock_kling.core.events import (
    CallbackAttempted,
    ClockMoved,
    Event,
    LimitsChanged,
    RequestJournaled,
    Reset,
    TaskCreated,
    TaskReplanned,
)
from mock_kling.core.images import ImageInfo
from mock_kling.core.journal import RequestRecord
from mock_kling.core.outcomes import Outcome
from mock_kling.core.tasks import Step, Task, TaskRequest

if TYPE_CHECKING:
    from mock_kling.core.backend import Backend

FORMAT_VERSION = 1


class StateFile:
    """An append-only log of state events, one JSON object per line."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._file = self.path.open("a", encoding="utf-8")

    def read(self) -> list[dict[str, Any]]:
        """Every complete event; a torn last line (a kill mid-write) is ignored."""
        events = []
        with self.path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict) and "kind" in event:
                    events.append(event)
        return events

    def append(self, event: dict[str, Any]) -> None:
        """Write one event through to the OS, so a killed process keeps it."""
        line = json.dumps(event, separators=(",", ":")) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def rewrite(self, events: list[dict[str, Any]]) -> None:
        """Replace the file with `events`, atomically (write aside, then rename)."""
        temporary = self.path.with_name(self.path.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            for event in events:
                out.write(json.dumps(event, separators=(",", ":")) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with self._lock:
            self._file.close()
            os.replace(temporary, self.path)
            self._file = self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        with self._lock:
            self._file.close()


def task_event(task: Task) -> dict[str, Any]:
    request = task.request
    return {
        **plan_event(task),
        "kind": "task",
        "task_id": task.task_id,
        "account": task.account_id,
        "created_at": task.created_at,
        "video_id": task.video_id,
        "request": {
            "prompt": request.prompt,
            "images": [[i.kind, i.width, i.height, i.size_bytes] for i in request.images],
            "model_name": request.model_name,
            "negative_prompt": request.negative_prompt,
            "mode": request.mode,
            "duration": request.duration,
            "aspect_ratio": request.aspect_ratio,
            "watermark_enabled": request.watermark_enabled,
            "callback_url": request.callback_url,
            "external_task_id": request.external_task_id,
        },
    }


def plan_event(task: Task) -> dict[str, Any]:
    """The task's plan: its timeline and outcome (re-planned by the control API)."""
    return {
        "kind": "plan",
        "task_id": task.task_id,
        "timeline": [[s.at_ms, s.status, s.status_msg] for s in task.timeline],
        "outcome": task.outcome.to_json(),
    }


def task_from(event: dict[str, Any]) -> Task:
    data = dict(event["request"])
    data["images"] = tuple(ImageInfo(*image) for image in data["images"])
    return Task(
        task_id=event["task_id"],
        account_id=event["account"],
        request=TaskRequest(**data),
        created_at=event["created_at"],
        video_id=event["video_id"],
        timeline=timeline_from(event),
        outcome=Outcome.from_json(event["outcome"]),
    )


def timeline_from(event: dict[str, Any]) -> tuple[Step, ...]:
    return tuple(Step(at, status, message) for at, status, message in event["timeline"])


def request_event(record: RequestRecord) -> dict[str, Any]:
    return {"kind": "request", **record.to_json()}


def request_from(event: dict[str, Any]) -> RequestRecord:
    return RequestRecord(**{k: v for k, v in event.items() if k != "kind"})


def attempt_event(attempt: Attempt) -> dict[str, Any]:
    return {"kind": "callback", **attempt.to_json()}


def attempt_from(event: dict[str, Any]) -> Attempt:
    return Attempt(**{k: v for k, v in event.items() if k != "kind"})


class Persistence:
    """Keeps `state` in step with `backend`: restores it, then records every change."""

    def __init__(self, backend: Backend, state: StateFile) -> None:
        self.backend, self.state = backend, state
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        """Restore the backend from the file, compact the file, then record every change."""
        _restore(self.backend, self.state.read())
        self.state.rewrite(snapshot(self.backend))
        self._unsubscribe = self.backend.subscribe(self._record)

    def stop(self) -> None:
        """Stop recording and write the compacted state (a clean stop)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.state.rewrite(snapshot(self.backend))
        self.state.close()

    def _record(self, event: Event) -> None:
        line = _line(event)
        if line is not None:
            self.state.append(line)


def _line(event: Event) -> dict[str, Any] | None:
    """The state-file line of a domain event (None: not kept)."""
    if isinstance(event, TaskCreated):
        return task_event(event.task)
    if isinstance(event, TaskReplanned):
        return plan_event(event.task)
    if isinstance(event, RequestJournaled):
        return request_event(event.record)
    if isinstance(event, CallbackAttempted):
        return attempt_event(event.attempt)
    if isinstance(event, LimitsChanged):
        return {"kind": "limits", "account": event.account, "limits": event.limits.to_json()}
    if isinstance(event, ClockMoved):
        return {"kind": "clock", "now_ms": event.now_ms}
    if isinstance(event, Reset):
        return {"kind": "reset", "now_ms": event.now_ms}
    return None


def snapshot(backend: Backend) -> list[dict[str, Any]]:
    """The backend's state as events: seed, clock, tasks with their plans, limits, journals."""
    events: list[dict[str, Any]] = [
        {"kind": "meta", "version": FORMAT_VERSION, "seed": backend.seed},
        {"kind": "clock", "now_ms": backend.now_ms()},
    ]
    events += [task_event(task) for task in reversed(backend.all_tasks())]
    events += [
        {"kind": "limits", "account": account, "limits": limits.to_json()}
        for account, limits in backend.changed_limits().items()
    ]
    events += [request_event(record) for record in backend.requests()]
    events += [attempt_event(attempt) for attempt in backend.attempts()]
    return events


def _restore(backend: Backend, events: list[dict[str, Any]]) -> None:
    if not events:
        return
    last_reset = max((i for i, e in enumerate(events) if e["kind"] == "reset"), default=-1)
    tasks: dict[str, Task] = {}
    requests: list[RequestRecord] = []
    attempts: list[Attempt] = []
    clock_ms: int | None = None
    for event in events[last_reset + 1 :]:
        kind = event["kind"]
        if kind == "task":
            tasks[event["task_id"]] = task_from(event)
        elif kind == "plan" and event["task_id"] in tasks:
            task = tasks[event["task_id"]]
            outcome = Outcome.from_json(event["outcome"])
            tasks[task.task_id] = replace(task, timeline=timeline_from(event), outcome=outcome)
        elif kind == "limits":
            backend.set_limits(event["account"], event["limits"])
        elif kind == "request":
            requests.append(request_from(event))
        elif kind == "callback":
            attempts.append(attempt_from(event))
        elif kind == "clock":
            clock_ms = event["now_ms"]
    backend.restore(tasks.values(), requests, attempts, clock_ms)
    _requeue_callbacks(backend, tasks.values(), attempts)


def _requeue_callbacks(backend: Backend, tasks: Iterable[Task], attempts: list[Attempt]) -> None:
    finished = {(a.task_id, a.status) for a in attempts if a.result != "retrying"}
    for task in tasks:
        steps = tuple(s for s in task.timeline if (task.task_id, s.status) not in finished)
        if task.request.callback_url is not None and steps:
            backend.queue_callbacks(task, steps)
