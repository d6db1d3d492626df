"""Round trips to Redis per API call on the thread-pool path (Flask's, and serve's for a store
without `loop_reads`: a Redis Cluster), and the request journal's bound; the answers stay those
of the memory store, byte for byte."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from mock_kling.assemble import build_backend
from mock_kling.core.auth import make_token
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import DEV_ACCESS_KEY, DEV_SECRET_KEY, Config
from mock_kling.core.faults import FaultRule
from mock_kling.core.journal import RequestRecord
from mock_kling.core.limits import Limits
from mock_kling.core.store import Store
from mock_kling.http.app import create_app
from mock_kling.store.memory import MemoryStore
from mock_kling.store.redis import RedisStore

from .redis_server import fresh_store

PATH = "/v1/videos/multi-image2video"
BODY = {
    "model_name": "kling-v1-6",
    "image_list": [{"image": "https://example.com/cat.png"}],
    "prompt": "a cat",
    "external_task_id": "cat-1",
}


class Trips:
    """Counts the commands this process sends to Redis (a pipeline or a script is one)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        send = redis.connection.Connection.send_packed_command

        def counted(connection: Any, command: Any, check_health: bool = True) -> None:
            self.count += 1
            send(connection, command, check_health)

        monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counted)

    def of(self, call: Any) -> tuple[int, Any]:
        before = self.count
        result = call()
        return self.count - before, result


def _client(store: Store) -> tuple[FlaskClient, dict[str, str]]:
    clock = ManualClock()
    config = Config(key_pairs={DEV_ACCESS_KEY: DEV_SECRET_KEY}, seed=7)
    app = create_app(backend=build_backend(config, clock, store=store))
    token = make_token(DEV_ACCESS_KEY, DEV_SECRET_KEY, clock.now_ms() / 1000)
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def test_a_get_costs_three_round_trips_and_a_submit_five(
    redis_store: RedisStore, monkeypatch: pytest.MonkeyPatch
):
    trips = Trips(monkeypatch)
    client, auth = _client(redis_store)
    created = client.post(PATH, json=BODY, headers=auth).get_json()["data"]
    client.get(f"{PATH}/{created['task_id']}", headers=auth)  # Redis learns the scripts
    submit_trips, _ = trips.of(lambda: client.post(PATH, json=dict(BODY, external_task_id="2"),
                                                   headers=auth))  # fmt: skip
    for ref in (created["task_id"], "cat-1"):  # by task id, by external id: one script each
        get_trips, answer = trips.of(lambda r=ref: client.get(f"{PATH}/{r}", headers=auth))
        assert answer.get_json()["data"]["task_id"] == created["task_id"]
        assert get_trips == 3  # admission, the task, the journal (was 4)
    # Admission, the external id, the facts decided from, the commit, the journal (was 9: the
    # ids were checked one by one, and usage, limits and outcome rules read one by one).
    assert submit_trips == 5


def test_answers_are_the_memory_stores_byte_for_byte(redis_store: RedisStore):
    answers = []
    for store in (MemoryStore(), redis_store):
        client, auth = _client(store)
        created = client.post(PATH, json=BODY, headers=auth)
        task_id = created.get_json()["data"]["task_id"]
        calls = (f"{PATH}/{task_id}", f"{PATH}/cat-1", f"{PATH}/nope", f"{PATH}?pageNum=1")
        answers.append([created.data, *(client.get(path, headers=auth).data for path in calls)])
    assert answers[0] == answers[1]


def test_a_rule_or_limit_set_on_another_replica_acts_on_the_next_call(
    redis_url: str, redis_store: RedisStore
):
    client, auth = _client(redis_store)
    other = RedisStore(redis_store._r, redis_store.namespace, redis_store.url)
    task_id = client.post(PATH, json=BODY, headers=auth).get_json()["data"]["task_id"]
    other.put_fault_rules([FaultRule(endpoint="query", code=5001, times=1)])
    assert client.get(f"{PATH}/{task_id}", headers=auth).get_json()["code"] == 5001
    assert client.get(f"{PATH}/{task_id}", headers=auth).get_json()["code"] == 0  # used up
    assert other.fault_rules() == []
    other.set_limits(DEV_ACCESS_KEY, Limits(state="suspended"))
    assert client.get(f"{PATH}/{task_id}", headers=auth).get_json()["code"] != 0


def test_the_journal_keeps_the_newest_entries_up_to_its_limit(redis_url: str):
    store = fresh_store(redis_url, request_limit=16)
    try:
        for n in range(100):
            store.add_request(RequestRecord(n, "GET", "/", "acct", None, 200, 0, f"r{n}", 0.0))
            assert len(store.requests()) == min(n + 1, 16)
            assert store._r.llen(store._p + "requests") <= 16 + 16 // 8 + 1
        assert [record.at_ms for record in store.requests()] == list(range(84, 100))
    finally:
        store.reset()
        store.close()
