"""The Redis store beyond the conformance suite: namespaces, replicas sharing one namespace
(claims, leases, commits, the clock, connections), the store URL, the codec, a store that is
down."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis

from mock_kling.core.attempts import Attempt
from mock_kling.core.delivery import CallbackFault, Delivery
from mock_kling.core.faults import FaultRule
from mock_kling.core.journal import RequestRecord
from mock_kling.core.limits import Limits, Usage
from mock_kling.core.outcomes import Outcome
from mock_kling.core.rules import NextOutcome
from mock_kling.core.store import Change, StoreError
from mock_kling.core.tasks import Step, Task
from mock_kling.store.redis import RedisStore, codec, open_redis
from mock_kling.store.redis import store as redis_store_module
from mock_kling.store.redis.connect import parse

from .redis_server import fresh_store, wait_past_leases
from .tasks import make_task

_DEADLINE_S = 10.0


def _delivery(store: RedisStore, task_id: str, due_ms: int = 0) -> Delivery:
    seq = store.next_delivery_seq()
    payload = {"task_id": task_id}
    return Delivery(seq, task_id, "submitted", "http://r/hook", payload, b'{"a":1}', due_ms, due_ms)


@pytest.fixture
def replicas(redis_url: str, redis_store: RedisStore) -> Iterator[tuple[RedisStore, RedisStore]]:
    """Two replicas' stores on one namespace (the second holds a claim for 1 ms)."""
    other = open_redis(f"{redis_url}?namespace={redis_store.namespace}&lease=0.001")
    yield redis_store, other
    other.close()


def test_a_reset_forgets_only_its_own_namespace(redis_url: str, redis_store: RedisStore):
    tenant = fresh_store(redis_url)
    try:
        redis_store.add_task(make_task("1"))
        tenant.add_task(make_task("1"))
        tenant.reset()
        assert redis_store.task("1") is not None
        assert tenant.task("1") is None
    finally:
        tenant.close()


def test_replicas_see_each_others_tasks_and_ids_are_never_overwritten(replicas):
    one, two = replicas
    one.add_task(make_task("1", external="ext"))
    assert two.find_task("acct", "ext").task_id == "1"  # type: ignore[union-attr]
    with pytest.raises(StoreError, match="task id 1 is taken"):
        two.add_task(make_task("1", account="other"))
    assert one.task("1").account_id == "acct"  # type: ignore[union-attr]


@pytest.mark.parametrize("hold_ms", [2_000, 0])
def test_due_steps_are_announced_by_one_replica_only(replicas, monkeypatch, hold_ms: int):
    """`two` reads the due steps; before it announces them, `one` looks. While `two` holds them
    `one` leaves them alone; once the hold lapsed (`two` stalled) `one` announces them, and
    `two`'s announcement, checked against what it read, gives nothing."""
    monkeypatch.setattr(redis_store_module, "_STEP_HOLD_MS", hold_ms)
    one, two = replicas
    task = make_task("1")
    one.add_task(task)
    now = task.timeline[-1].at_ms
    taken: list[tuple[Task, Step]] = []
    run = two._run

    def held_look(name: str, *args: object) -> object:
        if name == "steps_announce":  # while `two` holds the steps, `one` sees none due
            assert one.next_step_ms() == (None if hold_ms else task.timeline[1].at_ms)
            taken.extend(one.pop_reached_steps(now))
        return run(name, *args)

    monkeypatch.setattr(two, "_run", held_look)
    by_two = [step.status for _, step in two.pop_reached_steps(now)]
    by_one = [step.status for _, step in taken]
    expected = [s.status for s in task.timeline[1:]]
    assert (by_one, by_two) == (([], expected) if hold_ms else (expected, []))
    assert one.pop_reached_steps(now) == two.pop_reached_steps(now) == []


def test_each_due_head_is_claimed_by_one_replica_and_released_only_by_it(replicas):
    one, two = replicas
    for task_id in ("a", "b", "c"):
        one.add_delivery(_delivery(one, task_id))
    claimed = one.claim_due(0, 10)
    assert [d.task_id for d in claimed] == ["a", "b", "c"]
    assert two.claim_due(0, 10) == []
    assert not two.finish(replace(claimed[0], claim=""))  # not a claim of it
    assert not one.finish(replace(claimed[0], claim=claimed[0].claim + "0"))  # nor another
    assert one.finish(claimed[0])
    assert one.claimed_deliveries() == 2


