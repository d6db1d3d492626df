"""Every refusal: the right HTTP status, service code, and a message naming the field and rule."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_kling.core.clock import ManualClock
from mock_kling.core.config import Config
from mock_kling.http.app import create_app

from .conftest import API_PATH, RESELLER_PATH, valid_body
from .images import b64, jpeg_b64, png_b64, png_bytes

GIF = b"GIF89a" + b"\x00" * 100
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 100


def one_image(image: str) -> dict[str, Any]:
    return valid_body(image_list=[{"image": image}])


BAD_BODIES = {
    "prompt missing": ({"image_list": [{"image": png_b64()}]}, 1201, "prompt is required"),
    "prompt empty": (valid_body(prompt=""), 1201, "prompt must not be empty"),
    "prompt too long": (
        valid_body(prompt="x" * 2501),
        1201,
        "prompt must be at most 2500 characters (got 2501)",
    ),
    "prompt not a string": (
        valid_body(prompt=7),
        1201,
        "prompt must be a string (got the number 7)",
    ),
    "negative_prompt too long": (
        valid_body(negative_prompt="x" * 2501),
        1201,
        "negative_prompt must be at most 2500 characters",
    ),
    "image_list missing": ({"prompt": "p"}, 1201, "image_list is required"),
    "no images": (
        valid_body(image_list=[]),
        1201,
        "image_list must have at least 1 item(s) (got 0)",
    ),
    "five images": (
        valid_body(image_list=[{"image": "https://example.com/a.png"}] * 5),
        1201,
        "image_list must have at most 4 item(s) (got 5)",
    ),
    "image item without image": (
        valid_body(image_list=[{}]),
        1201,
        "image_list[0].image is required",
    ),
    "image empty": (one_image(""), 1201, "image_list[0].image must not be empty"),
    "data: prefix": (
        one_image("data:image/png;base64," + png_b64()),
        1201,
        "image_list[0].image must be raw base64 without a data: URI prefix",
    ),
    "not base64": (
        one_image("not base64 at all!"),
        1201,
        "image_list[0].image is neither an http(s) URL nor valid base64",
    ),
    "bad base64 padding": (
        one_image(png_b64()[:-2] + "="),
        1201,
        "is neither an http(s) URL nor valid base64",
    ),
    "GIF": (one_image(b64(GIF)), 1201, "image_list[0].image must be a PNG or JPEG image (got GIF)"),
    "WebP": (one_image(b64(WEBP)), 1201, "must be a PNG or JPEG image (got WebP)"),
    "text named png": (one_image(b64(b"hello, I am a png")), 1201, "must be a PNG or JPEG image"),
    "truncated PNG": (one_image(b64(png_bytes()[:20])), 1201, "is a truncated or malformed PNG"),
    "truncated JPEG": (
        one_image(b64(b"\xff\xd8\xff\xe0\x00\x10JFIF")),
        1201,
        "is a truncated or malformed JPEG",
    ),
    "over 10 MB": (
        one_image(b64(png_bytes()[:100] + b"\x00" * (10 * 1024 * 1024))),
        1201,
        "image_list[0].image is 10485860 bytes; the limit is 10485760 bytes (10 MB)",
    ),
    "narrow PNG": (
        one_image(png_b64(299, 400)),
        1201,
        "image_list[0].image is 299x400 px; each side must be at least 300 px",
    ),
    "short JPEG": (
        one_image(jpeg_b64(400, 299)),
        1201,
        "is 400x299 px; each side must be at least 300 px",
    ),
    "too wide": (
        one_image(png_b64(751, 300)),
        1201,
        "is 751x300 px; the aspect ratio (width:height) must be between 1:2.5 and 2.5:1",
    ),
    "too tall": (
        one_image(jpeg_b64(300, 751)),
        1201,
        "the aspect ratio (width:height) must be between 1:2.5 and 2.5:1",
    ),
    "second image bad": (
        valid_body(image_list=[{"image": png_b64()}, {"image": b64(GIF)}]),
        1201,
        "image_list[1].image must be a PNG or JPEG image",
    ),
    "URL without host": (
        one_image("https:///nohost.png"),
        1201,
        "image_list[0].image is not a well-formed http(s) URL",
    ),
    "mode enum": (valid_body(mode="fast"), 1201, 'mode must be one of "std", "pro" (got "fast")'),
    "aspect_ratio enum": (
        valid_body(aspect_ratio="4:3"),
        1201,
        'aspect_ratio must be one of "16:9", "9:16", "1:1" (got "4:3")',
    ),
    "duration enum": (
        valid_body(duration="7"),
        1201,
        'duration must be one of "5", "10" (got "7")',
    ),
    "numeric duration": (valid_body(duration=5), 1201, "duration must be"),
    "callback_url not a URL": (
        valid_body(callback_url="ftp://x"),
        1201,
        "callback_url must be empty or an http(s) URL",
    ),
    "watermark_info wrong type": (
        valid_body(watermark_info={"enabled": "yes"}),
        1201,
        "watermark_info.enabled must be a boolean",
    ),
    "unknown model": (
        valid_body(model_name="kling-v9"),
        1203,
        'model_name "kling-v9" does not exist',
    ),
    "body is a list": ([1, 2], 1200, "request body must be a JSON object (got array)"),
    "body is a string": ("text", 1200, "request body must be a JSON object (got string)"),
}


@pytest.mark.parametrize(("body", "code", "message"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_create_body(
    client: FlaskClient, auth: dict[str, str], body: Any, code: int, message: str
):
    response = client.post(API_PATH, json=body, headers=auth)
    expected_status = 404 if code == 1203 else 400
    assert (response.status_code, response.get_json()["code"]) == (expected_status, code)
    assert message in response.get_json()["message"]


def test_numeric_duration_names_the_allowed_strings(client: FlaskClient, auth: dict[str, str]):
    message = client.post(API_PATH, json=valid_body(duration=5), headers=auth).get_json()["message"]
    assert message == 'duration must be one of "5", "10" (got the number 5)'


def test_a_misspelt_image_key_is_named(client: FlaskClient, auth: dict[str, str]):
    body = valid_body(image_list=[{"image_url": "https://example.com/a.png"}])
    message = client.post(API_PATH, json=body, headers=auth).get_json()["message"]
    assert message == (
        'image_list[0].image is required (got unknown key "image_url"; unknown keys are ignored)'
    )


@pytest.mark.parametrize(
    "image",
    [
        png_b64(300, 300),
        jpeg_b64(750, 300),
        png_b64(300, 750),
        jpeg_b64(1920, 1080),
        "http://example.com/x?y=1",
    ],
    ids=["300px PNG", "2.5:1 JPEG", "1:2.5 PNG", "1080p JPEG", "http URL"],
)
def test_images_on_the_limits_are_accepted(client: FlaskClient, auth: dict[str, str], image: str):
    assert client.post(API_PATH, json=one_image(image), headers=auth).status_code == 200


def test_four_images_accepted(client: FlaskClient, auth: dict[str, str]):
    body = valid_body(image_list=[{"image": png_b64()}, {"image": jpeg_b64()}] * 2)
    assert client.post(API_PATH, json=body, headers=auth).status_code == 200


def test_duplicate_external_task_id(client: FlaskClient, auth: dict[str, str]):
    assert (
        client.post(API_PATH, json=valid_body(external_task_id="x1"), headers=auth).status_code
        == 200
    )
    response = client.post(API_PATH, json=valid_body(external_task_id="x1"), headers=auth)
    body = response.get_json()
    assert (response.status_code, body["code"]) == (400, 1201)
    assert body["message"] == "external_task_id 'x1' is already used by a task of this account"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("pageNum=0", 'pageNum must be an integer in [1, 1000] (got "0")'),
        ("pageNum=1001", "pageNum must be an integer in [1, 1000]"),
        ("pageSize=0", 'pageSize must be an integer in [1, 500] (got "0")'),
        ("pageSize=501", "pageSize must be an integer in [1, 500]"),
        ("pageSize=abc", 'pageSize must be an integer in [1, 500] (got "abc")'),
        ("pageNum=1.5", "pageNum must be an integer"),
        ("pageNum=-1", "pageNum must be an integer"),
    ],
)
def test_paging_out_of_range(client: FlaskClient, auth: dict[str, str], query: str, message: str):
    response = client.get(f"{API_PATH}?{query}", headers=auth)
    assert (response.status_code, response.get_json()["code"]) == (400, 1201)
    assert message in response.get_json()["message"]


def test_paging_on_the_limits(client: FlaskClient, auth: dict[str, str]):
    for query in ("pageNum=1000&pageSize=500", "pageNum=1&pageSize=1"):
        assert client.get(f"{API_PATH}?{query}", headers=auth).status_code == 200


def test_unknown_task_id(client: FlaskClient, auth: dict[str, str]):
    response = client.get(f"{API_PATH}/123456789012345678", headers=auth)
    assert (response.status_code, response.get_json()["code"]) == (404, 1203)
    assert (
        response.get_json()["message"] == "task '123456789012345678' does not exist in this account"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"prompt": ', "request body is not valid JSON"),
        (b"", "request body is not valid JSON"),
        (b'{"prompt": NaN}', "request body is not valid JSON: NaN is not a JSON value"),
        (b'{"prompt": "\xff\xfe"}', "request body is not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "request body is nested too deeply"),
    ],
    ids=["truncated", "empty", "NaN", "invalid UTF-8", "deep nesting"],
)
def test_malformed_json(client: FlaskClient, auth: dict[str, str], raw: bytes, message: str):
    response = client.post(API_PATH, data=raw, headers=auth, content_type="application/json")
    assert (response.status_code, response.get_json()["code"]) == (400, 1200)
    assert message in response.get_json()["message"]


def test_wrong_content_type(client: FlaskClient, auth: dict[str, str]):
    response = client.post(API_PATH, data="prompt=x", headers=auth, content_type="text/plain")
    assert (response.status_code, response.get_json()["code"]) == (400, 1200)
    assert (
        response.get_json()["message"] == "Content-Type must be application/json (got text/plain)"
    )


def test_body_over_the_limit(config: Config, clock: ManualClock, auth: dict[str, str]):
    config.max_body_bytes = 1000
    client = create_app(config, clock=clock).test_client()
    response = client.post(API_PATH, json=valid_body(prompt="x" * 2000), headers=auth)
    assert (response.status_code, response.get_json()["code"]) == (413, 1200)
    assert response.get_json()["message"] == "request body is larger than the limit of 1000 bytes"


@pytest.mark.parametrize("path", [API_PATH, RESELLER_PATH, f"{API_PATH}/123"])
def test_wrong_method(client: FlaskClient, auth: dict[str, str], path: str):
    response = client.delete(path, headers=auth)
    assert (response.status_code, response.get_json()["code"]) == (404, 1202)
    assert f"method DELETE is not valid for {path}" in response.get_json()["message"]


@pytest.mark.parametrize(
    "path", ["/v1/account/balance", "/v2/videos/multi-image2video", "/__mock__/nope"]
)
def test_unknown_path(client: FlaskClient, auth: dict[str, str], path: str):
    response = client.get(path, headers=auth)
    assert (response.status_code, response.get_json()["code"]) == (404, 1203)
    assert response.get_json()["message"] == f"no such resource: GET {path}"


def test_an_unexpected_exception_is_a_kling_5000_not_html(app: Flask, auth: dict[str, str]):
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("bug")

    import logging

    logging.getLogger("mock_kling").disabled = True
    try:
        response = app.test_client().get("/boom")
    finally:
        logging.getLogger("mock_kling").disabled = False
    assert response.status_code == 500
    assert response.get_json()["code"] == 5000
    assert "RuntimeError" in response.get_json()["message"]
