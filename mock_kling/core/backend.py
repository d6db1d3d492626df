"""The Backend: one fake Kling and the only door to what it remembers. Its state lives behind a
Store; every change is a method, and each change is told to the subscribers as a domain event."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from mock_kling.core import profiles
from mock_kling.core.accounting import Accounting
from mock_kling.core.attempts import Attempt
from mock_kling.core.auth import Account, Accounts
from mock_kling.core.clock import Clock, ManualClock, SystemClock
from mock_kling.core.commits import commit_decided, writable
from mock_kling.core.config import Config
from mock_kling.core.delivery import CallbackFault, DeliveryPolicy, Sender
from mock_kling.core.dispatch import Dispatcher, Runner
from mock_kling.core.errors import KlingError
from mock_kling.core.events import (
    ClockMoved,
    ErrorRecorded,
    Event,
    RequestJournaled,
    Reset,
    TaskCreated,
)
from mock_kling.core.faults import Fault, FaultRule
from mock_kling.core.ids import IdSource
from mock_kling.core.journal import RequestRecord
from mock_kling.core.limits import Counted, Limits, Usage, check_submit, counts_usage
from mock_kling.core.outcomes import Outcome, Timings
from mock_kling.core.planning import Planning
from mock_kling.core.refusals import Contract
from mock_kling.core.requests import parse_create
from mock_kling.core.rules import NextOutcome
from mock_kling.core.settings import Settings
from mock_kling.core.store import Change, LoopReads, Store, StoreError
from mock_kling.core.tasks import Task

_ERROR_LIMIT = 100
Subscriber = Callable[[Event], None]


class Backend:
    """One fake Kling. Every public method is thread-safe. It is composed of parts over one
    store and one `Settings`: `Planning` (outcomes, re-plans, queued callbacks), `Accounting`
    (admission, limits, usage, faults) and the `Dispatcher` (what falls due); the API and
    task creation are its own. It hands the control operations on to its parts."""

    def __init__(
        self,
        config: Config | None = None,
        clock: Clock | None = None,
        *,
        store: Store,
        sender: Sender,
        runner: Runner,
        create_validator: Callable[[str], Contract],
    ) -> None:
        self._clock: Clock = clock or SystemClock()
        self._store = store
        self._create_validator = create_validator  # profile name -> its create contract
        self._subscribers: list[Subscriber] = []
        self._errors: list[ErrorRecorded] = []
        self._errors_lock = threading.Lock()
        self._dispatch = Dispatcher(
            store, self._clock, sender, self._emit, self.record_error, runner
        )
        self._settings = Settings()
        self._planning = Planning(store, self._settings, self._dispatch, self._emit, self.now_ms)
        self._accounting = Accounting(store, self._settings, self._emit, self.now_ms)
        if isinstance(self._clock, ManualClock):  # its time is its own, or its store's
            self._clock.bind(self.advance)  # one way to advance, and it settles
        self._start_ms = self._clock.now_ms()
        self._configure(config or Config())
        self._reset_sources()
        self._resume()

    # --- settings and lifetime ------------------------------------------------------------------

    @property
    def config(self) -> Config:
        return self._settings.config

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def profile(self) -> profiles.Profile:
        return self._profile

    @property
    def manual_clock(self) -> bool:
        return isinstance(self._clock, ManualClock)

    @property
    def store_shared(self) -> bool:
        """Whether the store is shared with other processes (SQLite, Redis): its calls wait on
        I/O, so an asynchronous edge makes them off its event loop."""
        return self._store.shared

    @property
    def base_url(self) -> str:
        """Where result videos are served from (the server's URL, or --public-url)."""
        return self._settings.base_url

    def serve_at(self, base_url: str) -> None:
        """The server's own URL, once known (unless a public URL was configured)."""
        self._settings.base_url = self._settings.config.public_url or base_url

    def reconfigure(self, config: Config) -> None:
        """Take new settings (accounts, seed, timings, outcomes, limits, callbacks), then reset."""
        with self._store.atomic():
            self._configure(config)
            self.reset()

    def reset(self) -> None:
        """Forget tasks, journals, rules, faults and limits; rewind a manual clock to its start."""
        with self._store.atomic():
            self._dispatch.reset()
            self._store.reset()
            self._reset_sources()
            self.clear_errors()
            if isinstance(self._clock, ManualClock):
                self._clock.reset_to(self._start_ms)  # writes the store's time if it keeps it
            self._emit(Reset(self.now_ms()))

    def close(self) -> None:
        self._dispatch.stop()

    def drive_callbacks(self) -> None:
        """Start the background driver now, not at the first task (a replica on a shared store
        sends what other replicas queued). A manual clock is driven by advances instead."""
        if not self.manual_clock:
            self._dispatch.start()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` with every domain event, in order; returns the unsubscribe call."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    # --- errors: nothing fails silently ---------------------------------------------------------

    def record_error(self, error: BaseException, where: str = "request") -> None:
        """Keep an unexpected exception: `/__mock__/health` shows it, a test harness raises it."""
        record = ErrorRecorded(where, error, self.now_ms())
        with self._errors_lock:  # not the store's: a store that is down must not hide errors
            self._errors = [*self._errors[-_ERROR_LIMIT + 1 :], record]
        self._emit(record)

    @property
    def errors(self) -> list[BaseException]:
        return [record.error for record in self._errors]

    def error_records(self) -> list[ErrorRecorded]:
        return list(self._errors)

    def clear_errors(self) -> None:
        """Forget the recorded errors (a test that caused one on purpose has seen it)."""
        with self._errors_lock:  # one writer at a time: record_error replaces the list too
            self._errors = []

    # --- time -----------------------------------------------------------------------------------

    def now_ms(self) -> int:
        return self._clock.now_ms()

    def advance(self, seconds: float) -> int:
        """Move a manual clock on, running every transition, callback and retry that falls due,
        in order; returns the new time in ms."""
        if not isinstance(self._clock, ManualClock):
            raise KlingError(1200, "the clock is the system clock; start with --clock manual")
        if seconds < 0:
            raise ValueError(f"a clock only moves forward (got {seconds} seconds)")
        now = self._dispatch.settle(round(seconds * 1000), self._clock.add_ms)
        self._emit(ClockMoved(now))
        return now

    def next_due_ms(self) -> int | None:
        """When the next step or callback falls due (None: nothing is pending)."""
        return self._dispatch.next_due_ms()

    # --- the API --------------------------------------------------------------------------------

    def authenticate(self, header: str | None) -> Account:
        return self._accounts.authenticate(header, self.now_ms())

    def accounts(self) -> list[Account]:
        return self._accounts.all()

    def request_id(self) -> str:
        return self._ids.request_id()

    def create_task(self, account: Account, body: Any) -> Task:
        """Validate `body`, apply the account's limits and store a new task, or raise KlingError."""
        request = parse_create(body, self._profile, self._create_validator(self._profile.name))
        self._accounting.check_callback_host(request.callback_url)
        store, account_id, cost = self._store, account.account_id, float(request.unit_cost)

        def decide() -> tuple[Change, Task]:
            now, external = self.now_ms(), request.external_task_id
            if external is not None and store.external_id_taken(account_id, external):
                raise KlingError(
                    1201, f"external_task_id {external!r} is already used by a task of this account"
                )
            default = self._accounting.or_default(None)
            facts = store.submit_facts(account_id, usage_too=counts_usage(default))
            limits = self._accounting.or_default(facts.limits)
            if counts_usage(limits):  # (the facts hold it then: asked for, or limits set)
                read = facts.usage if facts.usage is not None else store.usage(account_id)
                usage = writable(store, read)
            else:
                read = usage = Usage()  # not read: nothing below depends on it
            check_submit(limits, usage, request.model_name, cost, usage.running(now))
            rules = facts.next_outcomes
            outcome, rules_left = self._planning.choose_outcome(account_id, request, rules)
            # Ids are drawn without asking the store: the commit refuses an id a task has (all
            # but never), and the next decision draws again.
            task_id = self._ids.numeric_id()
            task = Task(
                task_id=task_id,
                account_id=account_id,
                request=request,
                created_at=now,
                video_id=self._ids.numeric_id(lambda id: id == task_id),
                timeline=outcome.timeline(now, self._settings.timings),
                outcome=outcome,
            )
            used = None if rules_left is rules else (rules, rules_left)
            deliveries = self._planning.deliveries(task, task.timeline)
            change = Change(account_id, next_outcomes=used, task=task, deliveries=deliveries)
            if not counts_usage(limits):  # nothing was decided from the usage: count, no compare
                return replace(change, counted=Counted.of(task)), task
            usage.count(Counted.of(task))
            return replace(change, usage=(read, usage)), task

        with store.atomic():
            task = commit_decided(store, decide)
            self._emit(TaskCreated(task))  # before the client hears of it: nothing answered is lost
        if task.request.callback_url is not None:
            self._dispatch.kick()
        if not self.manual_clock:
            self._dispatch.start()
        return task

    def find_task(self, account: Account, ref: str) -> Task:
        """The account's task by task_id or external_task_id; 404/1203 when it has none."""
        task = self._store.find_task(account.account_id, ref)
        if task is None:
            shown = ref if len(ref) <= 100 else ref[:100] + "..."
            raise KlingError(1203, f"task {shown!r} does not exist in this account")
        return task

    def list_tasks(self, account: Account, page_num: int, page_size: int) -> list[Task]:
        return self._store.page(account.account_id, page_num, page_size)

    def journal_request(self, record: RequestRecord) -> None:
        try:
            self._store.add_request(record)
        except StoreError:
            return  # the answer told the client the store failed; the journal misses it
        self.journaled(record)

    def journaled(self, record: RequestRecord) -> None:
        """Tell the subscribers of a request the store's `loop_reads` journaled."""
        self._emit(RequestJournaled(record))

    def loop_reads(self) -> LoopReads | None:
        """The store's calls for the hot GETs on an event loop (see `Store.loop_reads`); None as
        well on a manual clock kept in the store, which every request reads from threads."""
        return None if self.manual_clock else self._store.loop_reads()

    # --- what happened --------------------------------------------------------------------------

    def requests(self) -> list[RequestRecord]:
        return self._store.requests()

    def attempts(self) -> list[Attempt]:
        """Every callback attempt, sorted by (at_ms, seq, attempt, duplicate after original)."""
        return sorted(self._store.attempts(), key=Attempt.sort_key)

    def wait_for_attempt(self, match: Callable[[Attempt], bool], timeout: float) -> Attempt | None:
        return self._dispatch.wait_for(match, timeout)

    def pending_callbacks(self) -> int:
        return self._store.pending_deliveries()

    # --- handed on to the parts ----------------------------------------------------------------

    def all_tasks(self) -> list[Task]:
        """Every task of every account, newest first."""
        return self._planning.all_tasks()

    def task(self, task_id: str) -> Task:
        """Any account's task (for the control API); 404/1203 when there is none."""
        return self._planning.task(task_id)

    def task_count(self) -> int:
        return self._planning.task_count()

    def find_video(self, video_id: str) -> Task | None:
        """The task whose result video this is, while it is downloadable (ended, < 30 days)."""
        return self._planning.find_video(video_id)

    def add_next_outcome(self, rule: NextOutcome) -> None:
        self._planning.add_next_outcome(rule)

    def next_outcomes(self) -> list[NextOutcome]:
        return self._planning.next_outcomes()

    def clear_next_outcomes(self) -> None:
        self._planning.clear_next_outcomes()

    def force_outcome(self, task_id: str, outcome: Outcome) -> Task:
        """Re-plan a running task from now on: what it does next, and when."""
        return self._planning.force_outcome(task_id, outcome)

    def force_next_transition(self, task_id: str) -> Task:
        """Make a running task take its next step now (later steps move up by as much)."""
        return self._planning.force_next_transition(task_id)

    def plain_sailing(self, account: Account) -> bool:
        """No fault rule, rate limit or account state can touch this account's next call."""
        return self._accounting.plain_sailing(account)

    def plain_given(self, rules: list[FaultRule], limits: Limits | None) -> bool:
        """`plain_sailing` from what `LoopReads.admission` answered."""
        return self._accounting.plain_given(rules, limits)

    def admit(self, account: Account, endpoint: str) -> Fault | None:
        """Injected faults first, then the account's state and rate limit; a Fault to apply."""
        return self._accounting.admit(account, endpoint)

    def limits(self, account_id: str) -> Limits:
        return self._accounting.limits(account_id)

    def set_limits(self, account_id: str, data: Any) -> Limits:
        """Change an account's limits from control-API JSON (ValueError when bad)."""
        return self._accounting.set_limits(account_id, data)

    def changed_limits(self) -> dict[str, Limits]:
        """Accounts whose limits were changed through the control API."""
        return self._accounting.changed_limits()

    def usage(self, account_id: str) -> dict[str, Any]:
        return self._accounting.usage(account_id)

    def add_fault_rule(self, rule: FaultRule) -> None:
        self._accounting.add_fault_rule(rule)

    def fault_rules(self) -> list[FaultRule]:
        return self._accounting.fault_rules()

    def clear_fault_rules(self) -> None:
        self._accounting.clear_fault_rules()

    def add_callback_fault(self, fault: CallbackFault) -> None:
        self._accounting.add_callback_fault(fault)

    def callback_faults(self) -> list[CallbackFault]:
        """Callback faults not used up yet, with their remaining `times`."""
        return self._accounting.callback_faults()

    # --- internals ------------------------------------------------------------------------------

    def _configure(self, config: Config) -> None:
        self._settings.config = config
        self._seed = config.seed if config.seed is not None else _fresh_seed()
        self._profile = profiles.get(config.profile)
        jwt = profiles.JWT in self._profile.auth
        self._accounts = Accounts(config.key_pairs, config.api_keys, jwt=jwt, clock=self._clock)
        self._settings.timings = Timings(config.submitted_seconds, config.processing_seconds)
        self._settings.base_url = config.public_url or self._settings.base_url
        self._dispatch.policy = DeliveryPolicy(
            config.callback_attempts,
            config.callback_backoff_seconds,
            config.callback_timeout_seconds,
        )

    def _reset_sources(self) -> None:
        # A store that already holds tasks (a restart, another process) gets ids of a stream
        # of its own; the commit refuses an id a task has anyway, so none is issued twice.
        self._ids = IdSource(self._seed, self._store.task_count())
        self._settings.outcome_random = random.Random(f"{self._seed}:outcomes")
        self._settings.fault_random = random.Random(f"{self._seed}:faults")

    def _resume(self) -> None:
        """Start from the store's state: the driver running when something is due (callbacks
        a previous run did not send). A manual clock kept in the store (`StoreClock`) resumed
        at the store's time as it was made."""
        if not self.manual_clock and self.next_due_ms() is not None:
            self._dispatch.start()

    def _emit(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            subscriber(event)


def _fresh_seed() -> int:
    return random.SystemRandom().randrange(2**32)
