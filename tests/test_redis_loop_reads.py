"""The Redis store's calls for the hot GETs on the server's event loop (`RedisStore.loop_reads`):
the same answers as the store's own calls, calls queued together sent as one pipeline, scripts
the server lost loaded again, a failure a StoreError; and `serve` on Redis answering GETs this
way as Kling does, refusals and faults included."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis
import redis.asyncio
import requests

from mock_kling.core.faults import FaultRule
from mock_kling.core.journal import RequestRecord
from mock_kling.core.limits import Limits
from mock_kling.core.store import LoopReads, StoreError
from mock_kling.store.redis import open_redis
from mock_kling.store.redis.scripts import script

from .conftest import API_PATH
from .redis_server import fresh_namespace, fresh_store
from .tasks import make_task
from .test_serve import Server

RECORD = RequestRecord(
    at_ms=5, method="GET", path="/v1/videos/multi-image2video/1", account="acct", body=None,
    http_status=200, code=0, request_id="r-1", duration_ms=0.25,
)  # fmt: skip


def _run(reads: LoopReads, calls: Callable[[], list[Awaitable[Any]]]) -> list[Any]:
    """Await, in order, the calls `calls()` makes (all queued before the first await); then
    close `reads`."""

    async def run() -> list[Any]:
        try:
            made = calls()
            return [await call for call in made]
        finally:
            await reads.close()

    return asyncio.run(run())


def _warm(url: str) -> None:
    """Load the scripts (a server that does not know one answers NOSCRIPT first)."""
    client = redis.Redis.from_url(url)
    for name in ("admission", "find_task", "page", "journal_push"):
        client.script_load(script(name))
    client.close()


def _pipelines(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of commands of each asyncio pipeline this process sends from now on."""
    sizes: list[int] = []
    execute = redis.asyncio.client.Pipeline.execute

    async def counted(pipe: Any, raise_on_error: bool = True) -> Any:
        sizes.append(len(pipe.command_stack))
        return await execute(pipe, raise_on_error)

    monkeypatch.setattr(redis.asyncio.client.Pipeline, "execute", counted)
    return sizes


def test_loop_reads_answer_as_the_store_does_in_one_pipeline(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
):
    store = fresh_store(redis_url)
    tasks = [make_task(str(10**17 + i), external=f"e{i}", created_at=i) for i in range(5)]
    for task in tasks:
        store.add_task(task)
    store.set_limits("acct", Limits(concurrency=2))
    store.put_fault_rules([FaultRule(code=1303, times=1)])
    reads = store.loop_reads()
    assert reads is not None
    _warm(redis_url)
    sizes = _pipelines(monkeypatch)
    found = _run(
        reads,
        lambda: [
            reads.find_task("acct", tasks[0].task_id),
            reads.find_task("acct", "e3"),  # by external id
            reads.find_task("acct", "no-such-task"),
            reads.find_task("someone-else", tasks[0].task_id),
            reads.page("acct", 1, 2),
            reads.page("acct", 3, 2),
            reads.admission("acct"),
            reads.admission("no-limits"),
            reads.add_request(RECORD),
        ],
    )
    assert sizes == [9], "calls queued before an await share one round trip"
    assert found[0] == store.find_task("acct", tasks[0].task_id) == tasks[0]
    assert found[1] == tasks[3]
    assert found[2] is None
    assert found[3] is None
    assert found[4] == store.page("acct", 1, 2) == [tasks[4], tasks[3]]
    assert found[5] == [tasks[0]]
    assert found[6] == store.admission("acct")
    assert found[6] == ([FaultRule(code=1303, times=1)], Limits(concurrency=2))
    assert found[7] == ([FaultRule(code=1303, times=1)], None)
    assert found[8] is None
    assert store.requests() == [RECORD]
    store.close()


def test_calls_queued_while_a_batch_is_out_go_in_the_next_one(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
):
    store = fresh_store(redis_url)
    task = make_task(str(10**17))
    store.add_task(task)
    reads = store.loop_reads()
    assert reads is not None
    _warm(redis_url)
    sizes = _pipelines(monkeypatch)

    async def many() -> list[Any]:
        first = reads.find_task("acct", task.task_id)  # sent at the loop's next turn
        await asyncio.sleep(0)  # the first batch leaves: what follows waits for it
        later = [reads.find_task("acct", task.task_id) for _ in range(20)]
        try:
            return [await first, *[await call for call in later]]
        finally:
            await reads.close()

    assert asyncio.run(many()) == [task] * 21
    assert sizes == [1, 20]
    store.close()


