"""Two replicas on one shared store decide from the same facts at once: every decision is one
commit, so a concurrency limit is never passed, a fault rule answers exactly its `times` and a
next-outcome rule its `count`, whichever replica takes each request (memory: one fake, threads)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mock_kling.assemble import build_backend, make_clock
from mock_kling.core.backend import Backend
from mock_kling.core.config import Config
from mock_kling.core.errors import KlingError
from mock_kling.core.faults import FaultRule
from mock_kling.core.outcomes import Outcome
from mock_kling.core.rules import NextOutcome
from mock_kling.store import open_store, sqlite_url
from mock_kling.store.memory import MemoryStore

from .conftest import valid_body
from .redis_server import fresh_namespace
from .test_backend import Recorder

THREADS, EACH = 8, 6  # 48 requests, half through each replica


@pytest.fixture(params=["memory", "sqlite", "redis", "redis-cluster"])
def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Backend]]:
    """Two fakes on one store (each its own client of it, as two processes would have)."""
    config = Config(seed=1, api_keys=["sk-k"])
    if request.param == "memory":
        stores = [MemoryStore()]
    else:
        if request.param == "sqlite":
            url = sqlite_url(str(tmp_path / "shared.db"))
        else:
            server = "redis_url" if request.param == "redis" else "redis_cluster_url"
            url = fresh_namespace(request.getfixturevalue(server))
        stores = [open_store(url), open_store(url)]
    fakes = [
        build_backend(config, make_clock("manual", store), store=store, sender=Recorder())
        for store in stores
    ]
    yield fakes * (2 // len(fakes))
    for fake, store in zip(fakes, stores, strict=True):
        fake.close()
        store.close()


def _race(replicas: list[Backend], call: Callable[[Backend], object]) -> list[object]:
    """`call` THREADS x EACH times, the threads alternating between the replicas; each result
    (or the KlingError raised)."""
    results: list[object] = []
    lock = threading.Lock()

    def worker(thread: int) -> None:
        for _ in range(EACH):
            try:
                result: object = call(replicas[thread % 2])
            except KlingError as refusal:
                result = refusal
            with lock:
                results.append(result)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive()
    return results


def _submit(fake: Backend) -> str:
    account = fake.authenticate("Bearer sk-k")
    return fake.create_task(account, valid_body(prompt="stays mock:stuck")).task_id


def test_a_concurrency_limit_holds_across_replicas(replicas: list[Backend]):
    replicas[0].set_limits("sk-k", {"concurrency": 5})
    results = _race(replicas, _submit)
    accepted = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, KlingError)]
    assert len(accepted) == 5, refused[:3]
    assert {r.code for r in refused} == {1303}
    assert len(set(accepted)) == 5
    assert replicas[1].usage("sk-k")["running"] == 5


def test_a_fault_rule_answers_exactly_its_times_across_replicas(replicas: list[Backend]):
    replicas[1].add_fault_rule(FaultRule(endpoint="query", code=1302, times=7))

    def query(fake: Backend) -> object:
        return fake.admit(fake.authenticate("Bearer sk-k"), "query")

    faults = [r for r in _race(replicas, query) if r is not None]
    assert len(faults) == 7
    assert replicas[0].fault_rules() == []


def test_a_next_outcome_rule_is_used_exactly_its_count_across_replicas(replicas: list[Backend]):
    replicas[0].add_next_outcome(NextOutcome(Outcome("fail", "planned"), count=4))

    def submit(fake: Backend) -> object:
        account = fake.authenticate("Bearer sk-k")
        return fake.create_task(account, valid_body()).outcome

    outcomes = _race(replicas, submit)
    assert sum(1 for o in outcomes if isinstance(o, Outcome) and o.result == "fail") == 4
    assert replicas[1].next_outcomes() == []
