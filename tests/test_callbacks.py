"""Callback delivery: order per task, retries on a fake clock, faults, the journal, and real POSTs
to a scripted local receiver (no sleeps; every wait is bounded)."""

from __future__ import annotations

import json
import random
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mock_kling.callbacks.sender import http_post
from mock_kling.core.attempts import Attempt
from mock_kling.core.clock import ManualClock, SystemClock
from mock_kling.core.delivery import CallbackFault, DeliveryPolicy, Sender

from .dispatch_harness import CallbackQueue

T0 = 1_767_225_600_000  # ManualClock's default start
WAIT = 5.0  # real-time bound of every wait in this file


# -- a scripted receiver ---------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """An HTTP server on 127.0.0.1 that answers each request by the next action of its script:
    "200", "500", "302" (to /elsewhere), "hang" (until `release` is set), "close" (no answer).
    With the script used up it answers 200."""

    def __init__(self, *script: str) -> None:
        self.script = deque(script)
        self.received: list[Received] = []
        self.got_request = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    action = receiver.script.popleft() if receiver.script else "200"
                receiver.got_request.set()
                if action == "close":
                    self.close_connection = True
                    return
                if action == "hang":
                    receiver.release.wait(WAIT)
                    action = "200"
                try:
                    self.send_response(int(action))
                    if action == "302":
                        self.send_header("Location", "/elsewhere")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the client gave up (timeout) before the answer
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.received]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(WAIT)


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    opened: list[Receiver] = []

    def make(*script: str) -> Receiver:
        opened.append(Receiver(*script))
        return opened[-1]

    yield make
    for receiver in opened:
        receiver.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def queues() -> Iterator[Callable[..., CallbackQueue]]:
    made: list[CallbackQueue] = []

    def make(clock: Any, **options: Any) -> CallbackQueue:
        made.append(CallbackQueue(clock, **options))
        return made[-1]

    yield make
    for queue in made:
        queue.stop()


# -- fake senders ----------------------------------------------------------------------------


class Script:
    """A fake sender: answers by url from per-url scripts of statuses (default 200), records
    every call as (url, payload) in call order."""

    def __init__(self, **scripts: list[int | None]) -> None:
        self.scripts = {url: deque(statuses) for url, statuses in scripts.items()}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def __call__(self, url: str, body: bytes, timeout: float) -> tuple[int | None, str | None]:
        with self._lock:
            self.calls.append((url, json.loads(body)))
            script = self.scripts.get(url)
            status = script.popleft() if script else 200
        return status, None if status is not None else "timeout"

    def statuses(self) -> list[str]:
        with self._lock:
            return [payload["task_status"] for _, payload in self.calls]


def notify(queue: CallbackQueue, task_id: str, status: str, url: str, due_ms: int = T0) -> None:
    payload = {"task_id": task_id, "task_status": status, "updated_at": due_ms}
    queue.enqueue(task_id, status, url, payload, due_ms)


def rows(journal: list[Attempt]) -> list[tuple[str, str, int, int, str, str | None]]:
    """(task, status, attempt, at_ms - T0, result, fault) per entry: the schedule, for asserts."""
    return [(a.task_id, a.status, a.attempt, a.at_ms - T0, a.result, a.fault) for a in journal]


def free_port() -> int:
    """A port nobody listens on: bound, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- order and retries (fake sender) ---------------------------------------------------------


def test_in_order_per_task_even_when_the_first_needs_retries(clock, queues):
    sender = Script(**{"http://a/hook": [500, None, 200]})
    queue = queues(clock, sender=sender)
    for status in ("submitted", "processing", "succeed"):
        notify(queue, "a", status, "http://a/hook")  # all due at once
    notify(queue, "b", "submitted", "http://b/hook")

    queue.settle(T0 + 60_000)

    assert clock.now_ms() == T0 + 60_000
    a_calls = [p["task_status"] for url, p in sender.calls if url == "http://a/hook"]
    assert a_calls == ["submitted"] * 3 + ["processing", "succeed"]
    assert rows(queue.journal()) == [
        ("a", "submitted", 1, 0, "retrying", None),
        ("b", "submitted", 1, 0, "delivered", None),
        ("a", "submitted", 2, 1000, "retrying", None),
        ("a", "submitted", 3, 3000, "delivered", None),
        ("a", "processing", 1, 3000, "delivered", None),
        ("a", "succeed", 1, 3000, "delivered", None),
    ]
    first, second = queue.journal()[0], queue.journal()[2]
    assert (first.http_status, first.error) == (500, "non-2xx answer 500")
    assert (second.http_status, second.error) == (None, "timeout")
    assert queue.pending() == 0


