"""The three endpoints on both prefixes: create, query by either id, list, lifecycle, media."""

from __future__ import annotations

import re
import uuid

import pytest
from flask.testing import FlaskClient

from mock_kling import apispec
from mock_kling.core.backend import Backend
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import Config
from mock_kling.http.app import create_app

from .conftest import API_PATH, RESELLER_PATH, valid_body

ID_18 = re.compile(r"^[1-9][0-9]{17}$")


def test_create_answers_like_kling(client: FlaskClient, auth: dict[str, str], clock: ManualClock):
    response = client.post(API_PATH, json=valid_body(), headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["code", "message", "request_id", "data"]
    assert (body["code"], body["message"]) == (0, "SUCCEED")
    assert uuid.UUID(body["request_id"]).version == 4
    data = body["data"]
    assert ID_18.match(data["task_id"])
    assert data["task_status"] == "submitted"
    assert data["task_info"] == {}
    assert data["created_at"] == data["updated_at"] == clock.now_ms()


def test_query_by_task_id_and_external_id_agree(client: FlaskClient, auth: dict[str, str]):
    created = client.post(API_PATH, json=valid_body(external_task_id="order-42"), headers=auth)
    task_id = created.get_json()["data"]["task_id"]
    assert created.get_json()["data"]["task_info"] == {"external_task_id": "order-42"}
    by_id = client.get(f"{API_PATH}/{task_id}", headers=auth).get_json()["data"]
    by_external = client.get(f"{API_PATH}/order-42", headers=auth).get_json()["data"]
    assert by_id == by_external
    assert by_id["task_id"] == task_id
    assert by_id["task_info"] == {"external_task_id": "order-42"}


def test_lifecycle_follows_the_clock(client: FlaskClient, auth: dict[str, str], clock: ManualClock):
    data = client.post(API_PATH, json=valid_body(), headers=auth).get_json()["data"]
    url = f"{API_PATH}/{data['task_id']}"
    created_at = data["created_at"]
    seen = []
    for seconds in (0, 1.999, 0.001, 7.998, 0.002, 100):
        clock.advance(seconds)
        task = client.get(url, headers=auth).get_json()["data"]
        seen.append((task["task_status"], task["updated_at"] - created_at))
        assert task["created_at"] == created_at
    assert seen == [
        ("submitted", 0),
        ("submitted", 0),
        ("processing", 2000),
        ("processing", 2000),
        ("succeed", 10000),
        ("succeed", 10000),
    ]


def test_succeeded_task_has_a_video(client: FlaskClient, auth: dict[str, str], clock: ManualClock):
    body = valid_body(mode="pro", duration="10", aspect_ratio="9:16")
    task_id = client.post(API_PATH, json=body, headers=auth).get_json()["data"]["task_id"]
    running = client.get(f"{API_PATH}/{task_id}", headers=auth).get_json()["data"]
    assert running["task_result"] == {}
    assert "final_unit_deduction" not in running
    clock.advance(10)
    task = client.get(f"{API_PATH}/{task_id}", headers=auth).get_json()["data"]
    (video,) = task["task_result"]["videos"]
    assert ID_18.match(video["id"])
    assert video["id"] != task_id
    assert video["duration"] == "10"
    assert video["url"] == f"http://localhost/__mock__/media/{video['id']}.mp4"
    assert video["watermark_url"] == f"http://localhost/__mock__/media/{video['id']}-watermark.mp4"
    assert task["final_unit_deduction"] == "7"
    assert task["task_status_msg"] == ""


def test_video_downloads_without_auth(
    client: FlaskClient, auth: dict[str, str], clock: ManualClock
):
    task_id = client.post(API_PATH, json=valid_body(), headers=auth).get_json()["data"]["task_id"]
    clock.advance(10)
    video = client.get(f"{API_PATH}/{task_id}", headers=auth).get_json()["data"]
    for url in (
        video["task_result"]["videos"][0]["url"],
        video["task_result"]["videos"][0]["watermark_url"],
    ):
        response = client.get(url.removeprefix("http://localhost"))
        assert response.status_code == 200
        assert response.mimetype == "video/mp4"
        assert response.data[4:8] == b"ftyp"


def test_video_is_not_served_before_success_or_after_30_days(
    client: FlaskClient, auth: dict[str, str], clock: ManualClock, backend: Backend
):
    task_id = client.post(API_PATH, json=valid_body(), headers=auth).get_json()["data"]["task_id"]
    video_id = backend.task(task_id).video_id
    path = f"/__mock__/media/{video_id}.mp4"
    assert client.get(path).status_code == 404
    clock.advance(10)
    assert client.get(path).status_code == 200
    clock.advance(30 * 86400 - 0.001)
    assert client.get(path).status_code == 200
    clock.advance(0.001)
    response = client.get(path)
    assert (response.status_code, response.get_json()["code"]) == (404, 1203)


def test_video_supports_range_requests(
    client: FlaskClient, auth: dict[str, str], clock: ManualClock
):
    task_id = client.post(API_PATH, json=valid_body(), headers=auth).get_json()["data"]["task_id"]
    clock.advance(10)
    url = client.get(f"{API_PATH}/{task_id}", headers=auth).get_json()["data"]["task_result"]
    path = url["videos"][0]["url"].removeprefix("http://localhost")
    whole = client.get(path).data
    part = client.get(path, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.data == whole[:100]


def test_list_is_newest_first_with_paging(
    client: FlaskClient, auth: dict[str, str], clock: ManualClock
):
    ids = []
    for _ in range(5):
        ids.append(
            client.post(API_PATH, json=valid_body(), headers=auth).get_json()["data"]["task_id"]
        )
        clock.advance(0.5)
    newest_first = ids[::-1]
    listed = client.get(API_PATH, headers=auth).get_json()["data"]
    assert [t["task_id"] for t in listed] == newest_first
    pages = [
        [
            t["task_id"]
            for t in client.get(f"{API_PATH}?pageNum={n}&pageSize=2", headers=auth).get_json()[
                "data"
            ]
        ]
        for n in (1, 2, 3, 4)
    ]
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:5], []]


