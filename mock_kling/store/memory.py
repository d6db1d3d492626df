"""The in-memory Store: dictionaries and heaps under one re-entrant lock; the default, and what
the pytest fixtures use. It hands out its own (immutable) values; the backend puts every change
back through a method, as a database store requires."""

from __future__ import annotations

import heapq
import threading
from collections import deque
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace

from mock_kling.core.attempts import Attempt
from mock_kling.core.delivery import CallbackFault, Delivery
from mock_kling.core.faults import FaultRule
from mock_kling.core.journal import RequestRecord, bounded
from mock_kling.core.limits import Limits, Usage
from mock_kling.core.rules import NextOutcome
from mock_kling.core.store import Change, Committed, SubmitFacts
from mock_kling.core.tasks import Step, Task
from mock_kling.store.grouped import commit_in_group


@dataclass
class _Account:
    ordered: list[str] = field(default_factory=list)  # task ids, oldest first
    by_external_id: dict[str, str] = field(default_factory=dict)  # external id -> task id


class MemoryStore:
    """Everything one fake remembers, in this process."""

    shared = False

    def __init__(self, request_limit: int = 10_000, attempt_limit: int = 100_000) -> None:
        self._lock = threading.RLock()
        self._request_limit, self._attempt_limit = request_limit, attempt_limit
        self._claims = 0  # claims handed out (each one's token); a reset keeps counting
        self.reset()

    def atomic(self) -> AbstractContextManager[object]:
        return self._lock

    def commit(self, change: Change) -> Committed:
        return commit_in_group(self, change)

    def loop_reads(self) -> None:
        """None: its calls answer at once, so an event loop calls them directly."""
        return None

    def close(self) -> None:
        """Nothing to let go of: the memory goes with the object."""

    def reset(self) -> None:
        with self._lock:
            self._accounts: dict[str, _Account] = {}
            self._by_task_id: dict[str, Task] = {}
            self._by_video_id: dict[str, str] = {}  # video id -> task id
            self._steps: list[tuple[int, int, str, int]] = []  # (at, seq, task_id, step index)
            self._next_step: dict[str, int] = {}  # running task -> its next unannounced step
            self._step_seq = 0
            self._limits: dict[str, Limits] = {}
            self._usage: dict[str, Usage] = {}
            self._fault_rules: list[FaultRule] = []
            self._next_outcomes: list[NextOutcome] = []
            self._callback_faults: list[CallbackFault] = []
            self._requests: deque[RequestRecord] = deque(maxlen=self._request_limit)
            self._attempts: deque[Attempt] = deque(maxlen=self._attempt_limit)
            self._clock_ms: int | None = None
            self._queues: dict[str, deque[Delivery]] = {}
            self._claimed: dict[str, str] = {}  # task id -> the token of its head's claim
            self._delivery_seq = 0

    # --- tasks ------------------------------------------------------------------------------

    def add_task(self, task: Task) -> None:
        with self._lock:
            account = self._accounts.setdefault(task.account_id, _Account())
            account.ordered.append(task.task_id)
            if task.request.external_task_id is not None:
                account.by_external_id[task.request.external_task_id] = task.task_id
            self._by_video_id[task.video_id] = task.task_id
            self._by_task_id[task.task_id] = task
            self._next_step[task.task_id] = 1
            self._schedule_step(task)

    def replan(self, task_id: str, task: Task) -> None:
        with self._lock:
            self._by_task_id[task_id] = task
            self._schedule_step(task)

    def task(self, task_id: str) -> Task | None:
        return self._by_task_id.get(task_id)

    def find_task(self, account: str, ref: str) -> Task | None:
        with self._lock:
            task = self._by_task_id.get(ref)
            if task is not None and task.account_id == account:
                return task
            tasks = self._accounts.get(account)
            task_id = None if tasks is None else tasks.by_external_id.get(ref)
            return None if task_id is None else self._by_task_id[task_id]

    def external_id_taken(self, account: str, external_task_id: str) -> bool:
        tasks = self._accounts.get(account)
        return tasks is not None and external_task_id in tasks.by_external_id

    def id_taken(self, value: str) -> bool:
        return value in self._by_task_id or value in self._by_video_id

    def page(self, account: str, page_num: int, page_size: int) -> list[Task]:
        with self._lock:
            tasks = self._accounts.get(account)
            if tasks is None:
                return []
            end = len(tasks.ordered) - (page_num - 1) * page_size
            ids = [] if end <= 0 else tasks.ordered[max(end - page_size, 0) : end]
            return [self._by_task_id[task_id] for task_id in reversed(ids)]

    def all_tasks(self) -> list[Task]:
        with self._lock:
            return list(reversed(self._by_task_id.values()))

    def task_by_video(self, video_id: str) -> Task | None:
        with self._lock:
            task_id = self._by_video_id.get(video_id)
            return None if task_id is None else self._by_task_id[task_id]

    def task_count(self) -> int:
        return len(self._by_task_id)

    def pop_reached_steps(self, now_ms: int) -> list[tuple[Task, Step]]:
        reached: list[tuple[Task, Step]] = []
        with self._lock:
            while self._steps and self._steps[0][0] <= now_ms:
                at, _, task_id, index = heapq.heappop(self._steps)
                task = self._by_task_id[task_id]
                if self._next_step.get(task_id) != index or task.timeline[index].at_ms != at:
                    continue  # re-planned since: a newer entry announces it
                reached.append((task, task.timeline[index]))
                self._next_step[task_id] = index + 1
                self._schedule_step(task)
        return reached

    def next_step_ms(self) -> int | None:
        with self._lock:
            return self._steps[0][0] if self._steps else None

    def _schedule_step(self, task: Task) -> None:
        """Queue the task's next unannounced step; forget a task whose end was announced."""
        index = self._next_step.get(task.task_id)
        if index is None:
            return
        if task.announced_end(index):
            del self._next_step[task.task_id]
            return
        at = task.announce_at(index)
        if at is None:
            return  # stuck: a re-plan may give it more steps
        self._step_seq += 1
        heapq.heappush(self._steps, (at, self._step_seq, task.task_id, index))

    # --- accounts ---------------------------------------------------------------------------

    def limits(self, account: str) -> Limits | None:
        return self._limits.get(account)

    def set_limits(self, account: str, limits: Limits) -> None:
        with self._lock:
            self._limits[account] = limits

    def changed_limits(self) -> dict[str, Limits]:
        with self._lock:
            return dict(self._limits)

    def usage(self, account: str) -> Usage:
        with self._lock:
            return self._usage.setdefault(account, Usage())

    def put_usage(self, account: str, usage: Usage) -> None:
        with self._lock:
            self._usage[account] = usage

    def admission(self, account: str) -> tuple[list[FaultRule], Limits | None]:
        with self._lock:
            return list(self._fault_rules), self._limits.get(account)

    def submit_facts(self, account: str, usage_too: bool) -> SubmitFacts:
        with self._lock:
            limits = self._limits.get(account)
            usage = self.usage(account) if usage_too or limits is not None else None
            return SubmitFacts(usage, limits, list(self._next_outcomes))

    # --- rules ------------------------------------------------------------------------------

    def fault_rules(self) -> list[FaultRule]:
        return list(self._fault_rules)

    def put_fault_rules(self, rules: list[FaultRule]) -> None:
        self._fault_rules = list(rules)

    def next_outcomes(self) -> list[NextOutcome]:
        return list(self._next_outcomes)

    def put_next_outcomes(self, rules: list[NextOutcome]) -> None:
        self._next_outcomes = list(rules)

    def callback_faults(self) -> list[CallbackFault]:
        return list(self._callback_faults)

    def put_callback_faults(self, faults: list[CallbackFault]) -> None:
        self._callback_faults = list(faults)

    # --- journals ---------------------------------------------------------------------------

    def add_request(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(bounded(record))

    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def add_attempt(self, attempt: Attempt) -> None:
        with self._lock:
            self._attempts.append(attempt)

    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts)

    # --- the manual clock -------------------------------------------------------------------

    def clock_ms(self) -> int | None:
        return self._clock_ms

    def set_clock_ms(self, now_ms: int) -> None:
        with self._lock:
            self._clock_ms = now_ms

    def add_clock_ms(self, delta_ms: int) -> int:
        with self._lock:
            self._clock_ms = (self._clock_ms or 0) + delta_ms
            return self._clock_ms

    def raise_clock_ms(self, to_ms: int) -> int:
        with self._lock:
            self._clock_ms = to_ms if self._clock_ms is None else max(self._clock_ms, to_ms)
            return self._clock_ms

    # --- deliveries -------------------------------------------------------------------------

    def next_delivery_seq(self) -> int:
        with self._lock:
            self._delivery_seq += 1
            return self._delivery_seq - 1

    def add_delivery(self, delivery: Delivery) -> None:
        with self._lock:
            self._queues.setdefault(delivery.task_id, deque()).append(delivery)

    def claim_due(self, now_ms: int, limit: int) -> list[Delivery]:
        with self._lock:
            heads = [
                queue[0]
                for task_id, queue in self._queues.items()
                if task_id not in self._claimed and queue[0].due_ms <= now_ms
            ]
            heads = heapq.nsmallest(max(limit, 0), heads, key=lambda d: (d.due_ms, d.seq))
            self._claims += 1
            token = str(self._claims)
            self._claimed.update((delivery.task_id, token) for delivery in heads)
            return [replace(delivery, claim=token) for delivery in heads]

    def put_back(self, delivery: Delivery) -> bool:
        with self._lock:
            queue = self._claimed_queue(delivery)
            if queue is not None:
                queue[0] = delivery
            return queue is not None

    def finish(self, delivery: Delivery) -> bool:
        with self._lock:
            queue = self._claimed_queue(delivery)
            if queue is not None:
                queue.popleft()
                if not queue:
                    del self._queues[delivery.task_id]
            return queue is not None

    def cancel_deliveries(self, task_id: str, after_ms: int) -> None:
        with self._lock:
            queue = self._queues.get(task_id)
            if queue is None:
                return
            in_flight = task_id in self._claimed
            kept = deque(
                delivery
                for index, delivery in enumerate(queue)
                if delivery.started
                or (index == 0 and in_flight)
                or delivery.enqueued_due_ms <= after_ms
            )
            if kept:
                self._queues[task_id] = kept
            else:
                del self._queues[task_id]

    def next_delivery_ms(self) -> int | None:
        with self._lock:
            dues = [q[0].due_ms for t, q in self._queues.items() if t not in self._claimed]
            return min(dues, default=None)

    def pending_deliveries(self) -> int:
        with self._lock:
            return sum(len(queue) for queue in self._queues.values())

    def claimed_deliveries(self) -> int:
        return len(self._claimed)

    def _claimed_queue(self, delivery: Delivery) -> deque[Delivery] | None:
        """The queue whose head `delivery`'s claim holds (the claim is released either way);
        None when that claim is gone or the head changed meanwhile."""
        if self._claimed.get(delivery.task_id) != delivery.claim:
            return None  # not this claim's (any more): someone else's claim stays
        del self._claimed[delivery.task_id]
        queue = self._queues.get(delivery.task_id)
        if not queue or queue[0].seq != delivery.seq:
            return None
        return queue
