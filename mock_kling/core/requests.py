"""Turns client input into a TaskRequest or paging numbers, or a KlingError naming the rule."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from typing import Any

import orjson

from mock_kling.core.errors import KlingError
from mock_kling.core.images import ImageInfo, ImageRuleError, inspect_image
from mock_kling.core.profiles import Profile
from mock_kling.core.refusals import PATTERN_RULES, Contract, check, json_type, show
from mock_kling.core.tasks import MODES, TaskRequest

MAX_JSON_VALUES = 10_000  # a create body has about 20; each value costs ~60 bytes once parsed
MAX_JSON_DEPTH = 64  # a create body is 3 deep; far below Python's recursion limit
# Kept with the task and echoed in every answer, so bounded (the fake's choice: Kling documents
# no limit): 64 MiB ids would stay in memory for good.
KEPT_TEXT_LIMITS = {"external_task_id": 1024, "callback_url": 2048}
_TOKEN = re.compile(rb'["\[\]{},]')  # what _scan looks at: strings and structure
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # after the opening quote
_BLANK = re.compile(rb"[ \t\r\n]*")
_QUOTE, _COMMA = ord('"'), ord(",")
_TOO_DEEP = f"request body is nested too deeply (more than {MAX_JSON_DEPTH} levels)"
_WHITESPACE = re.compile("[\x00-\x20\x7f]")  # the contract's: space and control characters
_INTEGER = re.compile(r"(-?[0-9]{1,12})(?:\.0+)?", re.ASCII)
_SCHEMA_IMAGE_PREFIX = 16  # enough for the contract's image rules (type, empty, data: prefix)


def parse_json(raw: bytes) -> Any:
    """A request body parsed as strict JSON, or KlingError 1200 naming the rule: more than
    MAX_JSON_VALUES values (64 MiB of `[],` or `"ab",` would take ~1.5 GB as Python objects) and
    nesting deeper than MAX_JSON_DEPTH are refused before parsing; NaN, Infinity and numbers
    that overflow a double are refused while parsing."""
    if len(raw) >= MAX_JSON_VALUES and _many_separators(raw):  # a shorter body cannot
        _scan(raw)  # enough separators to matter: count the values for real, without parsing
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _parse_slowly(raw)  # json's verdict, and its words for what is wrong
    depth_or_float = _deeper_than(value, MAX_JSON_DEPTH)
    if depth_or_float is None:  # a float: an integer past 64 bits would have become one
        return _parse_slowly(raw)
    if depth_or_float:
        raise KlingError(1200, _TOO_DEEP)
    return value


def _parse_slowly(raw: bytes) -> Any:
    """`parse_json` with json alone: what orjson refuses (or would read differently) is read,
    or refused in json's words, as before orjson came."""
    try:
        value = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise KlingError(1200, _TOO_DEEP) from None
    except ValueError as exc:
        raise KlingError(1200, f"request body is not valid JSON: {exc}") from None
    if _deeper_than(value, MAX_JSON_DEPTH, floats=False):
        raise KlingError(1200, _TOO_DEEP)
    return value


def _many_separators(raw: bytes) -> bool:
    """Whether `raw` holds MAX_JSON_VALUES of `,[{` or more. `find` runs at memchr speed
    (`count` is ten times slower: 4 ms over two base64 photos); it stops at the limit."""
    found = 0
    for char in (b",", b"[", b"{"):
        pos = raw.find(char)
        while pos >= 0:
            found += 1
            if found >= MAX_JSON_VALUES:
                return True
            pos = raw.find(char, pos + 1)
    return False


def _scan(raw: bytes) -> None:
    """Refuse a JSON text with more than MAX_JSON_VALUES values or nested deeper than
    MAX_JSON_DEPTH. Looks at strings and `[]{},` only, stops as soon as a limit is passed (at most
    4 tokens a value), and leaves anything malformed to the parser."""
    values, depth, open_at = 1, 0, -1  # open_at: end of an opener whose first value is unseen
    pos = 0
    for _ in range(4 * MAX_JSON_VALUES + 8):
        token = _TOKEN.search(raw, pos)
        if token is None:
            return
        char, pos = raw[token.start()], token.end()
        first = open_at >= 0 and (
            char not in b"]}" or _BLANK.fullmatch(raw, open_at, token.start()) is None
        )
        values += first + (char == _COMMA)
        open_at = -1
        if values > MAX_JSON_VALUES:
            raise KlingError(1200, f"request body has more than {MAX_JSON_VALUES} JSON values")
        if char == _QUOTE:
            rest = _STRING_REST.match(raw, pos)
            if rest is None:
                return  # an unterminated string
            pos = rest.end()
        elif char in b"[{":
            depth, open_at = depth + 1, pos
            if depth > MAX_JSON_DEPTH:
                raise KlingError(1200, _TOO_DEEP)
        elif char in b"]}":
            depth -= 1
    raise KlingError(1200, f"request body has more than {MAX_JSON_VALUES} JSON values")


