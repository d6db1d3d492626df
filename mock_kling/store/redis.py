"""The Redis store: one fake's state in Redis, shared by replicas on several hosts; tenants share
one Redis through namespaces. Open it with `open_redis("redis://host:port/db?namespace=team-a")`.

Keys (P = "mock-kling:{namespace}:"): P task:<id> (task JSON), P order:<account> and P all (zsets
by creation: newest-first pages in O(log n + page)), P ext:<account> (hash external id -> id),
P video (hash), P steps (zset task -> time of its next unannounced step) with P stepidx (hash),
P limits / P usage (hashes by account), P fault_rules / P next_outcomes / P callback_faults (JSON),
P requests / P attempts (capped lists, newest first), P clock, P dseq, P taskseq, P pending
(counters), P q:<task> (a task's delivery queue), P due (zset of unclaimed heads), P claims (hash
task -> claim token) with P leases (zset task -> lease end), P lock (`atomic()`).

Atomicity: single-key writes are atomic by themselves; what two replicas could race on is one Lua
script (`redis_scripts`); read-modify-write groups (the backend's `atomic()`, re-plans, step
announcements, reset) hold a short lock shared by the replicas (`redis_lock`). Claims carry a
lease (real time, Redis's clock): a replica that dies mid-delivery loses them when it ends."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from mock_kling.core.store import StoreError
from mock_kling.core.tasks import TERMINAL, Step, Task
from mock_kling.store import redis_codec as codec
from mock_kling.store.redis_accounts import RedisAccounts
from mock_kling.store.redis_base import guarded

_PASSWORD = re.compile(r"//[^/@]*@")  # messages show the URL without credentials
_NAMESPACE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_OPTIONS = {"namespace": "default", "lease": "60", "lock_ttl": "10"}  # ours, not redis-py's


def open_redis(
    url: str, *, request_limit: int = 10_000, attempt_limit: int = 100_000
) -> RedisStore:
    """A store from `redis://[:password@]host:port/db` or `unix:///path?db=0`, with our options
    in the query: namespace (default "default"), lease (seconds a replica may hold a claimed
    callback, 60) and lock_ttl (seconds `atomic()` may hold the shared lock, 10)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"not a Redis URL: {url!r}")
    query = dict(parse_qsl(parts.query))
    ours = {name: query.pop(name, default) for name, default in _OPTIONS.items()}
    if not _NAMESPACE.match(ours["namespace"]):
        raise ValueError(f"namespace must match {_NAMESPACE.pattern} (got {ours['namespace']!r})")
    base = url.partition("?")[0]
    client = redis.Redis.from_url(
        f"{base}?{urlencode(query)}" if query else base,
        socket_timeout=5.0,
        socket_connect_timeout=2.0,
        retry=Retry(NoBackoff(), 1),  # once, on a fresh connection: a restarted server
        decode_responses=True,
    )
    limits = (request_limit, attempt_limit, float(ours["lease"]), float(ours["lock_ttl"]))
    return RedisStore(client, ours["namespace"], _PASSWORD.sub("//", url), *limits)