def test_next_due_and_settle_stop_at_the_target(clock, queues):
    sender = Script()
    queue = queues(clock, sender=sender)
    assert queue.next_due_ms() is None
    notify(queue, "a", "submitted", "http://a/hook", T0 + 2000)
    notify(queue, "a", "processing", "http://a/hook", T0 + 10_000)
    assert queue.next_due_ms() == T0 + 2000
    assert queue.run_due() == 0  # nothing due yet

    queue.settle(T0 + 5000)

    assert sender.statuses() == ["submitted"]
    assert clock.now_ms() == T0 + 5000
    assert (queue.pending(), queue.next_due_ms()) == (1, T0 + 10_000)
    queue.settle(T0 + 10_000)  # due exactly at the target: sent
    assert sender.statuses() == ["submitted", "processing"]
    assert queue.pending() == 0


def test_gives_up_after_attempts_with_doubling_backoff(clock, queues):
    sender = Script(**{"http://a/hook": [503] * 4})
    queue = queues(clock, sender=sender, policy=DeliveryPolicy(attempts=4, backoff_seconds=0.5))
    notify(queue, "a", "submitted", "http://a/hook")
    notify(queue, "a", "processing", "http://a/hook")

    queue.settle(T0 + 60_000)

    journal = queue.journal()
    assert [(a.attempt, a.at_ms - T0, a.result) for a in journal if a.status == "submitted"] == [
        (1, 0, "retrying"),
        (2, 500, "retrying"),
        (3, 1500, "retrying"),
        (4, 3500, "gave_up"),
    ]
    assert [(a.at_ms - T0, a.status) for a in journal][4:] == [(3500, "processing")]
    assert len(sender.calls) == 5
    assert queue.pending() == 0


def test_a_raising_sender_is_journaled_and_retried(clock, queues):
    calls: list[str] = []

    def sender(url: str, body: bytes, timeout: float) -> tuple[int | None, str | None]:
        calls.append(url)
        if len(calls) == 1:
            raise ValueError("boom")
        return 204, None

    queue = queues(clock, sender=sender)
    notify(queue, "a", "submitted", "http://a/hook")
    queue.settle(T0 + 5000)
    journal = queue.journal()
    assert [(a.error, a.result) for a in journal] == [
        ("sender raised ValueError: boom", "retrying"),
        (None, "delivered"),
    ]
    assert journal[1].http_status == 204


# -- real HTTP -------------------------------------------------------------------------------


def test_retries_after_500_with_backoff_1_2_4_seconds(clock, queues, receivers):
    receiver = receivers("500", "500", "500", "200")
    queue = queues(clock, policy=DeliveryPolicy(timeout_seconds=WAIT))
    payload = {"task_id": "a", "task_status": "submitted", "task_info": {}, "created_at": T0}
    queue.enqueue("a", "submitted", receiver.url, payload, T0)

    queue.settle(T0 + 60_000)

    journal = queue.journal()
    assert [(a.at_ms - T0, a.http_status, a.error, a.result) for a in journal] == [
        (0, 500, "non-2xx answer 500", "retrying"),
        (1000, 500, "non-2xx answer 500", "retrying"),
        (3000, 500, "non-2xx answer 500", "retrying"),
        (7000, 200, None, "delivered"),
    ]
    assert all(a.latency_ms > 0 and a.payload == payload for a in journal)
    assert len(receiver.received) == 4
    request = receiver.received[0]
    assert request.path == "/hook"
    assert request.body == json.dumps(payload, separators=(",", ":")).encode()
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "mock-kling"


