"""The request journal: every API call with a summary of its body (never image payloads)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from mock_kling.core.images import ImageInfo

_TEXT_LIMIT = 200
_FIELD_LIMIT = 32  # fields of a body, items of its image_list
_PATH_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One API request and the answer it got."""

    at_ms: int
    method: str
    path: str
    account: str | None
    body: Any
    http_status: int
    code: int | None  # None: the connection was dropped (http_status 0)
    request_id: str
    duration_ms: float = 0.0  # real time from the request's arrival to its journaling

    def to_json(self) -> dict[str, Any]:
        """The fields as a dict, the body summary shared rather than copied (every caller
        encodes it at once; a deep copy cost more than the encoding on the Redis store)."""
        return {field.name: getattr(self, field.name) for field in _FIELDS}


def bounded(record: RequestRecord) -> RequestRecord:
    """The record as the journal keeps it: a URL may be 256 KiB, and 10,000 of them add up."""
    if len(record.path) <= _PATH_LIMIT:
        return record
    return replace(record, path=_short(record.path, _PATH_LIMIT))


def summarize(body: Any, images: Sequence[ImageInfo] = ()) -> Any:
    """A create body as the journal keeps it: images described (never kept), long text cut.
    `images` describes the body's images when it was accepted."""
    if not isinstance(body, dict):
        return _short(body)
    fields = [(key, value) for key, value in body.items() if key != "image_list"]
    summary = {_short(key): _short(value) for key, value in fields[:_FIELD_LIMIT]}
    if len(fields) > _FIELD_LIMIT:  # unknown fields are ignored, but not kept by the thousand
        summary["..."] = f"<{len(fields) - _FIELD_LIMIT} more fields>"
    if "image_list" in body:
        items = body["image_list"]
        summary["image_list"] = _images(items, images) if isinstance(items, list) else _short(items)
    return summary


def _images(items: list[Any], images: Sequence[ImageInfo]) -> list[Any]:
    described = [
        _image(item, images[i] if i < len(images) else None)
        for i, item in enumerate(items[:_FIELD_LIMIT])
    ]
    if len(items) > _FIELD_LIMIT:
        described.append(f"<{len(items) - _FIELD_LIMIT} more items>")
    return described


def _image(item: Any, info: ImageInfo | None) -> Any:
    if not isinstance(item, dict) or not isinstance(item.get("image"), str):
        return _short(item)
    value: str = item["image"]
    if value.startswith(("http://", "https://")):
        return {"image": _short(value)}
    if info is None:
        return {"image": f"<base64, {len(value)} characters>"}
    return {"image": f"<base64 {info.kind} {info.width}x{info.height}, {info.size_bytes} bytes>"}


def _short(value: Any, limit: int = _TEXT_LIMIT) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"...<{len(value)} characters>"
    if isinstance(value, dict | list):
        if len(value) > _TEXT_LIMIT:  # its repr is longer than the limit: don't build it
            return f"<{type(value).__name__} of {len(value)} items>"
        size = len(repr(value))
        return value if size <= _TEXT_LIMIT else f"<{type(value).__name__} of {size} characters>"
    return value


_FIELDS = fields(RequestRecord)