def test_scripts_the_server_lost_are_loaded_again(redis_url: str):
    store = fresh_store(redis_url)
    task = make_task(str(10**17))
    store.add_task(task)
    reads = store.loop_reads()
    assert reads is not None
    redis.Redis.from_url(redis_url).script_flush()  # as after a restart of the server
    found = _run(reads, lambda: [reads.find_task("acct", task.task_id), reads.add_request(RECORD)])
    assert found == [task, None]
    assert store.requests() == [RECORD]
    store.close()


def test_a_server_that_does_not_answer_fails_each_call_with_a_store_error():
    with socket.socket() as probe:  # a port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = open_redis(f"redis://127.0.0.1:{port}/0?namespace=gone")
    reads: LoopReads | None = store.loop_reads()
    assert reads is not None

    async def failing() -> list[BaseException]:
        calls = [reads.find_task("acct", "1"), reads.admission("acct")]
        errors = []
        for call in calls:
            with pytest.raises(StoreError) as caught:
                await call
            errors.append(caught.value)
        await reads.close()
        return errors

    errors = asyncio.run(failing())
    assert all(f"store redis://127.0.0.1:{port}/0" in str(error) for error in errors)


def test_a_redis_cluster_offers_no_loop_reads(redis_cluster_url: str):
    store = open_redis(fresh_namespace(redis_cluster_url))
    assert store.cluster
    assert store.loop_reads() is None
    store.close()


@pytest.mark.slow  # a server process
def test_serve_on_redis_answers_gets_on_the_loop_as_kling_does(redis_url: str):
    server = Server("--api-key", "sk-loop", "--store", fresh_namespace(redis_url))
    auth = {"Authorization": "Bearer sk-loop"}
    fast: list[tuple[str, dict[str, Any]]] = []  # what the fast path did, after each call

    def call(name: str, method: str, path: str, **options: Any) -> requests.Response:
        answer = requests.request(method, server.url + path, timeout=10, **options)
        health = requests.get(f"{server.url}/__mock__/health", timeout=10).json()
        fast.append((name, health["fast_path"]))
        return answer

    try:
        body = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "a cat"}
        created = call("submit", "POST", API_PATH, json=body, headers=auth)
        task_id = created.json()["data"]["task_id"]
        one = call("one", "GET", f"{API_PATH}/{task_id}", headers=auth)
        assert one.status_code == 200
        assert one.json()["data"]["task_id"] == task_id
        page = call("page", "GET", f"{API_PATH}?pageNum=1&pageSize=5", headers=auth)
        assert [task["task_id"] for task in page.json()["data"]] == [task_id]
        missing = call("missing", "GET", f"{API_PATH}/42", headers=auth)
        assert (missing.status_code, missing.json()["code"]) == (404, 1203)
        nobody = call("nobody", "GET", f"{API_PATH}/{task_id}")
        assert nobody.status_code == 401
        rule = {"endpoint": "query", "code": 1303, "times": 1}
        requests.post(f"{server.url}/__mock__/faults", json=rule, timeout=10).raise_for_status()
        faulted = call("faulted", "GET", f"{API_PATH}/{task_id}", headers=auth)
        assert (faulted.status_code, faulted.json()["code"]) == (429, 1303)
        again = call("again", "GET", f"{API_PATH}/{task_id}", headers=auth)
        assert again.status_code == 200
        journal = requests.get(f"{server.url}/__mock__/requests", timeout=10).json()
    finally:
        server.stop()
    gets = [(entry["http_status"], entry["code"]) for entry in journal if entry["method"] == "GET"]
    assert gets == [(200, 0), (200, 0), (404, 1203), (401, 1001), (429, 1303), (200, 0)]
    # Which calls the fast path answered (each health call in between is one answer too), and
    # why it handed the others to Flask.
    answered: list[str] = []
    handed: dict[str, list[str]] = {}
    before: dict[str, Any] = {"answered": 0, "fell_back": {}}
    for name, counts in fast:
        if counts["answered"] > before["answered"]:
            answered.append(name)
        for reason, n in counts["fell_back"].items():
            if n > before["fell_back"].get(reason, 0):
                handed.setdefault(name, []).append(reason)
        before = {"answered": counts["answered"] + 1, "fell_back": counts["fell_back"]}
    assert answered == ["submit", "one", "page", "again"], (answered, handed)
    assert handed == {
        "missing": ["refused"],
        "nobody": ["no_auth_header"],
        "faulted": ["not_its_route", "faults_or_limits"],  # (the POST of the rule, then the GET)
    }
