"""Hypothesis strategies for valid create requests: the request contract's fields drawn from the
contract itself (schema_strategy), real PNG/JPEG images of valid size and ratio (base64 or
served URLs), unique external ids and a callback_url that is empty or the suite's own receiver."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from hypothesis import strategies as st

from mock_kling.apispec import derived
from mock_kling.contract.generate.images import b64, image_bytes, png_b64
from mock_kling.contract.generate.schema_strategy import from_schema

MIN_SIDE, MAX_SIDE, MAX_RATIO = 300, 1000, 2.5
# Fields the suite draws itself rather than from the schema.
_OWN_FIELDS = ("image_list", "callback_url", "external_task_id", "prompt", "negative_prompt")
BENIGN_PROMPTS = (
    "a red kite flies over a green hill on a sunny day",
    "two friends wave at the camera, soft light",
    "a cup of tea steams on a wooden table",
)
_RUN = uuid.uuid4().hex[:8]
_counter = itertools.count(1)

ImageUrl = Callable[[bytes, str], str]


def external_id() -> str:
    """An external_task_id never used before in this run (nor, practically, in another)."""
    return f"ct-{_RUN}-{next(_counter)}"


@st.composite
def image_sizes(draw: st.DrawFn) -> tuple[int, int]:
    """(width, height) with both sides in [300, 1000] and a ratio within 1:2.5..2.5:1."""
    width = draw(st.integers(MIN_SIDE, MAX_SIDE))
    low = max(MIN_SIDE, -(-width * 2 // 5))  # ceil(width / 2.5)
    high = min(MAX_SIDE, width * 5 // 2)  # floor(width * 2.5)
    return width, draw(st.integers(low, high))


def images(image_url: ImageUrl | None) -> st.SearchStrategy[str]:
    """`image` values: raw base64 of a real PNG/JPEG, or (with `image_url`) a URL serving it."""
    forms = ["base64", "url"] if image_url is not None else ["base64"]

    def render(kind: str, size: tuple[int, int], form: str) -> str:
        data = image_bytes(kind, *size)
        return image_url(data, kind) if form == "url" and image_url is not None else b64(data)

    return st.builds(
        render, st.sampled_from(["png", "jpeg"]), image_sizes(), st.sampled_from(forms)
    )


@dataclass(frozen=True)
class RequestShape:
    """What a target lets the generator send: image URLs, a callback receiver, free text."""

    image_url: ImageUrl | None = None
    callback_url: str | None = None
    free_text: bool = True  # False: benign prompts only (a real API runs content moderation)
    profile: str = "official"  # the vendor whose request contract the bodies keep


def _optional(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """None (leave the field out), "" (the docs' "not set") or a value."""
    return st.one_of(st.none(), st.just(""), value)


def minimal_body(**extra: Any) -> dict[str, Any]:
    """A small valid create body under every vendor profile (the fields any of them requires)."""
    body: dict[str, Any] = {
        "model_name": "kling-v1-6",
        "mode": "std",
        "duration": "5",
        "image_list": [{"image": png_b64(400, 300)}],
        "prompt": BENIGN_PROMPTS[0],
    }
    body.update(extra)
    return body


def _schema_fields(profile: str) -> st.SearchStrategy[dict[str, Any]]:
    schema = derived.schema(profile, "create_request")
    for name in _OWN_FIELDS:
        schema["properties"].pop(name)
    schema["required"] = [name for name in schema["required"] if name not in _OWN_FIELDS]
    schema["additionalProperties"] = False  # unknown fields are an open question, probed apart
    schema.pop("definitions", None)
    return cast(st.SearchStrategy[dict[str, Any]], from_schema(schema))


def _texts(shape: RequestShape) -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    if not shape.free_text:
        return st.sampled_from(BENIGN_PROMPTS), st.sampled_from(["", "blurry, low quality"])
    properties = derived.schema(shape.profile, "create_request")["properties"]
    texts = (from_schema(properties["prompt"]), from_schema(properties["negative_prompt"]))
    return cast(tuple[st.SearchStrategy[str], st.SearchStrategy[str]], texts)


def create_requests(shape: RequestShape, max_images: int = 4) -> st.SearchStrategy[dict[str, Any]]:
    """Valid create bodies: every rule of the contract and of the image rules kept."""
    prompt, negative = _texts(shape)
    callback = st.just(shape.callback_url) if shape.callback_url else st.nothing()
    item = images(shape.image_url).map(lambda image: {"image": image})
    items = st.lists(item, min_size=1, max_size=max_images)
    optional = {
        "negative_prompt": st.one_of(st.none(), negative),
        "callback_url": _optional(callback),
        "external_task_id": _optional(st.builds(external_id)),
    }
    fields = _schema_fields(shape.profile)
    return st.builds(_assemble, fields, items, prompt, st.fixed_dictionaries(optional))


def _assemble(
    fields: dict[str, Any], image_list: list[dict[str, str]], prompt: str, optional: dict[str, Any]
) -> dict[str, Any]:
    body = {**fields, "image_list": image_list, "prompt": prompt}
    body.update({name: value for name, value in optional.items() if value is not None})
    return body
