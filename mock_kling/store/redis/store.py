"""The Store protocol on Redis: one fake's state under `mock-kling:{namespace}:`, shared by the
replicas of a team server, on a single Redis server or a Redis Cluster. Every change that two
replicas could race on is one Lua script (`lua/`); plain reads and single-key writes are single
commands. Nothing holds a lock across replicas, so a replica that stops at any instant (killed,
frozen) delays no other: at worst its callback claims wait for their lease to end.

Keys (P = "mock-kling:{namespace}:", one hash tag: one Cluster slot): P task:<id> (task JSON),
P order:<account> and P all (zsets by creation: newest-first pages in O(log n + page)),
P ext:<account> (hash external id -> id), P video (hash), P steps (zset task -> time of its next
unannounced step) with P stepidx (hash task -> that step's index), P limits / P usage (hashes by
account) with P usagelog:<account> (the tasks counted in its usage since it was written),
P fault_rules / P next_outcomes / P callback_faults (JSON), P requests / P attempts
(capped lists, newest first), P clock, P dseq, P taskseq, P pending (counters), P q:<task> (a
task's delivery queue), P due (zset of unclaimed heads), P claims (hash task -> claim token)
with P leases (zset task -> lease end, the Redis server's clock), P takeover (set), P stepholds
(zset task -> end of a replica's hold on its due steps, the Redis server's clock)."""

from __future__ import annotations

import functools
import heapq
import itertools
import secrets
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Concatenate, ParamSpec, TypeVar, cast, get_args

import redis

from mock_kling.core.attempts import Attempt
from mock_kling.core.delivery import CallbackFault, Delivery
from mock_kling.core.faults import FaultRule
from mock_kling.core.journal import RequestRecord, bounded
from mock_kling.core.limits import Limits, Usage
from mock_kling.core.rules import NextOutcome
from mock_kling.core.store import Change, Committed, StoreError, SubmitFacts
from mock_kling.core.tasks import TERMINAL, Step, Task
from mock_kling.store.redis import codec
from mock_kling.store.redis.connect import connect, parse
from mock_kling.store.redis.loop import RedisLoopReads
from mock_kling.store.redis.scripts import Scripts

_P = ParamSpec("_P")
_R = TypeVar("_R")
_CLAIMS = itertools.count(1)  # a claim's token is "<replica token>:<n>"
_STEP_HOLD_MS = 2_000  # how long other replicas leave due steps to the one that read them
_EMPTY_LIST = "[]"
_COMMITTED: tuple[Committed, ...] = get_args(Committed)
# What redis-py raises when Redis fails (RedisClusterException is not a RedisError).
_FAILURES = (redis.RedisError, redis.exceptions.RedisClusterException)


def open_redis(
    url: str, *, request_limit: int = 10_000, attempt_limit: int = 100_000
) -> RedisStore:
    """A store from `redis://[:password@]host:port/db`, `rediss://...` or `unix:///path?db=0`
    (a Redis Cluster node: found out, and the whole cluster used), with our options in the
    query: namespace (default "default") and lease (seconds a replica may hold a claimed
    callback, 60)."""
    target = parse(url)
    client = connect(target)
    return RedisStore(
        client, target.namespace, target.shown, request_limit, attempt_limit, target.lease_seconds,
        loop_url=None if isinstance(client, redis.RedisCluster) else target.redis_url,
    )  # fmt: skip


