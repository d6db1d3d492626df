"""The driver of everything that falls due: it announces the steps tasks reach and sends the
callback deliveries that are due, strictly in order per task and concurrently across tasks on a
pool. It claims only as many deliveries as the pool can start sending now, so that a claim's
lease (a shared store's) starts as its send starts. Drive it with `settle` (manual clock) or
`start` (system clock). Nothing fails silently: an exception in a job or in the driver is
reported through `on_error`, and the driver goes on. The threads are not the core's: a `Runner`
given by the composition root (mock_kling.callbacks.runner) runs the driver and the sends."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Protocol

from mock_kling.core.attempts import Attempt
from mock_kling.core.clock import Clock
from mock_kling.core.commits import commit_decided
from mock_kling.core.delivery import (
    CallbackFault,
    Delivery,
    DeliveryPolicy,
    Sender,
    answer_error,
)
from mock_kling.core.events import CallbackAttempted, Event, StepReached
from mock_kling.core.rules import used_once
from mock_kling.core.store import Change, Store

_MAX_NAP_SECONDS = 1.0  # the background driver re-reads the clock at least this often
# ... and the shared store this often: another replica's lapsed claims are not due times it can
# sleep until (they lapse on the store's clock), so a survivor sees them within this long.
_SHARED_NAP_SECONDS = 0.25
_SETTLE_MAX_ROUNDS = 100_000
TAKEOVER_NOTE = "claimed after another replica's lease ran out; it may have sent this attempt"
ErrorSink = Callable[[BaseException, str], None]  # (error, where)


class Runner(Protocol):
    """What runs the dispatcher: a driver loop and a pool of send jobs, and the waits on them.
    An adapter outside the core implements it (`mock_kling.callbacks.runner.ThreadRunner`)."""

    @property
    def stopping(self) -> bool: ...
    def claiming(self) -> AbstractContextManager[object]:
        """Held while claiming for the free slots: one claimer at a time."""
        ...

    def free_slots(self) -> int: ...
    def submit(self, job: Callable[[], None]) -> bool:
        """Run `job` now on a free slot; False when it cannot run (the runner is gone)."""
        ...

    def kick(self) -> None: ...
    def wait_idle(self, timeout: float) -> bool: ...
    def recorded(self) -> int: ...
    def record(self) -> None: ...
    def wait_recorded(self, seen: int, timeout: float) -> None: ...
    def start(self, drive: Callable[[], float]) -> None:
        """Call `drive` over and over in the background; wait at most the seconds it returns
        between calls (a kick wakes it sooner)."""
        ...

    def stop(self, timeout: float) -> None: ...


class Dispatcher:
    """Runs what is due. Lock order: the store's lock may be held when calling `kick`; the
    runner never takes the store's lock while holding its own."""

    def __init__(
        self, store: Store, clock: Clock, sender: Sender, emit: Callable[[Event], None],
        on_error: ErrorSink, runner: Runner,
    ) -> None:  # fmt: skip
        self.policy = DeliveryPolicy()
        self._store, self._clock, self._sender = store, clock, sender
        self._emit, self._on_error = emit, on_error
        self._runner = runner
        # Bumped by reset, read by jobs as they complete, both inside store.atomic(): older
        # jobs finish unseen.
        self._generation = 0

    # --- feeding and reading ----------------------------------------------------------------

    def kick(self) -> None:
        """Something was queued or changed: the background driver looks again."""
        self._runner.kick()

    def reset(self) -> None:
        """Jobs in flight finish unseen (call inside `store.atomic()`, as the store resets)."""
        self._generation += 1
        self._runner.kick()

    def next_due_ms(self) -> int | None:
        dues = [ms for ms in (self._store.next_step_ms(), self._store.next_delivery_ms()) if ms]
        return min(dues, default=None)

    def wait_idle(self, timeout: float) -> bool:
        """Block until no send is in flight (pending ones may remain); False on timeout."""
        return self._runner.wait_idle(timeout)

    def wait_for(self, match: Callable[[Attempt], bool], timeout: float) -> Attempt | None:
        """Block until a journaled attempt satisfies `match` (returned), or None after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self._runner.recorded()
            found = next((entry for entry in self._store.attempts() if match(entry)), None)
            left = deadline - time.monotonic()
            if found is not None or left <= 0:
                return found
            self._runner.wait_recorded(seen, left)

    # --- driving ------------------------------------------------------------------------------

    def run_due(self) -> int:
        """Announce every step reached by now and start the deliveries due now that the pool has
        free threads for (the earliest due first); returns how many sends were started."""
        if self._runner.stopping:
            return 0
        now = self._clock.now_ms()
        for task, step in self._store.pop_reached_steps(now):
            self._emit(StepReached(task, step))
        started = 0
        with self._runner.claiming():
            free = self._runner.free_slots()
            for claimed in self._store.claim_due(now, free) if free else ():
                delivery = self._take_over(claimed, now) if claimed.taken_over else claimed
                ready = delivery if delivery.matched else self._apply_fault(delivery, now)
                if ready is not None:
                    started += self._submit(ready)
        return started

    def settle(self, delta_ms: int, move: Callable[[int], int]) -> int:
        """Manual-clock driver: move the clock on by `delta_ms`, stopping at each due time on the
        way to run what falls due there, in time order (retries that fall due on the way too).
        `move(ms)` is the clock's one writer, an atomic add that returns the new time: advances
        racing this one (threads, replicas) add up, and none moves time backwards. Returns the
        time after."""
        if self._runner.stopping:
            raise RuntimeError("the callback dispatcher is stopped")
        idle_bound = 30.0 + 6 * self.policy.timeout_seconds
        remaining = delta_ms
        for _ in range(_SETTLE_MAX_ROUNDS):
            if not self.wait_idle(idle_bound):
                raise RuntimeError(f"callbacks still in flight after {idle_bound} s")
            due, now = self.next_due_ms(), self._clock.now_ms()
            if due is None or due > now + remaining:
                return move(remaining)
            step = max(0, due - now)
            if step:
                move(step)
                remaining -= step
            self.run_due()
        raise RuntimeError(f"callbacks did not settle within {_SETTLE_MAX_ROUNDS} rounds")

    def start(self) -> None:
        """System-clock driver: the runner calls `drive_once` in the background. Idempotent."""
        self._runner.start(self.drive_once)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the driver and the sends; sends in flight may finish within `timeout`."""
        self._runner.stop(timeout)

    def drive_once(self) -> float:
        """One look of the background driver: run what is due; the seconds until it should look
        again (at most _MAX_NAP_SECONDS, _SHARED_NAP_SECONDS on a shared store; a kick or a
        finished send wakes it sooner)."""
        due = None
        try:
            self.run_due()
            due = self.next_due_ms()
        except Exception as exc:  # reported; the driver keeps going
            self._on_error(exc, "callback driver")
        most = _SHARED_NAP_SECONDS if self._store.shared else _MAX_NAP_SECONDS
        nap = most  # a full pool: a finishing send wakes the driver
        if due is not None and self._runner.free_slots():
            nap = min(max(0.0, (due - self._clock.now_ms()) / 1000), most)
        return nap

    # --- internals ----------------------------------------------------------------------------

    def _take_over(self, delivery: Delivery, now: int) -> Delivery:
        """Journal that this replica took over a delivery whose claim lapsed (its replica died or
        stalled past the lease): that replica may have sent it, so the receiver may see the next
        send twice. The entry accounts for that duplicate."""
        self._journal(delivery.entry(
            attempt=delivery.attempts + 1, at_ms=now, http_status=None, error=TAKEOVER_NOTE,
            latency_ms=0.0, result="takeover", fault="takeover",
        ))  # fmt: skip
        return replace(delivery, taken_over=False)

    def _apply_fault(self, delivery: Delivery, now: int) -> Delivery | None:
        """Match callback faults as a delivery first comes due: the delivery to send now, or
        None when it was dropped or postponed."""
        store = self._store
        with store.atomic():
            fault = commit_decided(store, lambda: _take_fault(store, delivery.task_id))
            ready = replace(delivery, matched=True, fault=None if fault is None else fault.action)
            if fault is not None and fault.action == "delay":
                ready = replace(ready, due_ms=ready.due_ms + round(fault.seconds * 1000))
                if ready.due_ms > now:
                    store.put_back(ready)
                    return None
            if fault is None or fault.action != "drop":
                return ready
            entry = ready.entry(
                attempt=1, at_ms=now, http_status=None, error=None, latency_ms=0.0,
                result="dropped", fault="drop",
            )  # fmt: skip
            if store.finish(ready):
                self._journal(entry)
        return None

    def _submit(self, delivery: Delivery) -> int:
        generation = self._generation
        return int(self._runner.submit(lambda: self._job(delivery, generation)))

    def _job(self, delivery: Delivery, generation: int) -> None:
        """On a pool thread: one send, then the journal record and what stays queued."""
        try:
            attempt = delivery.attempts if delivery.duplicate_due else delivery.attempts + 1
            at_ms = self._clock.now_ms()
            http_status, error, latency_ms = self._send(delivery)
            sent = delivery.after_send(_is_2xx(http_status), self._clock.now_ms(), self.policy)
            entry = delivery.entry(
                attempt=attempt, at_ms=at_ms, http_status=http_status, error=error,
                latency_ms=latency_ms, result=sent.result, fault=sent.fault,
            )  # fmt: skip
            queued = None if sent.queued is None else replace(sent.queued, started=True)
            self._complete(delivery, queued, entry, generation)
        except Exception as exc:  # a bug: reported, and the delivery is not retried forever
            self._on_error(exc, "callback job")
            with self._store.atomic():
                self._store.finish(delivery)

    def _complete(
        self, delivery: Delivery, queued: Delivery | None, entry: Attempt, generation: int
    ) -> None:
        store = self._store
        with store.atomic():
            if generation != self._generation:
                return  # a reset made this send moot
            kept = store.finish(delivery) if queued is None else store.put_back(queued)
            if kept:
                self._journal(entry)

    def _journal(self, entry: Attempt) -> None:
        self._store.add_attempt(entry)
        self._emit(CallbackAttempted(entry))
        self._runner.record()

    def _send(self, delivery: Delivery) -> tuple[int | None, str | None, float]:
        """Call the sender (never under a lock); any exception becomes the error text."""
        started = time.perf_counter()
        try:
            timeout = self.policy.timeout_seconds
            http_status, error = self._sender(delivery.url, delivery.body, timeout)
        except Exception as exc:
            http_status, error = None, f"sender raised {type(exc).__name__}: {exc}"
        latency_ms = (time.perf_counter() - started) * 1000
        if not _is_2xx(http_status) and error is None:
            error = "no answer" if http_status is None else answer_error(http_status)
        return http_status, error, latency_ms


def _take_fault(store: Store, task_id: str) -> tuple[Change, CallbackFault | None]:
    """The first callback fault that applies to `task_id`, and the change that uses up one of
    its `times`."""
    faults = store.callback_faults()
    for index, fault in enumerate(faults):
        if fault.matches(task_id):
            return Change("", callback_faults=(faults, used_once(faults, index, "times"))), fault
    return Change(""), None


def _is_2xx(status: int | None) -> bool:
    return status is not None and 200 <= status < 300
