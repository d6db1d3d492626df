"""The Redis store's calls that the hot GETs make, on the server's asyncio event loop: no thread
hand-off, and no round trip of its own for each request. The calls queued while a batch is on
its way go together in the next one, as one pipeline (redis-py's asyncio client), so under load
one round trip answers many requests."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import redis
import redis.asyncio

from mock_kling.core.faults import FaultRule
from mock_kling.core.journal import RequestRecord, bounded
from mock_kling.core.limits import Limits
from mock_kling.core.store import StoreError
from mock_kling.core.tasks import Task
from mock_kling.store.redis import codec
from mock_kling.store.redis.connect import CLIENT_OPTIONS
from mock_kling.store.redis.scripts import script

# The scripts these calls run (each by EVALSHA; loaded when the server does not know it).
_NAMES = ("admission", "find_task", "page", "journal_push")
_FAILURES = (redis.RedisError, OSError)
_T = TypeVar("_T")
_Queued = tuple[str, tuple[Any, ...], Callable[[Any], Any], "asyncio.Future[Any]"]


class RedisLoopReads:
    """`admission`, `find_task`, `page` and `add_request` of one namespace, on the event loop they
    are called on (one at a time: a call on another loop starts a client of its own). Each call
    queues its command and returns a future at once, so calls made one after another (without
    awaiting in between) share a round trip."""

    def __init__(
        self, redis_url: str, prefix: str, shown_url: str, request_limit: int,
        task_cache: codec.TaskCache,
    ) -> None:  # fmt: skip
        self._url = redis_url
        self._client: Any = None  # made on the loop it serves (an asyncio client keeps to one)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._prefix, self._shown = prefix, shown_url
        self._request_limit = request_limit
        self._decoded = task_cache  # the store's codec.TaskCache: a task decoded once
        self._scripts = {name: script(name) for name in _NAMES}
        self._shas = {
            name: hashlib.sha1(text.encode()).hexdigest() for name, text in self._scripts.items()
        }
        self._queued: list[_Queued] = []
        self._sending: asyncio.Task[None] | None = None

    # --- the calls: each is the RedisStore call of the same name --------------------------------

    def admission(self, account: str) -> asyncio.Future[tuple[list[FaultRule], Limits | None]]:
        return self._call("admission", (account,), codec.load_admission)

    def find_task(self, account: str, ref: str) -> asyncio.Future[Task | None]:
        return self._call("find_task", (account, ref), self._task_or_none)

    def page(self, account: str, page_num: int, page_size: int) -> asyncio.Future[list[Task]]:
        start = (page_num - 1) * page_size
        return self._call("page", (account, start, start + page_size - 1), self._tasks)

    def add_request(self, record: RequestRecord) -> asyncio.Future[None]:
        text = codec.dump_request(bounded(record))
        return self._call("journal_push", ("requests", text, self._request_limit), _nothing)

    async def close(self) -> None:
        """Let go of the connection, on the loop it was made on (a later call connects again)."""
        client, self._client, self._loop = self._client, None, None
        if client is not None:
            close = getattr(client, "aclose", None) or client.close  # aclose: redis-py >= 5.0.1
            await close()

    # --- batching -------------------------------------------------------------------------------

    def _call(
        self, name: str, args: tuple[Any, ...], decode: Callable[[Any], _T]
    ) -> asyncio.Future[_T]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # the first call, or one from another loop (another test)
            # No retry of its own: a request whose batch failed is answered by the thread-pool
            # path, which retries on a fresh connection.
            self._client = redis.asyncio.Redis.from_url(self._url, **CLIENT_OPTIONS)
            self._loop, self._queued, self._sending = loop, [], None
        future: asyncio.Future[_T] = loop.create_future()
        self._queued.append((name, args, decode, future))
        if self._sending is None:
            self._sending = asyncio.ensure_future(self._send_queued())
        return future

    async def _send_queued(self) -> None:
        """Send what is queued, then what was queued meanwhile, until nothing is."""
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                await self._send(batch)
        finally:
            self._sending = None

    async def _send(self, batch: list[_Queued]) -> None:
        try:
            replies = await self._pipeline(batch)
            missing = [i for i, reply in enumerate(replies) if _no_script(reply)]
            if missing:  # the server lost its scripts (a restart, SCRIPT FLUSH): load, send again
                for name in {batch[i][0] for i in missing}:
                    await self._client.script_load(self._scripts[name])
                again = await self._pipeline([batch[i] for i in missing])
                for i, reply in zip(missing, again, strict=True):
                    replies[i] = reply
        except _FAILURES as exc:
            replies = [exc] * len(batch)
        for (_, _, decode, future), reply in zip(batch, replies, strict=True):
            if future.done():  # its request went away
                continue
            if isinstance(reply, Exception):
                future.set_exception(StoreError(self._shown, str(reply) or type(reply).__name__))
                continue
            try:
                future.set_result(decode(reply))
            except Exception as exc:  # a reply we cannot read: the caller records it
                future.set_exception(exc)

    async def _pipeline(self, batch: list[_Queued]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for name, args, _, _ in batch:
            pipe.evalsha(self._shas[name], 1, self._prefix, *args)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies

    # --- replies --------------------------------------------------------------------------------

    def _task_or_none(self, text: Any) -> Task | None:
        return self._decoded.load(text) if text else None  # false: None, or False on RESP3

    def _tasks(self, texts: list[Any]) -> list[Task]:
        return [self._decoded.load(text) for text in texts if text is not None]


def _nothing(reply: Any) -> None:
    return None


def _no_script(reply: Any) -> bool:
    return isinstance(reply, redis.exceptions.NoScriptError)
