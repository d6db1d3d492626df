"""Callback delivery: POST task objects to callback URLs, in order per task, with retries."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException, HTTPSConnection, RemoteDisconnected
from typing import Any
from urllib.parse import urlsplit

from mock_kling.core.clock import Clock

USER_AGENT = "mock-kling"
FAULT_ACTIONS = frozenset({"drop", "duplicate", "delay"})
_MAX_ANSWER_BYTES = 64 * 1024
_MAX_NAP_SECONDS = 1.0  # the background driver re-reads the clock at least this often
_SETTLE_MAX_ROUNDS = 100_000

Sender = Callable[[str, bytes, float], tuple[int | None, str | None]]


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard the fake tries: attempts per notification, fake-time backoff, real-time timeout."""

    attempts: int = 5
    backoff_seconds: float = 1.0
    timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1 (got {self.attempts})")
        if not (math.isfinite(self.backoff_seconds) and self.backoff_seconds >= 0):
            raise ValueError(f"backoff_seconds must be >= 0 (got {self.backoff_seconds})")
        if not (math.isfinite(self.timeout_seconds) and self.timeout_seconds > 0):
            raise ValueError(f"timeout_seconds must be > 0 (got {self.timeout_seconds})")

    def backoff_ms(self, retry: int) -> int:
        """Fake-time wait before retry number `retry` (1 for the second attempt, ...)."""
        return round(self.backoff_seconds * 2.0 ** (retry - 1) * 1000)


@dataclass(frozen=True)
class CallbackFault:
    """A planned misbehaviour for the next `times` notifications (of `task_id`, or of any task)."""

    action: str
    seconds: float = 0.0
    times: int = 1
    task_id: str | None = None

    def __post_init__(self) -> None:
        if self.action not in FAULT_ACTIONS:
            raise ValueError(f"action must be one of {sorted(FAULT_ACTIONS)} (got {self.action!r})")
        if not (math.isfinite(self.seconds) and self.seconds >= 0):
            raise ValueError(f"seconds must be >= 0 (got {self.seconds})")
        if self.times < 1:
            raise ValueError(f"times must be at least 1 (got {self.times})")

    def matches(self, task_id: str) -> bool:
        return self.task_id is None or self.task_id == task_id


@dataclass(frozen=True, slots=True)
class Attempt:
    """One journal entry: an attempt, a duplicate send, or a dropped notification."""

    seq: int
    task_id: str
    status: str
    url: str
    payload: dict[str, Any]
    attempt: int
    at_ms: int
    http_status: int | None
    error: str | None
    latency_ms: float
    result: str
    fault: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def sort_key(self) -> tuple[int, int, int, bool]:
        return (self.at_ms, self.seq, self.attempt, self.fault == "duplicate")


def http_post(url: str, body: bytes, timeout: float) -> tuple[int | None, str | None]:
    """POST body as application/json with http.client (no redirects followed: 3xx is a failure),
    User-Agent "mock-kling", read at most 64 KiB of the answer and close. Never raises. The whole
    attempt takes at most `timeout` seconds: socket timeouts bound each read only, so a receiver
    that drips its answer a byte at a time is cut off by a watchdog."""
    expired = threading.Event()
    status, error = _post(url, body, timeout, expired)
    if expired.is_set() and status is None:
        return None, "timeout"
    return status, error


