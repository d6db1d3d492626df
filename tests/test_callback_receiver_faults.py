"""Callback receivers that misbehave: down, 500, hanging, redirecting in a loop, answering 100 MB,
dripping their answer. For each: the API keeps answering while it happens, the fake tries exactly
`callback_attempts` times (or once, when the answer counts), and the journal tells the truth."""

from __future__ import annotations

import itertools
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_kling.core.attempts import Attempt
from mock_kling.core.auth import make_token
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import DEV_ACCESS_KEY, DEV_SECRET_KEY, Config
from mock_kling.http.app import backend_of, create_app
from mock_kling.testing.receiver import CallbackReceiver

from .conftest import API_PATH

ATTEMPTS = 3
TIMEOUT = 0.3  # seconds (real) a receiver gets for one attempt
HUNDRED_MB = 100 * 1024 * 1024


@pytest.fixture
def app() -> Iterator[Flask]:
    config = Config(
        seed=3,
        submitted_seconds=10_000,  # only the "submitted" notification falls due in these tests
        processing_seconds=10_000,
        callback_attempts=ATTEMPTS,
        callback_backoff_seconds=1,
        callback_timeout_seconds=TIMEOUT,
    )
    app = create_app(config, clock=ManualClock())
    yield app
    backend_of(app).close()
    assert not backend_of(app).errors


@dataclass
class Misbehaving:
    """A tiny HTTP server whose handler does one bad thing; counts requests and bytes sent."""

    behave: Callable[[BaseHTTPRequestHandler, Misbehaving], None]
    requests: int = 0
    sent: int = 0
    arrived: threading.Event = field(default_factory=threading.Event)
    closing: threading.Event = field(default_factory=threading.Event)  # the test is over
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self) -> Iterator[str]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with owner.lock:
                    owner.requests += 1
                owner.arrived.set()
                owner.behave(self, owner)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/hook"
        finally:
            self.closing.set()
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def redirect_to_itself(handler: BaseHTTPRequestHandler, _: Misbehaving) -> None:
    handler.send_response(302)
    handler.send_header("Location", handler.path)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def answer_100_mb(handler: BaseHTTPRequestHandler, owner: Misbehaving) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(HUNDRED_MB))
    handler.end_headers()
    chunk = b"\0" * (1024 * 1024)
    try:
        for _ in range(HUNDRED_MB // len(chunk)):
            handler.wfile.write(chunk)
            with owner.lock:
                owner.sent += len(chunk)
    except OSError:
        handler.close_connection = True  # the fake stopped reading and closed: as it should


def drip(handler: BaseHTTPRequestHandler, owner: Misbehaving) -> None:
    """An answer a byte every 50 ms: every read succeeds, the whole never ends in time. (The
    peer's pace is what is under test; it stops as soon as the test is over.)"""
    try:
        for byte in b"HTTP/1.1 200 OK\r\nX-Drip: " + b"." * 200:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            if owner.closing.wait(0.05):
                return
    except OSError:
        handler.close_connection = True


def _headers(app: Flask) -> dict[str, str]:
    now_s = backend_of(app).now_ms() / 1000
    return {"Authorization": f"Bearer {make_token(DEV_ACCESS_KEY, DEV_SECRET_KEY, now_s)}"}


def _submit(client: FlaskClient, app: Flask, url: str) -> str:
    body = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "p"}
    response = client.post(API_PATH, json={**body, "callback_url": url}, headers=_headers(app))
    assert response.status_code == 200, response.get_json()
    task_id: str = response.get_json()["data"]["task_id"]
    return task_id