def test_list_defaults_to_30_a_page(client: FlaskClient, auth: dict[str, str]):
    for _ in range(31):
        client.post(API_PATH, json=valid_body(), headers=auth)
    assert len(client.get(API_PATH, headers=auth).get_json()["data"]) == 30
    assert len(client.get(f"{API_PATH}?pageNum=2", headers=auth).get_json()["data"]) == 1
    assert len(client.get(f"{API_PATH}?pageSize=500", headers=auth).get_json()["data"]) == 31


def test_empty_account_lists_nothing(client: FlaskClient, auth: dict[str, str]):
    body = client.get(API_PATH, headers=auth).get_json()
    assert (body["code"], body["data"]) == (0, [])


def test_accounts_cannot_see_each_others_tasks(
    client: FlaskClient, auth: dict[str, str], other_auth: dict[str, str]
):
    created = client.post(API_PATH, json=valid_body(external_task_id="mine"), headers=auth)
    task_id = created.get_json()["data"]["task_id"]
    for ref in (task_id, "mine"):
        response = client.get(f"{API_PATH}/{ref}", headers=other_auth)
        assert (response.status_code, response.get_json()["code"]) == (404, 1203)
    assert client.get(API_PATH, headers=other_auth).get_json()["data"] == []
    # The same external id is free in another account.
    again = client.post(API_PATH, json=valid_body(external_task_id="mine"), headers=other_auth)
    assert again.status_code == 200


def test_reseller_prefix_with_plain_key(client: FlaskClient, key_auth: dict[str, str]):
    created = client.post(RESELLER_PATH, json=valid_body(), headers=key_auth)
    assert created.status_code == 200
    task_id = created.get_json()["data"]["task_id"]
    assert client.get(f"{RESELLER_PATH}/{task_id}", headers=key_auth).status_code == 200
    assert [
        t["task_id"] for t in client.get(RESELLER_PATH, headers=key_auth).get_json()["data"]
    ] == [task_id]


def test_both_prefixes_share_one_account_store(client: FlaskClient, auth: dict[str, str]):
    task_id = client.post(API_PATH, json=valid_body(), headers=auth).get_json()["data"]["task_id"]
    assert client.get(f"{RESELLER_PATH}/{task_id}", headers=auth).status_code == 200


def test_defaults_and_empty_optional_strings(
    client: FlaskClient, auth: dict[str, str], clock: ManualClock
):
    body = {
        "image_list": [{"image": "https://example.com/a.jpg"}],
        "prompt": "p",
        "negative_prompt": "",
        "callback_url": "",
        "external_task_id": "",
    }
    task_id = client.post(API_PATH, json=body, headers=auth).get_json()["data"]["task_id"]
    clock.advance(10)
    task = client.get(f"{API_PATH}/{task_id}", headers=auth).get_json()["data"]
    assert task["task_info"] == {}
    assert task["watermark_info"] == {"enabled": False}
    assert task["task_result"]["videos"][0]["duration"] == "5"
    assert task["final_unit_deduction"] == "1"


def test_unknown_fields_and_legacy_model_are_ignored(client: FlaskClient, auth: dict[str, str]):
    body = valid_body(model="kling-v1", cfg_scale=0.5)
    assert client.post(API_PATH, json=body, headers=auth).status_code == 200


def test_same_seed_repeats_ids(config: Config, auth: dict[str, str]):
    def run() -> list[str]:
        client = create_app(config, clock=ManualClock()).test_client()
        out = []
        for _ in range(3):
            body = client.post(API_PATH, json=valid_body(), headers=auth).get_json()
            out += [body["data"]["task_id"], body["request_id"]]
        return out

    assert run() == run()


@pytest.mark.parametrize(
    "url",
    ["http://a\x1cb", "http://a\u2028b", "http://a\u00a0b", "http://a b", "http://a\tb",
     "http://a\x7fb", "http://a\n", "http://a/b"],
)  # fmt: skip
def test_callback_url_rule_is_the_same_in_every_regex_dialect(
    client: FlaskClient, auth: dict[str, str], url: str
):
    """Bug: the contract wrote the rule with \\s, which takes in U+001C..U+001F in Python but
    not in Rust's regex; schemathesis (validating with jsonschema-rs) found a callback_url that
    one dialect accepted and the fake refused. Now the rule lists its characters, so Python's
    jsonschema, jsonschema-rs and the fake give one verdict."""
    import jsonschema
    import jsonschema_rs

    schema = apispec.schema("create_request")["properties"]["callback_url"]
    python_ok = jsonschema.Draft7Validator(schema).is_valid(url)
    assert jsonschema_rs.Draft7Validator(schema).is_valid(url) == python_ok
    answer = client.post(API_PATH, json=valid_body(callback_url=url), headers=auth)
    assert (answer.status_code == 200) == python_ok, answer.get_json()
