"""The only reader of wall time: a system clock for `serve`, a manual clock for tests, and a
manual clock kept in a shared store for replicas."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mock_kling.core.store import Store


class Clock(Protocol):
    """Anything that tells the current time in Unix milliseconds."""

    def now_ms(self) -> int: ...


class SystemClock:
    """Wall-clock time, for a dev server."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when told to: tests advance it instead of sleeping. Its time lives
    in this object, or in a shared store once `keep_in(store)` is called: then the store is the
    time's one writer and replicas sharing the store share the time."""

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:  # 2026-01-01T00:00:00Z
        self._now_ms = start_ms
        self._lock = threading.Lock()  # guards this object's own time (not the store's)
        self._driver: Callable[[float], int] | None = None  # the fake this clock drives
        self._store: Store | None = None

    def keep_in(self, store: Store) -> None:
        """From now on keep the time in `store`: resume at its time, or give an empty store this
        clock's time (the first start)."""
        with self._lock:
            if store.clock_ms() is None:
                store.set_clock_ms(self._now_ms)
            self._store = store

    def now_ms(self) -> int:
        store = self._store
        stored = None if store is None else store.clock_ms()
        if stored is not None:
            return stored
        with self._lock:  # no store, or a reset of the store forgot its time
            return self._now_ms

    def advance(self, seconds: float) -> int:
        """Move forward by `seconds` (never backwards) and return the new time in ms. A clock
        that drives a fake (`create_app(config, clock=clock)`) advances through the fake, so
        every transition, callback and retry that falls due on the way runs, in order."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward (got {seconds} seconds)")
        if self._driver is not None:
            return self._driver(seconds)
        return self.add_ms(round(seconds * 1000))

    def add_ms(self, delta_ms: int) -> int:
        """Atomically move forward by `delta_ms` and return the new time: concurrent moves add
        up, none is lost (the store's `add_clock_ms` when the store keeps the time)."""
        if delta_ms < 0:
            raise ValueError(f"a clock only moves forward (got {delta_ms} ms)")
        if self._store is not None:
            return self._store.add_clock_ms(delta_ms)
        with self._lock:
            self._now_ms += delta_ms
            return self._now_ms

    def raise_to(self, to_ms: int) -> int:
        """Atomically move to `to_ms` unless the time is already past it; the time after."""
        if self._store is not None:
            return self._store.raise_clock_ms(to_ms)
        with self._lock:
            self._now_ms = max(self._now_ms, to_ms)
            return self._now_ms

    def bind(self, driver: Callable[[float], int]) -> None:
        """Advance through `driver` from now on (the fake's settling advance)."""
        self._driver = driver

    def reset_to(self, now_ms: int) -> None:
        """Put the clock at `now_ms`, even backwards (for a full reset of the fake)."""
        with self._lock:
            self._now_ms = now_ms
            if self._store is not None:
                self._store.set_clock_ms(now_ms)

    def set_ms(self, now_ms: int) -> None:
        """Jump to an absolute time in ms; it must not be earlier than now."""
        current = self.now_ms()
        if now_ms < current:
            raise ValueError(f"a clock only moves forward ({now_ms} < {current})")
        self.raise_to(now_ms)


class StoreClock(ManualClock):
    """A manual clock kept in a shared store from the start (`serve --clock manual` on SQLite
    or Redis): an advance on any replica moves them all."""

    def __init__(self, store: Store, start_ms: int = 1_767_225_600_000) -> None:
        super().__init__(start_ms)
        self.keep_in(store)