def guarded(
    method: Callable[Concatenate[RedisStore, _P], _R],
) -> Callable[Concatenate[RedisStore, _P], _R]:
    """Redis errors leave the store as StoreError, naming the store."""

    @functools.wraps(method)
    def run(self: RedisStore, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except _FAILURES as exc:
            raise self.failure(exc) from exc

    return cast("Callable[Concatenate[RedisStore, _P], _R]", run)


class RedisStore:
    """Everything one fake remembers, in Redis under `mock-kling:{namespace}:`."""

    shared = True

    def __init__(
        self,
        client: redis.Redis | redis.RedisCluster,
        namespace: str,
        url: str,
        request_limit: int = 10_000,
        attempt_limit: int = 100_000,
        lease_seconds: float = 60.0,
        loop_url: str | None = None,
    ) -> None:
        self.url, self.namespace = url, namespace  # namespace: [A-Za-z0-9._-], no glob character
        # redis-py types replies as unions that depend on decode_responses; ours are str.
        self._r: Any = client
        self.cluster = isinstance(client, redis.RedisCluster)
        self._p = f"mock-kling:{{{namespace}}}:"
        self._run = Scripts(client, self._p)
        self._request_limit, self._attempt_limit = request_limit, attempt_limit
        self._lease_ms = round(lease_seconds * 1000)  # how long a claimed callback stays ours
        self._token = secrets.token_hex(8)  # this replica's claims
        self._decoded = codec.TaskCache()
        self._local = threading.RLock()
        self._loop_url = loop_url  # where `loop_reads` connects (None: it offers none)
        self._loop_reads: RedisLoopReads | None = None

    # --- lifetime -----------------------------------------------------------------------------

    def atomic(self) -> threading.RLock:
        """Other threads of this process do not interleave with the calls inside. Across
        replicas nothing is held: each call is atomic by itself, and a check-and-change that
        other replicas could race on is one call (`commit`, the claims, the steps, the clock)."""
        return self._local

    @guarded
    def reset(self) -> None:
        """Delete this namespace's keys (other namespaces on the server are left alone), in one
        atomic step."""
        self._run("reset")

    def failure(self, error: Exception) -> StoreError:
        return StoreError(self.url, str(error) or type(error).__name__)

    def close(self) -> None:
        """Drop this store's connections (a store is usable again afterwards: it reconnects)."""
        self._r.close()

    def loop_reads(self) -> RedisLoopReads | None:
        """The hot GETs' calls on the caller's event loop, batched into pipelines (a single
        server; on a Redis Cluster None: those calls are made from threads)."""
        if self._loop_url is None:
            return None
        if self._loop_reads is None:
            self._loop_reads = RedisLoopReads(
                self._loop_url, self._p, self.url, self._request_limit, self._decoded
            )
        return self._loop_reads

    def _cmd(self, *command: Any) -> Any:
        """One command, on a connection from the client's pool and back to it."""
        return self._r.execute_command(*command)

    # --- tasks ------------------------------------------------------------------------------

    @guarded
    def add_task(self, task: Task) -> None:
        first = _next_step_at(task, 1)
        external = task.request.external_task_id or ""
        added = self._run.once(
            "add_task", task.task_id, task.account_id, codec.dump_task(task), external,
            task.video_id, "" if first is None else first,
        )  # fmt: skip
        if not added:
            raise StoreError(self.url, f"task id {task.task_id} is taken")

    @guarded
    def replan(self, task_id: str, task: Task) -> None:
        schedule: list[Any] = []
        for index in range(1, len(task.timeline) + 1):
            at = _next_step_at(task, index)
            goes_on = task.timeline[index - 1].status not in TERMINAL
            schedule += ["1" if goes_on else "0", "" if at is None else at]
        self._run("replan", task_id, codec.dump_task(task), *schedule)

    @guarded
    def task(self, task_id: str) -> Task | None:
        text = self._cmd("GET", self._p + "task:" + task_id)
        return None if text is None else self._decoded.load(text)

    @guarded
    def find_task(self, account: str, ref: str) -> Task | None:
        text = self._run("find_task", account, ref)  # a script's false: None, or False on RESP3
        return self._decoded.load(text) if text else None

    @guarded
    def external_id_taken(self, account: str, external_task_id: str) -> bool:
        return bool(self._cmd("HEXISTS", self._p + "ext:" + account, external_task_id))

    @guarded
    def id_taken(self, value: str) -> bool:
        return bool(self._run("id_taken", value))

    @guarded
    def page(self, account: str, page_num: int, page_size: int) -> list[Task]:
        start = (page_num - 1) * page_size
        texts = self._run("page", account, start, start + page_size - 1)
        return [self._decoded.load(text) for text in texts if text is not None]

    @guarded
    def all_tasks(self) -> list[Task]:
        return [self._decoded.load(text) for text in self._run("all_tasks")]

    @guarded
    def task_by_video(self, video_id: str) -> Task | None:
        text = self._run("task_by_video", video_id)
        return self._decoded.load(text) if text else None

    @guarded
    def task_count(self) -> int:
        return int(self._cmd("ZCARD", self._p + "all"))

    @guarded
    def pop_reached_steps(self, now_ms: int) -> list[tuple[Task, Step]]:
        """Read (and hold for a moment) the tasks with a step due that no other replica holds
        (one script), work out what each reached, then announce them with one script that
        leaves alone a task another replica announced or re-planned meanwhile: every step is
        returned by exactly one replica."""
        if not self._cmd("ZRANGEBYSCORE", self._p + "steps", "-inf", now_ms, "LIMIT", 0, 1):
            return []
        found = self._run("steps_due", now_ms, _STEP_HOLD_MS)
        heap: list[tuple[int, str, int]] = []
        tasks: dict[str, Task] = {}
        read: dict[str, tuple[str, str]] = {}
        for task_id, due, index, text in zip(*[iter(found)] * 4, strict=True):
            if not index or not text:
                continue
            tasks[task_id] = self._decoded.load(text)
            read[task_id] = (due, index)
            heap.append((int(float(due)), task_id, int(index)))
        heapq.heapify(heap)
        reached: dict[str, list[tuple[int, Step]]] = {}
        last: dict[str, int] = {}
        while heap:
            at, task_id, index = heapq.heappop(heap)
            task = tasks[task_id]
            reached.setdefault(task_id, []).append((at, task.timeline[index]))
            last[task_id] = index + 1
            following = _next_step_at(task, index + 1)
            if following is not None and following <= now_ms:
                heapq.heappush(heap, (following, task_id, index + 1))
        if not last:
            return []
        announce: list[Any] = []
        for task_id, index in last.items():
            task = tasks[task_id]
            goes_on = task.timeline[index - 1].status not in TERMINAL
            following = _next_step_at(task, index)
            announce += [task_id, *read[task_id], index if goes_on else ""]
            announce.append("" if following is None else following)
        mine = set(self._run("steps_announce", *announce))
        ordered = sorted(
            (at, task_id, n, step)
            for task_id, steps in reached.items()
            if task_id in mine
            for n, (at, step) in enumerate(steps)
        )
        return [(tasks[task_id], step) for _, task_id, _, step in ordered]

    @guarded
    def next_step_ms(self) -> int | None:
        """The earliest due step that no other replica is announcing right now (a step held
        by a replica that died shows again when the hold lapses)."""
        due = self._run("next_step")
        return None if due is None or due is False else int(due)

    # --- accounts ---------------------------------------------------------------------------

    @guarded
    def limits(self, account: str) -> Limits | None:
        text = self._cmd("HGET", self._p + "limits", account)
        return None if text is None else codec.load_limits(text)

    @guarded
    def set_limits(self, account: str, limits: Limits) -> None:
        self._cmd("HSET", self._p + "limits", account, codec.dump_limits(limits))

    @guarded
    def changed_limits(self) -> dict[str, Limits]:
        found = self._r.hgetall(self._p + "limits")
        return {name: codec.load_limits(text) for name, text in found.items()}

    @guarded
    def usage(self, account: str) -> Usage:
        stored, counted = self._run("usage", account)
        return codec.load_usage_parts(stored, counted)

    @guarded
    def put_usage(self, account: str, usage: Usage) -> None:
        self._run("put_usage", account, codec.dump_usage(usage))

    @guarded
    def admission(self, account: str) -> tuple[list[FaultRule], Limits | None]:
        return codec.load_admission(self._run("admission", account))

    @guarded
    def submit_facts(self, account: str, usage_too: bool) -> SubmitFacts:
        found = self._run("submit_facts", account, "1" if usage_too else "")
        limits, rules, stored, counted = found  # each false (None) when not set or not read
        return SubmitFacts(
            None if counted is None else codec.load_usage_parts(stored, counted),
            codec.load_limits(limits) if limits else None,
            codec.load_next_outcomes(rules) if rules else [],
        )

    # --- one check-and-change across replicas -------------------------------------------------

    @guarded
    def commit(self, change: Change) -> Committed:
        """One script: the facts compared with their text as read, then every write."""
        args: list[Any] = [change.account]
        usage = change.usage
        args += ["", "", "", ""] if usage is None else [
            "cas", usage[0].read_as or "0|", "", codec.dump_usage(usage[1]),
        ]  # fmt: skip
        facts: list[tuple[Any, Callable[[Any], str], str]] = [
            (change.fault_rules, codec.dump_fault_rules, _EMPTY_LIST),
            (change.next_outcomes, codec.dump_next_outcomes, _EMPTY_LIST),
            (change.callback_faults, codec.dump_callback_faults, _EMPTY_LIST),
            (change.limits, _dump_limits, ""),  # None as read: not set (the server's defaults)
        ]
        for fact, dump, empty in facts:
            if fact is None:
                args += ["", "", "", ""]
            else:
                args += ["cas", dump(fact[0]), empty, dump(fact[1])]
        args.append("" if change.counted is None else codec.dump_counted(change.counted))
        task = change.task
        if task is None:
            args += ["", "", "", "", ""]
        else:
            first = _next_step_at(task, 1)
            args += [
                task.task_id, codec.dump_task(task), task.request.external_task_id or "",
                task.video_id, "" if first is None else first,
            ]  # fmt: skip
        for delivery in change.deliveries:
            args += [delivery.task_id, codec.dump_delivery(delivery), delivery.due_ms]
        answer = self._run.once("commit", *args)
        return next(known for known in _COMMITTED if known == answer)

    # --- rules ------------------------------------------------------------------------------

    def fault_rules(self) -> list[FaultRule]:
        return self._get("fault_rules", codec.load_fault_rules, [])

    def put_fault_rules(self, rules: list[FaultRule]) -> None:
        self._set("fault_rules", codec.dump_fault_rules(rules))

    def next_outcomes(self) -> list[NextOutcome]:
        return self._get("next_outcomes", codec.load_next_outcomes, [])

    def put_next_outcomes(self, rules: list[NextOutcome]) -> None:
        self._set("next_outcomes", codec.dump_next_outcomes(rules))

    def callback_faults(self) -> list[CallbackFault]:
        return self._get("callback_faults", codec.load_callback_faults, [])

    def put_callback_faults(self, faults: list[CallbackFault]) -> None:
        self._set("callback_faults", codec.dump_callback_faults(faults))

    @guarded
    def _get(self, name: str, load: Callable[[str], _R], default: _R) -> _R:
        text = self._cmd("GET", self._p + name)
        return default if text is None else load(text)

    @guarded
    def _set(self, name: str, text: str) -> None:
        self._cmd("SET", self._p + name, text)

    # --- journals ---------------------------------------------------------------------------

    def add_request(self, record: RequestRecord) -> None:
        self._push("requests", codec.dump_request(bounded(record)), self._request_limit)

    def requests(self) -> list[RequestRecord]:
        return [codec.load_request(t) for t in self._journal("requests", self._request_limit)]

    def add_attempt(self, attempt: Attempt) -> None:
        self._push("attempts", codec.dump_attempt(attempt), self._attempt_limit)

    def attempts(self) -> list[Attempt]:
        return [codec.load_attempt(t) for t in self._journal("attempts", self._attempt_limit)]

    @guarded
    def _push(self, name: str, text: str, limit: int) -> None:
        self._run("journal_push", name, text, limit)

    @guarded
    def _journal(self, name: str, limit: int) -> list[str]:
        return list(reversed(self._cmd("LRANGE", self._p + name, 0, limit - 1)))

    # --- the manual clock: one writer, the store --------------------------------------------

    @guarded
    def clock_ms(self) -> int | None:
        text = self._cmd("GET", self._p + "clock")
        return None if text is None else int(text)

    @guarded
    def set_clock_ms(self, now_ms: int) -> None:
        self._cmd("SET", self._p + "clock", now_ms)

    @guarded
    def add_clock_ms(self, delta_ms: int) -> int:
        """Add `delta_ms` (>= 0) to the stored time (one script: concurrent advances add up, a
        retried one counts once) and return the new time. (An absent time counts as 0.)"""
        if delta_ms < 0:
            raise ValueError(f"a clock only moves forward (got {delta_ms} ms)")
        return int(self._run.once("add_clock", delta_ms))

    @guarded
    def raise_clock_ms(self, to_ms: int) -> int:
        """Set the stored time to the later of it and `to_ms` (one script); the time after."""
        return int(self._run("raise_clock", to_ms))

    # --- pending callback deliveries ----------------------------------------------------------

    @guarded
    def next_delivery_seq(self) -> int:
        return int(self._cmd("INCR", self._p + "dseq")) - 1

    @guarded
    def add_delivery(self, delivery: Delivery) -> None:
        text = codec.dump_delivery(delivery)
        self._run.once("add_delivery", delivery.task_id, text, delivery.due_ms)

    @guarded
    def claim_due(self, now_ms: int, limit: int) -> list[Delivery]:
        """Claims with a lease (the Redis server's clock): a replica that dies mid-delivery
        loses them when the lease ends, and another replica sends the notification. Every claim
        has its own token, so a send whose claim lapsed cannot finish a later claim."""
        if limit <= 0:
            return []
        due = self.next_delivery_ms()  # a cheap look first (one round trip): is anything due?
        if due is None or due > now_ms:
            return []
        token = f"{self._token}:{next(_CLAIMS)}"
        texts, taken = self._run("claim_due", now_ms, token, self._lease_ms, limit)
        heads = [codec.load_delivery(text) for text in texts]
        heads = [
            replace(head, claim=token, taken_over=head.taken_over or head.task_id in taken)
            for head in heads
        ]
        return sorted(heads, key=lambda delivery: (delivery.due_ms, delivery.seq))

    @guarded
    def put_back(self, delivery: Delivery) -> bool:
        text, task_id, seq = codec.dump_delivery(delivery), delivery.task_id, delivery.seq
        return bool(self._run("put_back", task_id, delivery.claim, seq, text, delivery.due_ms))

    @guarded
    def finish(self, delivery: Delivery) -> bool:
        return bool(self._run("finish", delivery.task_id, delivery.claim, delivery.seq))

    @guarded
    def cancel_deliveries(self, task_id: str, after_ms: int) -> None:
        self._run("cancel", task_id, after_ms)

    @guarded
    def next_delivery_ms(self) -> int | None:
        """The earliest due time of an unclaimed head or of a head whose claim's lease ended
        (a dead replica's: `claim_due` takes it over), in one round trip."""
        due = self._run("next_due")
        return None if due is None or due is False else int(due)

    @guarded
    def pending_deliveries(self) -> int:
        return int(self._cmd("GET", self._p + "pending") or 0)

    @guarded
    def claimed_deliveries(self) -> int:
        return int(self._cmd("HLEN", self._p + "claims"))


def _dump_limits(limits: Limits | None) -> str:
    return "" if limits is None else codec.dump_limits(limits)


def _next_step_at(task: Task, index: int) -> int | None:
    """When step `index` falls due, if it is still to be announced after step `index - 1`."""
    if task.timeline[index - 1].status in TERMINAL or index >= len(task.timeline):
        return None
    return task.timeline[index].at_ms
