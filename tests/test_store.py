"""The Store conformance suite: every Store implementation behaves the same. Today's stores:
memory, sqlite (a database file per test), redis (a real redis-server, a namespace per test) and
redis-cluster (a real Redis Cluster of three masters, a namespace per test)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from mock_kling.core.commits import writable
from mock_kling.core.delivery import CallbackFault, Delivery
from mock_kling.core.faults import FaultRule
from mock_kling.core.limits import Counted, Limits, Usage
from mock_kling.core.outcomes import Outcome, Timings
from mock_kling.core.rules import NextOutcome
from mock_kling.core.store import Change, Store
from mock_kling.core.tasks import Step
from mock_kling.store.memory import MemoryStore
from mock_kling.store.sqlite import SqliteStore

from .conftest import API_PATH, STORE, valid_body
from .redis_server import fresh_store
from .tasks import make_task


def _redis(request: pytest.FixtureRequest, server: str = "redis_url") -> Store:
    store = fresh_store(request.getfixturevalue(server))
    request.addfinalizer(store.close)
    request.addfinalizer(store.reset)
    return store


def _sqlite(request: pytest.FixtureRequest) -> Store:
    store = SqliteStore(str(request.getfixturevalue("tmp_path") / "fake.db"))
    request.addfinalizer(store.close)
    return store


# A store for one test; the factory may ask pytest for fixtures (a server, a temporary dir).
STORES: dict[str, Callable[[pytest.FixtureRequest], Store]] = {
    "memory": lambda request: MemoryStore(),
    "sqlite": _sqlite,
    "redis": _redis,
    "redis-cluster": lambda request: _redis(request, "redis_cluster_url"),  # three masters
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest) -> Store:
    return STORES[request.param](request)


def _delivery(store: Store, task_id: str, status: str, due_ms: int) -> Delivery:
    payload = {"task_id": task_id, "task_status": status}
    seq = store.next_delivery_seq()
    return Delivery(seq, task_id, status, "http://r/hook", payload, b"{}", due_ms, due_ms)


def test_pages_newest_first_without_gaps(store: Store):
    for n in range(1, 1001):
        store.add_task(make_task(str(n), created_at=n))
    seen: list[str] = []
    for page in range(1, 40):
        seen += [t.task_id for t in store.page("acct", page, 30)]
    assert seen == [str(n) for n in range(1000, 0, -1)]
    assert store.page("acct", 1000, 500) == []
    assert store.page("nobody", 1, 30) == []
    assert [t.task_id for t in store.all_tasks()[:2]] == ["1000", "999"]
    assert store.task_count() == 1000


def test_finds_by_task_id_before_external_id_and_only_in_the_account(store: Store):
    store.add_task(make_task("111", external="222"))
    store.add_task(make_task("222"))
    store.add_task(make_task("333", account="other", external="x"))
    assert store.find_task("acct", "222").task_id == "222"  # type: ignore[union-attr]
    assert store.find_task("acct", "111").task_id == "111"  # type: ignore[union-attr]
    assert store.find_task("other", "111") is None
    assert store.find_task("acct", "x") is None
    assert store.external_id_taken("other", "x")
    assert not store.external_id_taken("acct", "x")
    assert store.task_by_video("v333").task_id == "333"  # type: ignore[union-attr]
    assert store.task("333").account_id == "other"  # type: ignore[union-attr]


def test_an_external_id_is_found_when_another_account_has_that_task_id(store: Store):
    store.add_task(make_task("444", account="other"))
    store.add_task(make_task("555", external="444"))
    assert store.find_task("acct", "444").task_id == "555"  # type: ignore[union-attr]
    assert store.find_task("other", "444").task_id == "444"  # type: ignore[union-attr]
    assert store.find_task("other", "555") is None
    assert store.id_taken("444")
    assert store.id_taken("v555")
    assert not store.id_taken("666")


def test_admission_reads_the_fault_rules_and_the_accounts_limits(store: Store):
    assert store.admission("acct") == ([], None)
    store.set_limits("acct", Limits(rate_per_second=2))
    assert store.admission("acct") == ([], Limits(rate_per_second=2))
    store.put_fault_rules([FaultRule(code=5000, times=1)])
    assert store.admission("acct") == ([FaultRule(code=5000, times=1)], Limits(rate_per_second=2))
    assert store.admission("other") == ([FaultRule(code=5000, times=1)], None)
    store.reset()
    assert store.admission("acct") == ([], None)


def test_submit_facts_reads_usage_limits_and_outcome_rules_together(store: Store):
    empty = store.submit_facts("acct", usage_too=True)
    assert (empty.usage, empty.limits, empty.next_outcomes) == (Usage(), None, [])
    assert store.submit_facts("acct", usage_too=False).usage is None  # no limits: not read
    usage = Usage(spent=2.5)
    usage.track(make_task("t1"))
    rules = [NextOutcome(Outcome("fail", "no"), count=2, account="acct")]
    store.put_usage("acct", usage)
    store.set_limits("acct", Limits(concurrency=1))
    store.put_next_outcomes(rules)
    for usage_too in (True, False):  # limits set: the usage comes along either way
        facts = store.submit_facts("acct", usage_too=usage_too)
        assert facts.usage == store.usage("acct") == usage
        assert facts.limits == store.limits("acct") == Limits(concurrency=1)
        assert facts.next_outcomes == store.next_outcomes() == rules
    other = store.submit_facts("other", usage_too=False)
    assert (other.usage, other.limits, other.next_outcomes) == (None, None, rules)


def test_counted_tasks_add_up_without_comparing_and_a_compare_sees_them(store: Store):
    """Commits that count a task (`Change.counted`) never conflict with each other, however the
    usage moved since it was read; a commit that compares the usage sees every counted task
    in what it read, and fails when one was counted after its read."""
    tasks = [make_task(f"{n}", created_at=10 * n) for n in range(1, 5)]
    before = store.usage("acct")  # read before any of them was counted
    for task in tasks[:3]:
        assert store.commit(Change("acct", counted=Counted.of(task), task=task)) == "done"
    expected = Usage()
    for task in tasks[:3]:
        expected.count(Counted.of(task))
    read = store.usage("acct")
    assert read == expected
    assert read.running(30) == 3
    assert read.spent == 3 * float(tasks[0].request.unit_cost)
    if store.shared:  # (memory hands out its own value: read and changed are one object)
        late = writable(store, before)
        late.count(Counted.of(tasks[3]))
        assert store.commit(Change("acct", usage=(before, late), task=tasks[3])) == "changed"
        assert store.task(tasks[3].task_id) is None  # nothing written
    new = writable(store, read)
    new.count(Counted.of(tasks[3]))
    assert store.commit(Change("acct", usage=(read, new), task=tasks[3])) == "done"
    assert store.usage("acct") == new
    assert store.usage("acct").running(40) == 4
    extra = make_task("5", created_at=50)
    assert store.commit(Change("acct", counted=Counted.of(extra), task=extra)) == "done"
    new.count(Counted.of(extra))
    assert store.usage("acct") == new  # counted on top of the compared-and-set value


def test_steps_are_announced_once_in_time_order_and_follow_a_replan(store: Store):
    store.add_task(make_task("a", created_at=0, timings=Timings(1, 2)))
    store.add_task(make_task("b", created_at=500, outcome=Outcome("stuck"), timings=Timings(1, 2)))
    assert store.next_step_ms() == 1000
    reached = [(t.task_id, s.status, s.at_ms) for t, s in store.pop_reached_steps(1500)]
    assert reached == [("a", "processing", 1000), ("b", "processing", 1500)]
    assert store.pop_reached_steps(1500) == []
    task = store.task("b")
    assert task is not None
    replanned = replace(task, timeline=(*task.timeline, Step(4000, "failed", "no")))
    store.replan("b", replanned)
    reached = [(t.task_id, s.status) for t, s in store.pop_reached_steps(10_000)]
    assert reached == [("a", "succeed"), ("b", "failed")]
    assert store.next_step_ms() is None


def test_limits_usage_rules_and_clock_round_trip(store: Store):
    store.set_limits("acct", Limits(concurrency=2))
    assert store.limits("acct") == Limits(concurrency=2)
    assert store.limits("other") is None
    assert store.changed_limits() == {"acct": Limits(concurrency=2)}
    usage = store.usage("acct")
    usage.spent = 3.5
    store.put_usage("acct", usage)
    assert store.usage("acct").spent == 3.5
    assert store.usage("new") == Usage()
    store.put_fault_rules([FaultRule(code=5000)])
    store.put_callback_faults([CallbackFault("drop")])
    assert store.fault_rules() == [FaultRule(code=5000)]
    assert store.callback_faults() == [CallbackFault("drop")]
    store.set_clock_ms(42)
    assert store.clock_ms() == 42
    store.reset()
    assert (store.limits("acct"), store.fault_rules(), store.clock_ms()) == (None, [], None)


def test_deliveries_go_one_head_per_task_in_due_order(store: Store):
    for delivery in (
        _delivery(store, "a", "submitted", 10),
        _delivery(store, "a", "processing", 20),
        _delivery(store, "b", "submitted", 5),
    ):
        store.add_delivery(delivery)
    assert store.next_delivery_ms() == 5
    claimed = store.claim_due(100, 10)
    assert [(d.task_id, d.status) for d in claimed] == [("b", "submitted"), ("a", "submitted")]
    assert store.claim_due(100, 10) == []  # heads are claimed: the queue behind waits
    assert store.next_delivery_ms() is None
    retry = replace(claimed[1], attempts=1, due_ms=50, started=True)
    assert store.put_back(retry)
    assert store.finish(claimed[0])
    assert not store.finish(claimed[0])  # gone: a second finish is a no-op
    assert store.next_delivery_ms() == 50
    assert [d.attempts for d in store.claim_due(50, 10)] == [1]
    assert store.pending_deliveries() == 2
    assert store.claimed_deliveries() == 1


def test_cancel_keeps_started_and_earlier_deliveries(store: Store):
    for delivery in (
        _delivery(store, "a", "submitted", 0),
        _delivery(store, "a", "processing", 1000),
        _delivery(store, "a", "succeed", 3000),
    ):
        store.add_delivery(delivery)
    (head,) = store.claim_due(0, 10)
    store.cancel_deliveries("a", after_ms=500)
    assert store.pending_deliveries() == 1  # the claimed head stays; the later ones go
    assert store.finish(head)
    assert store.pending_deliveries() == 0


def test_a_claim_takes_at_most_limit_heads_the_earliest_due_first(store: Store):
    for task_id, due_ms in (("a", 40), ("b", 10), ("c", 30), ("d", 20), ("e", 500)):
        store.add_delivery(_delivery(store, task_id, "submitted", due_ms))
    assert store.claim_due(100, 0) == []
    assert [d.task_id for d in store.claim_due(100, 2)] == ["b", "d"]
    assert store.claimed_deliveries() == 2
    assert store.next_delivery_ms() == 30  # the heads not claimed wait for a free sender
    assert [d.task_id for d in store.claim_due(100, 5)] == ["c", "a"]  # "e" is not due
    assert store.claimed_deliveries() == 4


def test_every_claim_is_unique_and_a_stale_one_holds_nothing(store: Store):
    store.add_delivery(_delivery(store, "a", "submitted", 0))
    (first,) = store.claim_due(0, 10)
    assert store.put_back(replace(first, attempts=1))  # a retry, due at once
    (second,) = store.claim_due(0, 10)  # the same head, claimed again by the same store
    assert second.claim != first.claim
    assert not store.finish(first)  # a send under the first claim can't end the second one
    assert not store.put_back(replace(first, attempts=2))
    assert store.claimed_deliveries() == 1  # the second claim stands ...
    assert store.claim_due(0, 10) == []  # ... and its head is not offered again
    assert store.finish(second)
    assert store.pending_deliveries() == store.claimed_deliveries() == 0


def test_the_app_fixture_keeps_its_state_in_the_store_the_run_chose(client, key_auth, app_store):
    """MOCK_KLING_TEST_STORE=sqlite|redis|redis-cluster runs the API, lifecycle, callback and
    limit tests on that store (scripts/check does): their fake must really keep its tasks there."""
    assert (app_store is None) == (STORE == "memory")
    answer = client.post(API_PATH, json=valid_body(), headers=key_auth).get_json()
    if app_store is not None:
        assert app_store.task(answer["data"]["task_id"]) is not None
        assert type(app_store).__name__.lower().startswith(STORE.partition("-")[0])
        assert getattr(app_store, "cluster", False) == STORE.endswith("-cluster")
