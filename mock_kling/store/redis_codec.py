"""Domain values as JSON text and back, for the Redis store (tasks, deliveries, journals, rules,
limits and usage). Every `dump_x` has its `load_x`; a loaded value equals the dumped one."""

from __future__ import annotations

import base64
import json
from collections import deque
from dataclasses import asdict
from typing import Any

from mock_kling.core.attempts import Attempt
from mock_kling.core.delivery import CallbackFault, Delivery
from mock_kling.core.faults import FaultRule
from mock_kling.core.images import ImageInfo
from mock_kling.core.journal import RequestRecord
from mock_kling.core.limits import Limits, Usage
from mock_kling.core.outcomes import Outcome
from mock_kling.core.rules import NextOutcome
from mock_kling.core.tasks import Step, Task, TaskRequest

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads


# --- tasks ------------------------------------------------------------------------------------


def dump_task(task: Task) -> str:
    request = task.request
    return _dumps(
        {
            "task_id": task.task_id,
            "account_id": task.account_id,
            "request": [
                request.prompt,
                [[i.kind, i.width, i.height, i.size_bytes] for i in request.images],
                request.model_name,
                request.mode,
                request.duration,
                request.aspect_ratio,
                request.negative_prompt,
                request.watermark_enabled,
                request.callback_url,
                request.external_task_id,
            ],
            "created_at": task.created_at,
            "video_id": task.video_id,
            "timeline": [[s.at_ms, s.status, s.status_msg] for s in task.timeline],
            "outcome": asdict(task.outcome),
        }
    )


def load_task(text: str | bytes) -> Task:
    data = _loads(text)
    prompt, images, *rest = data["request"]
    return Task(
        task_id=data["task_id"],
        account_id=data["account_id"],
        request=TaskRequest(prompt, tuple(ImageInfo(*image) for image in images), *rest),
        created_at=data["created_at"],
        video_id=data["video_id"],
        timeline=tuple(Step(*step) for step in data["timeline"]),
        outcome=Outcome(**data["outcome"]),
    )


# --- deliveries and the journals --------------------------------------------------------------


def dump_delivery(delivery: Delivery) -> str:
    data = asdict(delivery)
    data["body"] = base64.b64encode(delivery.body).decode("ascii")
    return _dumps(data)


def load_delivery(text: str | bytes) -> Delivery:
    data = _loads(text)
    data["body"] = base64.b64decode(data["body"])
    return Delivery(**data)


def dump_attempt(attempt: Attempt) -> str:
    return _dumps(attempt.to_json())


def load_attempt(text: str | bytes) -> Attempt:
    return Attempt(**_loads(text))


def dump_request(record: RequestRecord) -> str:
    return _dumps(record.to_json())


def load_request(text: str | bytes) -> RequestRecord:
    return RequestRecord(**_loads(text))


# --- limits, usage and rules ------------------------------------------------------------------


def dump_limits(limits: Limits) -> str:
    return _dumps(limits.to_json())


def load_limits(text: str | bytes) -> Limits:
    data = _loads(text)
    models = data["models"]
    return Limits(**{**data, "models": None if models is None else tuple(models)})


def dump_usage(usage: Usage) -> str:
    return _dumps(
        {
            "spent": usage.spent,
            "recent_ms": list(usage.recent_ms),
            "ending": usage._ending,
            "entry": usage._entry,
            "next": usage._next,
        }
    )


def load_usage(text: str | bytes) -> Usage:
    data = _loads(text)
    return Usage(
        spent=data["spent"],
        recent_ms=deque(data["recent_ms"]),
        _ending=[(end, entry, task_id, refund) for end, entry, task_id, refund in data["ending"]],
        _entry=data["entry"],
        _next=data["next"],
    )


def dump_fault_rules(rules: list[FaultRule]) -> str:
    return _dumps([rule.to_json() for rule in rules])


def load_fault_rules(text: str | bytes) -> list[FaultRule]:
    return [FaultRule(**_with_pair(data, "latency_ms")) for data in _loads(text)]


def dump_next_outcomes(rules: list[NextOutcome]) -> str:
    return _dumps([{**asdict(rule), "outcome": asdict(rule.outcome)} for rule in rules])


def load_next_outcomes(text: str | bytes) -> list[NextOutcome]:
    return [
        NextOutcome(Outcome(**data["outcome"]), data["account"], data["count"])
        for data in _loads(text)
    ]


def dump_callback_faults(faults: list[CallbackFault]) -> str:
    return _dumps([fault.to_json() for fault in faults])


def load_callback_faults(text: str | bytes) -> list[CallbackFault]:
    return [CallbackFault(**data) for data in _loads(text)]


def _with_pair(data: dict[str, Any], name: str) -> dict[str, Any]:
    """`data` with the list at `name` read back as the tuple it was."""
    value = data.get(name)
    return data if value is None else {**data, name: tuple(value)}
