"""The stores' JSON codec: every domain value comes back equal from its JSON text."""

from __future__ import annotations

from collections import deque
from typing import Any

from mock_kling.core.attempts import Attempt
from mock_kling.core.delivery import CallbackFault, Delivery
from mock_kling.core.faults import FaultRule
from mock_kling.core.journal import RequestRecord
from mock_kling.core.limits import Limits, Usage
from mock_kling.core.outcomes import Outcome, Timings
from mock_kling.core.rules import NextOutcome
from mock_kling.store import codec

from .tasks import make_task


def _again(value: Any, name: str) -> Any:
    to_json, from_json = getattr(codec, f"{name}_json"), getattr(codec, f"{name}_from")
    return from_json(codec.loads(codec.dumps(to_json(value))))


def test_every_value_round_trips():
    task = make_task("1", external="e", callback_url="http://r/h", outcome=Outcome("stuck"))
    assert _again(task, "task") == task
    assert _again(Limits(2, 1.5, 3, "arrears", ("kling-v1-6",)), "limits") == Limits(
        2, 1.5, 3, "arrears", ("kling-v1-6",)
    )
    rules = [
        (FaultRule("create", 5000, "m", (1.0, 2.0), False, 3, 0.5, "a"), "fault_rule"),
        (NextOutcome(Outcome("fail", "no", 1.0), "a", 2), "next_outcome"),
        (CallbackFault("delay", 2.5, 2, "t"), "callback_fault"),
        (RequestRecord(1, "POST", "/p", "a", {"x": [1]}, 200, 0, "r"), "record"),
        (Attempt(1, "t", "succeed", "u", {"k": "v"}, 2, 5, None, "e", 1.5, "retrying"), "attempt"),
        (Delivery(1, "t", "succeed", "u", {"k": 1}, bytes(range(256)), 5, 4, 1, True), "delivery"),
    ]
    for value, name in rules:
        assert _again(value, name) == value


def test_usage_round_trips_with_a_task_that_never_ends():
    usage = Usage(spent=2.5, recent_ms=deque([1, 2]))
    usage.track(make_task("1", outcome=Outcome("stuck"), timings=Timings(1, 1)))
    usage.track(make_task("2", outcome=Outcome("fail")))
    again = _again(usage, "usage")
    assert (again.spent, again.recent_ms, again.running(10**12)) == (2.5, deque([1, 2]), 1)
    assert again.spent == usage.spent - 1  # the failed task's units were refunded
