"""The fake's state and operations, free of HTTP: accounts, tasks, ids and the clock."""

from __future__ import annotations

import random
import threading
from typing import Any

from .auth import Account, Accounts
from .clock import Clock, SystemClock
from .config import MEDIA_RETENTION_DAYS, Config
from .errors import KlingError
from .ids import IdSource
from .store import TaskStore
from .tasks import Lifecycle, Task
from .validation import parse_create

_DAY_MS = 86_400_000


class Backend:
    """One fake Kling: create, find and list tasks for authenticated accounts."""

    def __init__(self, config: Config | None = None, clock: Clock | None = None) -> None:
        self.config = config or Config()
        self.clock: Clock = clock or SystemClock()
        self.seed = self.config.seed if self.config.seed is not None else _fresh_seed()
        self.ids = IdSource(self.seed)
        self.accounts = Accounts(self.config.key_pairs, self.config.api_keys)
        self.lifecycle = Lifecycle(self.config.submitted_seconds, self.config.processing_seconds)
        self.store = TaskStore()
        self.lock = threading.RLock()

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def authenticate(self, header: str | None) -> Account:
        return self.accounts.authenticate(header, self.now_ms())

    def create_task(self, account: Account, body: Any) -> Task:
        """Validate `body` and store a new task, or raise KlingError."""
        request = parse_create(body)
        with self.lock:
            external = request.external_task_id
            if external is not None and self.store.with_external_id(account.account_id, external):
                raise KlingError(
                    1201, f"external_task_id {external!r} is already used by a task of this account"
                )
            now = self.now_ms()
            task = Task(
                task_id=self.ids.numeric_id(),
                account_id=account.account_id,
                request=request,
                created_at=now,
                video_id=self.ids.numeric_id(),
                timeline=self.lifecycle.timeline(now),
            )
            self.store.add(task)
            return task

    def find_task(self, account: Account, ref: str) -> Task:
        """The account's task by task_id or external_task_id; 404/1203 when it has none."""
        with self.lock:
            task = self.store.find(account.account_id, ref)
        if task is None:
            raise KlingError(1203, f"task {ref!r} does not exist in this account")
        return task

    def list_tasks(self, account: Account, page_num: int, page_size: int) -> list[Task]:
        with self.lock:
            return self.store.page(account.account_id, page_num, page_size)

    def find_video(self, video_id: str) -> Task | None:
        """The task whose result video this is, while it is downloadable (ended, < 30 days)."""
        with self.lock:
            task = self.store.by_video_id(video_id)
        if task is None:
            return None
        now = self.now_ms()
        if task.step_at(now).status != "succeed":
            return None
        ended_at = task.ended_at()
        expired = ended_at is not None and now >= ended_at + MEDIA_RETENTION_DAYS * _DAY_MS
        return None if expired else task


def _fresh_seed() -> int:
    return random.SystemRandom().randrange(2**32)
