"""Checks on the callback deliveries of one task: each body in the callback contract, and the
sequence following the task's status history."""

from __future__ import annotations

import itertools

from mock_kling.contract.client.local_server import Delivery
from mock_kling.contract.kit import Kit
from mock_kling.contract.reporting.findings import Finding
from mock_kling.contract.scenarios.checks import ContractViolation, check_conforms
from mock_kling.contract.scenarios.history import RANK, TERMINAL, TaskHistory


def wait_for_deliveries(kit: Kit, task: TaskHistory) -> list[Delivery]:
    """The task's deliveries once one carries its final status (or the wait ran out). The fake
    on a manual clock has delivered everything due when its clock advance returned."""
    assert task.callback_key is not None
    timeout = 0.2 if kit.target.can_advance else kit.poll_budget_s
    if not kit.target.can_advance:
        kit.progress(f"task {task.task_id}: waiting up to {timeout:.0f} s for its callbacks")

    def done(deliveries: list[Delivery]) -> bool:
        last = deliveries[-1].body if deliveries else None
        return isinstance(last, dict) and last.get("task_status") == task.status

    return kit.local.wait_for(task.callback_key, done, timeout)


def check_deliveries(history: TaskHistory, deliveries: list[Delivery], where: str) -> None:
    """`deliveries` are every request made to the task's callback_url, in arrival order."""
    where = f"{where}: callbacks of task {history.task_id}"
    if not deliveries:
        missing = Finding(
            "endpoint:callbacks",
            f"callbacks never arrive: no request reached callback_url (task {history.task_id} "
            f"went to {history.status})",
        )
        raise ContractViolation(
            "callback.missing", f"{where}: none arrived (callback_url was set)", [missing]
        )
    for number, delivery in enumerate(deliveries, 1):
        check_conforms(delivery.body, "callback", f"{where}: delivery {number}")
        _check_identity(history, delivery, f"{where}: delivery {number}")
    statuses = _distinct([d.body["task_status"] for d in deliveries])
    _check_order(statuses, [d.body["updated_at"] for d in deliveries], where)
    missed = [s for s in history.statuses if s != "submitted" and s not in statuses]
    if missed:
        raise ContractViolation(
            "callback.history",
            f"{where}: status {missed[0]} was seen by query but never delivered "
            f"(delivered: {' -> '.join(statuses)})",
        )
    if history.ended and statuses[-1] != history.status:
        raise ContractViolation(
            "callback.final",
            f"{where}: last delivery says {statuses[-1]}, task is {history.status}",
        )


def _check_identity(history: TaskHistory, delivery: Delivery, where: str) -> None:
    body = delivery.body
    if body["task_id"] != history.task_id:
        raise ContractViolation("callback.task_id", f"{where}: task_id {body['task_id']}")
    if body["created_at"] != history.created_at:
        raise ContractViolation(
            "callback.created_at",
            f"{where}: created_at {body['created_at']}, the task's is {history.created_at}",
        )


def _check_order(statuses: list[str], updated: list[int], where: str) -> None:
    for before, after in itertools.pairwise(statuses):
        if before in TERMINAL or RANK[after] < RANK[before]:
            raise ContractViolation(
                "callback.order", f"{where}: deliveries went backwards: {before} -> {after}"
            )
    for before_ms, after_ms in itertools.pairwise(updated):
        if after_ms < before_ms:
            raise ContractViolation(
                "callback.updated_at", f"{where}: updated_at went back {before_ms} -> {after_ms}"
            )


def _distinct(statuses: list[str]) -> list[str]:
    """Consecutive repeats folded (a retried or duplicated delivery is not a new status)."""
    return [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]
