"""The OpenAPI 3.1 document of the fake: Kling's routes (with the contracts as schemas) and the
control API."""

from __future__ import annotations

import functools
from typing import Any

from mock_kling.contracts import bundle as contracts
from mock_kling.contracts import derived
from mock_kling.core import profiles
from mock_kling.core.delivery import FAULT_ACTIONS
from mock_kling.core.errors import SERVICE_CODES
from mock_kling.core.faults import ENDPOINTS
from mock_kling.core.limits import STATES
from mock_kling.core.outcomes import RESULTS
from mock_kling.core.requests import KEPT_TEXT_LIMITS
from mock_kling.core.version import __version__

_API = "/videos/multi-image2video"
_ROOT_ONLY = ("$schema", "$id", "definitions")


@functools.cache
def _document(profile_name: str) -> dict[str, Any]:
    profile = profiles.get(profile_name)
    paths: dict[str, Any] = {}
    for prefix in profile.prefixes:
        paths[prefix + _API] = {"post": _create(prefix), "get": _list(prefix)}
        paths[prefix + _API + "/{id}"] = {"get": _query(prefix)}
    paths.update(_control_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"mock-kling: Kling multi-image2video API fake ({profile.name} profile)",
            "version": __version__,
            "description": "Kling's routes under /v1 (JWT) and /kling/v1 (resellers), "
            "and the fake's control API under /__mock__/.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                name: _schema(profile_name, name)
                for name in contracts.SCHEMA_NAMES
                if name != "common"
            },
        },
    }


def openapi_document(profile_name: str = "official") -> dict[str, Any]:
    """The document for a vendor profile (shared and cached: do not mutate)."""
    return _document(profile_name)


def _schema(profile_name: str, name: str) -> dict[str, Any]:
    schema = derived.schema(profile_name, name)
    for key in _ROOT_ONLY:
        schema.pop(key, None)
    if name == "create_request":  # the fake's own bounds on text it keeps (see validation)
        for field, limit in KEPT_TEXT_LIMITS.items():
            if field in schema["properties"]:
                schema["properties"][field] = {**schema["properties"][field], "maxLength": limit}
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": _ref(name)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): {"description": "A Kling error", **_json("error_response")} for s in statuses}


def _operation(prefix: str, summary: str, ok: str, errors: tuple[int, ...]) -> dict[str, Any]:
    return {
        "summary": summary,
        "operationId": f"{summary.split()[0].lower()}_{'kling' if prefix == '/kling/v1' else 'v1'}",
        "security": [{"bearer": []}],
        "responses": {"200": {"description": "Success", **_json(ok)}, **_errors(*errors)},
    }


def _create(prefix: str) -> dict[str, Any]:
    operation = _operation(prefix, "Create a task", "create_response", (400, 401, 403, 404, 429))
    operation["requestBody"] = {"required": True, **_json("create_request")}
    return operation


def _query(prefix: str) -> dict[str, Any]:
    operation = _operation(prefix, "Query one task", "query_response", (401, 404, 429))
    operation["parameters"] = [
        {
            "name": "id",
            "in": "path",
            "required": True,
            "description": "task_id or external_task_id",
            "schema": {"type": "string", "minLength": 1},
        }
    ]
    return operation


def _list(prefix: str) -> dict[str, Any]:
    operation = _operation(prefix, "List tasks", "list_response", (400, 401, 429))
    operation["parameters"] = [
        _int_query("pageNum", 1, 1000, 1),
        _int_query("pageSize", 1, 500, 30),
    ]
    return operation


def _int_query(name: str, low: int, high: int, default: int) -> dict[str, Any]:
    schema = {"type": "integer", "minimum": low, "maximum": high, "default": default}
    # `?pageNum=` (empty) means the default, as when the parameter is left out
    return {
        "name": name,
        "in": "query",
        "required": False,
        "allowEmptyValue": True,
        "schema": schema,
    }


