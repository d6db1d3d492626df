"""The threads that run the core's dispatcher: a driver thread that calls it when something falls
due, and a pool of sender threads. The core says what is due and what one send does; this
adapter owns every thread, and what waits on them (idle, a journaled attempt, a kick)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager


class ThreadRunner:
    """A `mock_kling.core.dispatch.Runner` on threads: `workers` sends at once at most."""

    def __init__(self, workers: int = 8) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._running = 0  # jobs on the pool
        self._recorded = 0  # attempts journaled: wakes wait_recorded
        self._changed = False  # kicked since the driver last looked
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._claiming = threading.Lock()  # one claimer at a time: claims never outrun the pool
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mock-kling-cb")

    @property
    def stopping(self) -> bool:
        return self._stopping

    def claiming(self) -> AbstractContextManager[object]:
        """Held while claiming deliveries for the free slots (one claimer at a time)."""
        return self._claiming

    def free_slots(self) -> int:
        with self._cond:
            return max(0, self._workers - self._running)

    def submit(self, job: Callable[[], None]) -> bool:
        """Run `job` on a pool thread; False when the pool is gone (interpreter exit)."""
        with self._cond:
            self._running += 1
        try:
            self._pool.submit(self._run, job)
        except RuntimeError:
            with self._cond:
                self._running -= 1
            return False
        return True

    def kick(self) -> None:
        """Something was queued or changed: the driver looks again now."""
        with self._cond:
            self._changed = True
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no job is running; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._running == 0, timeout)

    def recorded(self) -> int:
        """How many attempts were journaled so far (for `wait_recorded`)."""
        with self._cond:
            return self._recorded

    def record(self) -> None:
        """An attempt was journaled: wake whoever waits for one."""
        with self._cond:
            self._recorded += 1
            self._cond.notify_all()

    def wait_recorded(self, seen: int, timeout: float) -> None:
        """Block until an attempt is journaled after `seen` were, or `timeout` passed."""
        with self._cond:
            if self._recorded == seen:
                self._cond.wait(timeout)

    def start(self, drive: Callable[[], float]) -> None:
        """Call `drive` on a daemon thread over and over until stopped; after each call wait at
        most the seconds it returned, or until kicked. Idempotent."""
        with self._cond:
            if self._stopping:
                raise RuntimeError("the callback dispatcher is stopped")
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._drive, args=(drive,), name="mock-kling-driver", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the driver and the pool; jobs in flight may finish within `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._stopping = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        idle = self.wait_idle(max(0.0, deadline - time.monotonic()))
        self._pool.shutdown(wait=idle)

    def _drive(self, drive: Callable[[], float]) -> None:
        while not self._stopping:
            nap = drive()
            with self._cond:
                if not self._changed and not self._stopping:
                    self._cond.wait(nap)
                self._changed = False

    def _run(self, job: Callable[[], None]) -> None:
        try:
            job()
        finally:
            with self._cond:
                self._running -= 1
                self._changed = True
                self._cond.notify_all()
