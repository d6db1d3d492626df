"""What the suite saw of one task over time, and the lifecycle rules each new sighting must keep:
status only forward, terminal states stick, videos exactly when succeed, created_at fixed,
updated_at non-decreasing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mock_kling.contract.scenarios.checks import ContractViolation

RANK = {"submitted": 0, "processing": 1, "succeed": 2, "failed": 2}
TERMINAL = frozenset({"succeed", "failed"})


@dataclass
class TaskHistory:
    """One task as seen by the suite, from its create answer on."""

    task_id: str
    created_at: int | None  # None until seen: some vendors' create answers carry no times
    updated_at: int
    external_id: str | None = None
    callback_key: str | None = None
    statuses: list[str] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_created(
        cls, data: dict[str, Any], external_id: str | None, callback_key: str | None = None
    ) -> TaskHistory:
        history = cls(
            data["task_id"],
            data.get("created_at"),
            data.get("updated_at", 0),
            external_id,
            callback_key,
        )
        history.statuses.append(data["task_status"])
        history.last = data
        return history

    @property
    def status(self) -> str:
        return self.statuses[-1]

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL

    def observe(self, task: dict[str, Any], where: str) -> None:
        """Check a newer sighting of the task against what was seen before, then remember it."""
        where = f"{where}: task {self.task_id}"
        if task["task_id"] != self.task_id:
            raise ContractViolation("lifecycle.identity", f"{where}: got task {task['task_id']}")
        if self.created_at is None:
            self.created_at = task["created_at"]
        if task["created_at"] != self.created_at:
            raise ContractViolation(
                "lifecycle.created_at",
                f"{where}: created_at changed from {self.created_at} to {task['created_at']}",
            )
        self._check_updated_at(task, where)
        self._check_status(task["task_status"], where)
        check_videos_match_status(task, where)
        self._check_task_info(task, where)
        if task["task_status"] != self.status:
            self.statuses.append(task["task_status"])
        self.updated_at, self.last = task["updated_at"], task

    def _check_updated_at(self, task: dict[str, Any], where: str) -> None:
        if task["updated_at"] < self.updated_at:
            raise ContractViolation(
                "lifecycle.updated_at",
                f"{where}: updated_at went back from {self.updated_at} to {task['updated_at']}",
            )

    def _check_status(self, status: str, where: str) -> None:
        before = self.status
        if status == before:
            return
        if before in TERMINAL:
            raise ContractViolation(
                "lifecycle.terminal",
                f"{where}: status went backwards: {before} -> {status} "
                "(a terminal status must stick)",
            )
        if RANK[status] < RANK[before]:
            raise ContractViolation(
                "lifecycle.forward", f"{where}: status went backwards: {before} -> {status}"
            )

    def _check_task_info(self, task: dict[str, Any], where: str) -> None:
        echoed = task.get("task_info", {}).get("external_task_id")
        if self.external_id and echoed != self.external_id:
            raise ContractViolation(
                "lifecycle.task_info",
                f"{where}: task_info.external_task_id is {echoed!r}, sent {self.external_id!r}",
            )


def check_videos_match_status(task: dict[str, Any], where: str) -> None:
    videos = task.get("task_result", {}).get("videos") or []
    if (task["task_status"] == "succeed") != bool(videos):
        raise ContractViolation(
            "lifecycle.videos",
            f"{where}: task_result.videos has {len(videos)} item(s) at status {task['task_status']}"
            " (videos exactly when succeed)",
        )
