"""Plays a recording's client requests against an in-process fake (manual clock moved as the
recording's time moved) and keeps its answers, for the drift report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from mock_kling.assemble import build_backend
from mock_kling.core.clock import ManualClock, SystemClock
from mock_kling.core.config import Config
from mock_kling.core.profiles import ROUTE, V1
from mock_kling.core.tasks import PROCESSING, Task
from mock_kling.http.app import create_app
from mock_kling.record.cassette import Interaction
from mock_kling.record.observe import CALLBACK, CREATE, OTHER, kind, task_objects

DRIFT_KEY = "sk-mock-kling-drift"
_SETTLE_SECONDS = 86_400.0  # after the last request: every task of the fake has ended
_IMAGE_URL = "https://example.com/recorded-image-{}.png"  # stands for a described image


@dataclass
class FakeRun:
    """The fake's answer to each replayed request (None: not replayed) and its tasks."""

    answers: list[tuple[int, Any] | None] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    final: list[Any] = field(default_factory=list)  # each task's answer once all have ended


def run_fake(interactions: Sequence[Interaction], config: Config) -> FakeRun:
    """Send the recording's API requests, in order, to a fake configured by `config`."""
    clock = ManualClock(SystemClock().now_ms())
    backend = build_backend(replace(config, api_keys=[*config.api_keys, DRIFT_KEY]), clock)
    client = create_app(backend=backend).test_client()
    headers = {"Authorization": f"Bearer {DRIFT_KEY}"}
    ids: dict[str, str] = {}  # recorded task_id -> the fake's
    run, last = FakeRun(), _api_time(interactions[0]) if interactions else 0
    for item in interactions:
        if kind(item) in (CALLBACK, OTHER):
            run.answers.append(None)
            continue
        now = _api_time(item)
        clock.advance(max(0, now - last) / 1000)
        last = max(last, now)
        answer = client.open(
            _mapped(item.uri, ids), method=item.method, headers=headers, json=_body(item)
        )
        body = answer.get_json(silent=True)
        run.answers.append((answer.status_code, body))
        if kind(item) == CREATE:
            _learn_ids(item, body, ids)
    backend.advance(_SETTLE_SECONDS)
    run.tasks = backend.all_tasks()
    for task in run.tasks:
        path = f"{_prefix(interactions)}/{task.task_id}"
        run.final.append(client.get(path, headers=headers).get_json(silent=True))
    backend.close()
    return run


def submitted_and_processing(task: Task) -> tuple[float | None, float | None]:
    """Seconds a fake task spent in submitted and in processing (None: never left it)."""
    times = [step.at_ms for step in task.timeline]
    statuses = [step.status for step in task.timeline]
    submitted = (times[1] - times[0]) / 1000 if len(times) > 1 else None
    if PROCESSING not in statuses or statuses.index(PROCESSING) + 1 >= len(times):
        return submitted, None
    i = statuses.index(PROCESSING)
    return submitted, (times[i + 1] - times[i]) / 1000


def _api_time(item: Interaction) -> int:
    """The latest API timestamp the exchange shows (fake time, for a manual-clock upstream),
    or when it was recorded."""
    stamps = [
        value
        for task in task_objects(item)
        for value in (task.get("created_at"), task.get("updated_at"))
        if isinstance(value, int)
    ]
    return max(stamps, default=item.at_ms)


def _body(item: Interaction) -> Any:
    body = item.request_json()
    if not isinstance(body, dict):
        return None
    body.pop("callback_url", None)  # the fake of a drift run sends no callbacks
    images = body.get("image_list")
    if isinstance(images, list):
        body["image_list"] = [{"image": _IMAGE_URL.format(i)} for i in range(len(images))]
    return body


def _mapped(uri: str, ids: dict[str, str]) -> str:
    parts = urlsplit(uri)
    head, _, last = parts.path.rpartition("/")
    path = f"{head}/{ids[last]}" if last in ids else parts.path
    return path + (f"?{parts.query}" if parts.query else "")


def _learn_ids(item: Interaction, body: Any, ids: dict[str, str]) -> None:
    recorded = next(task_objects(item), None)
    mine = body.get("data") if isinstance(body, dict) else None
    if recorded is not None and isinstance(mine, dict) and "task_id" in mine:
        ids[str(recorded["task_id"])] = str(mine["task_id"])


def _prefix(interactions: Sequence[Interaction]) -> str:
    for item in interactions:
        if kind(item) == CREATE:
            return urlsplit(item.uri).path.rstrip("/")
    return V1 + ROUTE
