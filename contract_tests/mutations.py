"""Ways to break exactly one rule of a valid create request, each labelled with the rule and the
service codes a refusal may carry."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .checks import PARAMETER_CODES, UNKNOWN_RESOURCE_CODES
from .images import GIF_1PX, b64, png_b64

Body = dict[str, Any]


@dataclass(frozen=True)
class Sent:
    """The bytes of a broken request and their Content-Type."""

    data: bytes
    content_type: str = "application/json"


@dataclass(frozen=True)
class Mutation:
    """One broken rule. `settled`: the docs leave no doubt that Kling refuses it at submit time;
    an unsettled one may be accepted (an open question), so on a real API it needs budget."""

    name: str
    rule: str
    breaks: Callable[[Body], Sent]
    codes: frozenset[int] = PARAMETER_CODES
    settled: bool = True
    schema_rule: bool = True  # a rule of the request contract (vendor profiles may lack it)


def _json(change: Callable[[Body], Any]) -> Callable[[Body], Sent]:
    return lambda body: Sent(json.dumps(change(dict(body))).encode())


def _drop(field: str) -> Callable[[Body], Sent]:
    return _json(lambda body: {k: v for k, v in body.items() if k != field})


def _set(field: str, value: Any) -> Callable[[Body], Sent]:
    return _json(lambda body: {**body, field: value})


def _images(change: Callable[[list[Any]], list[Any]]) -> Callable[[Body], Sent]:
    return _json(lambda body: {**body, "image_list": change(list(body["image_list"]))})


def _first_image(value: str) -> Callable[[Body], Sent]:
    return _images(lambda items: [{"image": value}, *items[1:]])


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("prompt-missing", "prompt is required", _drop("prompt")),
    Mutation("image_list-missing", "image_list is required", _drop("image_list")),
    Mutation("prompt-not-string", "prompt is a string", _set("prompt", 42)),
    Mutation("prompt-too-long", "prompt has at most 2500 characters", _set("prompt", "a" * 2501)),
    Mutation(
        "negative_prompt-too-long",
        "negative_prompt has at most 2500 characters",
        _set("negative_prompt", "n" * 2501),
    ),
    Mutation("mode-not-in-enum", "mode is std or pro", _set("mode", "ultra")),
    Mutation(
        "aspect_ratio-not-in-enum", "aspect_ratio is 16:9, 9:16 or 1:1", _set("aspect_ratio", "4:3")
    ),
    Mutation("duration-not-in-enum", 'duration is "5" or "10"', _set("duration", "7")),
    Mutation(
        "image_list-too-many", "image_list has at most 4 items", _images(lambda i: [i[0]] * 5)
    ),
    Mutation("image_list-not-array", "image_list is an array", _set("image_list", "not a list")),
    Mutation("image-missing", "each image_list item has image", _images(lambda i: [{}, *i[1:]])),
    Mutation(
        "model_name-unknown",
        "model_name is kling-v1-6",
        _set("model_name", "kling-v0-contract"),
        codes=UNKNOWN_RESOURCE_CODES,
    ),
    Mutation(
        "body-not-object",
        "the body is a JSON object",
        lambda body: Sent(json.dumps([body]).encode()),
    ),
    Mutation(
        "body-not-json",
        "the body is JSON",
        lambda body: Sent(b'{"prompt": "unterminated'),
        schema_rule=False,
    ),
    # Unsettled: the spec's open questions (section 12) or rules that may only fail later.
    Mutation("prompt-empty", "prompt is not empty", _set("prompt", ""), settled=False),
    Mutation(
        "duration-number",
        'duration is a string ("5"), not a JSON number',
        _set("duration", 5),
        settled=False,
    ),
    Mutation(
        "image_list-empty", "image_list has at least 1 item", _set("image_list", []), settled=False
    ),
    Mutation(
        "image-data-uri",
        "an image is raw base64 without a data: prefix",
        _first_image("data:image/png;base64," + png_b64()),
        settled=False,
    ),
    Mutation(
        "image-not-base64",
        "an image is a URL or base64",
        _first_image("not base64 at all!"),
        settled=False,
        schema_rule=False,
    ),
    Mutation(
        "image-not-png-or-jpeg",
        "an image is PNG or JPEG",
        _first_image(b64(GIF_1PX)),
        settled=False,
        schema_rule=False,
    ),
    Mutation(
        "image-too-small",
        "each image side is at least 300 px",
        _first_image(png_b64(299, 400)),
        settled=False,
        schema_rule=False,
    ),
    Mutation(
        "image-ratio",
        "an image's aspect ratio is within 1:2.5..2.5:1",
        _first_image(png_b64(300, 751)),
        settled=False,
        schema_rule=False,
    ),
    Mutation(
        "image-url-malformed",
        "an image URL is a well-formed http(s) URL",
        _first_image("http://"),
        settled=False,
        schema_rule=False,
    ),
    Mutation(
        "callback_url-not-http",
        "callback_url is an http(s) URL",
        _set("callback_url", "ftp://example.com/cb"),
        settled=False,
    ),
    Mutation(
        "watermark-not-boolean",
        "watermark_info.enabled is a boolean",
        _set("watermark_info", {"enabled": "yes"}),
        settled=False,
    ),
    Mutation(
        "external_task_id-not-string",
        "external_task_id is a string",
        _set("external_task_id", 42),
        settled=False,
    ),
    Mutation(
        "content-type-not-json",
        "Content-Type is application/json",
        lambda body: Sent(json.dumps(body).encode(), "text/plain"),
        settled=False,
        schema_rule=False,
    ),
)
