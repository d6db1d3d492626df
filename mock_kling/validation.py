"""Turns client input into a TaskRequest or paging numbers, or a KlingError naming the rule."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from . import profiles
from .errors import KlingError
from .images import ImageInfo, ImageRuleError, inspect_image
from .profiles import Profile
from .tasks import TaskRequest

PAGE_NUM_RANGE = (1, 1000)
PAGE_SIZE_RANGE = (1, 500)
_PAGE_DEFAULTS = {"pageNum": 1, "pageSize": 30}
_PATTERN_RULES = {"callback_url": "must be empty or an http(s) URL"}


def parse_create(body: Any, profile: Profile | None = None) -> TaskRequest:
    """Validate a create-task body against the (vendor's) contract, then the image rules."""
    profile = profile or profiles.get("official")
    if not isinstance(body, dict):
        raise KlingError(1200, f"request body must be a JSON object (got {_json_type(body)})")
    error = best_match(profiles.validator(profile.name, "create_request").iter_errors(body))
    if error is not None:
        raise _refusal(error)
    images = []
    for index, item in enumerate(body["image_list"]):
        try:
            images.append(inspect_image(item["image"]))
        except ImageRuleError as exc:
            raise KlingError(1201, f"image_list[{index}].image {exc}") from None
    return _to_request(body, tuple(images), profile)


def parse_paging(args: Mapping[str, str]) -> tuple[int, int]:
    """`pageNum` and `pageSize` from a query string, with Kling's defaults and ranges."""
    page_num = _int_param(args, "pageNum", PAGE_NUM_RANGE)
    page_size = _int_param(args, "pageSize", PAGE_SIZE_RANGE)
    return page_num, page_size


def _int_param(args: Mapping[str, str], name: str, bounds: tuple[int, int]) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return _PAGE_DEFAULTS[name]
    low, high = bounds
    rule = f"{name} must be an integer in [{low}, {high}] (got {_show(raw)})"
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 12:
        raise KlingError(1201, rule)
    if not low <= int(raw) <= high:
        raise KlingError(1201, rule)
    return int(raw)


def _to_request(
    body: dict[str, Any], images: tuple[ImageInfo, ...], profile: Profile
) -> TaskRequest:
    watermark = body.get("watermark_info") or {}
    for alias, field_name in profile.aliases.items():
        body = {**body, field_name: body.get(field_name) or body.get(alias)}
    return TaskRequest(
        prompt=body.get("prompt") or "",
        images=images,
        model_name=body.get("model_name") or "kling-v1-6",
        negative_prompt=body.get("negative_prompt") or "",
        mode=body.get("mode") or "std",
        duration=body.get("duration") or "5",
        aspect_ratio=body.get("aspect_ratio") or "16:9",
        watermark_enabled=bool(watermark.get("enabled", False)),
        callback_url=body.get("callback_url") or None,
        external_task_id=body.get("external_task_id") or None,
    )


def _refusal(error: ValidationError) -> KlingError:
    field = _field_name(error.absolute_path)
    if error.validator == "enum" and field in ("model_name", "model"):
        return KlingError(
            1203, f"{field} {_show(error.instance)} does not exist; supported: kling-v1-6"
        )
    return KlingError(1201, _describe(error, field))


def _describe(error: ValidationError, field: str) -> str:
    keyword = error.validator
    expected: Any = error.validator_value
    value: Any = error.instance
    schema: Any = error.schema
    if keyword == "required":
        missing = next(name for name in expected if name not in value)
        return f"{_join(field, missing)} is required"
    if keyword == "type":
        allowed = _allowed(schema)
        return (
            f"{field} must be of type {expected}{allowed} (got {_json_type(value)} {_show(value)})"
        )
    if keyword in ("enum", "const"):
        return f"{field} must be{_allowed(schema) or ' ' + _show(expected)} (got {_show(value)})"
    if keyword == "minLength" and len(value) == 0:
        return f"{field} must not be empty"
    if keyword in ("minLength", "maxLength"):
        bound = "at least" if keyword == "minLength" else "at most"
        return f"{field} must be {bound} {expected} characters (got {len(value)})"
    if keyword in ("minItems", "maxItems"):
        bound = "at least" if keyword == "minItems" else "at most"
        return f"{field} must have {bound} {expected} item(s) (got {len(value)})"
    if keyword == "not" and field.endswith(".image"):
        return f"{field} must be raw base64 without a data: URI prefix"
    if keyword == "anyOf" and not field:
        names = " or ".join(next(iter(option["required"])) for option in expected)
        return f"{names} is required"
    if keyword == "pattern":
        rule = _PATTERN_RULES.get(field, f"must match {expected}")
        return f"{field} {rule} (got {_show(value)})"
    return f"{field or 'request body'} is invalid: {error.message}"


def _allowed(schema: Mapping[str, Any] | bool) -> str:
    if isinstance(schema, Mapping) and "enum" in schema:
        return " one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    return ""


def _field_name(path: Iterable[str | int]) -> str:
    name = ""
    for part in path:
        name = f"{name}[{part}]" if isinstance(part, int) else _join(name, part)
    return name


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _show(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."