def test_a_replica_that_dies_mid_delivery_loses_its_claim_when_the_lease_ends(replicas):
    one, two = replicas  # `two` holds claims for 1 ms
    two.add_delivery(_delivery(two, "a"))
    (head,) = two.claim_due(0, 10)  # ... and dies
    deadline = time.monotonic() + _DEADLINE_S
    taken: list[Delivery] = []
    while not taken and time.monotonic() < deadline:
        taken = one.claim_due(0, 10)
    assert [d.seq for d in taken] == [head.seq]
    assert not two.put_back(replace(head, attempts=1))  # too late: the claim is gone
    assert one.finish(taken[0])
    assert one.pending_deliveries() == 0


def test_a_replica_that_reclaims_its_own_lapsed_claim_is_told_so_and_the_old_send_ends_nowhere(
    redis_url: str, redis_store: RedisStore
):
    two = open_redis(f"{redis_url}?namespace={redis_store.namespace}&lease=0.5")
    two.add_delivery(_delivery(two, "a"))
    (first,) = two.claim_due(0, 10)
    wait_past_leases(redis_url, 500)  # the lease ran out while the first send was still going
    (second,) = two.claim_due(0, 10)  # the same replica claims the same head again
    assert second.taken_over  # journaled as a take-over: it accounts for a duplicate
    assert not two.finish(first)  # the first send's end neither removes the head ...
    assert two.claim_due(0, 10) == []  # ... nor puts it back in the queue while it is sent
    assert two.finish(second)
    assert two.pending_deliveries() == two.claimed_deliveries() == 0
    two.close()


def test_atomic_holds_nothing_across_replicas(replicas):
    """`atomic()` keeps other threads of this process out; another replica goes on."""
    one, two = replicas
    with one.atomic(), one.atomic():  # re-entrant
        two.add_task(make_task("1"))
        two.put_usage("acct", Usage(spent=2.0))
        assert two.task("1") is not None
    assert one.usage("acct").spent == 2.0


def test_a_commit_writes_all_or_nothing_when_what_was_read_still_holds(redis_store: RedisStore):
    store = redis_store
    read = store.usage("acct")
    task = make_task("1", external="ext")
    done = store.commit(
        Change(
            "acct", usage=(read, Usage(spent=1.0)), task=task, deliveries=[_delivery(store, "1")]
        )
    )
    assert done == "done"
    assert store.task("1") == task
    assert store.usage("acct").spent == 1.0
    assert store.pending_deliveries() == 1
    # Another replica decided on the usage as it was before: nothing of its commit is written.
    stale = store.commit(Change("acct", usage=(read, Usage(spent=9.0)), task=make_task("2")))
    assert stale == "changed"
    assert store.task("2") is None
    assert store.usage("acct").spent == 1.0
    fresh = store.usage("acct")
    assert store.commit(Change("acct", usage=(fresh, fresh), task=make_task("1"))) == "id_taken"
    twin = make_task("3", external="ext")
    assert store.commit(Change("acct", usage=(fresh, fresh), task=twin)) == "external_id_taken"
    rules = [FaultRule(code=5000, times=1)]
    store.put_fault_rules(rules)
    assert store.commit(Change("acct", fault_rules=([], []))) == "changed"
    assert store.commit(Change("acct", fault_rules=(rules, []))) == "done"
    assert store.fault_rules() == []
    assert (
        store.commit(Change("acct", next_outcomes=([], [NextOutcome(Outcome("stuck"))]))) == "done"
    )
    assert store.next_outcomes() == [NextOutcome(Outcome("stuck"))]
    assert store.commit(Change("acct", limits=(None, Limits(concurrency=2)))) == "done"
    assert store.commit(Change("acct", limits=(None, Limits(concurrency=3)))) == "changed"
    assert store.commit(Change("acct", limits=(Limits(concurrency=2), Limits(units=5)))) == "done"
    assert store.limits("acct") == Limits(units=5)
    faults = [CallbackFault("drop", times=1)]
    assert store.commit(Change("acct", callback_faults=([], faults))) == "done"
    assert store.callback_faults() == faults


