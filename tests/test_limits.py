"""Account limits with Kling's codes and bodies: concurrency 1303, balance 1102, rate 1302,
suspended 1100, arrears 1101, model permission 1103."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_kling.core.clock import ManualClock
from mock_kling.core.config import Config
from mock_kling.core.limits import Limits
from mock_kling.http.app import create_app

from .conftest import API_PATH, valid_body

ACCOUNT = "/__mock__/accounts/mock-access-key"


def _limit(client: FlaskClient, **limits: Any) -> None:
    response = client.post(f"{ACCOUNT}/limits", json=limits)
    assert response.status_code == 200, response.get_json()


def _refusal(response: Any, status: int, code: int) -> dict[str, Any]:
    body: dict[str, Any] = response.get_json()
    assert (response.status_code, body["code"]) == (status, code)
    assert list(body) == ["code", "message", "request_id"]
    assert uuid.UUID(body["request_id"]).version == 4
    return body


def test_concurrency_limit_is_1303_until_a_task_ends(
    client: FlaskClient, auth: dict[str, str], clock: ManualClock
):
    _limit(client, concurrency=2)
    first = client.post(API_PATH, json=valid_body(prompt="mock:stuck"), headers=auth)
    client.post(API_PATH, json=valid_body(), headers=auth)
    body = _refusal(client.post(API_PATH, json=valid_body(), headers=auth), 429, 1303)
    assert body["message"] == "parallel task over resource pack limit"
    clock.advance(10)  # the second task succeeds: one slot free; the stuck one holds its slot
    assert client.post(API_PATH, json=valid_body(), headers=auth).status_code == 200
    _refusal(client.post(API_PATH, json=valid_body(), headers=auth), 429, 1303)
    task_id = first.get_json()["data"]["task_id"]
    client.post(
        f"/__mock__/tasks/{task_id}/outcome", json={"result": "fail", "processing_seconds": 0}
    )
    assert (
        client.post(API_PATH, json=valid_body(), headers=auth).status_code == 200
    )  # failure frees


def test_queries_do_not_count_against_concurrency(client: FlaskClient, auth: dict[str, str]):
    _limit(client, concurrency=1)
    client.post(API_PATH, json=valid_body(), headers=auth)
    for _ in range(5):
        assert client.get(API_PATH, headers=auth).status_code == 200


def test_unit_balance_is_1102_and_failures_are_refunded(
    client: FlaskClient, auth: dict[str, str], clock: ManualClock
):
    _limit(client, units=4.5)
    client.post(API_PATH, json=valid_body(mode="pro", duration="5"), headers=auth)  # 3.5
    client.post(API_PATH, json=valid_body(prompt="mock:fail"), headers=auth)  # 1, refunded
    body = _refusal(client.post(API_PATH, json=valid_body(), headers=auth), 429, 1102)
    assert body["message"] == "Resource pack exhausted: 0 units left, the task needs 1"
    clock.advance(10)
    assert client.post(API_PATH, json=valid_body(), headers=auth).status_code == 200
    usage = client.get(ACCOUNT).get_json()["usage"]
    assert usage == {"running": 1, "units_spent": 4.5}


def test_rate_limit_is_1302_per_second_of_fake_time(
    client: FlaskClient, auth: dict[str, str], clock: ManualClock
):
    _limit(client, rate_per_second=3)
    for _ in range(3):
        assert client.get(API_PATH, headers=auth).status_code == 200
    body = _refusal(client.get(API_PATH, headers=auth), 429, 1302)
    assert "rate limit of 3 per second" in body["message"]
    clock.advance(1)
    assert client.get(API_PATH, headers=auth).status_code == 200


@pytest.mark.parametrize(
    ("state", "code", "message"),
    [
        ("suspended", 1100, "Account exception: the account is suspended"),
        ("arrears", 1101, "Account in arrears: top up to continue (postpaid)"),
    ],
)
def test_account_state(
    client: FlaskClient, auth: dict[str, str], state: str, code: int, message: str
):
    _limit(client, state=state)
    for response in (
        client.get(API_PATH, headers=auth),
        client.post(API_PATH, json=valid_body(), headers=auth),
    ):
        assert _refusal(response, 429, code)["message"] == message
    _limit(client, state="active")
    assert client.get(API_PATH, headers=auth).status_code == 200


def test_model_permission_is_1103(client: FlaskClient, auth: dict[str, str]):
    _limit(client, models=[])
    body = _refusal(client.post(API_PATH, json=valid_body(), headers=auth), 403, 1103)
    assert body["message"] == "No permission for model kling-v1-6: the account may not use it"
    _limit(client, models=["kling-v1-6"])
    assert client.post(API_PATH, json=valid_body(), headers=auth).status_code == 200


def test_limits_are_per_account(
    client: FlaskClient, auth: dict[str, str], other_auth: dict[str, str]
):
    _limit(client, state="suspended")
    assert client.get(API_PATH, headers=other_auth).status_code == 200


def test_server_wide_limits_from_config(auth: dict[str, str], clock: ManualClock):
    client = create_app(Config(seed=1, limits=Limits(concurrency=1)), clock=clock).test_client()
    client.post(API_PATH, json=valid_body(), headers=auth)
    assert client.post(API_PATH, json=valid_body(), headers=auth).get_json()["code"] == 1303


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"concurrency": -1}, "concurrency must be an integer in [0, 1000000000000000]"),
        ({"concurrency": 1.5}, "concurrency must be an integer or null (got the number 1.5)"),
        ({"state": "asleep"}, 'state must be one of "active", "suspended", "arrears"'),
        ({"models": "kling-v1-6"}, "models must be an array or null"),
        ({"speed": 3}, "unknown fields: speed"),
    ],
)
def test_bad_limits_are_refused(client: FlaskClient, limits: dict[str, Any], message: str):
    response = client.post(f"{ACCOUNT}/limits", json=limits)
    assert (response.status_code, response.get_json()["code"]) == (400, 1201)
    assert message in response.get_json()["message"]


def test_unknown_account(client: FlaskClient):
    response = client.post("/__mock__/accounts/nobody/limits", json={"concurrency": 1})
    assert (response.status_code, response.get_json()["code"]) == (404, 1203)