_NULL_OR_SECONDS = {"type": ["number", "null"], "minimum": 0, "maximum": 1e8}
_OUTCOME = {  # outcomes.Outcome.from_json
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "result": {"enum": list(RESULTS)},
        "message": {"type": "string"},
        "submitted_seconds": _NULL_OR_SECONDS,
        "processing_seconds": _NULL_OR_SECONDS,
    },
}
_NEXT_OUTCOME = {  # control.add_next_outcome: other fields are ignored
    "type": "object",
    "properties": {
        "outcome": _OUTCOME,
        "account": {"type": ["string", "null"]},
        "count": {"type": "integer", "minimum": 1},
    },
}
_LATENCY_MS = {"type": "number", "minimum": 0, "maximum": 600_000}
_FAULT_RULE = {  # faults.FaultRule.from_json
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "endpoint": {"enum": list(ENDPOINTS)},
        "code": {"enum": [*sorted(code for code in SERVICE_CODES if code), None]},
        "message": {"type": "string"},
        "latency_ms": {
            "anyOf": [
                _LATENCY_MS,
                {"type": "array", "items": _LATENCY_MS, "minItems": 2, "maxItems": 2},
                {"type": "null"},
            ]
        },
        "drop": {"type": "boolean"},
        "times": {"type": ["integer", "null"], "minimum": 1},
        "probability": {"type": "number", "minimum": 0, "maximum": 1},
        "account": {"type": ["string", "null"]},
    },
    "anyOf": [  # a rule does something
        {"required": ["code"], "properties": {"code": {"type": "integer"}}},
        {"required": ["latency_ms"], "properties": {"latency_ms": {"not": {"type": "null"}}}},
        {"required": ["drop"], "properties": {"drop": {"const": True}}},
    ],
}
_NULL_OR_LIMIT = {"type": ["number", "null"], "minimum": 0}
_LIMITS = {  # limits.Limits.updated
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "concurrency": {"type": ["integer", "null"], "minimum": 0},
        "units": _NULL_OR_LIMIT,
        "rate_per_second": _NULL_OR_LIMIT,
        "state": {"enum": list(STATES)},
        "models": {"type": ["array", "null"], "items": {"type": "string"}},
    },
}
_CALLBACK_FAULT = {  # control._callback_fault
    "type": "object",
    "additionalProperties": False,
    "required": ["action"],
    "properties": {
        "action": {"enum": sorted(FAULT_ACTIONS)},
        "seconds": {"type": "number", "minimum": 0, "maximum": 1e8},
        "times": {"type": "integer", "minimum": 1},
        "task_id": {"type": ["string", "null"]},
    },
}
_CREATED = ("/outcomes", "/faults", "/callbacks/faults")  # POST answers 201
_CONTROL: tuple[tuple[str, str, str, dict[str, Any] | None], ...] = (
    ("/health", "get", "Health, seed and task count", None),
    (
        "/reset",
        "post",
        "Forget tasks, journals, rules, faults, limits; rewind a manual clock",
        None,
    ),
    ("/clock", "get", "The fake's clock", None),
    (
        "/clock/advance",
        "post",
        "Advance a manual clock, running due transitions, callbacks and retries",
        {
            "type": "object",
            "required": ["seconds"],
            "properties": {"seconds": {"type": "number", "minimum": 0, "maximum": 1e9}},
        },
    ),
    ("/tasks", "get", "Every account's tasks with their outcome and timeline", None),
    ("/tasks/{task_id}", "get", "One task with its outcome and timeline", None),
    ("/tasks/{task_id}/outcome", "post", "Re-plan a running task's outcome from now", _OUTCOME),
    ("/tasks/{task_id}/advance", "post", "Make a running task take its next step now", None),
    ("/outcomes", "get", "Outcomes waiting for the next tasks", None),
    ("/outcomes", "post", "Choose the outcome of the next task(s)", _NEXT_OUTCOME),
    ("/outcomes", "delete", "Clear waiting outcomes", None),
    ("/faults", "get", "Fault rules", None),
    ("/faults", "post", "Add a fault rule", _FAULT_RULE),
    ("/faults", "delete", "Clear fault rules", None),
    ("/accounts", "get", "Accounts with limits and usage", None),
    ("/accounts/{account_id}", "get", "One account", None),
    ("/accounts/{account_id}/limits", "post", "Change an account's limits", _LIMITS),
    ("/requests", "get", "The request journal", None),
    ("/callbacks", "get", "The callback delivery journal", None),
    ("/callbacks/faults", "get", "Callback faults", None),
    ("/callbacks/faults", "post", "Add a callback fault (drop, duplicate, delay)", _CALLBACK_FAULT),
    ("/openapi.json", "get", "This document", None),
)


def _control_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, method, summary, body in _CONTROL:
        operation: dict[str, Any] = {
            "summary": summary,
            "tags": ["control"],
            "responses": {
                "201" if method == "post" and path in _CREATED else "200": {
                    "description": "JSON",
                    "content": {"application/json": {}},
                },
                **_errors(400, 404),
            },
        }
        if method == "post" and body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": body}},
            }
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in ("task_id", "account_id")
            if "{" + name + "}" in path
        ]
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault("/__mock__" + path, {})[method] = operation
    return paths
