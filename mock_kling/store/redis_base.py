"""What the Redis store's parts share: the client, the key prefix of a namespace, the Lua
scripts, the lock of `atomic()`, reset, and the one way Redis errors leave the store (StoreError
naming the store's URL)."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import redis

from mock_kling.core.store import StoreError
from mock_kling.store import redis_scripts
from mock_kling.store.redis_lock import RedisLock
from mock_kling.store.redis_pinned import Pinned

_P = ParamSpec("_P")
_R = TypeVar("_R")
_S = TypeVar("_S", bound="RedisBase")
_SCRIPTS = (
    "ADD_TASK",
    "PAGE",
    "FIND_TASK",
    "ID_TAKEN",
    "ADMISSION",
    "ADD_DELIVERY",
    "CLAIM_DUE",
    "NEXT_DUE",
    "PUT_BACK",
    "FINISH",
    "CANCEL",
)


class RedisBase:
    """A client on one namespace: keys are `mock-kling:{namespace}:<name>` (the braces make the
    namespace a hash tag: a namespace's keys share one Redis Cluster slot)."""

    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        url: str,
        lease_seconds: float = 60.0,
        lock_ttl_seconds: float = 10.0,
    ) -> None:
        self.url, self.namespace = url, namespace  # namespace: [A-Za-z0-9._-], no glob character
        # redis-py types replies as unions that depend on decode_responses; ours are str
        # (decode_responses=True), read through the codec.
        self._r: Any = client
        self._p = f"mock-kling:{{{namespace}}}:"
        scripts = {name: client.register_script(getattr(redis_scripts, name)) for name in _SCRIPTS}
        self._scripts = scripts
        self._lease_ms = round(lease_seconds * 1000)  # how long a claimed callback stays ours
        self._token = secrets.token_hex(8)  # this replica's claims
        ttl_ms = round(lock_ttl_seconds * 1000)
        self._call = Pinned(client)  # hot commands: `self._call("GET", key)`
        lock = self._p + "lock"
        self._lock = RedisLock(client, self._call, lock, ttl_ms, lock_ttl_seconds, self.failure)

    def atomic(self) -> RedisLock:
        return self._lock

    def reset(self) -> None:
        """Delete this namespace's keys (other namespaces on the server are left alone)."""
        try:
            with self._lock:
                lock = self._p + "lock"
                keys = [k for k in self._r.scan_iter(match=self._p + "*", count=1000) if k != lock]
                for start in range(0, len(keys), 1000):
                    self._r.unlink(*keys[start : start + 1000])
        except redis.RedisError as exc:
            raise self.failure(exc) from exc

    def failure(self, error: Exception) -> StoreError:
        return StoreError(self.url, str(error) or type(error).__name__)

    def close(self) -> None:
        """Drop this store's connections (a store is usable again afterwards: it reconnects)."""
        self._r.close()

    def _run(self, name: str, *args: Any) -> Any:
        """Run one of `redis_scripts` (the prefix is its first argument)."""
        return self._call.script(self._scripts[name], [], [self._p, *args])


def guarded(
    method: Callable[Concatenate[_S, _P], _R],
) -> Callable[Concatenate[_S, _P], _R]:
    """Redis errors leave the store as StoreError, naming the store."""

    @functools.wraps(method)
    def run(self: _S, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except redis.RedisError as exc:
            raise self.failure(exc) from exc

    return cast("Callable[Concatenate[_S, _P], _R]", run)
