"""The fake on a Redis store through the API: two replicas share tasks, and a Redis that stops
while a client submits gives 500 / 5000 naming the store, then the fake recovers by itself and
no submit answered with code 0 is lost."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from mock_kling.assemble import build_backend
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import Config
from mock_kling.http.app import backend_of, create_app
from mock_kling.store.redis import RedisStore, open_redis

from .conftest import API_PATH, ContractClient, valid_body
from .redis_server import RedisServer, fresh_store

_DEADLINE_S = 30.0


class _Answers:
    """What a submitting client was answered, with a condition to wait on."""

    def __init__(self) -> None:
        self.bodies: list[tuple[int, Any]] = []
        self.changed = threading.Condition()

    def add(self, status: int, body: Any) -> None:
        with self.changed:
            self.bodies.append((status, body))
            self.changed.notify_all()

    def wait_for(self, codes: set[int], count: int, since: int = 0) -> int:
        """Wait until `count` answers with one of `codes` came after answer `since`."""

        def seen() -> bool:
            return sum(b["code"] in codes for _, b in self.bodies[since:]) >= count

        with self.changed:
            assert self.changed.wait_for(seen, _DEADLINE_S), self.bodies[since:][-3:]
            return len(self.bodies)


def _app(store: RedisStore, config: Config, clock: ManualClock, seed: int) -> Any:
    """A replica: the fake on `store`, with its own seed (replicas never draw the same ids)."""
    backend = build_backend(replace(config, seed=seed), clock, store=store)
    app = create_app(backend=backend)
    app.test_client_class = ContractClient
    return app


def test_two_replicas_share_tasks(redis_url: str, config: Config, auth: dict[str, str]):
    clock, store = ManualClock(), fresh_store(redis_url)
    one = _app(store, config, clock, seed=1)
    two = _app(open_redis(f"{redis_url}?namespace={store.namespace}"), config, clock, seed=2)
    created = one.test_client().post(API_PATH, json=valid_body(), headers=auth).get_json()
    task_id = created["data"]["task_id"]
    answer = two.test_client().get(f"{API_PATH}/{task_id}", headers=auth).get_json()
    assert (answer["code"], answer["data"]["task_id"]) == (0, task_id)
    listed = two.test_client().get(API_PATH, headers=auth).get_json()
    assert [task["task_id"] for task in listed["data"]] == [task_id]
    backend_of(one).reset()


def test_a_redis_outage_answers_5000_naming_the_store_and_loses_no_accepted_submit(
    tmp_path: Path, config: Config, clock: ManualClock, auth: dict[str, str]
):
    server = RedisServer(tmp_path, durable=True)  # the data survives the restart
    server.start()
    try:
        store = fresh_store(server.url)
        app = _app(store, config, clock, seed=1)
        answers, stop = _Answers(), threading.Event()

        def submit() -> None:
            deadline = time.monotonic() + 3 * _DEADLINE_S
            with app.test_client() as client:
                while not stop.is_set() and time.monotonic() < deadline:
                    response = client.post(API_PATH, json=valid_body(), headers=auth)
                    answers.add(response.status_code, response.get_json())

        submitter = threading.Thread(target=submit)
        submitter.start()
        answers.wait_for({0}, 3)
        server.stop()
        down = answers.wait_for({5000}, 3)
        server.start()
        answers.wait_for({0}, 3, since=down)
        stop.set()
        submitter.join(_DEADLINE_S)
        _check(app, store.url, answers.bodies, auth)
    finally:
        server.stop()


def _check(app: Any, store_url: str, answers: list[tuple[int, Any]], auth: dict[str, str]) -> None:
    accepted = [body["data"]["task_id"] for _, body in answers if body["code"] == 0]
    refused = [(status, body) for status, body in answers if body["code"] != 0]
    assert refused
    for status, body in refused:
        assert (status, body["code"]) == (500, 5000)
        assert body["message"].startswith(f"store {store_url} failed: "), body["message"]
    client = app.test_client()
    for task_id in accepted:
        answer = client.get(f"{API_PATH}/{task_id}", headers=auth).get_json()
        assert (answer["code"], answer["data"]["task_id"]) == (0, task_id)
    assert backend_of(app).errors == []  # an outage is not a bug of the fake
