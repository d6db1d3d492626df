"""Masks for volatile values (ids, timestamps, request ids, URLs, messages), so that answers of
two servers, or of one server at two moments, compare equal when they mean the same."""

from __future__ import annotations

from typing import Any

ID_KEYS = frozenset({"task_id", "id", "request_id"})
TIME_KEYS = frozenset({"created_at", "updated_at"})


def mask_urls(value: Any) -> Any:
    """Only URLs masked: signed download links may differ between two reads of one task."""
    return _mask(value, lambda key, item: _is_url(item))


def mask(value: Any) -> Any:
    """ids, timestamps, request ids, URLs, our external ids and error messages masked."""
    return _mask(value, _volatile)


def _volatile(key: str | None, item: Any) -> bool:
    return (
        key in ID_KEYS
        or key in TIME_KEYS
        or key == "message"
        or _is_url(item)
        or is_external_id(item)
    )


def _mask(value: Any, volatile: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, volatile, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, volatile, key) for v in value]
    if volatile(key, value):
        return f"<{key or 'value'}>" if not _is_url(value) else "<url>"
    return value


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def is_external_id(value: object) -> bool:
    """One of the suite's own external ids (`ct-<run>-<n>`, made by strategies.external_id)."""
    return isinstance(value, str) and value.startswith("ct-")
