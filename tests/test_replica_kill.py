"""The system test of the shared team server: two `serve` replicas on one Redis namespace (a
single redis-server, then a Redis Cluster), one of them frozen (SIGSTOP) while a submit of its
is unanswered and a callback send of its is in flight, then SIGKILLed. Meanwhile and afterwards
the other replica answers every request within 1 s and stays "ok"; no task and no callback is
lost, every duplicate callback is a journaled take-over, and the shared concurrency limit
holds."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from mock_kling.callbacks.receiver import Delivery, Receiver
from mock_kling.store.redis import RedisStore, open_redis

from .conftest import API_PATH
from .redis_server import fresh_namespace
from .test_serve import Server

KEY = "sk-replicas"
LIMIT = 6  # tasks in flight per account: over it, 429 / 1303
LEASE_SECONDS = 2
STATUSES = ["submitted", "processing", "succeed"]
DRIVE_SECONDS = 3.0  # the client drives both replicas, then B alone, this long
WAIT_SECONDS = 40.0  # generous bounds for a loaded 2-core machine
REQUEST_TIMEOUT = 30.0
FROZEN_SECONDS = 2.0  # the client drives B this long while A is frozen
DELAY_BOUND_SECONDS = 1.0  # no request to B takes longer, whatever state A was frozen in
OPTIONS = (
    "--api-key", KEY, "--quiet", "--submitted-seconds", "0.5", "--processing-seconds", "1",
    "--callback-timeout", "1.5",  # shorter than the lease, as README advises
)  # fmt: skip


@dataclass
class Client:
    """A client of the replicas: what it was answered."""

    callback_base: str
    accepted: list[str] = field(default_factory=list)  # task ids answered code 0
    refused: Counter[tuple[int, int]] = field(default_factory=Counter)  # (HTTP, code)
    calls: int = 0
    serial: Iterator[int] = field(default_factory=itertools.count)
    timed: list[tuple[str, float]] = field(default_factory=list)  # (url, seconds) when timing
    timing: bool = False

    def submit(self, server: Server, path: str = "/cb") -> str | None:
        body = {
            "image_list": [{"image": "https://example.com/a.png"}],
            "prompt": "two replicas",
            "callback_url": f"{self.callback_base}{path}/{next(self.serial)}",
        }
        answer = self._call("POST", server.url + API_PATH, json=body)
        if answer.json()["code"] != 0:
            self.refused[(answer.status_code, answer.json()["code"])] += 1
            return None
        task_id: str = answer.json()["data"]["task_id"]
        self.accepted.append(task_id)
        return task_id

    def read(self, server: Server) -> None:
        """A GET of the newest accepted task and a page of the list, both answered code 0."""
        if self.accepted:
            one = self._call("GET", f"{server.url}{API_PATH}/{self.accepted[-1]}")
            assert one.json()["code"] == 0, one.text
        page = self._call("GET", f"{server.url}{API_PATH}?pageNum=1&pageSize=30")
        assert page.json()["code"] == 0, page.text

    def drive(self, servers: list[Server], seconds: float) -> None:
        """Submit, GET and list on each server in turn for `seconds`."""
        deadline = time.monotonic() + seconds
        for server in itertools.cycle(servers):
            if time.monotonic() > deadline:
                return
            self.submit(server)
            self.read(server)

    def _call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.calls += 1
        headers = {"Authorization": f"Bearer {KEY}"}
        started = time.monotonic()
        answer = requests.request(method, url, headers=headers, timeout=REQUEST_TIMEOUT, **kwargs)
        if self.timing:
            self.timed.append((f"{method} {url}", time.monotonic() - started))
        return answer


class Submitter:
    """Submits to one replica back to back on a thread of its own until that replica dies;
    `in_flight` is set while a submit is unanswered."""

    def __init__(self, server: Server, client: Client) -> None:
        self.client, self.server = client, server
        self.in_flight = threading.Event()
        self.sent = threading.Event()  # at least one submit was answered
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.in_flight.set()
            try:
                self.client.submit(self.server, "/bg")
            except requests.RequestException:
                return  # the replica was killed
            self.in_flight.clear()
            self.sent.set()

    def join(self) -> None:
        self._thread.join(WAIT_SECONDS)
        assert not self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self.join()


@pytest.mark.slow  # two server processes, about 20 s
@pytest.mark.parametrize("server", ["redis_url", "redis_cluster_url"])
def test_killing_one_of_two_redis_replicas_loses_no_task_and_no_callback(
    server: str, request: pytest.FixtureRequest
):
    started = time.monotonic()
    store_url = fresh_namespace(request.getfixturevalue(server), lease=str(LEASE_SECONDS))
    with ExitStack() as stack:
        receiver = stack.enter_context(Receiver())
        store = open_redis(store_url)  # the test's look at the shared state
        stack.callback(store.close)
        stack.callback(store.reset)
        a, b = (_replica(stack, store_url, seed) for seed in (1, 2))
        limits = {"concurrency": LIMIT}
        set_limit = requests.post(
            f"{b.url}/__mock__/accounts/{KEY}/limits", json=limits, timeout=10
        )
        assert set_limit.status_code == 200
        client = Client(receiver.base_url)
        client.drive([a, b], DRIVE_SECONDS)
        background = Client(receiver.base_url)
        tries = _kill_while_holding_a_send(a, b, client, background, receiver, store)
        client.drive([b], DRIVE_SECONDS)
        client.timing = False
        slowest = max(client.timed, key=lambda timed: timed[1])
        assert slowest[1] <= DELAY_BOUND_SECONDS, slowest
        health = requests.get(f"{b.url}/__mock__/health", timeout=10).json()
        assert health["status"] == "ok", health["errors"]
        client.accepted += background.accepted
        client.refused += background.refused
        arrived = _wait_for_every_status(receiver, client.accepted)
        _check_tasks(b, client)
        _check_callbacks(b, client.accepted, arrived)
        _check_concurrency(b)
        print(
            f"\nreplica kill ({server}): {len(client.accepted)} tasks, "
            f"{sum(client.refused.values())} refused (1303), {client.calls} API calls, "
            f"{len(receiver.deliveries)} callbacks, A frozen inside a submit and killed holding "
            f"a send at try {tries}; B's slowest of {len(client.timed)} requests while A was "
            f"frozen or dead: {slowest[1] * 1000:.0f} ms; {time.monotonic() - started:.1f} s"
        )


def _replica(stack: ExitStack, store_url: str, seed: int) -> Server:
    server = Server("--store", store_url, "--seed", str(seed), *OPTIONS)
    stack.callback(server.stop)
    return server


def _kill_while_holding_a_send(
    a: Server, b: Server, client: Client, background: Client, receiver: Receiver,
    store: RedisStore,
) -> int:  # fmt: skip
    """Submit on A until the receiver holds a send, then freeze A while a submit of
    `background`'s is unanswered; if A has a send in flight (its claim stays in Redis until the
    lease ends), drive B while A is frozen, SIGKILL A, and let the receiver answer again; how
    many tries it took. A held send of B's (B may claim a callback before A does) is let go."""
    deadline = time.monotonic() + WAIT_SECONDS
    for attempt in itertools.count(1):
        assert time.monotonic() < deadline, "A never held a callback in flight"
        receiver.hang(f"/hold{attempt}/")
        while client.submit(a, f"/hold{attempt}") is None:  # 1303: tasks end within 1.5 s
            assert time.monotonic() < deadline, "A refused every submit"
        holding = receiver.wait_until(lambda _: receiver.stats()["hanging"] >= 1, WAIT_SECONDS)
        assert holding, "no callback of a task submitted on A reached the receiver"
        if _kill_if_sending(a, b, client, background, receiver.base_url, store):
            receiver.release()
            return attempt
        receiver.release()
    raise AssertionError("unreachable")


