"""The control scenarios over real HTTP only, against `mock-kling serve --clock manual`."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mock_kling import apispec
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import Config
from mock_kling.core.faults import ENDPOINTS
from mock_kling.http.app import create_app
from mock_kling.testing.receiver import CallbackReceiver

from .test_serve import API_KEY, Server

PATH = "/kling/v1/videos/multi-image2video"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    server = Server(
        "--clock", "manual", "--seed", "8", "--api-key", API_KEY, "--callback-backoff", "1"
    )
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _reset(server: Server) -> None:
    assert requests.post(f"{server.url}/__mock__/reset", timeout=10).status_code == 200


def control(server: Server, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(method, f"{server.url}/__mock__{path}", json=body, timeout=30)
    assert response.status_code in (200, 201), response.text
    return response.json()


def submit(server: Server, **fields: Any) -> requests.Response:
    body = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "p", **fields}
    return requests.post(server.url + PATH, json=body, headers=HEADERS, timeout=10)


def status(server: Server, task_id: str) -> dict[str, Any]:
    data: dict[str, Any] = requests.get(
        f"{server.url}{PATH}/{task_id}", headers=HEADERS, timeout=10
    ).json()["data"]
    return data


def test_outcome_routes(server: Server):
    marked = submit(server, prompt="mock:fail").json()["data"]["task_id"]
    control(server, "POST", "/outcomes", {"outcome": {"result": "stuck"}})
    ruled = submit(server).json()["data"]["task_id"]
    forced = submit(server).json()["data"]["task_id"]
    control(
        server, "POST", f"/tasks/{forced}/outcome", {"result": "fail_at_submit", "message": "nope"}
    )
    control(server, "POST", "/clock/advance", {"seconds": 60})
    assert status(server, marked)["task_status"] == "failed"
    assert status(server, ruled)["task_status"] == "processing"
    assert (status(server, forced)["task_status"], status(server, forced)["task_status_msg"]) == (
        "failed",
        "nope",
    )


def test_limits_and_faults(server: Server):
    control(server, "POST", f"/accounts/{API_KEY}/limits", {"concurrency": 1})
    assert submit(server).status_code == 200
    refused = submit(server)
    assert (refused.status_code, refused.json()["code"], refused.json()["message"]) == (
        429,
        1303,
        "parallel task over resource pack limit",
    )
    apispec.validator("error_response").validate(refused.json())
    control(server, "POST", "/faults", {"endpoint": "list", "code": 5002, "times": 1})
    answer = requests.get(server.url + PATH, headers=HEADERS, timeout=10)
    assert (answer.status_code, answer.json()["code"]) == (504, 5002)
    control(server, "POST", "/faults", {"endpoint": "list", "drop": True, "times": 1})
    broken = (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)
    with pytest.raises(broken):  # headers promise a body; the server closes instead
        requests.get(server.url + PATH, headers=HEADERS, timeout=10)
    assert requests.get(server.url + PATH, headers=HEADERS, timeout=10).status_code == 200
    journal = control(server, "GET", "/requests")
    assert [(r["http_status"], r["code"]) for r in journal][-3:] == [
        (504, 5002),
        (0, None),
        (200, 0),
    ]


def test_callbacks_with_retries_over_http(server: Server):
    with CallbackReceiver() as receiver:
        receiver.answer(500)
        task_id = submit(server, callback_url=receiver.url).json()["data"]["task_id"]
        control(server, "POST", "/clock/advance", {"seconds": 10})
        assert [d.body["task_status"] for d in receiver.deliveries if d.answered == 200] == [
            "submitted",
            "processing",
            "succeed",
        ]
        video_url = receiver.deliveries[-1].body["task_result"]["videos"][0]["url"]
        assert video_url.startswith(server.url)  # callbacks link to the server itself
    journal = control(server, "GET", "/callbacks")
    assert [(j["status"], j["attempt"], j["http_status"]) for j in journal] == [
        ("submitted", 1, 500),
        ("submitted", 2, 200),
        ("processing", 1, 200),
        ("succeed", 1, 200),
    ]
    assert journal[0]["task_id"] == task_id


def test_refused_callback_connection_over_http(server: Server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    submit(server, callback_url=f"http://127.0.0.1:{port}/x", prompt="mock:stuck")
    control(server, "POST", "/clock/advance", {"seconds": 1})
    journal = control(server, "GET", "/callbacks")
    assert [(j["attempt"], j["result"]) for j in journal] == [(1, "retrying"), (2, "retrying")]
    assert journal[0]["error"].startswith("connection refused")


def test_openapi_document_is_served(server: Server):
    document = control(server, "GET", "/openapi.json")
    assert document["openapi"] == "3.1.0"
    assert "/v1/videos/multi-image2video/{ref}" in document["paths"]
    assert "/__mock__/clock/advance" in document["paths"]


@pytest.mark.parametrize(
    ("limits", "status", "code"),
    [
        ({"state": "suspended"}, 429, 1100),
        ({"state": "arrears"}, 429, 1101),
        ({"units": 0}, 429, 1102),
        ({"models": []}, 403, 1103),
        ({"rate_per_second": 0}, 429, 1302),
        ({"concurrency": 0}, 429, 1303),
    ],
)
def test_every_limit_code_over_http(server: Server, limits: dict[str, Any], status: int, code: int):
    control(server, "POST", f"/accounts/{API_KEY}/limits", limits)
    refused = submit(server)
    assert (refused.status_code, refused.json()["code"]) == (status, code)
    apispec.validator("error_response").validate(refused.json())


def _documented(app: Any) -> set[tuple[str, str]]:
    document = app.test_client().get("/__mock__/openapi.json").get_json()
    return {(path, method) for path, item in document["paths"].items() for method in item}


def _served(app: Any) -> set[tuple[str, str]]:
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    return {
        (re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), method.lower())
        for rule in rules
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def test_openapi_documents_every_route_and_only_routes():
    """Derived from the URL map: a route added without documentation, or documentation left
    after a route went, fails here."""
    app = create_app(Config(seed=1), clock=ManualClock())
    assert _documented(app) == _served(app)
    assert ("/__mock__/faults", "post") in _documented(app)


def test_openapi_refuses_an_undescribed_kling_route():
    from mock_kling.apispec.openapi import Route, openapi_document

    route = Route("/v1/videos/multi-image2video/<ref>/cancel", "post", "api_v1.cancel_task", "x")
    with pytest.raises(ValueError, match="no OpenAPI operation for Kling's route"):
        openapi_document("official", (route,))


def test_control_bodies_are_documented_from_their_schemas():
    app = create_app(Config(seed=1), clock=ManualClock())
    document = app.test_client().get("/__mock__/openapi.json").get_json()
    body = document["paths"]["/__mock__/faults"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/control_fault_rule"
    }
    schemas = document["components"]["schemas"]
    assert schemas["control_fault_rule"]["properties"]["endpoint"]["enum"] == list(ENDPOINTS)
    query = document["paths"]["/v1/videos/multi-image2video"]["get"]["parameters"]
    assert [(p["name"], p["schema"]["default"]) for p in query] == [
        ("pageNum", 1),
        ("pageSize", 30),
    ]