def test_refused_connection_is_retried_then_given_up(clock, queues):
    url = f"http://127.0.0.1:{free_port()}/hook"
    queue = queues(clock, policy=DeliveryPolicy(attempts=3, timeout_seconds=WAIT))
    notify(queue, "a", "submitted", url)

    queue.settle(T0 + 60_000)

    journal = queue.journal()
    assert [(a.at_ms - T0, a.result) for a in journal] == [
        (0, "retrying"),
        (1000, "retrying"),
        (3000, "gave_up"),
    ]
    assert all(a.http_status is None for a in journal)
    assert all((a.error or "").startswith("connection refused: ") for a in journal)
    assert queue.pending() == 0


def test_a_hanging_receiver_times_out(clock, queues, receivers):
    receiver = receivers("hang")
    queue = queues(clock, policy=DeliveryPolicy(attempts=1, timeout_seconds=0.2))
    notify(queue, "a", "submitted", receiver.url)

    queue.settle(T0 + 1000)

    (entry,) = queue.journal()
    assert (entry.http_status, entry.error, entry.result) == (None, "timeout", "gave_up")
    assert 150 <= entry.latency_ms < WAIT * 1000


def test_redirects_are_not_followed(clock, queues, receivers):
    receiver = receivers("302")
    queue = queues(clock, policy=DeliveryPolicy(timeout_seconds=WAIT))
    notify(queue, "a", "submitted", receiver.url)

    queue.settle(T0 + 5000)

    first, second = queue.journal()
    assert (first.http_status, first.error, first.result) == (
        302,
        "redirect 302 not followed",
        "retrying",
    )
    assert (second.http_status, second.result) == (200, "delivered")
    assert receiver.paths() == ["/hook", "/hook"]  # never /elsewhere


def test_a_connection_closed_without_answer_is_a_failure(clock, queues, receivers):
    receiver = receivers("close")
    queue = queues(clock, policy=DeliveryPolicy(timeout_seconds=WAIT))
    notify(queue, "a", "submitted", receiver.url)

    queue.settle(T0 + 5000)

    assert [(a.http_status, a.error, a.result) for a in queue.journal()] == [
        (None, "connection closed without an answer", "retrying"),
        (200, None, "delivered"),
    ]


def test_http_post_never_raises_on_bad_urls():
    assert http_post("ftp://example.com/x", b"{}", 1.0)[0] is None
    status, error = http_post("http://[::1/x", b"{}", 1.0)
    assert status is None
    assert error is not None
    assert "ValueError" in error
    status, error = http_post("http://127.0.0.1:99999/x", b"{}", 1.0)
    assert status is None
    assert error is not None


# -- concurrency and drivers -----------------------------------------------------------------


def test_a_hanging_task_does_not_delay_another(clock, queues):
    release, a_started, b2_called = threading.Event(), threading.Event(), threading.Event()

    def sender(url: str, body: bytes, timeout: float) -> tuple[int | None, str | None]:
        if url == "http://a/hook":
            a_started.set()
            release.wait(WAIT)
        if json.loads(body)["task_status"] == "processing" and url == "http://b/hook":
            b2_called.set()
        return 200, None

    queue = queues(clock, sender=sender)
    queue.start_background()
    queue.start_background()  # idempotent
    notify(queue, "a", "submitted", "http://a/hook")
    notify(queue, "b", "submitted", "http://b/hook")
    notify(queue, "b", "processing", "http://b/hook")
    try:
        assert a_started.wait(WAIT)
        # b's second notification starts only once its first is delivered and journaled
        assert b2_called.wait(WAIT)
        assert not release.is_set()
        journal = rows(queue.journal())
        assert ("b", "submitted", 1, 0, "delivered", None) in journal
        assert [row for row in journal if row[0] == "a"] == []
        assert not queue.wait_idle(0.01)  # a is still in flight
    finally:
        release.set()
    assert queue.wait_idle(WAIT)
    assert sorted(rows(queue.journal())) == [
        ("a", "submitted", 1, 0, "delivered", None),
        ("b", "processing", 1, 0, "delivered", None),
        ("b", "submitted", 1, 0, "delivered", None),
    ]


