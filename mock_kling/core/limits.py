"""Account limits as Kling enforces them: state, model permission, request rate, concurrency and
the resource-unit balance, each refused with Kling's code and message."""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from mock_kling.core.errors import KlingError
from mock_kling.core.tasks import FAILED, Task

STATES = ("active", "suspended", "arrears")
CONCURRENCY_MESSAGE = "parallel task over resource pack limit"  # Kling's documented text


@dataclass(frozen=True)
class Limits:
    """One account's limits; None means unlimited."""

    concurrency: int | None = None
    units: float | None = None
    rate_per_second: float | None = None
    state: str = "active"
    models: tuple[str, ...] | None = None  # models the account may use; None: all

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["models"] = None if self.models is None else list(self.models)
        return data

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}")
        if any(
            v is not None and not v >= 0
            for v in (self.concurrency, self.units, self.rate_per_second)
        ):
            raise ValueError("concurrency, units and rate_per_second must be >= 0 or None")

    def updated(self, data: Mapping[str, Any]) -> Limits:
        """These limits with the fields of JSON the control contract accepted
        (control/limits.json) changed."""
        changes = dict(data)
        for name, kind in (("concurrency", int), ("units", float), ("rate_per_second", float)):
            if changes.get(name) is not None:
                changes[name] = kind(changes[name])
        if changes.get("models") is not None:
            changes["models"] = tuple(changes["models"])
        return replace(self, **changes)


@dataclass
class Usage:
    """What an account has used: running tasks, units spent, recent request times."""

    spent: float = 0.0
    recent_ms: deque[int] = field(default_factory=deque)
    # Running tasks by planned end (a heap of (end, entry, task_id, units refunded if it fails)),
    # so counting them costs only the tasks that ended.
    _ending: list[tuple[float, int, str, float]] = field(default_factory=list)
    _entry: dict[str, int] = field(default_factory=dict)  # task_id -> its current heap entry
    _next: int = 0

    def copy(self) -> Usage:
        """A copy to change while this one stays as read."""
        return Usage(
            self.spent, deque(self.recent_ms), list(self._ending), dict(self._entry), self._next
        )

    def track(self, task: Task) -> None:
        """Count `task` as running until its planned end (again after a re-plan)."""
        ended_at = task.ended_at()
        refund = float(task.request.unit_cost) if task.timeline[-1].status == FAILED else 0.0
        self._next += 1
        self._entry[task.task_id] = self._next
        end = math.inf if ended_at is None else ended_at
        heapq.heappush(self._ending, (end, self._next, task.task_id, refund))

    def running(self, now_ms: int) -> int:
        """Tasks from submitted to their end; refunds the units of tasks that failed."""
        while self._ending and self._ending[0][0] <= now_ms:
            _, entry, task_id, refund = heapq.heappop(self._ending)
            if self._entry.get(task_id) != entry:
                continue  # re-planned since: a newer entry counts it
            del self._entry[task_id]
            self.spent -= refund
        return len(self._entry)


def check_request(limits: Limits, usage: Usage, now_ms: int) -> None:
    """Refusals that apply to every API call: account state, then the request rate."""
    if limits.state == "suspended":
        raise KlingError(1100, "Account exception: the account is suspended")
    if limits.state == "arrears":
        raise KlingError(1101, "Account in arrears: top up to continue (postpaid)")
    if limits.rate_per_second is None:
        return
    while usage.recent_ms and usage.recent_ms[0] <= now_ms - 1000:
        usage.recent_ms.popleft()
    if len(usage.recent_ms) >= limits.rate_per_second:
        raise KlingError(
            1302, f"Too many requests: over the rate limit of {limits.rate_per_second:g} per second"
        )
    usage.recent_ms.append(now_ms)


def check_submit(limits: Limits, usage: Usage, model: str, cost: float, running: int) -> None:
    """Refusals that apply to a new task: model permission, concurrency, balance."""
    if limits.models is not None and model not in limits.models:
        raise KlingError(1103, f"No permission for model {model}: the account may not use it")
    if limits.concurrency is not None and running >= limits.concurrency:
        raise KlingError(1303, CONCURRENCY_MESSAGE)
    if limits.units is not None and usage.spent + cost > limits.units:
        left = max(limits.units - usage.spent, 0)
        raise KlingError(
            1102, f"Resource pack exhausted: {left:g} units left, the task needs {cost:g}"
        )
