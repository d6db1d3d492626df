"""The Redis store beyond the conformance suite: namespaces, replicas sharing one namespace
(claims, leases, the shared lock), the store URL, the codec, and a store that is down."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from types import SimpleNamespace

import pytest
import redis

from mock_kling.core.attempts import Attempt
from mock_kling.core.delivery import CallbackFault, Delivery
from mock_kling.core.faults import FaultRule
from mock_kling.core.journal import RequestRecord
from mock_kling.core.limits import Limits, Usage
from mock_kling.core.outcomes import Outcome
from mock_kling.core.rules import NextOutcome
from mock_kling.core.store import StoreError
from mock_kling.store import redis_codec as codec
from mock_kling.store.redis import RedisStore, open_redis
from mock_kling.store.redis_pinned import Pinned

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


class _Overtaken:
    """A replica's lock that lets the other replica announce the due steps first."""

    def __init__(self, lock: object, first: RedisStore, now_ms: int) -> None:
        self._lock, self._first, self._now_ms = lock, first, now_ms

    def __enter__(self) -> object:
        self.taken = self._first.pop_reached_steps(self._now_ms)
        return self._lock.__enter__()  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        self._lock.__exit__(*exc)  # type: ignore[attr-defined]


def test_steps_another_replica_announced_first_are_none_of_this_ones(replicas, monkeypatch):
    one, two = replicas
    task = make_task("1")
    one.add_task(task)
    now = task.timeline[-1].at_ms
    overtaken = _Overtaken(two._lock, one, now)
    monkeypatch.setattr(two, "_lock", overtaken)
    assert two.pop_reached_steps(now) == []  # its quick look saw them; `one` took them
    assert [step.status for _, step in overtaken.taken] == [s.status for s in task.timeline[1:]]


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


def test_atomic_excludes_the_other_replica_until_released(replicas):
    one, two = replicas
    entered = threading.Event()

    def enter() -> None:
        with two.atomic():
            entered.set()

    with one.atomic(), one.atomic():  # re-entrant
        waiter = threading.Thread(target=enter)
        waiter.start()
        assert not entered.wait(0.2)
    assert entered.wait(_DEADLINE_S)
    waiter.join(_DEADLINE_S)


def test_the_url_names_namespace_lease_and_hides_the_password(redis_url: str):
    host = redis_url.removeprefix("redis://")
    store = open_redis(f"redis://:secret@{host}?namespace=team-a&lease=5")
    assert (store.namespace, store.url) == ("team-a", f"{redis_url}?namespace=team-a&lease=5")
    store.close()
    with pytest.raises(ValueError, match="namespace must match"):
        open_redis(f"{redis_url}?namespace=a*b")
    with pytest.raises(ValueError, match="not a Redis URL"):
        open_redis("http://localhost/0")


def test_a_store_that_is_down_fails_with_a_store_error_naming_it():
    store = open_redis("redis://127.0.0.1:9/0?namespace=down")  # the discard port: refused
    with pytest.raises(
        StoreError, match=r"^store redis://127.0.0.1:9/0\?namespace=down failed: .*refused"
    ):
        store.task("1")
    with (
        pytest.raises(StoreError, match=r"store redis://127\.0\.0\.1:9/0\?namespace=down failed"),
        store.atomic(),
    ):
        pass
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


class _SlowConnection:
    """A connection whose first reply times out and would then arrive late, unless dropped."""

    def __init__(self) -> None:
        self.timed_out, self.dropped = False, False

    def send_command(self, *command: object) -> None:
        pass

    def read_response(self) -> str:
        if not self.timed_out:
            self.timed_out = True
            raise redis.TimeoutError("no reply in time")
        return "the reply to this command" if self.dropped else "the late reply to the last one"

    def disconnect(self) -> None:
        self.dropped = True


def test_a_command_that_timed_out_is_sent_again_on_a_new_connection():
    connection = _SlowConnection()
    pool = SimpleNamespace(get_connection=lambda: connection)
    pinned = Pinned(SimpleNamespace(connection_pool=pool))  # type: ignore[arg-type]
    assert pinned("GET", "key") == "the reply to this command"