def test_claims_no_more_than_the_pool_can_start_sending(clock, queues):
    """A claim's lease (a shared store's) starts as its send starts: what waits for a free
    sender stays unclaimed, for another replica to send or for a later claim."""
    release = threading.Event()

    def sender(url: str, body: bytes, timeout: float) -> tuple[int | None, str | None]:
        release.wait(WAIT)
        return 200, None

    queue = queues(clock, sender=sender, workers=2)
    for task_id in "abcde":
        notify(queue, task_id, "submitted", f"http://{task_id}/hook")
    try:
        assert queue.run_due() == 2
        assert queue.run_due() == 0  # the pool is full: nothing more is claimed
        assert queue.store.claimed_deliveries() == 2
    finally:
        release.set()
    queue.settle(T0)
    assert sorted(entry.task_id for entry in queue.journal()) == list("abcde")
    assert queue.pending() == 0


def test_system_clock_background_delivers_when_due(queues, receivers):
    receiver = receivers()
    clock = SystemClock()
    queue = queues(clock, policy=DeliveryPolicy(timeout_seconds=WAIT))
    queue.start_background()
    notify(queue, "a", "submitted", receiver.url, clock.now_ms())

    assert receiver.got_request.wait(WAIT)
    assert queue.wait_idle(WAIT)  # the attempt counts as in flight until it is journaled
    (entry,) = queue.journal()
    assert (entry.http_status, entry.result) == (200, "delivered")
    assert queue.pending() == 0


def test_stop_ends_the_driver_and_the_pool(clock, queues):
    queue = queues(clock, sender=Script())
    queue.start_background()
    queue.stop()
    queue.stop()  # idempotent
    notify(queue, "a", "submitted", "http://a/hook")
    assert queue.run_due() == 0
    with pytest.raises(RuntimeError, match="stopped"):
        queue.settle(T0 + 1000)
    with pytest.raises(RuntimeError, match="stopped"):
        queue.start_background()


# -- faults ----------------------------------------------------------------------------------


def test_drop_fault_skips_one_notification(clock, queues):
    sender = Script()
    queue = queues(clock, sender=sender)
    queue.add_fault(CallbackFault("drop", task_id="a"))
    notify(queue, "b", "submitted", "http://b/hook")
    notify(queue, "a", "submitted", "http://a/hook")
    notify(queue, "a", "processing", "http://a/hook")

    queue.settle(T0 + 5000)

    assert rows(queue.journal()) == [
        ("b", "submitted", 1, 0, "delivered", None),
        ("a", "submitted", 1, 0, "dropped", "drop"),
        ("a", "processing", 1, 0, "delivered", None),
    ]
    assert [url for url, _ in sender.calls].count("http://a/hook") == 1
    assert queue.faults() == []


def test_faults_are_used_up_after_times(clock, queues):
    queue = queues(clock, sender=Script())
    fault = CallbackFault("drop", times=3)
    queue.add_fault(fault)
    notify(queue, "a", "submitted", "http://a/hook")
    queue.settle(T0)
    assert queue.faults() == [CallbackFault("drop", times=2)]
    notify(queue, "a", "processing", "http://a/hook", T0 + 1)
    notify(queue, "b", "submitted", "http://b/hook", T0 + 2)
    notify(queue, "b", "processing", "http://b/hook", T0 + 3)
    queue.settle(T0 + 1000)
    assert [a.result for a in queue.journal()] == ["dropped"] * 3 + ["delivered"]
    assert queue.faults() == []


def test_duplicate_fault_sends_the_same_body_twice(clock, queues, receivers):
    receiver = receivers()
    queue = queues(clock, policy=DeliveryPolicy(timeout_seconds=WAIT))
    queue.add_fault(CallbackFault("duplicate"))
    notify(queue, "a", "submitted", receiver.url)
    notify(queue, "a", "processing", receiver.url)

    queue.settle(T0 + 5000)

    assert rows(queue.journal()) == [
        ("a", "submitted", 1, 0, "delivered", None),
        ("a", "submitted", 1, 0, "delivered", "duplicate"),
        ("a", "processing", 1, 0, "delivered", None),
    ]
    bodies = [json.loads(r.body)["task_status"] for r in receiver.received]
    assert bodies == ["submitted", "submitted", "processing"]
    assert receiver.received[0].body == receiver.received[1].body


