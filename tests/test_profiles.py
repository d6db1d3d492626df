"""Vendor profiles: each accepts and rejects what its documents say, answers in its shape, on
its prefix, with its auth style; and its contracts are the base ones plus its differences."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_kling.apispec import derived
from mock_kling.core import profiles
from mock_kling.core.auth import make_token
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import DEV_ACCESS_KEY, DEV_SECRET_KEY, Config
from mock_kling.http.app import create_app

NAMES = list(profiles.PROFILES)
KEY = "sk-vendor"
IMAGES = [{"image": "https://example.com/a.png"}, {"image": "https://example.com/b.png"}]
FULL = {"model_name": "kling-v1-6", "mode": "std", "duration": "5", "prompt": "p"}

# request -> the profiles whose documents accept it (every other profile must refuse it)
MATRIX: dict[str, tuple[dict[str, Any], set[str]]] = {
    "no prompt (CometAPI: only image_list is required)": (
        {"model_name": "kling-v1-6", "mode": "std", "duration": "5"},
        {"cometapi"},
    ),
    "aspect_ratio 4:3 (chainhub: a free string)": (
        {**FULL, "aspect_ratio": "4:3"},
        {"chainhub"},
    ),
    "no mode or duration (chainhub requires them)": (
        {"model_name": "kling-v1-6", "prompt": "p"},
        {"official", "newapi", "cometapi"},
    ),
    "model instead of model_name (new-api's field)": (
        {"model": "kling-v1-6", "mode": "std", "duration": "5", "prompt": "p"},
        {"official", "newapi", "cometapi"},  # official ignores the legacy field
    ),
    "no model at all (new-api requires model, chainhub model_name)": (
        {"mode": "std", "duration": "5", "prompt": "p"},
        {"official", "cometapi"},
    ),
    "everything documented by everyone": (FULL, set(NAMES)),
}


def _client(profile: str, clock: ManualClock) -> FlaskClient:
    config = Config(seed=3, profile=profile, api_keys=[KEY])
    return create_app(config, clock=clock).test_client()


def _post(client: FlaskClient, profile: str, body: dict[str, Any]) -> Any:
    path = profiles.get(profile).prefix + "/videos/multi-image2video"
    return client.post(path, json=body, headers={"Authorization": f"Bearer {KEY}"})


@pytest.mark.parametrize("profile", NAMES)
@pytest.mark.parametrize("case", MATRIX.keys())
def test_each_vendor_accepts_what_its_documents_say(profile: str, case: str):
    fields, accepted_by = MATRIX[case]
    response = _post(_client(profile, ManualClock()), profile, {"image_list": IMAGES, **fields})
    body = response.get_json()
    if profile in accepted_by:
        assert (response.status_code, body["code"]) == (200, 0), body
        derived.validator(profile, "create_response").validate(body)
    else:
        assert (response.status_code, body["code"]) in ((400, 1201), (404, 1203)), body
        derived.validator(profile, "create_request")  # the refusal follows the contract
        assert (
            derived.validator(profile, "create_request").is_valid({"image_list": IMAGES, **fields})
            is False
        )


def test_refusal_messages_name_the_vendor_rule():
    clock = ManualClock()
    chainhub = _post(_client("chainhub", clock), "chainhub", {"image_list": IMAGES, "prompt": "p"})
    assert chainhub.get_json()["message"] in ("model_name is required", "mode is required")
    newapi = _post(_client("newapi", clock), "newapi", {"image_list": IMAGES, "prompt": "p"})
    assert newapi.get_json()["message"] == "model or model_name is required"


def test_newapi_create_answer_has_its_documented_shape():
    body = {"image_list": IMAGES, "prompt": "p", "model": "kling-v1-6"}
    answer = _post(_client("newapi", ManualClock()), "newapi", body).get_json()
    assert set(answer["data"]) == {"task_id", "task_status"}
    derived.validator("newapi", "create_response").validate(answer)
    assert not derived.validator("official", "create_response").is_valid(answer)


def test_chainhub_free_aspect_ratio_renders_that_shape():
    clock = ManualClock()
    client = _client("chainhub", clock)
    task_id = _post(client, "chainhub", {**FULL, "image_list": IMAGES, "aspect_ratio": "4:3"})
    task_id = task_id.get_json()["data"]["task_id"]
    clock.advance(10)
    backend = client.application.extensions["mock_kling"]
    assert backend.task(task_id).request.frame_size == (960, 720)


@pytest.mark.parametrize("profile", [n for n in NAMES if n != "official"])
def test_resellers_serve_only_their_prefix_and_plain_keys(profile: str):
    clock = ManualClock()
    client = _client(profile, clock)
    key = {"Authorization": f"Bearer {KEY}"}
    assert client.get("/kling/v1/videos/multi-image2video", headers=key).status_code == 200
    wrong_prefix = client.get("/v1/videos/multi-image2video", headers=key)
    assert (wrong_prefix.status_code, wrong_prefix.get_json()["code"]) == (404, 1203)
    token = make_token(DEV_ACCESS_KEY, DEV_SECRET_KEY, clock.now_ms() / 1000)
    jwt_answer = client.get(
        "/kling/v1/videos/multi-image2video", headers={"Authorization": f"Bearer {token}"}
    )
    assert (jwt_answer.status_code, jwt_answer.get_json()["code"]) == (401, 1002)
    assert "plain API key" in jwt_answer.get_json()["message"]


def test_official_serves_both_prefixes_and_both_auth_styles():
    clock = ManualClock()
    client = _client("official", clock)
    token = make_token(DEV_ACCESS_KEY, DEV_SECRET_KEY, clock.now_ms() / 1000)
    for prefix in ("/v1", "/kling/v1"):
        for credential in (token, KEY):
            path = f"{prefix}/videos/multi-image2video"
            assert (
                client.get(path, headers={"Authorization": f"Bearer {credential}"}).status_code
                == 200
            )


def test_derived_contracts_differ_only_where_documented():
    body = {
        "code": 0,
        "message": "SUCCEED",
        "data": {
            "task_id": "1",
            "task_status": "submitted",
            "created_at": 1722769557708,
            "updated_at": 1722769557708,
        },
    }
    assert derived.validator("cometapi", "create_response").is_valid(body)  # no request_id
    assert not derived.validator("official", "create_response").is_valid(body)
    official, chainhub = (derived.schema(p, "create_request") for p in ("official", "chainhub"))
    assert official["required"] == ["image_list", "prompt"]
    assert chainhub["required"] == ["model_name", "mode", "duration", "image_list", "prompt"]
    assert "enum" not in chainhub["properties"]["aspect_ratio"]
    assert derived.schema("official", "callback") == derived.schema("cometapi", "callback")


def test_openapi_document_follows_the_profile():
    clock = ManualClock()
    document = _client("cometapi", clock).get("/__mock__/openapi.json").get_json()
    assert "/kling/v1/videos/multi-image2video" in document["paths"]
    assert "/v1/videos/multi-image2video" not in document["paths"]
    assert document["components"]["schemas"]["create_request"]["required"] == ["image_list"]


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown profile 'acme'; known: official, newapi"):
        create_app(Config(profile="acme"))


@pytest.mark.slow
@pytest.mark.parametrize("profile", [n for n in NAMES if n != "official"])
def test_contract_suite_passes_against_the_fake_playing_each_vendor(profile: str):
    """The same suite that checks a real vendor passes against the fake in that vendor's shape."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "pytest", "contract_tests", "--kling-profile", profile]
    result = subprocess.run(
        [*command, "-q", "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout.splitlines()[-1]
