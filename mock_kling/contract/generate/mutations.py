"""Ways to break exactly one rule of a valid create request, each labelled with the rule and the
service codes a refusal may carry."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_kling.apispec import derived
from mock_kling.contract.generate.images import GIF_1PX, b64, png_b64
from mock_kling.contract.scenarios.checks import PARAMETER_CODES, UNKNOWN_RESOURCE_CODES

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


class _Rules:
    """The create contract's properties as vendor `profile` documents them; a rule the profile
    drops is read from the official contract (the mutation then does not apply to the profile)."""

    def __init__(self, profile: str) -> None:
        self.own = derived.schema(profile, "create_request")["properties"]
        self.base = derived.schema("official", "create_request")["properties"]

    def __call__(self, field: str, keyword: str) -> Any:
        rule = self.own.get(field, {})
        return rule[keyword] if keyword in rule else self.base[field][keyword]


def _one_of(values: list[str]) -> str:
    """'a or b', 'a, b or c'; a value that reads as a number is quoted, as JSON shows it."""
    shown = [json.dumps(v) if v.isdigit() else v for v in values]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _outside(values: list[str], wrong: str) -> str:
    """`wrong`, or a longer string when the enum has come to list it."""
    while wrong in values:
        wrong += "-not-listed"
    return wrong


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _too_long(rules: _Rules, field: str, filler: str) -> Mutation:
    limit = int(rules(field, "maxLength"))
    rule = f"{field} has at most {limit} characters"
    return Mutation(f"{field}-too-long", rule, _set(field, filler * (limit + 1)))


def _not_in_enum(rules: _Rules, field: str, wrong: str, rule: str = "") -> Mutation:
    values = list(rules(field, "enum"))
    rule = rule or f"{field} is {_one_of(values)}"
    return Mutation(f"{field}-not-in-enum", rule, _set(field, _outside(values, wrong)))


@functools.cache
def mutations(profile: str = "official") -> tuple[Mutation, ...]:
    """Every mutation, its limits (lengths, counts, enums) read from vendor `profile`'s create
    contract, so a change of the contract moves the mutations with it."""
    rules = _Rules(profile)
    images = int(rules("image_list", "maxItems")), int(rules("image_list", "minItems"))
    prompt_min, models = int(rules("prompt", "minLength")), list(rules("model_name", "enum"))
    duration = rules("duration", "enum")[0]
    return (
        Mutation("prompt-missing", "prompt is required", _drop("prompt")),
        Mutation("image_list-missing", "image_list is required", _drop("image_list")),
        Mutation("prompt-not-string", "prompt is a string", _set("prompt", 42)),
        _too_long(rules, "prompt", "a"),
        _too_long(rules, "negative_prompt", "n"),
        _not_in_enum(rules, "mode", "ultra"),
        _not_in_enum(rules, "aspect_ratio", "4:3"),
        _not_in_enum(rules, "duration", "7"),
        Mutation(
            "image_list-too-many",
            f"image_list has at most {_plural(images[0], 'item')}",
            _images(lambda i: [i[0]] * (images[0] + 1)),
        ),
        Mutation(
            "image_list-not-array", "image_list is an array", _set("image_list", "not a list")
        ),
        Mutation(
            "image-missing", "each image_list item has image", _images(lambda i: [{}, *i[1:]])
        ),
        Mutation(
            "model_name-unknown",
            f"model_name is {_one_of(models)}",
            _set("model_name", _outside(models, "kling-v0-contract")),
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
        Mutation(
            "prompt-empty",
            "prompt is not empty"
            if prompt_min == 1
            else f"prompt has at least {prompt_min} characters",
            _set("prompt", "a" * (prompt_min - 1)),
            settled=False,
        ),
        Mutation(
            "duration-number",
            f'duration is a string ("{duration}"), not a JSON number',
            _set("duration", int(duration)),
            settled=False,
        ),
        Mutation(
            "image_list-empty",
            f"image_list has at least {_plural(images[1], 'item')}",
            _images(lambda i: [i[0]] * (images[1] - 1)),
            settled=False,
        ),
        *_UNSETTLED,
    )


def named(name: str, profile: str = "official") -> Mutation:
    """The mutation called `name`, with vendor `profile`'s limits."""
    return next(mutation for mutation in mutations(profile) if mutation.name == name)


_UNSETTLED: tuple[Mutation, ...] = (
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

MUTATIONS = mutations()  # with the official contract's limits: the suite's parameters
