"""Replicas: `serve --workers N` on a shared store, the shared manual clock, and callbacks that
survive a replica killed mid-delivery."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from mock_kling.assemble import build_backend, make_clock
from mock_kling.callbacks.receiver import Receiver
from mock_kling.cli import main
from mock_kling.core.clock import ManualClock, StoreClock, SystemClock
from mock_kling.core.config import Config
from mock_kling.core.delivery import Delivery
from mock_kling.core.store import Store
from mock_kling.store import open_store, sqlite_url
from mock_kling.store.memory import MemoryStore
from mock_kling.store.redis import open_redis

from .conftest import API_PATH
from .redis_server import fresh_namespace, fresh_store, wait_past_leases
from .test_backend import HOOK, Recorder, _client, _submit
from .test_serve import Server


def test_workers_refuse_the_memory_store():
    result = CliRunner().invoke(main, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "--workers 2 needs a shared store" in result.output


@pytest.mark.slow  # a server process with two workers
def test_workers_share_one_port_and_print_one_banner(tmp_path: Path):
    server = Server("--workers", "2", "--state", str(tmp_path / "fake.db"))
    try:
        for _ in range(20):  # the kernel spreads connections over both workers
            answer = requests.get(f"{server.url}/__mock__/health", timeout=10)
            assert answer.status_code == 200
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert server.banner.count("listening on") == 1
    assert "2 workers on this port" in server.banner


def test_a_manual_clock_is_kept_in_memory_for_the_memory_store():
    clock = make_clock("manual", MemoryStore())
    assert type(clock) is ManualClock


def test_an_advance_on_one_replica_moves_and_settles_every_replica(tmp_path: Path):
    url = sqlite_url(str(tmp_path / "shared.db"))
    config = Config(seed=1, api_keys=["sk-k"])
    senders = [Recorder(), Recorder()]
    stores = [open_store(url), open_store(url)]
    clocks = [make_clock("manual", store) for store in stores]
    assert all(isinstance(clock, StoreClock) for clock in clocks)
    a, b = (
        build_backend(config, clock, store=store, sender=sender)
        for clock, store, sender in zip(clocks, stores, senders, strict=True)
    )
    task_id = _submit(_client(b), callback_url=HOOK)  # queued through replica B
    before = b.now_ms()
    a.advance(10)  # advanced on replica A: A settles what B queued
    assert b.now_ms() == a.now_ms() == before + 10_000
    statuses = [body["task_status"] for body in senders[0].sent + senders[1].sent]
    assert statuses == ["submitted", "processing", "succeed"]
    task = (
        _client(b).get(f"{API_PATH}/{task_id}", headers={"Authorization": "Bearer sk-k"}).get_json()
    )
    assert task["data"]["task_status"] == "succeed"
    for backend, store in ((a, stores[0]), (b, stores[1])):
        backend.close()
        store.close()  # type: ignore[attr-defined]


def _delivery(store: Store, task_id: str, due_ms: int = 0) -> Delivery:
    seq = store.next_delivery_seq()
    return Delivery(seq, task_id, "submitted", HOOK, {"task_id": task_id}, b"{}", due_ms, due_ms)


def test_a_replica_that_takes_over_a_lapsed_claim_journals_it(redis_url: str):
    survivor = fresh_store(redis_url)
    dead = open_redis(f"{redis_url}?namespace={survivor.namespace}&lease=0.001")
    survivor.add_delivery(_delivery(survivor, "t1"))
    assert [d.taken_over for d in dead.claim_due(0, 10)] == [False]  # then it "dies": no finish
    sender = Recorder()
    backend = build_backend(Config(seed=1), store=survivor, sender=sender)
    backend.drive_callbacks()  # as a replica under `serve` does; it claims once the lease ends
    assert backend.wait_for_attempt(lambda a: a.result == "delivered", 10.0) is not None
    journal = sorted(backend.attempts(), key=lambda a: a.result)
    assert [(a.result, a.fault, a.attempt) for a in journal] == [
        ("delivered", None, 1),
        ("takeover", "takeover", 1),
    ]
    assert len(sender.sent) == 1
    assert survivor.pending_deliveries() == 0
    backend.close()
    survivor.reset()
    survivor.close()
    dead.close()


@pytest.mark.parametrize("kind", ["redis", "sqlite"])
def test_an_advance_takes_over_a_lapsed_claim_when_nothing_else_is_due(
    kind: str, redis_url: str, tmp_path: Path
):
    """The manual clock: a dead replica's claim is taken over on an advance, with nothing else
    due (settle must see the heads of lapsed claims, not only the unclaimed ones)."""
    if kind == "redis":
        shared = fresh_store(redis_url)
        survivor: Store = shared
        dead: Store = open_redis(f"{redis_url}?namespace={shared.namespace}&lease=0.001")
    else:
        url = sqlite_url(str(tmp_path / "shared.db"))
        dead = open_store(url)
    now = SystemClock().now_ms()  # where the manual clock starts
    dead.add_delivery(_delivery(dead, "t1", now))
    assert [d.taken_over for d in dead.claim_due(now, 10)] == [False]  # then it "dies": no finish
    if kind == "redis":
        wait_past_leases(redis_url)
    else:
        dead.close()  # type: ignore[attr-defined]  # its claims are freed when the next store opens
        survivor = open_store(url)
    sender = Recorder()
    clock = make_clock("manual", survivor)
    backend = build_backend(Config(seed=1), clock, store=survivor, sender=sender)
    backend.advance(1)
    journal = sorted(backend.attempts(), key=lambda a: a.result)
    assert [(a.result, a.fault) for a in journal] == [("delivered", None), ("takeover", "takeover")]
    assert len(sender.sent) == 1
    assert survivor.pending_deliveries() == survivor.claimed_deliveries() == 0
    backend.close()
    survivor.reset()
    survivor.close()  # type: ignore[attr-defined]
    if kind == "redis":
        dead.close()  # type: ignore[attr-defined]


@pytest.mark.slow  # two server processes
def test_two_serve_processes_on_redis_share_one_manual_clock(redis_url: str):
    store_url = fresh_namespace(redis_url)
    options = ("--clock", "manual", "--store", store_url, "--api-key", "sk-k", "--quiet")
    with ExitStack() as stack:
        receiver = stack.enter_context(Receiver())
        a, b = Server(*options, "--seed", "1"), Server(*options, "--seed", "2")
        stack.callback(a.stop)
        stack.callback(b.stop)
        headers = {"Authorization": "Bearer sk-k"}
        body = {
            "image_list": [{"image": "https://example.com/a.png"}],
            "prompt": "p",
            "callback_url": receiver.url,
        }
        created = requests.post(a.url + API_PATH, json=body, headers=headers, timeout=10).json()
        assert created["code"] == 0
        task_id = created["data"]["task_id"]
        advance = requests.post(f"{b.url}/__mock__/clock/advance", json={"seconds": 10}, timeout=30)
        assert advance.status_code == 200
        for server in (b, a):
            task = requests.get(f"{server.url}{API_PATH}/{task_id}", headers=headers, timeout=10)
            assert task.json()["data"]["task_status"] == "succeed"
        clocks = [requests.get(f"{s.url}/__mock__/clock", timeout=10).json() for s in (a, b)]
        assert clocks[0] == clocks[1]
        assert clocks[0]["now_ms"] >= created["data"]["created_at"] + 10_000
        assert receiver.wait_until(lambda got: len(got) >= 3, 10.0)
        statuses = [d.body["task_status"] for d in receiver.deliveries]
        assert statuses == ["submitted", "processing", "succeed"]
        requests.post(f"{a.url}/__mock__/reset", timeout=10)  # leaves the namespace empty


@pytest.mark.slow  # two server processes, about 6 s
def test_a_replica_that_gets_no_submit_sends_what_another_queued(tmp_path: Path):
    """`serve` on a shared store starts its callback driver at startup, not at its first
    submit: B, which only ever serves reads, sends what A queued once A is gone."""
    options = ("--state", str(tmp_path / "shared.db"), "--api-key", "sk-k", "--quiet")
    timings = ("--submitted-seconds", "5", "--processing-seconds", "1")
    with ExitStack() as stack:
        receiver = stack.enter_context(Receiver())
        a, b = Server(*options, *timings), Server(*options, *timings, "--seed", "2")
        stack.callback(b.stop)
        body = {
            "image_list": [{"image": "https://example.com/a.png"}],
            "prompt": "p",
            "callback_url": receiver.url,
        }
        headers = {"Authorization": "Bearer sk-k"}
        try:
            created = requests.post(a.url + API_PATH, json=body, headers=headers, timeout=10)
            assert created.json()["code"] == 0
        finally:
            a.stop()  # its driver stops with it; the queued notifications stay in the store
        sent_by_a = [d.body["task_status"] for d in receiver.deliveries]
        assert "succeed" not in sent_by_a  # due 6 s after the submit
        assert receiver.wait_until(
            lambda got: any(d.body["task_status"] == "succeed" for d in got), 30.0
        )
        statuses = [d.body["task_status"] for d in receiver.deliveries]
        assert statuses == ["submitted", "processing", "succeed"]
