"""Positive fuzzing: requests generated from the request contract, with real images of valid size
and ratio (base64, or URLs the suite serves), are accepted with code 0 and can be queried. On a
paid target a failing example is not re-run (that would re-send its create)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from mock_kling.contract.client.api import query_task, send_create
from mock_kling.contract.generate.strategies import create_requests
from mock_kling.contract.kit import Kit
from mock_kling.contract.scenarios.checks import check_accepted
from mock_kling.contract.scenarios.history import TaskHistory


@pytest.mark.cost(100)
@pytest.mark.needs("query")
def test_valid_requests_are_accepted(kit: Kit) -> None:
    examples = kit.examples()
    if examples == 0:
        kit.target.budget.require(1)
    failure = kit.first_failure(always=True)

    @settings(kit.settings, max_examples=examples)
    @given(create_requests(kit.shape()))
    def run(body: dict[str, Any]) -> None:
        if failure.halted:
            return
        answer = send_create(kit.target, body)
        with failure.guard():
            check_accepted(answer, "positive: a valid request", kit.target.profile)
            created = answer.body["data"]
            history = TaskHistory.from_created(created, body.get("external_task_id") or None)
            task = query_task(kit.target, created["task_id"], "positive: query the new task")
            history.observe(task, "positive: query the new task")

    failure.run(run)
