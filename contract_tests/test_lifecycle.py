"""The lifecycle state machine against the target (see lifecycle.py for the rules it checks)."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from mock_kling.contract.kit import Kit
from mock_kling.contract.scenarios.lifecycle import MAX_TASKS, lifecycle_machine


@pytest.mark.cost(MAX_TASKS)
@pytest.mark.needs("list", "query", "query_external", "time")
def test_lifecycle(kit: Kit) -> None:
    kit.target.budget.require(1)
    examples = kit.settings.max_examples if kit.target.can_advance else 1  # wall-clock waits
    failure = kit.first_failure()
    machine = lifecycle_machine(kit, failure)
    failure.run(
        lambda: run_state_machine_as_test(
            machine, settings=settings(kit.settings, max_examples=examples)
        )
    )
