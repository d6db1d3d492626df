"""Per-task outcomes: by control API (task or next task), by prompt marker, by server option."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_kling.core.clock import ManualClock
from mock_kling.core.config import Config
from mock_kling.core.outcomes import CONTENT_SAFETY_MESSAGE, SUBMIT_FAILURE_MESSAGE
from mock_kling.http.app import create_app

from .conftest import API_PATH, valid_body


def _submit(client: FlaskClient, auth: dict[str, str], **fields: Any) -> str:
    response = client.post(API_PATH, json=valid_body(**fields), headers=auth)
    assert response.status_code == 200, response.get_json()
    task_id: str = response.get_json()["data"]["task_id"]
    return task_id


def _history(client: FlaskClient, auth: dict[str, str], clock: ManualClock, task_id: str) -> list:
    """(status, message, seconds since creation) at each second for 30 s, deduplicated."""
    seen: list[tuple[str, str, float]] = []
    for _ in range(31):
        task = client.get(f"{API_PATH}/{task_id}", headers=auth).get_json()["data"]
        entry = (
            task["task_status"],
            task["task_status_msg"],
            (task["updated_at"] - task["created_at"]) / 1000,
        )
        if not seen or seen[-1] != entry:
            seen.append(entry)
        clock.advance(1)
    return seen


def test_default_outcome_succeeds(client: FlaskClient, auth: dict[str, str], clock: ManualClock):
    task_id = _submit(client, auth)
    assert _history(client, auth, clock, task_id) == [
        ("submitted", "", 0),
        ("processing", "", 2),
        ("succeed", "", 10),
    ]


@pytest.mark.parametrize(
    ("prompt", "history"),
    [
        (
            "a cat mock:fail",
            [("submitted", "", 0), ("processing", "", 2), ("failed", CONTENT_SAFETY_MESSAGE, 10)],
        ),
        ("mock:stuck a cat", [("submitted", "", 0), ("processing", "", 2)]),
        ("mock:fail_at_submit", [("submitted", "", 0), ("failed", SUBMIT_FAILURE_MESSAGE, 2)]),
        ("mock:seconds=20", [("submitted", "", 0), ("processing", "", 2), ("succeed", "", 20)]),
        (
            "mock:fail mock:seconds=1",
            [("submitted", "", 0), ("failed", CONTENT_SAFETY_MESSAGE, 1)],  # 0 s processing
        ),
        ("mock:succeed", [("submitted", "", 0), ("processing", "", 2), ("succeed", "", 10)]),
        (
            "xmock:fail is not a marker",
            [("submitted", "", 0), ("processing", "", 2), ("succeed", "", 10)],
        ),
    ],
)
def test_prompt_markers(
    client: FlaskClient, auth: dict[str, str], clock: ManualClock, prompt: str, history: list
):
    task_id = _submit(client, auth, prompt=prompt)
    assert _history(client, auth, clock, task_id) == history


def test_failed_task_has_no_videos_and_no_charge(
    client: FlaskClient, auth: dict[str, str], clock: ManualClock
):
    task_id = _submit(client, auth, prompt="mock:fail")
    clock.advance(10)
    task = client.get(f"{API_PATH}/{task_id}", headers=auth).get_json()["data"]
    assert (task["task_result"], task["final_unit_deduction"]) == ({}, "0")
    assert client.get("/__mock__/accounts/mock-access-key").get_json()["usage"]["units_spent"] == 0


def test_next_task_outcome_by_control_api(
    client: FlaskClient, auth: dict[str, str], other_auth: dict[str, str], clock: ManualClock
):
    rule = {"outcome": {"result": "fail", "message": "boom", "processing_seconds": 1}, "count": 2}
    rule["account"] = "mock-access-key"
    assert client.post("/__mock__/outcomes", json=rule).status_code == 201
    other = _submit(client, other_auth)  # another account: not affected
    first, second, third = (_submit(client, auth, prompt="mock:stuck") for _ in range(3))
    assert client.get("/__mock__/outcomes").get_json() == []
    clock.advance(3)
    status = {
        t: client.get(f"{API_PATH}/{t}", headers=auth).get_json()["data"]
        for t in (first, second, third)
    }
    assert [(s["task_status"], s["task_status_msg"]) for s in status.values()] == [
        ("failed", "boom"),
        ("failed", "boom"),
        ("processing", ""),  # the rule was used up; the marker chose stuck
    ]
    assert (
        client.get(f"{API_PATH}/{other}", headers=other_auth).get_json()["data"]["task_status"]
        == "processing"
    )


def test_control_api_rules_win_over_markers(
    client: FlaskClient, auth: dict[str, str], clock: ManualClock
):
    client.post("/__mock__/outcomes", json={"outcome": {"result": "succeed"}})
    task_id = _submit(client, auth, prompt="mock:fail")
    assert _history(client, auth, clock, task_id)[-1][0] == "succeed"


def test_force_a_running_tasks_outcome(
    client: FlaskClient, auth: dict[str, str], clock: ManualClock
):
    task_id = _submit(client, auth)
    clock.advance(3)  # processing since 2 s
    forced = client.post(
        f"/__mock__/tasks/{task_id}/outcome",
        json={"result": "fail", "message": "Image pixel is invalid", "processing_seconds": 4},
    )
    assert forced.status_code == 200
    assert forced.get_json()["outcome"] == {
        "result": "fail",
        "message": "Image pixel is invalid",
        "processing_seconds": 4.0,
    }
    clock.advance(3.999)
    assert (
        client.get(f"{API_PATH}/{task_id}", headers=auth).get_json()["data"]["task_status"]
        == "processing"
    )
    clock.advance(0.001)
    task = client.get(f"{API_PATH}/{task_id}", headers=auth).get_json()["data"]
    assert (task["task_status"], task["task_status_msg"]) == ("failed", "Image pixel is invalid")
    assert task["updated_at"] - task["created_at"] == 7000


def test_force_next_transition(client: FlaskClient, auth: dict[str, str], clock: ManualClock):
    task_id = _submit(client, auth)
    moved = client.post(f"/__mock__/tasks/{task_id}/advance").get_json()
    assert moved["task"]["task_status"] == "processing"
    assert [s["at_ms"] - moved["task"]["created_at"] for s in moved["timeline"]] == [0, 0, 8000]
    moved = client.post(f"/__mock__/tasks/{task_id}/advance").get_json()
    assert moved["task"]["task_status"] == "succeed"
    again = client.post(f"/__mock__/tasks/{task_id}/advance")
    assert (again.status_code, again.get_json()["code"]) == (400, 1201)
    assert "has ended (succeed)" in again.get_json()["message"]


def test_stuck_task_has_no_next_transition(
    client: FlaskClient, auth: dict[str, str], clock: ManualClock
):
    task_id = _submit(client, auth, prompt="mock:stuck")
    clock.advance(5)
    response = client.post(f"/__mock__/tasks/{task_id}/advance")
    assert "has no next transition" in response.get_json()["message"]
    forced = client.post(f"/__mock__/tasks/{task_id}/outcome", json={"processing_seconds": 0})
    assert forced.get_json()["task"]["task_status"] == "succeed"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"result": "explode"}, "result must be one of"),
        ({"result": "fail", "colour": 1}, "unknown fields: colour"),
        ({"processing_seconds": -1}, "processing_seconds must be a number in [0, 100000000]"),
        ({"message": 3}, "message must be a string (got the number 3)"),
    ],
)
def test_bad_outcomes_are_refused(
    client: FlaskClient, auth: dict[str, str], body: dict[str, Any], message: str
):
    task_id = _submit(client, auth)
    response = client.post(f"/__mock__/tasks/{task_id}/outcome", json=body)
    assert (response.status_code, response.get_json()["code"]) == (400, 1201)
    assert message in response.get_json()["message"]


def test_server_options_choose_the_default(auth: dict[str, str], clock: ManualClock):
    config = Config(seed=9, outcome="stuck", submitted_seconds=0, processing_seconds=1)
    client = create_app(config, clock=clock).test_client()
    task_id = client.post(API_PATH, json=valid_body(), headers=auth).get_json()["data"]["task_id"]
    clock.advance(100)
    assert (
        client.get(f"{API_PATH}/{task_id}", headers=auth).get_json()["data"]["task_status"]
        == "processing"
    )


def test_seeded_failure_rate_repeats(auth: dict[str, str]):
    def statuses() -> list[str]:
        clock = ManualClock()
        client = create_app(Config(seed=4, failure_rate=0.5), clock=clock).test_client()
        ids = [
            client.post(API_PATH, json=valid_body(), headers=auth).get_json()["data"]["task_id"]
            for _ in range(20)
        ]
        clock.advance(10)
        return [
            client.get(f"{API_PATH}/{i}", headers=auth).get_json()["data"]["task_status"]
            for i in ids
        ]

    first = statuses()
    assert first == statuses()
    assert 3 <= first.count("failed") <= 17


def test_the_docs_list_exactly_the_prompt_markers():
    """The markers' home is mock_kling.core.outcomes (MARKERS); the docs' table follows it."""
    import re
    from pathlib import Path

    from mock_kling.core.outcomes import MARKERS

    page = Path(__file__).resolve().parent.parent / "docs" / "dev-backend.md"
    table = page.read_text(encoding="utf-8").split("## Outcomes", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(mock:[a-z_]+(?:=N)?)`", table))
    assert listed == {marker.replace("<n>", "N") for marker in MARKERS}
