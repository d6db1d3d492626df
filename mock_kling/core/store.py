"""Where tasks live: per account, by id, by external id and by video id, in creation order."""

from __future__ import annotations

from dataclasses import dataclass, field

from mock_kling.core.tasks import Task


@dataclass
class _AccountTasks:
    ordered: list[Task] = field(default_factory=list)
    by_id: dict[str, Task] = field(default_factory=dict)
    by_external_id: dict[str, Task] = field(default_factory=dict)


class TaskStore:
    """All tasks of one fake. Not thread-safe by itself: the backend holds the lock."""

    def __init__(self) -> None:
        self._accounts: dict[str, _AccountTasks] = {}
        self._by_video_id: dict[str, Task] = {}
        self._by_task_id: dict[str, Task] = {}

    def add(self, task: Task) -> None:
        tasks = self._accounts.setdefault(task.account_id, _AccountTasks())
        tasks.ordered.append(task)
        tasks.by_id[task.task_id] = task
        if task.request.external_task_id is not None:
            tasks.by_external_id[task.request.external_task_id] = task
        self._by_video_id[task.video_id] = task
        self._by_task_id[task.task_id] = task

    def find(self, account_id: str, ref: str) -> Task | None:
        """The account's task whose task_id, or else whose external_task_id, is `ref`."""
        tasks = self._accounts.get(account_id)
        if tasks is None:
            return None
        return tasks.by_id.get(ref) or tasks.by_external_id.get(ref)

    def with_external_id(self, account_id: str, external_task_id: str) -> Task | None:
        tasks = self._accounts.get(account_id)
        return None if tasks is None else tasks.by_external_id.get(external_task_id)

    def page(self, account_id: str, page_num: int, page_size: int) -> list[Task]:
        """One page of the account's tasks, newest first; cost independent of the task count."""
        tasks = self._accounts.get(account_id)
        if tasks is None:
            return []
        end = len(tasks.ordered) - (page_num - 1) * page_size
        if end <= 0:
            return []
        return tasks.ordered[max(end - page_size, 0) : end][::-1]

    def by_task_id(self, task_id: str) -> Task | None:
        """Any account's task by its task_id (for the control API)."""
        return self._by_task_id.get(task_id)

    def all(self) -> list[Task]:
        """Every task of every account, newest first."""
        return list(reversed(self._by_task_id.values()))

    def by_video_id(self, video_id: str) -> Task | None:
        return self._by_video_id.get(video_id)

    def __len__(self) -> int:
        return len(self._by_video_id)
