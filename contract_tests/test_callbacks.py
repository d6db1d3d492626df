"""Callbacks: a receiver on 127.0.0.1 (or behind --kling-public-url) checks every delivery against
the callback contract and that the deliveries follow the task's status history."""

from __future__ import annotations

import uuid

import pytest

from mock_kling.contract.client.api import submit
from mock_kling.contract.client.local_server import Delivery
from mock_kling.contract.client.polling import follow_to_end
from mock_kling.contract.generate.strategies import BENIGN_PROMPTS, external_id, minimal_body
from mock_kling.contract.kit import Kit
from mock_kling.contract.scenarios.deliveries import check_deliveries, wait_for_deliveries
from mock_kling.contract.scenarios.history import TaskHistory

_SHOWN_HEADERS = ("Content-Type", "User-Agent")


@pytest.mark.cost(1)
@pytest.mark.needs("query", "time")
@pytest.mark.parametrize("plan", ["", "mock:fail"], ids=["succeed", "fail"])
def test_callbacks_follow_the_task(kit: Kit, plan: str) -> None:
    if plan and not kit.target.is_fake:
        pytest.skip("choosing a task's outcome needs the fake's prompt markers")
    if not kit.callbacks_reachable:
        pytest.skip("the target cannot reach 127.0.0.1: give --kling-public-url (a tunnel to it)")
    key = f"cb-{uuid.uuid4().hex[:12]}"
    body = minimal_body(
        prompt=f"{BENIGN_PROMPTS[1]} {plan}".strip(),
        callback_url=kit.local.callback_url(key),
        external_task_id=external_id(),
    )
    created = submit(kit.target, body, "callbacks: submit")
    task = TaskHistory.from_created(created, body["external_task_id"], key)
    follow_to_end(kit, [task], "callbacks: follow the task", step_s=1.0)
    deliveries = wait_for_deliveries(kit, task)
    if plan == "":
        _observe(kit, deliveries)
    check_deliveries(task, deliveries, "callbacks")


def _observe(kit: Kit, deliveries: list[Delivery]) -> None:
    if not deliveries:
        return
    first = deliveries[0]
    headers = {name: first.headers.get(name) for name in _SHOWN_HEADERS}
    statuses = [
        str(d.body.get("task_status")) if isinstance(d.body, dict) else "?" for d in deliveries
    ]
    last = deliveries[-1].body if isinstance(deliveries[-1].body, dict) else {}
    fields = sorted(last)
    kit.recorder.observe(
        "q15",
        "callbacks[succeed]",
        f"method {first.method}; headers {headers}; other headers "
        f"{sorted(set(first.headers) - set(_SHOWN_HEADERS))}; statuses {' -> '.join(statuses)}; "
        f"final body fields {fields}",
    )
