"""A new user's first hour: the request log, a port in use, the README's banner, an async client
in-process, and the one callback receiver."""

from __future__ import annotations

import asyncio
import io
import json
import re
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from mock_kling.assemble import build_backend
from mock_kling.callbacks.receiver import Receiver
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import Config
from mock_kling.core.journal import RequestRecord
from mock_kling.http.app import create_app
from mock_kling.serve import inprocess, request_log

from .conftest import API_PATH, valid_body
from .test_serve import MOCK_KLING, Server

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
KEY = "sk-first-hour"
RECORD = RequestRecord(1767225601250, "GET", f"{API_PATH}/e1", "ak", None, 200, 0, "rid", 1.25)
TEXT_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (GET|POST) /\S+ \S+ \d{3} (\d+|-) \d+\.\dms$")


# --- the request log ----------------------------------------------------------------------------


def test_a_text_line_has_time_method_path_account_status_code_and_ms():
    line = request_log.text_line(RECORD)
    assert TEXT_LINE.match(line)
    assert line.endswith(f" GET {API_PATH}/e1 ak 200 0 1.2ms")
    dropped = RequestRecord(0, "GET", API_PATH, None, None, 0, None, "rid")
    assert request_log.text_line(dropped).endswith(f"GET {API_PATH} - 0 - 0.0ms")


def test_a_json_line_is_the_record_without_its_body():
    fields = json.loads(request_log.json_line(RECORD))
    assert fields == {k: v for k, v in RECORD.to_json().items() if k != "body"}


def test_the_log_follows_the_backend_and_detaches():
    backend = build_backend(Config(seed=1, api_keys=[KEY]), ManualClock())
    client = create_app(backend=backend).test_client()
    out = io.StringIO()
    detach = request_log.attach(backend, "text", out)
    client.post(API_PATH, json=valid_body(), headers={"Authorization": f"Bearer {KEY}"})
    client.get(API_PATH)  # 401 / 1001, no account
    client.get("/__mock__/health")  # not an API call: not logged
    detach()
    client.get(API_PATH)
    lines = out.getvalue().splitlines()
    assert [line.split()[1:6] for line in lines] == [
        ["POST", API_PATH, KEY, "200", "0"],
        ["GET", API_PATH, "-", "401", "1001"],
    ]
    assert all(TEXT_LINE.match(line) for line in lines)


class _BlockedOutput(io.StringIO):
    """A terminal that stops reading: a write says it began, then waits for `release`."""

    def __init__(self) -> None:
        super().__init__()
        self.writing, self.release = threading.Event(), threading.Event()

    def write(self, text: str) -> int:
        self.writing.set()
        assert self.release.wait(10), "the test never released the output"
        return super().write(text)


def test_a_blocked_output_holds_up_no_request_and_bounds_what_waits(monkeypatch):
    monkeypatch.setattr(request_log, "_MAX_PENDING", 3)
    backend = build_backend(Config(seed=1, api_keys=[KEY]), ManualClock())
    client = create_app(backend=backend).test_client()
    out = _BlockedOutput()
    detach = request_log.attach(backend, "text", out)
    auth = {"Authorization": f"Bearer {KEY}"}
    assert client.get(API_PATH, headers=auth).status_code == 200
    assert out.writing.wait(10)  # the writer holds the first line, blocked
    for _ in range(10):  # each request is still answered; 3 lines wait, 7 are left out
        assert client.get(API_PATH, headers=auth).status_code == 200
    out.release.set()
    detach()
    lines = out.getvalue().splitlines()
    assert len(lines) == 5
    assert all(TEXT_LINE.match(line) for line in lines[:4])
    assert lines[4] == "... 7 request lines left out: the output is slower than the requests"


def _logged(server: Server) -> list[str]:
    """The lines `serve` printed after its banner, once it stopped."""
    server.stop()
    lines = []
    while not server.lines.empty():
        lines.append(server.lines.get().rstrip("\n"))
    return [line for line in lines if not line.startswith("mock-kling ")]


def _list(server: Server) -> None:
    assert requests.get(server.url + API_PATH, timeout=10).status_code == 401  # no token: 1001


@pytest.mark.slow
@pytest.mark.parametrize(
    ("options", "expected"),
    [((), "text"), (("--log-format", "json"), "json"), (("--quiet",), "nothing")],
)
def test_serve_logs_each_request(options: tuple[str, ...], expected: str):
    server = Server(*options)
    _list(server)
    _list(server)
    logged = _logged(server)
    if expected == "nothing":
        assert logged == []
    elif expected == "text":
        assert [line.split()[1:6] for line in logged] == [["GET", API_PATH, "-", "401", "1001"]] * 2
    else:
        records = [json.loads(line) for line in logged]
        assert [(r["method"], r["path"], r["http_status"], r["code"]) for r in records] == [
            ("GET", API_PATH, 401, 1001)
        ] * 2
        assert all(r["duration_ms"] > 0 for r in records)


