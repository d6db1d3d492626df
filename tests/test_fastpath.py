"""The fast path answers plain GETs exactly as the Flask routes do, byte for byte, and leaves
every other request, refusal and special case to them."""

from __future__ import annotations

from typing import Any

import pytest

from mock_kling.core.auth import make_token
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import DEV_ACCESS_KEY, DEV_SECRET_KEY, Config
from mock_kling.http.app import backend_of, create_app

from .conftest import API_PATH, RESELLER_PATH, valid_body

KEY = "sk-fast"


def _pair() -> tuple[Any, Any, dict[str, str]]:
    """Two identical fakes, one with the fast path and one without, and a token for both."""
    config = Config(seed=5, api_keys=[KEY], submitted_seconds=1, processing_seconds=2)
    clocks = ManualClock(), ManualClock()
    fast = create_app(config, clock=clocks[0]).test_client()
    slow = create_app(config, clock=clocks[1], fast_path=False).test_client()
    token = make_token(DEV_ACCESS_KEY, DEV_SECRET_KEY, clocks[0].now_ms() / 1000)
    for client, clock in zip((fast, slow), clocks, strict=True):
        for n in range(4):
            body = valid_body(external_task_id=f"e{n}", prompt="mock:fail" if n == 2 else "p")
            client.post(API_PATH, json=body, headers={"Authorization": f"Bearer {token}"})
            clock.advance(0.5)
        clock.advance(1)  # tasks in every state: succeed, failed, processing, submitted
    return fast, slow, {"Authorization": f"Bearer {token}"}


PATHS = [
    API_PATH,
    f"{API_PATH}?pageNum=2&pageSize=2",
    f"{API_PATH}?pageSize=&pageNum=1&pageNum=9",
    f"{API_PATH}?pageSize=0",
    f"{API_PATH}/e1",
    f"{API_PATH}/e2",
    f"{API_PATH}/nope",
    f"{API_PATH}/",
    f"{RESELLER_PATH}/e3",
    f"/kling{API_PATH}?pageNum=1",
    "/v1/videos/multi-image2video/e1/extra",
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("auth", ["jwt", "key", "none", "twice", "bad"])
def test_same_answer_with_and_without_the_fast_path(path: str, auth: str):
    fast, slow, jwt_header = _pair()
    headers = {
        "jwt": jwt_header,
        "key": {"Authorization": f"Bearer {KEY}"},
        "none": {},
        "twice": {"Authorization": f"{jwt_header['Authorization']}, Bearer {KEY}"},
        "bad": {"Authorization": "Bearer nope"},
    }[auth]
    answers = [client.get(path, headers=headers) for client in (fast, slow)]
    assert answers[0].status_code == answers[1].status_code
    assert answers[0].data == answers[1].data  # same seed: even the request ids agree
    assert answers[0].headers["Content-Type"] == answers[1].headers["Content-Type"]
    journals = [backend_of(c.application).requests() for c in (fast, slow)]
    assert journals[0] == journals[1]


def test_faults_and_limits_go_through_flask():
    fast, _, headers = _pair()
    fast.post("/__mock__/faults", json={"endpoint": "query", "code": 5001, "times": 1})
    assert fast.get(f"{API_PATH}/e1", headers=headers).status_code == 503
    assert fast.get(f"{API_PATH}/e1", headers=headers).status_code == 200
    fast.post(f"/__mock__/accounts/{DEV_ACCESS_KEY}/limits", json={"rate_per_second": 1})
    assert fast.get(API_PATH, headers=headers).status_code == 200
    assert fast.get(API_PATH, headers=headers).get_json()["code"] == 1302


def test_media_urls_follow_the_host_header():
    fast, slow, headers = _pair()
    for host in ("example.test:8080", "example.test:80", "[::1]:9000"):
        answers = [c.get(f"{API_PATH}/e0", headers={**headers, "Host": host}) for c in (fast, slow)]
        assert answers[0].data == answers[1].data


def test_plain_gets_never_reach_flask():
    fast, _, headers = _pair()
    app = fast.application

    asked: list[str] = []

    def not_here(**kwargs: Any) -> Any:
        asked.append(kwargs.get("ref", "list"))
        return {"asked": True}

    for name in list(app.view_functions):
        if name.endswith(("query_task", "list_tasks")):
            app.view_functions[name] = not_here
    assert fast.get(f"{API_PATH}/e1", headers=headers).get_json()["code"] == 0
    assert fast.get(f"{RESELLER_PATH}?pageSize=3", headers=headers).get_json()["code"] == 0
    assert asked == []
    fast.get(f"{API_PATH}/nope", headers=headers)  # a refusal: Flask renders it
    assert asked == ["nope"]
