"""Following tasks to their end: advance the fake's manual clock, or poll a remote target on the
wall clock within a budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterable

from mock_kling.contract.client.api import query_task
from mock_kling.contract.kit import Kit
from mock_kling.contract.scenarios.checks import ContractViolation
from mock_kling.contract.scenarios.history import TaskHistory

FAKE_STEP_S = 30.0
FAKE_LIMIT_S = 3600.0


def look(kit: Kit, history: TaskHistory, where: str, by_external: bool = False) -> None:
    """Query the task (by task_id or external id) and check the answer against its history."""
    ref = history.external_id if by_external and history.external_id else history.task_id
    history.observe(query_task(kit.target, ref, where), where)


def follow_to_end(
    kit: Kit,
    tasks: Iterable[TaskHistory],
    where: str,
    endless: Collection[str] = (),
    step_s: float = FAKE_STEP_S,
) -> None:
    """Query until every task (but the `endless` ids) has ended, moving the fake's clock `step_s`
    at a time or polling a remote target; a violation if one does not end."""
    pending = [task for task in tasks if task.task_id not in endless]
    deadline, waited, started = kit.deadline(), 0.0, time.monotonic()
    while True:
        for task in pending:
            look(kit, task, where)
        pending = [task for task in pending if not task.ended]
        out_of_time = (
            waited >= FAKE_LIMIT_S if kit.target.can_advance else time.monotonic() > deadline
        )
        if not pending or out_of_time:
            break
        if kit.target.can_advance:
            kit.target.advance(step_s)
            waited += step_s
        else:
            threading.Event().wait(kit.poll_interval_s)
            for task in pending:
                kit.progress(
                    f"task {task.task_id}: {task.status} for {time.monotonic() - started:.0f} s"
                )
    if pending:
        budget = (
            f"{FAKE_LIMIT_S:.0f} s of fake time"
            if kit.target.can_advance
            else f"{kit.poll_budget_s:.0f} s"
        )
        stuck = ", ".join(f"{t.task_id} ({t.status})" for t in pending)
        raise ContractViolation("lifecycle.ends", f"{where}: not ended within {budget}: {stuck}")