def run_through_retries(
    app: Flask, url: str, arrived: Callable[[int], bool] | None = None
) -> tuple[str, list[Attempt]]:
    """Submit a task with `url`, advance the fake clock past every retry on another thread, and
    answer 50 API calls while the receiver misbehaves (after its first request when `arrived` is
    given). Returns the task id and its journal."""
    client = app.test_client()
    task_id = _submit(client, app, url)
    advancing = threading.Thread(target=backend_of(app).advance, args=(60,))
    advancing.start()
    try:
        if arrived is not None:
            assert arrived(1), "the receiver never got the callback"
        headers = _headers(app)
        for index in range(50):
            path = API_PATH if index % 2 else f"{API_PATH}/{task_id}"
            response = client.get(path, headers=headers)
            assert response.status_code == 200, response.get_json()
    finally:
        advancing.join(timeout=30)
    assert not advancing.is_alive(), "advance did not finish"
    journal = [a for a in backend_of(app).attempts() if a.task_id == task_id]
    return task_id, journal


def _assert_retried(journal: list[Attempt]) -> None:
    """Exactly ATTEMPTS attempts of "submitted", 1 s then 2 s apart (fake time), then given up."""
    assert [(a.status, a.attempt, a.result) for a in journal] == [
        ("submitted", 1, "retrying"),
        ("submitted", 2, "retrying"),
        ("submitted", 3, "gave_up"),
    ]
    assert [b.at_ms - a.at_ms for a, b in itertools.pairwise(journal)] == [1000, 2000]


def test_receiver_down(app: Flask):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    _, journal = run_through_retries(app, url)
    _assert_retried(journal)
    for attempt in journal:
        assert attempt.http_status is None
        assert attempt.error is not None
        assert attempt.error.startswith("connection refused")


def test_receiver_answers_500(app: Flask):
    with CallbackReceiver() as receiver:
        receiver.answer(500, 500, 500, 500)
        _, journal = run_through_retries(app, receiver.url)
        assert len(receiver.deliveries) == ATTEMPTS
    _assert_retried(journal)
    assert {(a.http_status, a.error) for a in journal} == {(500, "non-2xx answer 500")}


def test_receiver_hangs_30_seconds(app: Flask):
    with CallbackReceiver() as receiver:
        receiver.hang_seconds = 30
        receiver.hang()
        started = time.monotonic()
        _, journal = run_through_retries(app, receiver.url, receiver.wait_for_arrivals)
        elapsed = time.monotonic() - started
    _assert_retried(journal)
    for attempt in journal:
        assert (attempt.http_status, attempt.error) == (None, "timeout")
        assert TIMEOUT * 1000 <= attempt.latency_ms < TIMEOUT * 1000 + 1000
    assert elapsed < ATTEMPTS * (TIMEOUT + 1) + 5  # not 3 x 30 s


def test_receiver_redirects_in_a_loop(app: Flask):
    receiver = Misbehaving(redirect_to_itself)
    for url in receiver.serve():
        _, journal = run_through_retries(app, url, lambda _: receiver.arrived.wait(10))
    _assert_retried(journal)
    assert {(a.http_status, a.error) for a in journal} == {(302, "redirect 302 not followed")}
    assert receiver.requests == ATTEMPTS  # the Location was never followed


def test_receiver_answers_100_mb(app: Flask):
    receiver = Misbehaving(answer_100_mb)
    tracemalloc.start()
    try:
        for url in receiver.serve():
            _, journal = run_through_retries(app, url, lambda _: receiver.arrived.wait(10))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(a.attempt, a.result, a.http_status) for a in journal] == [(1, "delivered", 200)]
    assert journal[0].latency_ms < 2000  # 64 KiB read, then closed: not 100 MB
    assert receiver.sent < HUNDRED_MB // 2  # the sender hit a closed connection early
    assert peak < 8 * 1024 * 1024, peak  # Python allocations while it all ran (8 MiB)


def test_receiver_drips_its_answer(app: Flask):
    receiver = Misbehaving(drip)
    for url in receiver.serve():
        _, journal = run_through_retries(app, url, lambda _: receiver.arrived.wait(10))
    _assert_retried(journal)
    for attempt in journal:
        assert (attempt.http_status, attempt.error) == (None, "timeout")
        assert attempt.latency_ms < TIMEOUT * 1000 + 1000  # each read was quick; the whole was cut
