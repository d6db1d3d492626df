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


@dataclass(frozen=True)
class Counted:
    """A new task as its account's usage counts it (`Usage.count`): running from `at_ms` until
    `end_ms` (inf: no planned end), `cost` units spent, `refund` of them back if it fails."""

    task_id: str
    at_ms: int
    end_ms: float
    cost: float
    refund: float

    @classmethod
    def of(cls, task: Task) -> Counted:
        ended_at = task.ended_at()
        cost = float(task.request.unit_cost)
        refund = cost if task.timeline[-1].status == FAILED else 0.0
        end = math.inf if ended_at is None else ended_at
        return cls(task.task_id, task.created_at, end, cost, refund)


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
    # How the store read this value, for its commit to compare (a store that keeps the value in
    # parts sets it; the others compare the value itself). Not part of the value.
    read_as: str = field(default="", compare=False, repr=False)

    def copy(self) -> Usage:
        """A copy to change while this one stays as read."""
        return Usage(
            self.spent, deque(self.recent_ms), list(self._ending), dict(self._entry), self._next,
            self.read_as,
        )  # fmt: skip

    def track(self, task: Task) -> None:
        """Count `task` as running until its planned end (again after a re-plan)."""
        counted = Counted.of(task)
        self._run_until(counted.task_id, counted.end_ms, counted.refund)

    def count(self, counted: Counted) -> None:
        """Count a new task: the tasks that ended by its start first let go (failed ones give
        their units back), then it runs until its planned end, its units spent."""
        self.running(counted.at_ms)
        self._run_until(counted.task_id, counted.end_ms, counted.refund)
        self.spent += counted.cost

    def _run_until(self, task_id: str, end: float, refund: float) -> None:
        self._next += 1
        self._entry[task_id] = self._next
        heapq.heappush(self._ending, (end, self._next, task_id, refund))

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


def counts_usage(limits: Limits) -> bool:
    """Whether a submit's admission depends on the account's usage (a concurrency or unit
    limit); without one, a new task is only counted."""
    return limits.concurrency is not None or limits.units is not None


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
