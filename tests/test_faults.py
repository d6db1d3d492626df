"""Fault and latency injection per endpoint, and the request journal."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from .conftest import API_PATH, valid_body
from .images import png_b64


def _fault(client: FlaskClient, **rule: Any) -> None:
    response = client.post("/__mock__/faults", json=rule)
    assert response.status_code == 201, response.get_json()


def test_code_for_the_next_n_requests_of_one_endpoint(client: FlaskClient, auth: dict[str, str]):
    _fault(client, endpoint="create", code=5001, times=2)
    assert client.get(API_PATH, headers=auth).status_code == 200  # another endpoint
    for _ in range(2):
        response = client.post(API_PATH, json=valid_body(), headers=auth)
        assert (response.status_code, response.get_json()["code"]) == (503, 5001)
        assert response.get_json()["message"].startswith("injected fault: ")
    assert client.post(API_PATH, json=valid_body(), headers=auth).status_code == 200
    assert client.get("/__mock__/faults").get_json() == []


@pytest.mark.parametrize(("code", "status"), [(1303, 429), (5000, 500), (5002, 504), (1004, 401)])
def test_any_code_of_the_table(client: FlaskClient, auth: dict[str, str], code: int, status: int):
    _fault(client, code=code, times=1, message="custom text")
    response = client.get(API_PATH, headers=auth)
    assert (response.status_code, response.get_json()) == (
        status,
        {"code": code, "message": "custom text", "request_id": response.get_json()["request_id"]},
    )


def test_probability_is_seeded(client: FlaskClient, auth: dict[str, str]):
    _fault(client, endpoint="list", code=5000, probability=0.3)
    codes = [client.get(API_PATH, headers=auth).get_json()["code"] for _ in range(60)]
    assert 5 <= codes.count(5000) <= 35
    client.post("/__mock__/reset")
    _fault(client, endpoint="list", code=5000, probability=0.3)
    assert [client.get(API_PATH, headers=auth).get_json()["code"] for _ in range(60)] == codes


def test_latency_then_answer(client: FlaskClient, auth: dict[str, str]):
    _fault(client, latency_ms=[1, 3], times=1)
    assert client.get(API_PATH, headers=auth).status_code == 200  # slower, still right


def test_account_scoped_rule(client: FlaskClient, auth: dict[str, str], other_auth: dict[str, str]):
    _fault(client, code=5000, account="other-access")
    assert client.get(API_PATH, headers=auth).status_code == 200
    assert client.get(API_PATH, headers=other_auth).status_code == 500


def test_drop_promises_a_body_it_never_sends(client: FlaskClient, auth: dict[str, str]):
    _fault(client, drop=True, times=1)
    response = client.get(API_PATH, headers=auth)
    assert response.headers["Content-Length"] == "64"
    assert response.data == b""
    journal = client.get("/__mock__/requests").get_json()
    assert (journal[-1]["http_status"], journal[-1]["code"]) == (0, None)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"code": 0}, "code must be a Kling service code other than 0"),
        ({"code": 999}, "code must be a Kling service code"),
        (
            {"endpoint": "delete", "code": 5000},
            'endpoint must be one of "create", "query", "list", "any" (got "delete")',
        ),
        ({"latency_ms": -5}, "latency_ms must be a number or [low, high] in [0, 600000]"),
        ({"latency_ms": [1, 2, 3]}, "latency_ms must be a number or [low, high]"),
        ({"code": 5000, "probability": 2}, "probability must be a number in [0, 1]"),
        ({"code": 5000, "times": 0}, "times must be an integer >= 1 (got 0)"),
        ({}, "code or latency_ms or drop is required"),
        ({"code": 5000, "when": "now"}, "unknown fields: when"),
    ],
)
def test_bad_rules_are_refused(client: FlaskClient, rule: dict[str, Any], message: str):
    response = client.post("/__mock__/faults", json=rule)
    assert (response.status_code, response.get_json()["code"]) == (400, 1201)
    assert message in response.get_json()["message"]


def test_clear_faults(client: FlaskClient, auth: dict[str, str]):
    _fault(client, code=5000)
    client.delete("/__mock__/faults")
    assert client.get(API_PATH, headers=auth).status_code == 200


def test_request_journal_summarizes_bodies(client: FlaskClient, auth: dict[str, str]):
    image = png_b64(400, 300)
    body = valid_body(image_list=[{"image": image}, {"image": "https://example.com/a.png"}])
    task_id = client.post(API_PATH, json=body, headers=auth).get_json()["data"]["task_id"]
    client.get(f"{API_PATH}/{task_id}", headers=auth)
    client.get(f"{API_PATH}?pageSize=0", headers=auth)
    client.get(API_PATH)
    journal = client.get("/__mock__/requests").get_json()
    assert [(r["method"], r["http_status"], r["code"]) for r in journal] == [
        ("POST", 200, 0),
        ("GET", 200, 0),
        ("GET", 400, 1201),
        ("GET", 401, 1001),
    ]
    create = journal[0]
    assert create["account"] == "mock-access-key"
    assert create["body"]["image_list"] == [
        {"image": f"<base64 png 400x300, {len(image) * 3 // 4} bytes>"},
        {"image": "https://example.com/a.png"},
    ]
    assert image not in str(journal)
    assert journal[2]["path"] == f"{API_PATH}?pageSize=0"
    assert journal[3]["account"] is None


def test_refused_create_is_journaled_without_its_images(client: FlaskClient, auth: dict[str, str]):
    client.post(API_PATH, json=valid_body(prompt=""), headers=auth)
    (record,) = client.get("/__mock__/requests").get_json()
    assert record["code"] == 1201
    assert record["body"]["image_list"][0]["image"].startswith("<base64, ")


def test_reset_forgets_everything(client: FlaskClient, auth: dict[str, str], clock):  # type: ignore[no-untyped-def]
    start = clock.now_ms()
    first = client.post(API_PATH, json=valid_body(), headers=auth).get_json()["data"]["task_id"]
    client.post("/__mock__/faults", json={"code": 5000, "endpoint": "query"})
    client.post("/__mock__/outcomes", json={"outcome": {"result": "fail"}})
    client.post("/__mock__/accounts/mock-access-key/limits", json={"concurrency": 0})
    client.post("/__mock__/clock/advance", json={"seconds": 50})
    assert client.post("/__mock__/reset").status_code == 200
    assert clock.now_ms() == start
    for path in (
        "/__mock__/tasks",
        "/__mock__/faults",
        "/__mock__/outcomes",
        "/__mock__/callbacks",
    ):
        assert client.get(path).get_json() == []
    assert client.get("/__mock__/requests").get_json() == []
    again = client.post(API_PATH, json=valid_body(), headers=auth).get_json()["data"]["task_id"]
    assert again == first  # the seed starts over