def test_concurrent_commits_on_one_account_lose_no_update(replicas):
    """Read, decide, commit, again on "changed": two replicas x four threads, 50 each."""
    stores = list(replicas)

    def spend(store: RedisStore) -> None:
        for _ in range(50):
            for _attempt in range(1000):
                read = store.usage("acct")
                new = Usage(spent=read.spent + 1.0)
                if store.commit(Change("acct", usage=(read, new))) == "done":
                    break

    threads = [threading.Thread(target=spend, args=(stores[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(_DEADLINE_S * 6)
    assert stores[0].usage("acct").spent == 400.0


def test_admission_by_commit_never_goes_over_a_concurrency_limit(replicas):
    """How a submit is admitted on a shared store without a lock: read the usage, decide (the
    core's check), commit usage and task in one script, again on "changed". Two replicas x four
    threads, 40 tries: exactly LIMIT tasks admitted."""
    limit, stores = 5, list(replicas)
    admitted: list[str] = []
    serial = iter(range(10**6))

    def submit(store: RedisStore) -> None:
        for _ in range(5):
            task = make_task(str(next(serial)), created_at=0)  # runs for a long time
            for _attempt in range(1000):
                read = store.usage("acct")
                usage = codec.load_usage(codec.dump_usage(read))  # `running` changes it
                if usage.running(0) >= limit:
                    break  # refused: 1303
                usage.track(task)
                if store.commit(Change("acct", usage=(read, usage), task=task)) == "done":
                    admitted.append(task.task_id)
                    break

    threads = [threading.Thread(target=submit, args=(stores[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(_DEADLINE_S * 6)
    assert len(admitted) == limit
    assert stores[1].task_count() == limit
    assert stores[0].usage("acct").running(0) == limit


def test_clock_moves_add_up_and_never_go_back(replicas):
    one, two = replicas
    one.set_clock_ms(1_000)
    seen: list[int] = []

    def advance(store: RedisStore) -> None:
        for n in range(100):
            seen.append(store.add_clock_ms(n % 7))
            seen.append(store.raise_clock_ms(500))  # earlier: no effect

    threads = [threading.Thread(target=advance, args=(s,)) for s in (one, two, one, two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(_DEADLINE_S)
    assert one.clock_ms() == 1_000 + 4 * sum(n % 7 for n in range(100))
    assert two.raise_clock_ms(10**13) == 10**13 == one.clock_ms()
    assert one.raise_clock_ms(5) == 10**13


_ADVANCER = """
import sys
from mock_kling.store.redis import open_redis
store = open_redis(sys.argv[1])
for n in range(200):
    store.add_clock_ms(n % 5)
    store.raise_clock_ms(0)
store.close()
"""


def test_clock_advances_from_two_processes_and_threads_all_count_and_time_never_goes_back(
    redis_url: str, redis_store: RedisStore
):
    redis_store.set_clock_ms(10_000)
    url = f"{redis_url}?namespace={redis_store.namespace}"
    other = subprocess.Popen([sys.executable, "-c", _ADVANCER, url])
    stop, seen = threading.Event(), []

    def poll() -> None:
        while not stop.is_set():
            seen.append(redis_store.clock_ms())

    def advance() -> None:
        for n in range(200):
            redis_store.add_clock_ms(n % 3)

    poller = threading.Thread(target=poll)
    poller.start()
    advancers = [threading.Thread(target=advance) for _ in range(3)]
    for thread in advancers:
        thread.start()
    for thread in advancers:
        thread.join(_DEADLINE_S)
    assert other.wait(_DEADLINE_S * 3) == 0
    stop.set()
    poller.join(_DEADLINE_S)
    total = 3 * sum(n % 3 for n in range(200)) + sum(n % 5 for n in range(200))
    assert redis_store.clock_ms() == 10_000 + total
    assert seen == sorted(seen)


def test_a_change_sent_twice_happens_once(redis_store: RedisStore, monkeypatch):
    """redis-py sends a command again when its connection failed, and the first send may have
    run: to the server the second is the same call with the same key of its own (KEYS[2])."""
    store = redis_store
    store.set_clock_ms(1_000)
    monkeypatch.setattr(store._run, "_calls", itertools.repeat(7))  # every call: the same key
    assert store.add_clock_ms(5) == store.add_clock_ms(5) == 1_005
    delivery = _delivery(store, "a")
    monkeypatch.setattr(store._run, "_calls", itertools.repeat(8))
    store.add_delivery(delivery)
    store.add_delivery(delivery)
    assert store.pending_deliveries() == 1
    monkeypatch.setattr(store._run, "_calls", itertools.repeat(9))
    read = store.usage("acct")
    spent = Usage(spent=1.0)
    change = Change("acct", usage=(read, spent), task=make_task("1"))
    assert store.commit(change) == store.commit(change) == "done"
    assert store.task_count() == 1
    monkeypatch.setattr(store._run, "_calls", itertools.count(10))  # new calls: new keys
    assert store.add_clock_ms(5) == 1_010
    assert store.commit(Change("acct", usage=(read, spent))) == "changed"


def test_connections_go_back_to_the_pool(redis_url: str, redis_store: RedisStore):
    """Threads that come and go (a server retires idle ones) do not leave connections open."""
    observer = redis.Redis.from_url(redis_url)
    try:
        before = int(observer.info("clients")["connected_clients"])
        for n in range(40):
            worker = threading.Thread(target=redis_store.task, args=(str(n),))
            worker.start()
            worker.join(_DEADLINE_S)
        after = int(observer.info("clients")["connected_clients"])
    finally:
        observer.close()
    assert after <= before + 1


def test_the_url_names_namespace_lease_and_hides_the_password(redis_url: str):
    host = redis_url.removeprefix("redis://")
    store = open_redis(f"redis://:secret@{host}?namespace=team-a&lease=5")
    assert (store.namespace, store.url) == ("team-a", f"{redis_url}?namespace=team-a&lease=5")
    store.close()
    with pytest.raises(ValueError, match="namespace must match"):
        open_redis(f"{redis_url}?namespace=a*b")
    with pytest.raises(ValueError, match="not a Redis URL"):
        open_redis("http://localhost/0")
    unix = parse("unix:///run/redis.sock?db=2&namespace=team-b&lease=3")
    assert (unix.redis_url, unix.namespace, unix.lease_seconds) == (
        "unix:///run/redis.sock?db=2",
        "team-b",
        3.0,
    )


def test_a_store_that_is_down_fails_with_a_store_error_naming_it():
    store = open_redis("redis://127.0.0.1:9/0?namespace=down")  # the discard port: refused
    with pytest.raises(
        StoreError, match=r"^store redis://127.0.0.1:9/0\?namespace=down failed: .*refused"
    ):
        store.task("1")
    with pytest.raises(StoreError, match=r"store redis://127\.0\.0\.1:9/0\?namespace=down failed"):
        store.commit(Change("acct", usage=(Usage(), Usage(spent=1.0))))
    store.close()


def test_the_codec_gives_back_what_it_was_given():
    task = make_task("1", external="e", outcome=Outcome("fail", "no", 1.0, None))
    assert codec.load_task(codec.dump_task(task)) == task
    delivery = Delivery(3, "1", "succeed", "http://r", {"x": [1]}, b"\x00\xff", 5, 4, 2, True)
    assert codec.load_delivery(codec.dump_delivery(delivery)) == delivery
    attempt = Attempt(1, "1", "succeed", "u", {}, 1, 5, None, "no answer", 1.5, "retrying")
    assert codec.load_attempt(codec.dump_attempt(attempt)) == attempt
    record = RequestRecord(1, "GET", "/p", "acct", {"prompt": "é"}, 200, 0, "rid")
    assert codec.load_request(codec.dump_request(record)) == record
    limits = Limits(1, 2.5, None, "arrears", ("kling-v1-6",))
    assert codec.load_limits(codec.dump_limits(limits)) == limits
    usage = Usage(1.5)
    usage.track(task)
    usage.track(make_task("2", outcome=Outcome("stuck")))
    usage.recent_ms.append(7)
    again = codec.load_usage(codec.dump_usage(usage))
    assert (again.spent, again.recent_ms, again.running(10**9)) == (1.5, usage.recent_ms, 1)
    rules = [FaultRule(code=5000, latency_ms=(1.0, 2.0), times=2)]
    assert codec.load_fault_rules(codec.dump_fault_rules(rules)) == rules
    outcomes = [NextOutcome(Outcome("stuck"), "acct", 2)]
    assert codec.load_next_outcomes(codec.dump_next_outcomes(outcomes)) == outcomes
    faults = [CallbackFault("delay", 1.5, 2, "1")]
    assert codec.load_callback_faults(codec.dump_callback_faults(faults)) == faults