def _deeper_than(value: Any, limit: int, floats: bool = True) -> bool | None:
    """Whether arrays and objects nest more than `limit` levels (without recursion); with
    `floats`, None as soon as a float is seen."""
    if floats and isinstance(value, float):
        return None
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif floats and isinstance(child, float):
                return None
    return False


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:40]} is too large for a number")
    return number


def parse_create(body: Any, profile: Profile, validator: Contract) -> TaskRequest:
    """Validate a create-task body against the vendor's create contract (`validator`), then the
    image rules; the contract's `default`s fill what the body leaves out."""
    if not isinstance(body, dict):
        raise KlingError(1200, f"request body must be a JSON object (got {json_type(body)})")
    for name, limit in KEPT_TEXT_LIMITS.items():  # before the contract's patterns run on them
        value = body.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise KlingError(1201, f"{name} must be at most {limit} characters (got {len(value)})")
    _check_callback_url(body.get("callback_url"))
    shown = _for_schema(body)
    if not validator.is_valid(shown):
        check(validator, shown)  # the refusal names the rule (None when jsonschema finds none)
    images = []
    for index, item in enumerate(body["image_list"]):
        try:
            images.append(inspect_image(item["image"]))
        except ImageRuleError as exc:
            raise KlingError(1201, f"image_list[{index}].image {exc}") from None
    schema: Any = validator.schema  # the create contract: an object schema
    return _to_request(body, tuple(images), profile, schema)


def _for_schema(body: dict[str, Any]) -> dict[str, Any]:
    """The body as the contract sees it: each image string cut to a short prefix. The contract
    only asks for a non-empty string without a `data:` prefix (inspect_image checks the bytes),
    and jsonschema would otherwise copy megabytes of base64 into messages it then discards."""
    items = body.get("image_list")
    if not isinstance(items, list):
        return body
    cut = [
        {**item, "image": item["image"][:_SCHEMA_IMAGE_PREFIX]}
        if isinstance(item, dict) and isinstance(item.get("image"), str)
        else item
        for item in items
    ]
    return {**body, "image_list": cut}


def parse_paging(args: Mapping[str, str], rules: Mapping[str, Any]) -> tuple[int, int]:
    """`pageNum` and `pageSize` from a query string, with the defaults and ranges of `rules`
    (the list-request contract: an object schema of the parameters)."""
    properties = rules["properties"]
    page_num = _int_param(args, "pageNum", properties["pageNum"])
    page_size = _int_param(args, "pageSize", properties["pageSize"])
    return page_num, page_size


def _int_param(args: Mapping[str, str], name: str, rule: Mapping[str, Any]) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return int(rule["default"])
    low, high = rule["minimum"], rule["maximum"]
    refusal = f"{name} must be an integer in [{low}, {high}] (got {show(raw)})"
    match = _INTEGER.fullmatch(raw)  # "2.0" is the integer 2, as JSON Schema reads it
    if match is None or not low <= int(match[1]) <= high:
        raise KlingError(1201, refusal)
    return int(match[1])


def _check_callback_url(value: Any) -> None:
    """Spaces and control characters are refused by the contract's `not` pattern anyway; checked
    first because its `pattern` backtracks quadratically on them (1 MB: hours)."""
    if isinstance(value, str) and _WHITESPACE.search(value):
        rule = PATTERN_RULES["callback_url"]
        raise KlingError(1201, f"callback_url {rule} (got {show(value)})")


def _to_request(
    body: dict[str, Any], images: tuple[ImageInfo, ...], profile: Profile, schema: Mapping[str, Any]
) -> TaskRequest:
    watermark = body.get("watermark_info") or {}
    for alias, field_name in profile.aliases.items():
        body = {**body, field_name: body.get(field_name) or body.get(alias)}
    properties = schema["properties"]

    def chosen(name: str) -> str:  # one shared copy of each value: kept with every task
        return sys.intern(str(body.get(name) or properties[name]["default"]))

    mode = chosen("mode")
    if mode not in MODES:  # a contract that names a mode the fake cannot render
        modes = ", ".join(MODES)
        raise KlingError(1201, f"mode {show(mode)} is not rendered by this fake (only {modes})")
    return TaskRequest(
        prompt=body.get("prompt") or "",
        images=images,
        model_name=chosen("model_name"),
        mode=mode,
        duration=chosen("duration"),
        aspect_ratio=chosen("aspect_ratio"),
        negative_prompt=body.get("negative_prompt") or "",
        watermark_enabled=bool(watermark.get("enabled", False)),
        callback_url=body.get("callback_url") or None,
        external_task_id=body.get("external_task_id") or None,
    )