def test_a_failed_duplicate_is_journaled_not_retried(clock, queues):
    sender = Script(**{"http://a/hook": [500, 200, 500]})
    queue = queues(clock, sender=sender)
    queue.add_fault(CallbackFault("duplicate"))
    notify(queue, "a", "submitted", "http://a/hook")

    queue.settle(T0 + 60_000)

    assert rows(queue.journal()) == [
        ("a", "submitted", 1, 0, "retrying", None),
        ("a", "submitted", 2, 1000, "delivered", None),
        ("a", "submitted", 2, 1000, "gave_up", "duplicate"),  # after its original
    ]
    assert queue.journal()[-1].error == "non-2xx answer 500"
    assert len(sender.calls) == 3


def test_delay_fault_postpones_the_first_attempt(clock, queues):
    sender = Script(**{"http://a/hook": [500]})
    queue = queues(clock, sender=sender)
    queue.add_fault(CallbackFault("delay", seconds=30, times=2))
    notify(queue, "a", "submitted", "http://a/hook")
    notify(queue, "b", "submitted", "http://b/hook")
    notify(queue, "c", "submitted", "http://c/hook")

    queue.settle(T0 + 10_000)
    assert rows(queue.journal()) == [("c", "submitted", 1, 0, "delivered", None)]
    assert queue.next_due_ms() == T0 + 30_000

    queue.settle(T0 + 60_000)
    assert rows(queue.journal())[1:] == [
        ("a", "submitted", 1, 30_000, "retrying", "delay"),
        ("b", "submitted", 1, 30_000, "delivered", "delay"),
        ("a", "submitted", 2, 31_000, "delivered", "delay"),
    ]
    assert queue.faults() == []


def test_fault_validation():
    with pytest.raises(ValueError, match="action"):
        CallbackFault("explode")
    with pytest.raises(ValueError, match="times"):
        CallbackFault("drop", times=0)
    with pytest.raises(ValueError, match="seconds"):
        CallbackFault("delay", seconds=-1)
    with pytest.raises(ValueError, match="attempts"):
        DeliveryPolicy(attempts=0)
    with pytest.raises(ValueError, match="timeout"):
        DeliveryPolicy(timeout_seconds=0)


# -- journal, cancel, reset ------------------------------------------------------------------


def seeded_sender(seed: int) -> Sender:
    """Answers drawn from (seed, url, n-th call for that url): the same for the same run,
    whatever order the pool's threads call it in."""
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def sender(url: str, body: bytes, timeout: float) -> tuple[int | None, str | None]:
        with lock:
            counts[url] = counts.get(url, 0) + 1
            n = counts[url]
        status = random.Random(f"{seed}:{url}:{n}").choice([200, 200, 500, 302, None])
        return status, None if status is not None else "connection refused: fake"

    return sender


def seeded_run(seed: int, queues: Callable[..., CallbackQueue]) -> list[dict[str, Any]]:
    clock = ManualClock(T0)
    queue = queues(clock, sender=seeded_sender(seed), workers=4)
    queue.add_fault(CallbackFault("drop", times=2))
    queue.add_fault(CallbackFault("duplicate", times=2))
    queue.add_fault(CallbackFault("delay", seconds=2.5, times=2))
    for i in range(12):
        url = f"http://host/{i}"
        for step, status in enumerate(("submitted", "processing", "succeed")):
            notify(queue, f"t{i}", status, url, T0 + i * 100 + step * 2000)
    queue.settle(T0 + 120_000)
    assert queue.pending() == 0
    journal = queue.journal()
    assert journal == sorted(journal, key=Attempt.sort_key)
    return [{k: v for k, v in a.to_json().items() if k != "latency_ms"} for a in journal]