def _expire(connection: HTTPConnection, expired: threading.Event) -> None:
    """The watchdog: wake up a read blocked on `connection` (its socket may be gone already)."""
    expired.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _post(
    url: str, body: bytes, timeout: float, expired: threading.Event
) -> tuple[int | None, str | None]:
    connection: HTTPConnection | None = None
    watchdog: threading.Timer | None = None
    try:
        parts = urlsplit(url)
        host, https = parts.hostname, parts.scheme == "https"
        if parts.scheme not in ("http", "https") or not host:
            return None, f"bad callback url {url!r}: not an http(s) URL"
        port = parts.port or (443 if https else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection_class = HTTPSConnection if https else HTTPConnection
        connection = connection_class(host, port, timeout=timeout)
        watchdog = threading.Timer(timeout, _expire, (connection, expired))
        watchdog.daemon = True
        watchdog.start()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Connection": "close",
        }
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(_MAX_ANSWER_BYTES)
        status = response.status
    except TimeoutError:
        return None, "timeout"
    except ConnectionRefusedError as exc:
        return None, f"connection refused: {exc}"
    except RemoteDisconnected:
        return None, "connection closed without an answer"
    except ConnectionResetError as exc:
        return None, f"connection reset: {exc}"
    except socket.gaierror as exc:
        return None, f"name resolution failed: {exc}"
    except (OSError, HTTPException, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # the contract is "never raises"
        return None, f"unexpected {type(exc).__name__}: {exc}"
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if connection is not None:
            connection.close()
    return status, _answer_error(status)


def _answer_error(status: int) -> str | None:
    """Why an HTTP status is not a delivery, or None for 2xx."""
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return f"redirect {status} not followed"
    return f"non-2xx answer {status}"


@dataclass(eq=False)
class _Notification:
    """A notification in its task's queue; mutated only under the queue's lock."""

    seq: int
    task_id: str
    status: str
    url: str
    payload: dict[str, Any]
    body: bytes
    due_ms: int  # when the next attempt may start (moved by delay faults and retries)
    enqueued_due_ms: int  # the due time it was enqueued with
    attempts: int = 0  # attempts made so far
    matched: bool = False  # faults were looked up (once, when it first came up to be sent)
    fault: str | None = None  # "delay" or "duplicate" when one shapes it
    started: bool = False  # its first attempt has been handed to the pool

    def entry(self, **fields: Any) -> Attempt:
        return Attempt(
            seq=self.seq,
            task_id=self.task_id,
            status=self.status,
            url=self.url,
            payload=self.payload,
            **fields,
        )


class CallbackQueue:
    """Delivers notifications: strictly in order per task, concurrently across tasks, on a pool.

    Time decides when an attempt is due (the fake clock); the sends themselves are real and run on
    worker threads, never on the threads that call enqueue/run_due. Drive it with `settle` (manual
    clock) or `start_background` (system clock).
    """

    def __init__(
        self,
        clock: Clock,
        policy: DeliveryPolicy | None = None,
        sender: Sender = http_post,
        workers: int = 8,
        journal_limit: int = 100_000,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1 (got {workers})")
        if journal_limit < 0:
            raise ValueError(f"journal_limit must be >= 0 (got {journal_limit})")
        self.clock = clock
        self.policy = policy or DeliveryPolicy()
        self._sender = sender
        self._cond = threading.Condition(threading.Lock())
        self._queues: dict[str, deque[_Notification]] = {}
        self._busy: set[str] = set()  # tasks with an attempt on the pool
        self._running = 0  # jobs on the pool, of any generation
        self._faults: list[CallbackFault] = []
        self._journal: deque[Attempt] = deque(maxlen=journal_limit)
        self._next_seq = 0
        self._generation = 0  # bumped by reset: older jobs finish unseen
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mock-kling-cb")
        self.on_record: Callable[[Attempt], None] | None = None  # e.g. persistence

    # -- feeding ----------------------------------------------------------------------------

    def enqueue(
        self, task_id: str, status: str, url: str, payload: dict[str, Any], due_ms: int
    ) -> None:
        """Queue a POST of `payload` to `url`, due at `due_ms`, behind the task's earlier ones."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        snapshot: dict[str, Any] = json.loads(body)  # later edits by the caller change nothing
        with self._cond:
            note = _Notification(
                self._next_seq, task_id, status, url, snapshot, body, due_ms, due_ms
            )
            self._next_seq += 1
            self._queues.setdefault(task_id, deque()).append(note)
            self._cond.notify_all()

    def cancel_pending(self, task_id: str, after_ms: int | None = None) -> None:
        """Forget the task's notifications whose first attempt has not started yet; with
        `after_ms`, only those enqueued as due after it (statuses not reached by then)."""
        with self._cond:
            queue = self._queues.get(task_id)
            if queue is None:
                return
            kept = deque(
                note
                for note in queue
                if note.started or (after_ms is not None and note.enqueued_due_ms <= after_ms)
            )
            if kept:
                self._queues[task_id] = kept
            else:
                del self._queues[task_id]
            self._cond.notify_all()

    def add_fault(self, fault: CallbackFault) -> None:
        with self._cond:
            self._faults.append(fault)
            self._cond.notify_all()

    def faults(self) -> list[CallbackFault]:
        """Faults not used up yet, with their remaining `times`."""
        with self._cond:
            return list(self._faults)

    # -- driving ----------------------------------------------------------------------------

    def next_due_ms(self) -> int | None:
        with self._cond:
            return self._next_due()

    def run_due(self) -> int:
        """Hand every attempt due now to the pool; returns how many were started."""
        with self._cond:
            return self._start_due()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no attempt is in flight (pending ones may remain); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._running == 0, timeout)

    def settle(self, target_ms: int, set_clock: Callable[[int], None]) -> None:
        """Manual-clock driver: run everything due up to `target_ms`, in time order, then leave
        the clock at `target_ms`. Retries that fall due on the way are run too."""
        with self._cond:
            if self._stopping:
                raise RuntimeError("the callback queue is stopped")
        idle_bound = 30.0 + 6 * self.policy.timeout_seconds  # an attempt, maybe a duplicate
        for _ in range(_SETTLE_MAX_ROUNDS):
            if not self.wait_idle(idle_bound):
                raise RuntimeError(f"callbacks still in flight after {idle_bound} s")
            due = self.next_due_ms()
            if due is None or due > target_ms:
                set_clock(max(target_ms, self.clock.now_ms()))
                return
            set_clock(max(due, self.clock.now_ms()))
            self.run_due()
        raise RuntimeError(f"callbacks did not settle within {_SETTLE_MAX_ROUNDS} rounds")

    def start_background(self) -> None:
        """System-clock driver: a daemon thread that runs attempts as they fall due. Idempotent."""
        with self._cond:
            if self._stopping:
                raise RuntimeError("the callback queue is stopped")
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._drive, name="mock-kling-callbacks", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the driver thread and the pool. Attempts already sending may finish (within
        `timeout`); queued ones are not sent. The queue runs nothing afterwards."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._stopping = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        idle = self.wait_idle(max(0.0, deadline - time.monotonic()))
        self._pool.shutdown(wait=idle)

    # -- reading ----------------------------------------------------------------------------

    def journal(self) -> list[Attempt]:
        """Every attempt, sorted by (at_ms, seq, attempt, duplicate after original)."""
        with self._cond:
            entries = list(self._journal)
        return sorted(entries, key=Attempt.sort_key)

    def wait_for(self, match: Callable[[Attempt], bool], timeout: float) -> Attempt | None:
        """Block until a journal entry satisfies `match` (returned), or None after `timeout`."""

        def found() -> Attempt | None:
            return next((entry for entry in self._journal if match(entry)), None)

        with self._cond:
            self._cond.wait_for(lambda: found() is not None, timeout)
            return found()

    def restore(self, entries: list[Attempt]) -> None:
        """Put back a saved journal (after a restart); new notifications number after it."""
        with self._cond:
            self._journal.extend(entries)
            self._next_seq = max([self._next_seq, *(entry.seq + 1 for entry in entries)])

    def pending(self) -> int:
        """Notifications not finished (waiting, retrying or in flight)."""
        with self._cond:
            return sum(len(queue) for queue in self._queues.values())

    def reset(self) -> None:
        """Forget pending notifications, faults and journal; in-flight attempts finish unseen."""
        with self._cond:
            self._generation += 1
            self._queues.clear()
            self._busy.clear()
            self._faults.clear()
            self._journal.clear()
            self._next_seq = 0
            self._cond.notify_all()

    # -- internals: _next_due ... _record run with self._cond held ---------------------------

    def _next_due(self) -> int | None:
        dues = [q[0].due_ms for t, q in self._queues.items() if q and t not in self._busy]
        return min(dues, default=None)

    def _start_due(self) -> int:
        if self._stopping:
            return 0
        now = self.clock.now_ms()
        started = 0
        while True:
            ready = sorted(
                (
                    queue[0]
                    for task_id, queue in self._queues.items()
                    if task_id not in self._busy and queue and queue[0].due_ms <= now
                ),
                key=lambda note: (note.due_ms, note.seq),
            )
            if not ready:
                return started
            for note in ready:
                if not note.matched and not self._apply_fault(note, now):
                    continue  # dropped or postponed: look at the task's queue again
                try:
                    self._pool.submit(self._job, note, self._generation)
                except RuntimeError:  # the pool is gone (interpreter exit): nothing runs now
                    return started
                note.started = True
                self._busy.add(note.task_id)
                self._running += 1
                started += 1

    def _apply_fault(self, note: _Notification, now: int) -> bool:
        """Match faults as `note` first comes up to be sent; False when it must not go now."""
        note.matched = True
        fault = self._take_fault(note.task_id)
        if fault is None:
            return True
        note.fault = fault.action
        if fault.action == "drop":
            self._record(
                note.entry(
                    attempt=1,
                    at_ms=now,
                    http_status=None,
                    error=None,
                    latency_ms=0.0,
                    result="dropped",
                    fault="drop",
                )
            )
            self._finish(note)
            return False
        if fault.action == "delay":
            note.due_ms += round(fault.seconds * 1000)
            return note.due_ms <= now
        return True

    def _take_fault(self, task_id: str) -> CallbackFault | None:
        """The first fault that applies to `task_id`, with one of its `times` used up."""
        for index, fault in enumerate(self._faults):
            if fault.matches(task_id):
                if fault.times > 1:
                    self._faults[index] = dataclasses.replace(fault, times=fault.times - 1)
                else:
                    del self._faults[index]
                return fault
        return None

    def _finish(self, note: _Notification) -> None:
        """Take a delivered, given-up or dropped notification off the head of its queue."""
        queue = self._queues.get(note.task_id)
        if queue and queue[0] is note:
            queue.popleft()
            if not queue:
                del self._queues[note.task_id]
        self._cond.notify_all()

    def _record(self, entry: Attempt) -> None:
        self._journal.append(entry)
        if self.on_record is not None:
            self.on_record(entry)
        self._cond.notify_all()

    def _job(self, note: _Notification, generation: int) -> None:
        """On a pool thread: one attempt (and the duplicate send it may carry)."""
        try:
            with self._cond:
                live = generation == self._generation and not self._stopping
            if live:
                self._deliver(note, generation)
        finally:
            with self._cond:
                self._running -= 1
                if generation == self._generation:
                    self._busy.discard(note.task_id)
                self._cond.notify_all()

    def _deliver(self, note: _Notification, generation: int) -> None:
        attempt = note.attempts + 1

        def after_attempt(delivered: bool) -> str:
            note.attempts = attempt
            if delivered:
                self._finish_unless_duplicate(note)
                return "delivered"
            if attempt < self.policy.attempts:
                note.due_ms = self.clock.now_ms() + self.policy.backoff_ms(attempt)
                return "retrying"
            self._finish_unless_duplicate(note)
            return "gave_up"

        fault = "delay" if note.fault == "delay" else None
        result = self._attempt(note, generation, attempt, fault, after_attempt)
        if result in ("delivered", "gave_up") and note.fault == "duplicate":

            def after_duplicate(delivered: bool) -> str:
                self._finish(note)
                return "delivered" if delivered else "gave_up"

            self._attempt(note, generation, attempt, "duplicate", after_duplicate)

    def _finish_unless_duplicate(self, note: _Notification) -> None:
        if note.fault != "duplicate":  # a duplicate finishes after its second send
            self._finish(note)

    def _attempt(
        self,
        note: _Notification,
        generation: int,
        attempt: int,
        fault: str | None,
        after: Callable[[bool], str],
    ) -> str | None:
        """Send once and journal it; `after` (run under the lock) updates the notification and
        names the result. None when a reset made this attempt moot."""
        at_ms = self.clock.now_ms()
        http_status, error, latency_ms = self._send(note)
        with self._cond:
            if generation != self._generation:
                return None
            result = after(_is_2xx(http_status))
            entry = note.entry(
                attempt=attempt,
                at_ms=at_ms,
                http_status=http_status,
                error=error,
                latency_ms=latency_ms,
                result=result,
                fault=fault,
            )
            self._record(entry)
            return result

    def _send(self, note: _Notification) -> tuple[int | None, str | None, float]:
        """Call the sender (never under the lock); any exception becomes the error text."""
        started = time.perf_counter()
        try:
            http_status, error = self._sender(note.url, note.body, self.policy.timeout_seconds)
        except Exception as exc:
            http_status, error = None, f"sender raised {type(exc).__name__}: {exc}"
        latency_ms = (time.perf_counter() - started) * 1000
        if not _is_2xx(http_status) and error is None:
            error = "no answer" if http_status is None else _answer_error(http_status)
        return http_status, error, latency_ms

    def _drive(self) -> None:
        """The background driver: run what is due, then sleep until the next due time or a
        change (enqueue, completion, fault, reset, stop)."""
        with self._cond:
            while not self._stopping:
                self._start_due()
                due = self._next_due()
                nap = None
                if due is not None:
                    nap = min(max(0.0, (due - self.clock.now_ms()) / 1000), _MAX_NAP_SECONDS)
                self._cond.wait(nap)


def _is_2xx(status: int | None) -> bool:
    return status is not None and 200 <= status < 300
