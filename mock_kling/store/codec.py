"""Domain values as JSON and back, for the stores that keep them outside the process (SQLite,
Redis): each `*_json` function gives a JSON-ready dict, each `*_from` function reads it back to
an equal value; `dumps`/`loads` turn those into text (ASCII: any byte survives a text column)."""

from __future__ import annotations

import json
import math
from collections import deque
from typing import Any

from mock_kling.core.attempts import Attempt
from mock_kling.core.delivery import CallbackFault, Delivery
from mock_kling.core.faults import FaultRule
from mock_kling.core.images import ImageInfo
from mock_kling.core.journal import RequestRecord
from mock_kling.core.limits import Counted, Limits, Usage
from mock_kling.core.outcomes import Outcome
from mock_kling.core.rules import NextOutcome
from mock_kling.core.tasks import Step, Task, TaskRequest

JSON = dict[str, Any]


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    return json.loads(text)


# --- tasks: what was asked (never changes) and the plan (re-planned by the control API) -------


def task_json(task: Task) -> JSON:
    return {
        "task_id": task.task_id,
        "account": task.account_id,
        "created_at": task.created_at,
        "video_id": task.video_id,
        "request": request_json(task.request),
        "plan": plan_json(task),
    }


def task_from(data: JSON) -> Task:
    return task_with(data["task_id"], data["account"], data["created_at"], data["video_id"],
                     request_from(data["request"]), data["plan"])  # fmt: skip


def task_with(
    task_id: str, account: str, created_at: int, video_id: str, request: TaskRequest, plan: JSON
) -> Task:
    """A task from its parts (a store that keeps them in columns)."""
    timeline, outcome = plan_from(plan)
    return Task(task_id, account, request, created_at, video_id, timeline, outcome)


def request_json(request: TaskRequest) -> JSON:
    return {
        "prompt": request.prompt,
        "images": [[i.kind, i.width, i.height, i.size_bytes] for i in request.images],
        "model_name": request.model_name,
        "mode": request.mode,
        "duration": request.duration,
        "aspect_ratio": request.aspect_ratio,
        "negative_prompt": request.negative_prompt,
        "watermark_enabled": request.watermark_enabled,
        "callback_url": request.callback_url,
        "external_task_id": request.external_task_id,
    }


def request_from(data: JSON) -> TaskRequest:
    fields = dict(data)
    fields["images"] = tuple(ImageInfo(*image) for image in fields["images"])
    return TaskRequest(**fields)


def plan_json(task: Task) -> JSON:
    """The task's timeline and outcome."""
    return {"timeline": [step_json(s) for s in task.timeline], "outcome": task.outcome.to_json()}


def plan_from(data: JSON) -> tuple[tuple[Step, ...], Outcome]:
    return tuple(step_from(s) for s in data["timeline"]), Outcome.from_json(data["outcome"])


def step_json(step: Step) -> list[Any]:
    return [step.at_ms, step.status, step.status_msg]


def step_from(data: list[Any]) -> Step:
    return Step(*data)


# --- accounts -----------------------------------------------------------------------------------


def limits_json(limits: Limits) -> JSON:
    return limits.to_json()


def limits_from(data: JSON) -> Limits:
    models = data.get("models")
    return Limits(**{**data, "models": None if models is None else tuple(models)})


def usage_json(usage: Usage) -> JSON:
    ending = [[None if math.isinf(end) else end, *rest] for end, *rest in usage._ending]
    return {"spent": usage.spent, "recent_ms": list(usage.recent_ms), "ending": ending,
            "entry": usage._entry, "next": usage._next}  # fmt: skip


def usage_from(data: JSON) -> Usage:
    ending = [
        (math.inf if end is None else end, entry, task_id, refund)
        for end, entry, task_id, refund in data["ending"]
    ]
    return Usage(data["spent"], deque(data["recent_ms"]), ending, dict(data["entry"]), data["next"])


def counted_json(counted: Counted) -> list[Any]:
    end = None if math.isinf(counted.end_ms) else counted.end_ms
    return [counted.task_id, counted.at_ms, end, counted.cost, counted.refund]


def counted_from(data: list[Any]) -> Counted:
    task_id, at_ms, end, cost, refund = data
    return Counted(str(task_id), int(at_ms), math.inf if end is None else float(end),
                   float(cost), float(refund))  # fmt: skip


# --- rules ---------------------------------------------------------------------------------------


def fault_rule_json(rule: FaultRule) -> JSON:
    return rule.to_json()


def fault_rule_from(data: JSON) -> FaultRule:
    return FaultRule.from_json(data)


def next_outcome_json(rule: NextOutcome) -> JSON:
    return rule.to_json()


def next_outcome_from(data: JSON) -> NextOutcome:
    return NextOutcome(Outcome.from_json(data["outcome"]), data["account"], data["count"])


def callback_fault_json(fault: CallbackFault) -> JSON:
    return fault.to_json()


def callback_fault_from(data: JSON) -> CallbackFault:
    return CallbackFault(**data)


# --- journals and deliveries ---------------------------------------------------------------------


def record_json(record: RequestRecord) -> JSON:
    return record.to_json()


def record_from(data: JSON) -> RequestRecord:
    return RequestRecord(**data)


def attempt_json(attempt: Attempt) -> JSON:
    return attempt.to_json()


def attempt_from(data: JSON) -> Attempt:
    return Attempt(**data)


def delivery_json(delivery: Delivery) -> JSON:
    fields = {name: getattr(delivery, name) for name in Delivery.__dataclass_fields__}
    fields["body"] = delivery.body.decode("latin-1")  # any bytes, one character each
    return fields


def delivery_from(data: JSON) -> Delivery:
    return Delivery(**{**data, "body": data["body"].encode("latin-1")})