class RedisStore(RedisAccounts):
    """Everything one fake remembers, in Redis under `mock-kling:{namespace}:`."""

    shared = True

    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        url: str,
        request_limit: int = 10_000,
        attempt_limit: int = 100_000,
        lease_seconds: float = 60.0,
        lock_ttl_seconds: float = 10.0,
    ) -> None:
        super().__init__(client, namespace, url, lease_seconds, lock_ttl_seconds)
        self._request_limit, self._attempt_limit = request_limit, attempt_limit
        self._decoded = codec.TaskCache()

    # --- tasks ------------------------------------------------------------------------------

    @guarded
    def add_task(self, task: Task) -> None:
        first = _next_step_at(task, 1)
        external = task.request.external_task_id or ""
        added = self._run(
            "ADD_TASK", task.task_id, task.account_id, codec.dump_task(task), external,
            task.video_id, "" if first is None else first,
        )  # fmt: skip
        if not added:
            raise StoreError(self.url, f"task id {task.task_id} is taken")

    @guarded
    def replan(self, task_id: str, task: Task) -> None:
        with self._lock:
            index = self._r.hget(self._p + "stepidx", task_id)
            pipe = self._r.pipeline()
            pipe.set(self._p + "task:" + task_id, codec.dump_task(task))
            if index is not None:
                self._schedule(pipe, task, int(index))
            pipe.execute()

    @guarded
    def task(self, task_id: str) -> Task | None:
        text = self._call("GET", self._p + "task:" + task_id)
        return None if text is None else self._decoded.load(text)

    @guarded
    def find_task(self, account: str, ref: str) -> Task | None:
        text = self._run("FIND_TASK", account, ref)  # a script's false: None, or False on RESP3
        return self._decoded.load(text) if text else None

    @guarded
    def external_id_taken(self, account: str, external_task_id: str) -> bool:
        return bool(self._call("HEXISTS", self._p + "ext:" + account, external_task_id))

    @guarded
    def page(self, account: str, page_num: int, page_size: int) -> list[Task]:
        start = (page_num - 1) * page_size
        texts = self._run("PAGE", account, start, start + page_size - 1)
        return [self._decoded.load(text) for text in texts if text is not None]

    @guarded
    def all_tasks(self) -> list[Task]:
        ids = list(self._r.zrevrange(self._p + "all", 0, -1))
        return list(self._tasks(ids))

    @guarded
    def id_taken(self, value: str) -> bool:
        return bool(self._run("ID_TAKEN", value))

    @guarded
    def task_by_video(self, video_id: str) -> Task | None:
        task_id = self._r.hget(self._p + "video", video_id)
        return None if task_id is None else self.task(task_id)

    @guarded
    def task_count(self) -> int:
        return int(self._r.zcard(self._p + "all"))

    @guarded
    def pop_reached_steps(self, now_ms: int) -> list[tuple[Task, Step]]:
        if not self._r.zrangebyscore(self._p + "steps", "-inf", now_ms, start=0, num=1):
            return []
        with self._lock:
            due = self._r.zrangebyscore(self._p + "steps", "-inf", now_ms, withscores=True)
            if not due:  # another replica announced them between the look and the lock
                return []
            ids = [id for id, _ in due]
            indexes = self._r.hmget(self._p + "stepidx", ids)
            tasks = dict(zip(ids, self._tasks(ids), strict=True))
            heap = [(int(at), id, int(i)) for (_, at), id, i in zip(due, ids, indexes, strict=True)]
            heapq.heapify(heap)
            reached, last = [], {}
            while heap:
                _, task_id, index = heapq.heappop(heap)
                task = tasks[task_id]
                reached.append((task, task.timeline[index]))
                last[task_id] = index + 1
                at = _next_step_at(task, index + 1)
                if at is not None and at <= now_ms:
                    heapq.heappush(heap, (at, task_id, index + 1))
            pipe = self._r.pipeline()
            for task_id, index in last.items():
                self._schedule(pipe, tasks[task_id], index)
            pipe.execute()
        return reached

    @guarded
    def next_step_ms(self) -> int | None:
        found = self._r.zrange(self._p + "steps", 0, 0, withscores=True)
        return int(found[0][1]) if found else None

    def _tasks(self, ids: list[str]) -> Iterable[Task]:
        for start in range(0, len(ids), 1000):
            keys = [self._p + "task:" + id for id in ids[start : start + 1000]]
            yield from (self._decoded.load(text) for text in self._r.mget(keys))

    def _schedule(self, pipe: redis.client.Pipeline, task: Task, index: int) -> None:
        """Queue the task's next unannounced step (`index`); forget a task whose end came."""
        task_id = task.task_id
        if task.timeline[index - 1].status in TERMINAL:
            pipe.hdel(self._p + "stepidx", task_id)
        else:
            pipe.hset(self._p + "stepidx", task_id, index)
        at = _next_step_at(task, index)
        if at is None:
            pipe.zrem(self._p + "steps", task_id)
        else:
            pipe.zadd(self._p + "steps", {task_id: at})


def _next_step_at(task: Task, index: int) -> int | None:
    """When step `index` falls due, if it is still to be announced after step `index - 1`."""
    if task.timeline[index - 1].status in TERMINAL or index >= len(task.timeline):
        return None
    return task.timeline[index].at_ms
