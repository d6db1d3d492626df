"""The Store protocol: everything the fake remembers, behind operations that a database can make
atomic. The core defines it; implementations live in `mock_kling.store` and are chosen by the
composition root. Values go in and come out: no caller keeps a stored object and changes it."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

from mock_kling.core.attempts import Attempt
from mock_kling.core.delivery import CallbackFault, Delivery
from mock_kling.core.faults import FaultRule
from mock_kling.core.journal import RequestRecord
from mock_kling.core.limits import Counted, Limits, Usage
from mock_kling.core.rules import NextOutcome
from mock_kling.core.tasks import Step, Task


class StoreError(Exception):
    """The store failed (unreachable, locked, full): the API answers 500 / 5000 with this message,
    which names the store by its URL."""

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(f"store {store} failed: {reason}")
        self.store = store
        self.message = str(self)


class TaskStore(Protocol):
    """Tasks and their indexes: by id, by external id per account, newest first per account, by
    video id; and each running task's next unannounced step."""

    def add_task(self, task: Task) -> None: ...
    def replan(self, task_id: str, task: Task) -> None:
        """Replace the task's timeline and outcome (the rest never changes)."""
        ...

    def task(self, task_id: str) -> Task | None: ...
    def find_task(self, account: str, ref: str) -> Task | None:
        """The account's task whose task_id, or else whose external_task_id, is `ref`."""
        ...

    def external_id_taken(self, account: str, external_task_id: str) -> bool: ...
    def id_taken(self, value: str) -> bool:
        """Some stored task has `value` as its task_id or video_id."""
        ...

    def page(self, account: str, page_num: int, page_size: int) -> list[Task]:
        """One page of the account's tasks, newest first; cost independent of the task count."""
        ...

    def all_tasks(self) -> list[Task]:
        """Every task of every account, newest first."""
        ...

    def task_by_video(self, video_id: str) -> Task | None: ...
    def task_count(self) -> int: ...
    def pop_reached_steps(self, now_ms: int) -> list[tuple[Task, Step]]:
        """Steps of running tasks whose time has come and that were not announced yet, in time
        order; each is returned once."""
        ...

    def next_step_ms(self) -> int | None:
        """When the next unannounced step of a running task falls due."""
        ...


@dataclass(frozen=True)
class SubmitFacts:
    """What a submit is decided from, as read (`AccountStore.submit_facts`)."""

    usage: Usage | None  # None: not asked for, and the account has no limits set
    limits: Limits | None  # None: not set (the server's defaults)
    next_outcomes: list[NextOutcome]


class AccountStore(Protocol):
    """Accounts: limits set through the control API, and usage."""

    def limits(self, account: str) -> Limits | None:
        """Limits set through the control API (None: the server's defaults)."""
        ...

    def set_limits(self, account: str, limits: Limits) -> None: ...
    def changed_limits(self) -> dict[str, Limits]: ...
    def usage(self, account: str) -> Usage: ...
    def put_usage(self, account: str, usage: Usage) -> None: ...
    def admission(self, account: str) -> tuple[list[FaultRule], Limits | None]:
        """`fault_rules()` and `limits(account)` read together: what every API call is checked
        against (one round trip on a remote store)."""
        ...

    def submit_facts(self, account: str, usage_too: bool) -> SubmitFacts:
        """`limits(account)`, `next_outcomes()` and `usage(account)` read together: what a
        submit is decided from (one round trip on a remote store). The usage only when
        `usage_too` or the account has limits set (else None): a submit under limits that do
        not count usage does not read it, however many tasks the account has."""
        ...


class RuleStore(Protocol):
    """Rules set through the control API: fault rules, next outcomes, callback faults (their
    `times` / `count` are used up by the core, which puts the rest back)."""

    def fault_rules(self) -> list[FaultRule]: ...
    def put_fault_rules(self, rules: list[FaultRule]) -> None: ...
    def next_outcomes(self) -> list[NextOutcome]: ...
    def put_next_outcomes(self, rules: list[NextOutcome]) -> None: ...
    def callback_faults(self) -> list[CallbackFault]: ...
    def put_callback_faults(self, faults: list[CallbackFault]) -> None: ...


class JournalStore(Protocol):
    """The bounded journals: API requests and callback attempts."""

    def add_request(self, record: RequestRecord) -> None: ...
    def requests(self) -> list[RequestRecord]: ...
    def add_attempt(self, attempt: Attempt) -> None: ...
    def attempts(self) -> list[Attempt]: ...


class ClockStore(Protocol):
    """The manual clock's time, when the store keeps it (`StoreClock`): the store is its one
    writer, so replicas sharing the store share one time that never goes backwards."""

    def clock_ms(self) -> int | None:
        """The stored time (None: none yet, or a reset forgot it)."""
        ...

    def set_clock_ms(self, now_ms: int) -> None:
        """Put the time at `now_ms` unconditionally, even backwards: only for a reset of the
        fake or the first start on an empty store. Advances use the two moves below."""
        ...

    def add_clock_ms(self, delta_ms: int) -> int:
        """Atomically add `delta_ms` (>= 0) to the stored time (none counts as 0) and return the
        new time: N concurrent adds of d_i move it by exactly sum(d_i), never backwards."""
        ...

    def raise_clock_ms(self, to_ms: int) -> int:
        """Atomically set the stored time to max(stored, `to_ms`) (none: `to_ms`) and return the
        stored time after."""
        ...