# --- a port in use -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_port_in_use_is_one_line_and_exit_status_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        second = subprocess.run(
            [*MOCK_KLING, "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert second.returncode == 2
    assert second.stderr.count("\n") == 1, second.stderr
    assert "Traceback" not in second.stderr
    assert f"127.0.0.1:{port} is already in use" in second.stderr
    assert "--port 0" in second.stderr


# --- the README's banner -------------------------------------------------------------------------


def _generic(banner: str) -> str:
    """The banner modulo its port and seed."""
    return re.sub(r"seed \d+", "seed N", re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", banner))


@pytest.mark.slow
def test_the_readme_shows_the_real_banner():
    sample = re.search(r"```text\n(mock-kling .*? listening on .*?)```", README, flags=re.S)
    assert sample is not None
    server = Server()
    server.stop()
    assert _generic(server.banner) == _generic(sample.group(1))


# --- async clients in-process ------------------------------------------------------------------


def test_an_async_client_reaches_the_fake_with_no_socket():
    clock = ManualClock()
    app = create_app(Config(seed=3, api_keys=[KEY]), clock=clock)
    headers = {"Authorization": f"Bearer {KEY}"}

    async def lifecycle() -> tuple[Any, Any, Any]:
        transport = inprocess.async_httpx_transport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kling.test") as client:
            created = await client.post(API_PATH, json=valid_body(), headers=headers)
            clock.advance(10)
            task_id = created.json()["data"]["task_id"]
            queried, missing = await asyncio.gather(
                client.get(f"{API_PATH}/{task_id}", headers=headers),
                client.get(f"{API_PATH}/nope", headers=headers),
            )
            return created, queried, missing

    created, queried, missing = asyncio.run(lifecycle())
    assert (created.status_code, created.json()["code"]) == (200, 0)
    assert queried.json()["data"]["task_status"] == "succeed"
    assert (missing.status_code, missing.json()["code"]) == (404, 1203)
    assert missing.headers["Content-Type"] == "application/json"


def test_the_async_transport_does_not_hold_the_event_loop():
    """An injected latency runs in a worker thread: other coroutines go on meanwhile."""
    app = create_app(Config(seed=3, api_keys=[KEY]), clock=ManualClock())
    app.test_client().post("/__mock__/faults", json={"endpoint": "list", "latency_ms": 300})
    seen: list[str] = []

    async def tick() -> None:
        for n in range(3):
            seen.append(f"tick {n}")
            await asyncio.sleep(0)

    async def listed(client: httpx.AsyncClient) -> int:
        answer = await client.get(API_PATH, headers={"Authorization": f"Bearer {KEY}"})
        seen.append("answered")
        return answer.status_code

    async def both() -> int:
        transport = inprocess.async_httpx_transport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kling.test") as client:
            status, _ = await asyncio.gather(listed(client), tick())
        return status

    assert asyncio.run(both()) == 200
    assert seen == ["tick 0", "tick 1", "tick 2", "answered"]  # a blocking call answers first


# --- one callback receiver ---------------------------------------------------------------------


def test_the_receiver_counts_serves_files_and_keeps_deliveries():
    with Receiver() as receiver:
        receiver.answer(503)
        for status in (503, 200):
            sent = requests.post(
                receiver.url + "/t1", json={"task_status": "submitted"}, timeout=10
            )
            assert sent.status_code == status
        assert [(d.key, d.answered, d.body) for d in receiver.deliveries] == [
            ("t1", 503, {"task_status": "submitted"}),
            ("t1", 200, {"task_status": "submitted"}),
        ]
        url = receiver.put_file("/images/a.png", b"PNG", "image/png")
        assert requests.get(url, timeout=10).content == b"PNG"
        stats = requests.get(receiver.base_url + "/stats", timeout=10).json()
        assert (stats["count"], stats["hanging"]) == (2, 0)
        assert 0 < stats["first_ms"] <= stats["last_ms"]


def test_a_hanging_answer_ends_when_its_client_goes_away():
    with Receiver() as receiver:
        receiver.hang()
        with socket.create_connection(receiver._server.server_address[:2], timeout=10) as conn:
            conn.sendall(b"POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            assert receiver.wait_for_arrivals(1)
        delivered = receiver.wait_for(1)  # recorded once the client closed, before any release
        assert delivered[0].body == {}
        assert receiver.stats()["hanging"] == 0
