"""The shared manual clock has one writer: concurrent advances from threads and processes add up
exactly (N advances of d_i move it by sum(d_i)) and no reader ever sees time go backwards."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from mock_kling.assemble import build_backend, make_clock
from mock_kling.core.config import Config
from mock_kling.core.store import Store
from mock_kling.store import open_store, sqlite_url
from mock_kling.store.memory import MemoryStore

from .redis_server import fresh_namespace
from .test_backend import HOOK, Recorder, _client, _submit
from .test_serve import Server

SHARED = ["sqlite", "redis"]
THREADS, ADVANCES = 8, 25  # 200 advances, as in the measurement


def _delta_ms(thread: int, n: int) -> int:
    return 1 + (thread * 7 + n * 13) % 5000  # varied, all > 0


def _store_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        return sqlite_url(str(tmp_path / "shared.db"))
    return fresh_namespace(request.getfixturevalue("redis_url"))


def _open(kind: str, request: pytest.FixtureRequest, tmp_path: Path, count: int = 1) -> list[Store]:
    """`count` clients of one store (memory: one store, the same object each time)."""
    if kind == "memory":
        return [MemoryStore()] * count
    url = _store_url(kind, request, tmp_path)
    stores = [open_store(url) for _ in range(count)]
    for store in stores:
        request.addfinalizer(store.close)  # type: ignore[attr-defined]
    return stores


class Poller:
    """Reads a time over and over on a thread of its own; counts every step backwards."""

    def __init__(self, read: Callable[[], int]) -> None:
        self._read, self._stop = read, threading.Event()
        self.seen, self.backwards = 0, 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = self._read()
        while not self._stop.is_set():
            now = self._read()
            self.seen += 1
            if now < last:
                self.backwards += 1
            last = max(last, now)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()


def _race(advance: Callable[[int, int], None], threads: int = THREADS) -> int:
    """`advance(thread, n)` from `threads` threads, ADVANCES each; the sum of the deltas."""
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(thread: int) -> None:
        start.wait(timeout=30)
        try:
            for n in range(ADVANCES):
                advance(thread, n)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert not worker.is_alive()
    assert errors == []
    return sum(_delta_ms(t, n) for t in range(threads) for n in range(ADVANCES))


@pytest.mark.parametrize("kind", ["memory", *SHARED])
def test_concurrent_store_adds_add_up_and_raises_never_go_back(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
):
    store, other = _open(kind, request, tmp_path, 2)  # two clients
    store.set_clock_ms(1_000)
    poller = Poller(lambda: store.clock_ms() or 0)
    raised: list[int] = []

    def advance(thread: int, n: int) -> None:
        client = store if thread % 2 else other
        before = client.clock_ms() or 0
        after = client.add_clock_ms(_delta_ms(thread, n))
        assert after >= before + _delta_ms(thread, n)
        raised.append(client.raise_clock_ms(before))  # behind the time: changes nothing

    total = _race(advance)
    poller.stop()
    assert store.clock_ms() == 1_000 + total
    assert poller.backwards == 0
    assert all(value >= 1_000 for value in raised)
    assert store.raise_clock_ms(10**13) == 10**13
    assert other.raise_clock_ms(5) == 10**13
    store.reset()
    assert store.add_clock_ms(7) == 7  # no stored time counts as 0
    store.reset()
    assert store.raise_clock_ms(9) == 9


@pytest.mark.parametrize("kind", ["memory", *SHARED])
def test_concurrent_advances_of_fakes_on_one_store_add_up(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
):
    """Advances settle on the way (steps and callbacks due in their windows run) and still add
    up. Shared stores: two fakes (two clients of the store, as two replicas); memory: one."""
    stores = _open(kind, request, tmp_path, 1 if kind == "memory" else 2)
    config = Config(seed=1, api_keys=["sk-k"])
    senders = [Recorder() for _ in stores]
    fakes = [
        build_backend(config, make_clock("manual", store), store=store, sender=sender)
        for store, sender in zip(stores, senders, strict=True)
    ]
    for fake in fakes:
        request.addfinalizer(fake.close)
    for n in range(4):  # steps and callbacks fall due inside the advances' windows
        _submit(_client(fakes[n % len(fakes)]), callback_url=HOOK)
    start = fakes[0].now_ms()
    pollers = [Poller(fake.now_ms) for fake in fakes]

    total = _race(lambda thread, n: fakes[thread % len(fakes)].advance(_delta_ms(thread, n) / 1000))

    for poller in pollers:
        poller.stop()
        assert poller.backwards == 0
    assert [fake.now_ms() - start for fake in fakes] == [total] * len(fakes)
    sent = [body["task_status"] for sender in senders for body in sender.sent]
    assert sorted(sent) == ["processing"] * 4 + ["submitted"] * 4 + ["succeed"] * 4


@pytest.fixture
def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Server]]:
    url = _store_url(request.param, request, tmp_path)
    servers: list[Server] = []
    try:
        for _ in range(2):
            servers.append(Server("--clock", "manual", "--store", url))
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.mark.slow  # two server processes
@pytest.mark.parametrize("replicas", SHARED, indirect=True)
def test_advances_through_two_replicas_add_up_and_never_go_back(replicas: list[Server]):
    sessions = [requests.Session() for _ in range(THREADS)]

    def now(server: Server, session: requests.Session) -> int:
        answer = session.get(f"{server.url}/__mock__/clock", timeout=30)
        value: int = answer.json()["now_ms"]
        return value

    start = now(replicas[0], sessions[0])
    polling = [requests.Session() for _ in replicas]
    pollers = [
        Poller(lambda r=replica, s=session: now(r, s))
        for replica, session in zip(replicas, polling, strict=True)
    ]

    def advance(thread: int, n: int) -> None:
        server = replicas[(thread + n) % 2]
        seconds = _delta_ms(thread, n) / 1000
        answer = sessions[thread].post(
            f"{server.url}/__mock__/clock/advance", json={"seconds": seconds}, timeout=60
        )
        assert answer.status_code == 200, answer.text

    total = _race(advance)
    for poller in pollers:
        poller.stop()
        assert poller.seen > 0
        assert poller.backwards == 0
    assert now(replicas[0], sessions[0]) == now(replicas[1], sessions[1]) == start + total