def _kill_if_sending(
    a: Server, b: Server, client: Client, background: Client, receiver_url: str,
    store: RedisStore,
) -> bool:  # fmt: skip
    """Freeze A while a submit of `background`'s is unanswered; when a send of A's is open (it
    has not recorded that send, so its claim stands), drive B (timed) while A is frozen, then
    SIGKILL A; else let A go on. Whether A was killed."""
    submitter = Submitter(a, background)
    deadline = time.monotonic() + WAIT_SECONDS
    while not submitter.sent.is_set() or not submitter.in_flight.is_set():
        assert time.monotonic() < deadline, "A answered no submit"
    os.kill(a.process.pid, signal.SIGSTOP)
    _wait_stopped(a.process.pid)
    if _sends_in_flight(a.process.pid, receiver_url) and store.claimed_deliveries():
        assert submitter.in_flight.is_set()  # A froze with a submit unanswered
        client.timing = True
        client.drive([b], FROZEN_SECONDS)
        os.kill(a.process.pid, signal.SIGKILL)
        a.process.wait(10)
        submitter.join()
        return True
    os.kill(a.process.pid, signal.SIGCONT)
    submitter.stop()
    return False


def _wait_stopped(pid: int) -> None:
    """Return once every thread of `pid` is stopped (a signal is delivered asynchronously)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not all(_state(stat) in "TtZX" for stat in Path(f"/proc/{pid}/task").glob("*/stat")):
        assert time.monotonic() < deadline, f"process {pid} did not stop"


def _state(stat: Path) -> str:
    """A thread's state letter in /proc ("" when it ended meanwhile: done as well)."""
    try:
        return stat.read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return ""


