"""A part of the Backend, planning: which outcome a new task gets, re-plans of running tasks, the
callbacks each planned step queues, and the control API's view of every task."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import replace

from mock_kling.core import wire
from mock_kling.core.commits import commit_decided, writable
from mock_kling.core.config import MEDIA_RETENTION_DAYS
from mock_kling.core.delivery import Delivery
from mock_kling.core.dispatch import Dispatcher
from mock_kling.core.errors import KlingError
from mock_kling.core.events import Event, TaskReplanned
from mock_kling.core.outcomes import Outcome, from_prompt
from mock_kling.core.rules import NextOutcome, used_once
from mock_kling.core.settings import Settings
from mock_kling.core.store import Change, Store
from mock_kling.core.tasks import SUCCEED, TERMINAL, Step, Task, TaskRequest

_DAY_MS = 86_400_000


class Planning:
    """Plans tasks over the fake's store; the Backend holds one and hands its calls on."""

    def __init__(
        self, store: Store, settings: Settings, dispatch: Dispatcher,
        emit: Callable[[Event], None], now_ms: Callable[[], int],
    ) -> None:  # fmt: skip
        self._store, self._settings, self._dispatch = store, settings, dispatch
        self._emit, self.now_ms = emit, now_ms

    # --- reading --------------------------------------------------------------------------------

    def all_tasks(self) -> list[Task]:
        """Every task of every account, newest first."""
        return self._store.all_tasks()

    def task(self, task_id: str) -> Task:
        """Any account's task (for the control API); 404/1203 when there is none."""
        task = self._store.task(task_id)
        if task is None:
            raise KlingError(1203, f"task {task_id!r} does not exist")
        return task

    def task_count(self) -> int:
        return self._store.task_count()

    def find_video(self, video_id: str) -> Task | None:
        """The task whose result video this is, while it is downloadable (ended, < 30 days)."""
        task = self._store.task_by_video(video_id)
        if task is None:
            return None
        now = self.now_ms()
        if task.step_at(now).status != SUCCEED:
            return None
        ended_at = task.ended_at()
        expired = ended_at is not None and now >= ended_at + MEDIA_RETENTION_DAYS * _DAY_MS
        return None if expired else task

    # --- outcome rules --------------------------------------------------------------------------

    def add_next_outcome(self, rule: NextOutcome) -> None:
        self._change_rules(lambda rules: [*rules, rule])

    def next_outcomes(self) -> list[NextOutcome]:
        return self._store.next_outcomes()

    def clear_next_outcomes(self) -> None:
        self._change_rules(lambda rules: [])

    def _change_rules(self, change: Callable[[list[NextOutcome]], list[NextOutcome]]) -> None:
        def decide() -> tuple[Change, None]:
            rules = self._store.next_outcomes()
            return Change("", next_outcomes=(rules, change(rules))), None

        commit_decided(self._store, decide)

    # --- re-plans -------------------------------------------------------------------------------

    def force_outcome(self, task_id: str, outcome: Outcome) -> Task:
        """Re-plan a running task from now on: what it does next, and when."""
        with self._store.atomic():
            task, now = self.task(task_id), self.now_ms()
            reached = self._running_steps(task, now)
            future = outcome.steps_after(reached[-1].status, now, self._settings.timings)
            return self._replan(replace(task, outcome=outcome), reached, future, now)

    def force_next_transition(self, task_id: str) -> Task:
        """Make a running task take its next step now (later steps move up by as much)."""
        with self._store.atomic():
            task, now = self.task(task_id), self.now_ms()
            reached = self._running_steps(task, now)
            rest = task.timeline[len(reached) :]
            if not rest:
                raise KlingError(1201, f"task {task_id} has no next transition (it stays put)")
            shift = rest[0].at_ms - now
            future = tuple(replace(step, at_ms=step.at_ms - shift) for step in rest)
            return self._replan(task, reached, future, now)

    def queue_callbacks(self, task: Task, steps: tuple[Step, ...]) -> None:
        """Queue a callback for each of `steps` (restored tasks re-queue what was not sent)."""
        deliveries = self.deliveries(task, steps)
        for delivery in deliveries:
            self._store.add_delivery(delivery)
        if deliveries:
            self._dispatch.kick()

    def deliveries(self, task: Task, steps: tuple[Step, ...]) -> list[Delivery]:
        """The callbacks `steps` of `task` send (none without a callback_url), each with its own
        number from the store."""
        url = task.request.callback_url
        if url is None:
            return []
        deliveries = []
        for step in steps:
            payload = wire.task_object(task, step, self._settings.base_url)
            body = json.dumps(payload, separators=(",", ":")).encode()
            seq = self._store.next_delivery_seq()
            deliveries.append(
                Delivery(seq, task.task_id, step.status, url, payload, body, step.at_ms, step.at_ms)
            )
        return deliveries

    def choose_outcome(
        self, account_id: str, request: TaskRequest, rules: list[NextOutcome]
    ) -> tuple[Outcome, list[NextOutcome]]:
        """Control-API `rules` first, then prompt markers, then the server's defaults; and the
        rules left (a rule's `count` used up; `rules` itself when none applied)."""
        for index, rule in enumerate(rules):
            if rule.applies_to(account_id):
                return rule.outcome, used_once(rules, index, "count")
        return self._default_outcome(request), rules

    def _default_outcome(self, request: TaskRequest) -> Outcome:
        settings = self._settings
        config, chance = settings.config, settings.outcome_random
        marked = from_prompt(request.prompt, settings.timings)
        if marked is not None:
            return marked
        if config.calibration is not None:
            return config.calibration.outcome(chance, request.mode, request.duration)
        rate = config.failure_rate
        if rate > 0 and chance.random() < rate:
            return Outcome("fail", config.failure_message)
        return _shared(Outcome(config.outcome, config.failure_message))

    # --- internals ------------------------------------------------------------------------------

    def _running_steps(self, task: Task, now: int) -> tuple[Step, ...]:
        reached = tuple(step for step in task.timeline if step.at_ms <= now)
        if reached[-1].status in TERMINAL:
            raise KlingError(
                1201, f"task {task.task_id} has ended ({reached[-1].status}); it stays so"
            )
        return reached

    def _replan(
        self, task: Task, reached: tuple[Step, ...], future: tuple[Step, ...], now: int
    ) -> Task:
        store = self._store
        task = replace(task, timeline=reached + future)
        store.replan(task.task_id, task)

        def track() -> tuple[Change, None]:
            read = store.usage(task.account_id)
            usage = writable(store, read)
            usage.track(task)
            return Change(task.account_id, usage=(read, usage)), None

        commit_decided(store, track)
        store.cancel_deliveries(task.task_id, after_ms=now)
        self._emit(TaskReplanned(task))
        self.queue_callbacks(task, future)
        return task


@functools.lru_cache(maxsize=64)
def _shared(outcome: Outcome) -> Outcome:
    """One copy of each (immutable) default outcome, however many tasks keep it."""
    return outcome
