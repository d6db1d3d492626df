"""The fake's state and operations, free of HTTP: accounts and their limits, tasks and their
outcomes, faults, journals, callbacks and the clock."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mock_kling.callbacks.queue import CallbackQueue, DeliveryPolicy, Sender, http_post
from mock_kling.core import profiles, wire
from mock_kling.core.auth import Account, Accounts
from mock_kling.core.clock import Clock, ManualClock, SystemClock
from mock_kling.core.config import MEDIA_RETENTION_DAYS, Config
from mock_kling.core.errors import KlingError
from mock_kling.core.faults import Fault, FaultRules
from mock_kling.core.ids import IdSource
from mock_kling.core.journal import RequestJournal
from mock_kling.core.limits import Limits, Usage, check_request, check_submit
from mock_kling.core.outcomes import Outcome, Timings, from_prompt
from mock_kling.core.profiles import JWT
from mock_kling.core.requests import parse_create
from mock_kling.core.store import TaskStore
from mock_kling.core.tasks import SUCCEED, TERMINAL, Step, Task, TaskRequest
from mock_kling.serve.persistence import plan_event, task_event

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

_DAY_MS = 86_400_000


@dataclass
class NextOutcome:
    """An outcome waiting for the next `count` tasks of `account` (None: any account)."""

    outcome: Outcome
    account: str | None = None
    count: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome.to_json(), "account": self.account, "count": self.count}


class Backend:
    """One fake Kling. Every public method is thread-safe."""

    def __init__(
        self,
        config: Config | None = None,
        clock: Clock | None = None,
        callback_sender: Sender = http_post,
        *,
        create_validator: Callable[[str], Validator],
    ) -> None:
        self._create_validator = create_validator  # profile name -> its create contract
        self.clock: Clock = clock or SystemClock()
        self.lock = threading.RLock()
        self.callbacks = CallbackQueue(self.clock, sender=callback_sender)
        self.base_url = "http://localhost"
        self._start_ms = self.clock.now_ms()
        self.persist: Callable[[dict[str, Any]], None] | None = None  # see state.attach
        self._configure(config or Config())
        self._reset_state()

    def _configure(self, config: Config) -> None:
        self.config = config
        self.seed = config.seed if config.seed is not None else _fresh_seed()
        self.profile = profiles.get(config.profile)
        self.accounts = Accounts(config.key_pairs, config.api_keys, jwt=JWT in self.profile.auth)
        self.timings = Timings(config.submitted_seconds, config.processing_seconds)
        self.base_url = config.public_url or self.base_url
        self.callbacks.policy = DeliveryPolicy(
            config.callback_attempts,
            config.callback_backoff_seconds,
            config.callback_timeout_seconds,
        )

    def _reset_state(self) -> None:
        self.ids = IdSource(self.seed)
        self.store = TaskStore()
        self.faults = FaultRules(self.seed)
        self.requests = RequestJournal(self.config.journal_limit)
        self._outcome_random = random.Random(f"{self.seed}:outcomes")
        self._next_outcomes: list[NextOutcome] = []
        self._limits: dict[str, Limits] = {}
        self._usage: dict[str, Usage] = {}
        self.errors: list[BaseException] = []  # unexpected exceptions, for tests to re-raise

    def reset(self) -> None:
        """Forget tasks, journals, rules, faults and limits; rewind a manual clock to its start."""
        with self.lock:
            self.callbacks.reset()
            self._reset_state()
            if isinstance(self.clock, ManualClock):
                self.clock.reset_to(self._start_ms)
            self._save({"kind": "reset", "now_ms": self.now_ms()})

    def reconfigure(self, config: Config) -> None:
        """Take new settings (accounts, seed, timings, outcomes, limits, callbacks), then reset."""
        with self.lock:
            self._configure(config)
            self.reset()

    def record_error(self, error: BaseException) -> None:
        """Keep an unexpected exception so a test harness can raise it in the test."""
        with self.lock:
            self.errors.append(error)

    def close(self) -> None:
        self.callbacks.stop()

    def now_ms(self) -> int:
        return self.clock.now_ms()

    # --- the API -------------------------------------------------------------------------------

    def authenticate(self, header: str | None) -> Account:
        return self.accounts.authenticate(header, self.now_ms())

    def plain_sailing(self, account: Account) -> bool:
        """No fault rule, rate limit or account state can touch this account's next call."""
        with self.lock:
            limits = self._limits.get(account.account_id, self.config.limits)
            return not self.faults and limits.state == "active" and limits.rate_per_second is None

    def admit(self, account: Account, endpoint: str) -> Fault | None:
        """Injected faults first, then the account's state and rate limit; a Fault to apply."""
        with self.lock:
            fault = self.faults.match(endpoint, account.account_id)
            if fault is not None and (fault.code is not None or fault.drop):
                return fault
            account_id = account.account_id
            check_request(self.limits(account_id), self._usage_of(account_id), self.now_ms())
            return fault

    def create_task(self, account: Account, body: Any) -> Task:
        """Validate `body`, apply the account's limits and store a new task, or raise KlingError."""
        request = parse_create(body, self.profile, self._create_validator(self.profile.name))
        self._check_callback_host(request.callback_url)
        with self.lock:
            account_id, now = account.account_id, self.now_ms()
            self._check_unique(account_id, request.external_task_id)
            usage, cost = self._usage_of(account_id), float(request.unit_cost)
            check_submit(
                self.limits(account_id), usage, request.model_name, cost, usage.running(now)
            )
            outcome = self._choose_outcome(account_id, request)
            task = Task(
                task_id=self.ids.numeric_id(),
                account_id=account_id,
                request=request,
                created_at=now,
                video_id=self.ids.numeric_id(),
                timeline=outcome.timeline(now, self.timings),
                outcome=outcome,
            )
            self.adopt(task)
            self._save(task_event(task))  # before the client hears of it: nothing answered is lost
            self._notify(task, task.timeline)
            return task

    def adopt(self, task: Task) -> None:
        """Store a task and count it against its account (new, or restored from a state file)."""
        with self.lock:
            self.store.add(task)
            self.ids.reserve(task.task_id, task.video_id)
            usage = self._usage_of(task.account_id)
            usage.track(task)
            usage.spent += float(task.request.unit_cost)

    def find_task(self, account: Account, ref: str) -> Task:
        """The account's task by task_id or external_task_id; 404/1203 when it has none."""
        with self.lock:
            task = self.store.find(account.account_id, ref)
        if task is None:
            raise KlingError(1203, f"task {_cut(ref)!r} does not exist in this account")
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
        if task.step_at(now).status != SUCCEED:
            return None
        ended_at = task.ended_at()
        expired = ended_at is not None and now >= ended_at + MEDIA_RETENTION_DAYS * _DAY_MS
        return None if expired else task

    # --- control -------------------------------------------------------------------------------

    def advance(self, seconds: float) -> int:
        """Move a manual clock on, running every transition, callback and retry that falls due."""
        if not isinstance(self.clock, ManualClock):
            raise KlingError(1200, "the clock is the system clock; start with --clock manual")
        clock = self.clock
        self.callbacks.settle(clock.now_ms() + round(seconds * 1000), clock.set_ms)
        self._save({"kind": "clock", "now_ms": clock.now_ms()})
        return clock.now_ms()

    def all_tasks(self) -> list[Task]:
        with self.lock:
            return self.store.all()

    def task(self, task_id: str) -> Task:
        with self.lock:
            task = self.store.by_task_id(task_id)
        if task is None:
            raise KlingError(1203, f"task {task_id!r} does not exist")
        return task

    def force_outcome(self, task_id: str, outcome: Outcome) -> Task:
        """Re-plan a running task from now on: what it does next, and when."""
        with self.lock:
            task, now = self.task(task_id), self.now_ms()
            reached = self._running_steps(task, now)
            future = outcome.steps_after(reached[-1].status, now, self.timings)
            task.outcome = outcome
            self._replan(task, reached, future, now)
            return task

    def force_next_transition(self, task_id: str) -> Task:
        """Make a running task take its next step now (later steps move up by as much)."""
        with self.lock:
            task, now = self.task(task_id), self.now_ms()
            reached = self._running_steps(task, now)
            rest = task.timeline[len(reached) :]
            if not rest:
                raise KlingError(1201, f"task {task_id} has no next transition (it stays put)")
            shift = rest[0].at_ms - now
            self._replan(task, reached, tuple(replace(s, at_ms=s.at_ms - shift) for s in rest), now)
            return task

    def add_next_outcome(self, rule: NextOutcome) -> None:
        with self.lock:
            self._next_outcomes.append(rule)

    def next_outcomes(self) -> list[NextOutcome]:
        with self.lock:
            return list(self._next_outcomes)

    def clear_next_outcomes(self) -> None:
        with self.lock:
            self._next_outcomes.clear()

    def limits(self, account_id: str) -> Limits:
        with self.lock:
            return self._limits.get(account_id, self.config.limits)

    def set_limits(self, account_id: str, data: Any) -> Limits:
        """Change an account's limits from control-API JSON (ValueError when bad)."""
        with self.lock:
            limits = self._limits[account_id] = self.limits(account_id).updated(data)
            self._save({"kind": "limits", "account": account_id, "limits": limits.to_json()})
            return limits

    def changed_limits(self) -> dict[str, Limits]:
        """Accounts whose limits were changed through the control API."""
        with self.lock:
            return dict(self._limits)

    def usage(self, account_id: str) -> dict[str, Any]:
        with self.lock:
            usage = self._usage_of(account_id)
            return {"running": usage.running(self.now_ms()), "units_spent": usage.spent}

    # --- helpers -------------------------------------------------------------------------------

    def _check_callback_host(self, url: str | None) -> None:
        allowed = self.config.callback_hosts
        host = urlsplit(url).hostname if url is not None else None
        if allowed is not None and host is not None and host.lower() not in allowed:
            raise KlingError(
                1201,
                f"callback_url host {_cut(host)!r} is not allowed on this server "
                f"(allowed: {', '.join(allowed) or 'none'})",
            )

    def _check_unique(self, account_id: str, external: str | None) -> None:
        if external is not None and self.store.with_external_id(account_id, external):
            raise KlingError(
                1201, f"external_task_id {external!r} is already used by a task of this account"
            )

    def _choose_outcome(self, account_id: str, request: TaskRequest) -> Outcome:
        """Control-API rules first, then prompt markers, then the server's defaults."""
        for rule in self._next_outcomes:
            if rule.account in (None, account_id):
                rule.count -= 1
                if rule.count == 0:
                    self._next_outcomes.remove(rule)
                return rule.outcome
        marked = from_prompt(request.prompt, self.timings)
        if marked is not None:
            return marked
        rate = self.config.failure_rate
        if rate > 0 and self._outcome_random.random() < rate:
            return Outcome("fail", self.config.failure_message)
        return Outcome(self.config.outcome, self.config.failure_message)

    def _running_steps(self, task: Task, now: int) -> tuple[Step, ...]:
        reached = tuple(step for step in task.timeline if step.at_ms <= now)
        if reached[-1].status in TERMINAL:
            raise KlingError(
                1201, f"task {task.task_id} has ended ({reached[-1].status}); it stays so"
            )
        return reached

    def _replan(
        self, task: Task, reached: tuple[Step, ...], future: tuple[Step, ...], now: int
    ) -> None:
        task.timeline = reached + future
        self._usage_of(task.account_id).track(task)
        self._save(plan_event(task))
        self.callbacks.cancel_pending(task.task_id, after_ms=now)
        self._notify(task, future)

    def notify(self, task: Task, steps: tuple[Step, ...]) -> None:
        """Queue callbacks for `steps` of `task` (restored tasks re-queue what was not sent)."""
        with self.lock:
            self._notify(task, steps)

    def _save(self, event: dict[str, Any]) -> None:
        if self.persist is not None:
            self.persist(event)

    def _notify(self, task: Task, steps: tuple[Step, ...]) -> None:
        url = task.request.callback_url
        if url is None:
            return
        for step in steps:
            payload = wire.task_object(task, step, self.base_url)
            self.callbacks.enqueue(task.task_id, step.status, url, payload, step.at_ms)
        if not isinstance(self.clock, ManualClock):
            self.callbacks.start_background()

    def _usage_of(self, account_id: str) -> Usage:
        return self._usage.setdefault(account_id, Usage())


def _cut(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _fresh_seed() -> int:
    return random.SystemRandom().randrange(2**32)
