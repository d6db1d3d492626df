"""Graceful shutdown on SIGTERM, and `--state FILE` / `--store sqlite:///FILE`: what survives a
restart, and that a `kill -9` under load loses no task whose submit was answered."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from mock_kling.testing.receiver import CallbackReceiver

from .test_serve import API_KEY, Server

pytestmark = pytest.mark.slow

PATH = "/kling/v1/videos/multi-image2video"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
BODY = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "p"}


def _control(server: Server, method: str, path: str, body: Any = None) -> Any:
    answer = requests.request(method, f"{server.url}/__mock__{path}", json=body, timeout=10)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def test_sigterm_finishes_in_flight_requests_then_exits():
    server = Server("--api-key", API_KEY, "--seed", "1")
    _control(server, "POST", "/faults", {"endpoint": "list", "latency_ms": 1500, "times": 1})
    result: dict[str, Any] = {}

    def slow_list() -> None:
        result["answer"] = requests.get(server.url + PATH, headers=HEADERS, timeout=20)

    client = threading.Thread(target=slow_list)
    client.start()
    for _ in range(500):  # until the fault fired: the request is then in flight
        if _control(server, "GET", "/faults") == []:
            break
    else:
        pytest.fail("the slow request never reached the fake")
    server.process.send_signal(signal.SIGTERM)
    _wait_for_line(server, "mock-kling stopping")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(server.url + PATH, headers=HEADERS, timeout=10)  # no longer accepting
    client.join(timeout=20)
    assert result["answer"].status_code == 200  # the in-flight request was finished
    assert server.process.wait(timeout=10) == 0
    _wait_for_line(server, "mock-kling stopped")
    server.stop()


def _wait_for_line(server: Server, text: str) -> None:
    """Read the server's output until a line contains `text` (bounded)."""
    for _ in range(1000):
        if text in server.lines.get(timeout=10):
            return
    pytest.fail(f"the server never printed {text!r}")


@pytest.mark.parametrize("option", ["--state", "--store"])
def test_state_survives_a_restart(tmp_path: Path, option: str):
    state = str(tmp_path / "fake.db")
    where = (option, state if option == "--state" else f"sqlite:///{state}")
    options = ("--api-key", API_KEY, "--seed", "4", "--clock", "manual", *where)
    with CallbackReceiver() as receiver:
        first = Server(*options)
        try:
            task_ids = [
                requests.post(
                    first.url + PATH,
                    json={**BODY, "external_task_id": f"e{n}", "callback_url": receiver.url},
                    headers=HEADERS,
                    timeout=10,
                ).json()["data"]["task_id"]
                for n in range(3)
            ]
            _control(
                first, "POST", f"/tasks/{task_ids[0]}/outcome", {"result": "fail", "message": "x"}
            )
            _control(first, "POST", f"/accounts/{API_KEY}/limits", {"concurrency": 9})
            _control(first, "POST", "/clock/advance", {"seconds": 3})
            before = _snapshot(first)
        finally:
            first.stop()
        second = Server(*options)
        try:
            assert _snapshot(second) == before
            for n, task_id in enumerate(task_ids):
                answer = requests.get(
                    f"{second.url}{PATH}/e{n}", headers=HEADERS, timeout=10
                ).json()
                assert answer["data"]["task_id"] == task_id
            new_id = requests.post(second.url + PATH, json=BODY, headers=HEADERS, timeout=10).json()
            assert new_id["data"]["task_id"] not in task_ids
            _control(second, "POST", "/clock/advance", {"seconds": 10})
            statuses = [
                d.body["task_status"]
                for d in receiver.deliveries
                if d.body["task_id"] == task_ids[1]
            ]
            assert statuses == ["submitted", "processing", "succeed"]  # nothing sent twice or lost
        finally:
            second.stop()


def _snapshot(server: Server) -> dict[str, Any]:
    tasks = _control(server, "GET", "/tasks")
    return {
        "clock": _control(server, "GET", "/clock")["now_ms"],
        "tasks": tasks,
        "limits": _control(server, "GET", f"/accounts/{API_KEY}")["limits"],
        "requests": _control(server, "GET", "/requests"),
        "callbacks": [
            {k: v for k, v in c.items() if k != "latency_ms"}
            for c in _control(server, "GET", "/callbacks")
        ],
    }


def test_kill_9_under_load_loses_no_answered_task(tmp_path: Path):
    state = tmp_path / "fake.db"
    options = ("--api-key", API_KEY, "--seed", "6", "--state", str(state))
    server = Server(*options)
    answered: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def submitter() -> None:
        with requests.Session() as session:
            for _ in range(200):
                try:
                    answer = session.post(server.url + PATH, json=BODY, headers=HEADERS, timeout=10)
                except requests.exceptions.RequestException:
                    return  # the server was killed
                if answer.status_code == 200:
                    with lock:
                        answered.append(answer.json()["data"]["task_id"])
                        if len(answered) >= 150:
                            enough.set()

    threads = [threading.Thread(target=submitter) for _ in range(4)]
    for thread in threads:
        thread.start()
    assert enough.wait(timeout=60), "the load never got going"
    server.process.kill()  # SIGKILL, mid-load
    for thread in threads:
        thread.join(timeout=30)
    server.stop()
    restarted = Server(*options)
    try:
        tasks = {t["task"]["task_id"] for t in _control(restarted, "GET", "/tasks")}
        missing = [task_id for task_id in answered if task_id not in tasks]
        assert missing == [], f"{len(missing)} of {len(answered)} answered tasks lost"
        assert len(answered) >= 150
    finally:
        restarted.stop()
