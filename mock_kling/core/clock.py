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
    """A clock that moves only when told to: tests advance it instead of sleeping."""

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:  # 2026-01-01T00:00:00Z
        self._now_ms = start_ms
        self._lock = threading.Lock()
        self._driver: Callable[[float], int] | None = None  # the fake this clock drives

    def now_ms(self) -> int:
        with self._lock:
            return self._now_ms

    def advance(self, seconds: float) -> int:
        """Move forward by `seconds` (never backwards) and return the new time in ms. A clock
        that drives a fake (`create_app(config, clock=clock)`) advances through the fake, so
        every transition, callback and retry that falls due on the way runs, in order."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward (got {seconds} seconds)")
        if self._driver is not None:
            return self._driver(seconds)
        with self._lock:
            self._now_ms += round(seconds * 1000)
            return self._now_ms

    def bind(self, driver: Callable[[float], int]) -> None:
        """Advance through `driver` from now on (the fake's settling advance)."""
        self._driver = driver

    def reset_to(self, now_ms: int) -> None:
        """Put the clock at `now_ms`, even backwards (for a full reset of the fake)."""
        with self._lock:
            self._now_ms = now_ms

    def set_ms(self, now_ms: int) -> None:
        """Jump to an absolute time in ms; it must not be earlier than now."""
        with self._lock:
            if now_ms < self._now_ms:
                raise ValueError(f"a clock only moves forward ({now_ms} < {self._now_ms})")
            self._now_ms = now_ms


class StoreClock(ManualClock):
    """A manual clock whose time is the store's (`Store.clock_ms`): replicas sharing a store
    share it, so an advance on any of them moves them all. Only for shared stores: every read
    asks the store."""

    def __init__(self, store: Store, start_ms: int = 1_767_225_600_000) -> None:
        super().__init__(start_ms)
        self._store = store
        if store.clock_ms() is None:
            store.set_clock_ms(start_ms)

    def now_ms(self) -> int:
        stored = self._store.clock_ms()
        return self._fallback() if stored is None else stored

    def reset_to(self, now_ms: int) -> None:
        super().reset_to(now_ms)
        self._store.set_clock_ms(now_ms)

    def set_ms(self, now_ms: int) -> None:
        """Jump to `now_ms`, unless another replica already moved the store's time past it."""
        with self._store.atomic():
            if now_ms > self.now_ms():
                self._store.set_clock_ms(now_ms)

    def _fallback(self) -> int:
        """The time before the store has one (a reset forgot it): this clock's last own time."""
        return super().now_ms()
