"""Field shapes: a JSON value as its paths and their JSON types, so that two APIs' answers
compare field by field whatever their ids, times and messages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

Shape = dict[str, set[str]]  # path ("data.task_result.videos[].url") -> JSON types seen


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def paths(value: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    """Every (path, type) of a JSON value, the value itself first (at path `prefix`)."""
    yield prefix or "$", json_type(value)
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from paths(item, f"{prefix}[]")


def shape_of(values: Iterable[Any]) -> Shape:
    """The union of the values' paths and types."""
    shape: Shape = defaultdict(set)
    for value in values:
        for path, kind in paths(value):
            shape[path].add(kind)
    return dict(shape)


def to_json(shape: Shape) -> dict[str, list[str]]:
    return {path: sorted(kinds) for path, kinds in sorted(shape.items())}