def _sends_in_flight(pid: int, url: str) -> int:
    """How many TCP connections process `pid` has open to `url`'s port on 127.0.0.1 (the
    callback sender opens one per attempt and closes it after the answer). Linux's /proc."""
    port = int(url.rpartition(":")[2])
    inodes = {_link(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
    remote = f"0100007F:{port:04X}"
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(
        1
        for row in map(str.split, rows)
        if row[2] == remote and row[3] == "01" and f"socket:[{row[9]}]" in inodes
    )


def _link(fd: Path) -> str:
    """What a /proc fd entry points to ("socket:[inode]"), or "" when it closed meanwhile."""
    try:
        return os.readlink(fd)
    except FileNotFoundError:
        return ""


def _wait_for_every_status(receiver: Receiver, task_ids: list[str]) -> dict[str, list[Delivery]]:
    """Each task's callbacks in arrival order, once every status of every task arrived."""

    def complete(got: list[Delivery]) -> bool:
        seen = {(d.body["task_id"], d.body["task_status"]) for d in got}
        return all((task, status) in seen for task in task_ids for status in STATUSES)

    assert receiver.wait_until(complete, WAIT_SECONDS), "callbacks missing"
    arrived: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in sorted(receiver.deliveries, key=lambda d: d.at):
        arrived[delivery.body["task_id"]].append(delivery)
    return arrived


def _check_tasks(b: Server, client: Client) -> None:
    """0 tasks lost: every accepted task is on B, ended; every refusal was 429 / 1303."""
    headers = {"Authorization": f"Bearer {KEY}"}
    for task_id in client.accepted:
        answer = requests.get(f"{b.url}{API_PATH}/{task_id}", headers=headers, timeout=10).json()
        assert answer["code"] == 0
        assert answer["data"]["task_status"] == "succeed"
    assert set(client.refused) <= {(429, 1303)}, client.refused
    assert len(client.accepted) >= 2 * LIMIT


def _check_callbacks(b: Server, task_ids: list[str], arrived: dict[str, list[Delivery]]) -> None:
    """Every status in order per task; every duplicate journaled (a take-over, or a retry after
    a send that timed out once the receiver had it: at least once); lateness bound."""
    journal = requests.get(f"{b.url}/__mock__/callbacks", timeout=10).json()
    takeovers = {(e["task_id"], e["status"]) for e in journal if e["result"] == "takeover"}
    assert takeovers, "no take-over journaled: A held no claim when it was killed"
    retried = {(e["task_id"], e["status"]) for e in journal if e["result"] == "retrying"}
    offset_ms = (time.time() - time.monotonic()) * 1000  # arrival times are monotonic
    worst = 0.0
    for task_id in task_ids:
        statuses = [d.body["task_status"] for d in arrived[task_id]]
        assert [s for s, _ in itertools.groupby(statuses)] == STATUSES, (task_id, statuses)
        for status, count in Counter(statuses).items():
            explained = (task_id, status) in takeovers | retried
            assert count == 1 or explained, (task_id, status, count)
        for status in STATUSES:
            first = next(d for d in arrived[task_id] if d.body["task_status"] == status)
            worst = max(worst, first.at * 1000 + offset_ms - first.body["updated_at"])
    duplicates = sum(len(got) for got in arrived.values()) - len(task_ids) * len(STATUSES)
    print(
        f"\nworst callback lateness: {worst:.0f} ms; {len(takeovers)} take-overs, {duplicates} dups"
    )
    assert worst <= (LEASE_SECONDS + 1) * 1000  # the lease, and 1 s: no lock's TTL in it


def _check_concurrency(b: Server) -> None:
    """At no instant were more than LIMIT tasks between submit and their end (plans as kept)."""
    tasks = requests.get(f"{b.url}/__mock__/tasks", timeout=10).json()
    edges = []
    for entry in tasks:
        timeline = entry["timeline"]
        edges += [(timeline[0]["at_ms"], 1), (timeline[-1]["at_ms"], -1)]
    running = peak = 0
    for _, change in sorted(edges):  # at one instant a task ends before another starts
        running += change
        peak = max(peak, running)
    assert 0 < peak <= LIMIT