class DeliveryStore(Protocol):
    """Pending callback deliveries: a queue per task, claimed one head at a time."""

    def next_delivery_seq(self) -> int: ...
    def add_delivery(self, delivery: Delivery) -> None: ...
    def claim_due(self, now_ms: int, limit: int) -> list[Delivery]:
        """Claim the heads of at most `limit` task queues that are due and not claimed, the
        earliest due first, returned in (due, seq) order. A claimed head is not offered again
        until it is put back or finished; each claim has its own token (`Delivery.claim`)."""
        ...

    def put_back(self, delivery: Delivery) -> bool:
        """Replace the head claimed under `delivery.claim` (same seq) by `delivery` and release
        the claim; False when that claim is gone (a reset, a cancel, a lapsed lease)."""
        ...

    def finish(self, delivery: Delivery) -> bool:
        """Remove the head claimed under `delivery.claim` (same seq) and release the claim;
        False when that claim is gone."""
        ...

    def cancel_deliveries(self, task_id: str, after_ms: int) -> None:
        """Drop the task's notifications not started yet that were enqueued as due after
        `after_ms` (statuses the task no longer reaches on that plan)."""
        ...

    def next_delivery_ms(self) -> int | None:
        """The earliest due time of an unclaimed queue head."""
        ...

    def pending_deliveries(self) -> int:
        """Notifications not finished (waiting, retrying or claimed)."""
        ...

    def claimed_deliveries(self) -> int: ...


class LoopReads(Protocol):
    """The hot GETs' calls on an asyncio event loop, for a store whose calls wait on I/O: each
    returns at once something to await, whose answer is that of the Store call of the same
    name. Calls made one after another without awaiting in between may share a round trip."""

    def admission(self, account: str) -> Awaitable[tuple[list[FaultRule], Limits | None]]: ...
    def find_task(self, account: str, ref: str) -> Awaitable[Task | None]: ...
    def page(self, account: str, page_num: int, page_size: int) -> Awaitable[list[Task]]: ...
    def add_request(self, record: RequestRecord) -> Awaitable[None]: ...
    def close(self) -> Awaitable[None]:
        """Let go of connections, on the loop the calls were made on."""
        ...


# What a commit answers: written; or nothing written because a fact is no longer as read (read
# again, decide again), or the task's id or video id, or its external id, is taken.
Committed = Literal["done", "changed", "id_taken", "external_id_taken"]


@dataclass(frozen=True)
class Change:
    """One check-and-change the core decided: each fact as (as read, new), for `account` (its
    usage and limits) or for the whole fake (the rule lists); a task to count in the account's
    usage without comparing it (`Usage.count`: no decision depended on the usage, so submits
    of one account from many replicas do not conflict), a task to add; deliveries to queue.
    The store writes all of it, or nothing when a fact is no longer as read."""

    account: str
    usage: tuple[Usage, Usage] | None = None
    fault_rules: tuple[list[FaultRule], list[FaultRule]] | None = None
    next_outcomes: tuple[list[NextOutcome], list[NextOutcome]] | None = None
    callback_faults: tuple[list[CallbackFault], list[CallbackFault]] | None = None
    limits: tuple[Limits | None, Limits] | None = None  # None as read: the server's defaults
    counted: Counted | None = None  # a new task counted in the account's usage, not compared
    task: Task | None = None
    deliveries: Sequence[Delivery] = ()


class CommitStore(Protocol):
    """The one check-and-change across every client of the store (threads, processes,
    replicas): how the core writes whatever it decided from what it read."""

    def commit(self, change: Change) -> Committed:
        """Atomically: every fact of `change` must still be as read; `change.task` (if any)
        must have a task id and video id no task has, and an external id unused in its
        account; then every new value, the task and the deliveries are written. All or
        nothing. A value the caller read and changed in place stays "as read" only on a store
        that is not shared (the same object): callers hand a shared store a changed copy."""
        ...


class Store(
    TaskStore,
    AccountStore,
    RuleStore,
    JournalStore,
    ClockStore,
    DeliveryStore,
    CommitStore,
    Protocol,
):
    """Everything one fake remembers: the roles above, plus whether the store is shared, one
    meaning of `atomic()`, `reset()` and `close()`. Every method is safe to call from any thread
    and is atomic on its own."""

    # Whether other processes may share this store (SQLite, Redis): its calls then wait on I/O
    # or on other processes, so an event loop makes them off the loop; a store that is not
    # shared (memory) answers at once and is called on the loop.
    shared: bool

    def atomic(self) -> AbstractContextManager[object]:
        """A group of calls that no other group of this process interleaves with; re-entrant
        on one thread. It is the same for every store:

        - Within one process, serialised: two threads' groups never run at once, so a thread's
          read, decision and `commit` meet no change from this process in between, and its
          commit finds what it read (no retries among one process's threads). On memory it is
          the store's lock; on SQLite the write transaction (which also keeps other processes
          out); on Redis a lock of this process only (nothing is held in Redis).
        - Across processes and replicas the guarantee is `commit`, not `atomic`: a decision
          made from facts another replica may change is written by one `commit`, which answers
          "changed" when a fact moved; the core then reads and decides again.
        - Readers need no group, and nothing may depend on whether a reader waits for one.
        - No undo: what was written inside stays written when the group ends, normally or by an
          exception. SQLite's rollback of a group left by an unexpected error is the database's
          crash guard, not part of this contract.
        - Short, and no I/O but the store's inside (no callback sends, no sleeps).
        """
        ...

    def loop_reads(self) -> LoopReads | None:
        """The hot GETs' calls for the event loop of the caller, when the store has them (Redis
        on a single server); None: call the store from threads (shared) or directly."""
        ...

    def reset(self) -> None:
        """Forget everything: tasks, plans, limits, usage, rules, journals, deliveries, clock."""
        ...

    def close(self) -> None:
        """Let go of connections and files (the store is not used afterwards)."""
        ...
