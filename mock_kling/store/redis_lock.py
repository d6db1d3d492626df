"""The Redis store's `atomic()`: a short lock shared by every replica (SET NX PX with a random
token, released by a compare-and-delete script), re-entrant per thread. Threads of one process
queue on a local lock first, so only one of them at a time polls Redis for the shared one."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from types import TracebackType

import redis

from mock_kling.store import redis_scripts
from mock_kling.store.redis_pinned import Pinned

_log = logging.getLogger("mock_kling")
_FIRST_WAIT_S = 0.0002
_LONGEST_WAIT_S = 0.005


class RedisLock:
    """A context manager; a holder keeps the lock at most `ttl_ms` (then it expires, so a replica
    that dies holding it blocks the others no longer than that), and a waiter gives up after
    `wait_s`. Redis errors leave as `fail(error)` (the store's own error type)."""

    def __init__(
        self,
        client: redis.Redis,
        call: Pinned,
        key: str,
        ttl_ms: int,
        wait_s: float,
        fail: Callable[[redis.RedisError], Exception],
    ) -> None:
        self._call, self._key, self._fail = call, key, fail
        self._ttl_ms, self._wait_s = ttl_ms, wait_s
        self._local_lock = threading.RLock()
        self._depth = threading.local()
        self._token = ""
        self._unreleased: list[str] = []  # ours, not released (Redis was down, then came back)
        self._unlock = client.register_script(redis_scripts.UNLOCK)

    def __enter__(self) -> RedisLock:
        self._local_lock.acquire()
        depth: int = getattr(self._depth, "value", 0)
        if depth == 0:
            try:
                self._acquire()
            except redis.RedisError as exc:
                self._local_lock.release()
                raise self._fail(exc) from exc
            except BaseException:
                self._local_lock.release()
                raise
        self._depth.value = depth + 1
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._depth.value -= 1
        try:
            if self._depth.value == 0:
                self._call.script(self._unlock, [self._key], [self._token])
        except redis.RedisError as exc:  # released by the next acquire, or expires by itself
            _log.warning("mock-kling could not release %s: %s", self._key, exc)
            self._unreleased.append(self._token)
        finally:
            self._local_lock.release()

    def _acquire(self) -> None:
        while self._unreleased:  # a Redis that keeps its data across a restart kept our lock
            self._call.script(self._unlock, [self._key], [self._unreleased[-1]])
            self._unreleased.pop()
        token = secrets.token_hex(8)
        deadline = time.monotonic() + self._wait_s
        wait = _FIRST_WAIT_S
        while not self._call("SET", self._key, token, "NX", "PX", self._ttl_ms):
            if time.monotonic() > deadline:
                raise redis.exceptions.LockError(
                    f"the lock {self._key} stayed taken for {self._wait_s:g} s"
                )
            time.sleep(wait)
            wait = min(wait * 2, _LONGEST_WAIT_S)
        self._token = token
