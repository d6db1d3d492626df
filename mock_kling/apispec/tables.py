"""The core's tables checked against the schemas' enums when a schema loads, so that a value
added to one side alone is a clear error at start-up, not a 500 at the first request using it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from mock_kling.core.delivery import FAULT_ACTIONS
from mock_kling.core.errors import SERVICE_CODES
from mock_kling.core.faults import ENDPOINTS
from mock_kling.core.limits import STATES
from mock_kling.core.outcomes import RESULTS
from mock_kling.core.tasks import MODES, STATUSES

# schema name -> (where its enum is, the core table, whether the table may hold more values)
_TABLES: dict[str, tuple[tuple[str, ...], Collection[Any], str, bool]] = {
    "common": (
        ("definitions", "task_status", "enum"), STATUSES, "mock_kling.core.tasks.STATUSES", False
    ),
    "create_request": (("properties", "mode", "enum"), MODES, "mock_kling.core.tasks.MODES", True),
    "control/outcome": (
        ("properties", "result", "enum"), RESULTS, "mock_kling.core.outcomes.RESULTS", False
    ),
    "control/fault_rule": (
        ("properties", "endpoint", "enum"), ENDPOINTS, "mock_kling.core.faults.ENDPOINTS", False
    ),
    "control/limits": (
        ("properties", "state", "enum"), STATES, "mock_kling.core.limits.STATES", False
    ),
    "control/callback_fault": (
        ("properties", "action", "enum"), FAULT_ACTIONS, "mock_kling.core.delivery.FAULT_ACTIONS",
        False,
    ),
}  # fmt: skip
_ERROR_CODES = ("definitions", "error_code", "enum")


def check(name: str, schema: Mapping[str, Any]) -> None:
    """Raise ValueError naming each value that schema `name` and its core table do not share."""
    if name == "common":
        _compare(name, _at(schema, _ERROR_CODES), [c for c in SERVICE_CODES if c], "SERVICE_CODES")
    if name not in _TABLES:
        return
    path, table, table_name, wider = _TABLES[name]
    enum = _at(schema, path)
    if enum is not None:  # a vendor profile may make the field a free string
        _compare(name, enum, table, table_name, wider)


def _compare(
    name: str, enum: Any, table: Collection[Any], table_name: str, wider: bool = False
) -> None:
    missing = [value for value in enum or () if value not in table]
    extra = [] if wider else [value for value in table if value not in (enum or ())]
    problems = [
        f"{value!r} is in {name}.json but has no entry in {table_name}" for value in missing
    ]
    problems += [f"{value!r} is in {table_name} but not in {name}.json" for value in extra]
    if problems:
        raise ValueError("the contracts and the fake disagree: " + "; ".join(problems))


def _at(schema: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = schema
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node