def test_journal_is_deterministic_for_a_seeded_run(queues):
    first = seeded_run(7, queues)
    assert first == seeded_run(7, queues)
    assert first != seeded_run(8, queues)
    results = {entry["result"] for entry in first}
    assert {"delivered", "retrying", "dropped"} <= results
    assert {entry["fault"] for entry in first} == {None, "drop", "duplicate", "delay"}


def test_journal_limit_keeps_the_newest(clock, queues):
    queue = queues(clock, sender=Script(), journal_limit=3)
    for i in range(5):
        notify(queue, f"t{i}", "submitted", "http://a/hook", T0 + i)
    queue.settle(T0 + 1000)
    assert [a.seq for a in queue.journal()] == [2, 3, 4]
    entry = queue.journal()[0].to_json()
    assert entry["task_id"] == "t2"
    assert entry["payload"]["task_status"] == "submitted"
    assert json.loads(json.dumps(entry)) == entry


def test_cancel_pending_keeps_only_the_started_notification(clock, queues):
    sender = Script(**{"http://a/hook": [500]})
    queue = queues(clock, sender=sender)
    notify(queue, "a", "submitted", "http://a/hook")
    notify(queue, "a", "processing", "http://a/hook", T0 + 2000)
    notify(queue, "a", "succeed", "http://a/hook", T0 + 10_000)
    notify(queue, "b", "submitted", "http://b/hook", T0 + 500)

    queue.settle(T0)  # a's first attempt fails: a retry is due at T0 + 1000
    queue.cancel_pending("a")
    queue.cancel_pending("nobody")
    assert queue.pending() == 2  # a's retrying submitted, b's submitted

    queue.settle(T0 + 20_000)
    assert rows(queue.journal()) == [
        ("a", "submitted", 1, 0, "retrying", None),
        ("b", "submitted", 1, 500, "delivered", None),
        ("a", "submitted", 2, 1000, "delivered", None),
    ]
    assert queue.pending() == 0


def test_cancel_pending_after_keeps_statuses_already_reached(clock, queues):
    sender = Script()
    queue = queues(clock, sender=sender)
    queue.add_fault(CallbackFault("delay", seconds=5, task_id="a"))
    notify(queue, "a", "submitted", "http://a/hook")
    notify(queue, "a", "processing", "http://a/hook", T0 + 2000)
    notify(queue, "a", "succeed", "http://a/hook", T0 + 10_000)
    queue.settle(T0 + 1000)  # submitted is delayed to T0 + 5000: not started
    clock.set_ms(T0 + 3000)  # time moved on, nothing was sent

    queue.cancel_pending("a", after_ms=T0 + 3000)  # e.g. the outcome changed at T0 + 3000

    assert queue.pending() == 2
    queue.settle(T0 + 20_000)
    assert sender.statuses() == ["submitted", "processing"]
    assert rows(queue.journal())[0] == ("a", "submitted", 1, 5000, "delivered", "delay")


def test_reset_forgets_everything_and_in_flight_attempts_go_unseen(clock, queues):
    release, started = threading.Event(), threading.Event()

    def sender(url: str, body: bytes, timeout: float) -> tuple[int | None, str | None]:
        if url == "http://slow/hook":
            started.set()
            release.wait(WAIT)
        return 200, None

    queue = queues(clock, sender=sender)
    queue.add_fault(CallbackFault("drop", task_id="x"))
    notify(queue, "a", "submitted", "http://slow/hook")
    notify(queue, "a", "processing", "http://slow/hook", T0 + 2000)
    assert queue.run_due() == 1
    try:
        assert started.wait(WAIT)
        queue.reset()
        assert (queue.pending(), queue.faults(), queue.journal()) == (0, [], [])
    finally:
        release.set()
    assert queue.wait_idle(WAIT)
    assert queue.journal() == []
    assert queue.next_due_ms() is None

    notify(queue, "a", "succeed", "http://fast/hook")  # same task id: not blocked by the old one
    queue.settle(T0 + 1000)
    assert [(a.seq, a.status, a.result) for a in queue.journal()] == [(0, "succeed", "delivered")]
