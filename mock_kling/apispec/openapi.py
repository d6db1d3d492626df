"""The OpenAPI 3.1 document of the fake, derived: its paths from the app's routes (passed in by
the http layer), its bodies and parameters from the schemas (Kling's and schemas/control/)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from mock_kling.apispec import bundle as contracts
from mock_kling.apispec import derived
from mock_kling.core import profiles
from mock_kling.core.requests import KEPT_TEXT_LIMITS
from mock_kling.core.version import __version__

_ROOT_ONLY = ("$schema", "$id", "definitions")
_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")  # a Flask rule's <converter:name>
_STRING = {"type": "string", "minLength": 1}


@dataclass(frozen=True)
class Route:
    """One method of one route of the app, as the http layer describes it."""

    rule: str  # Flask's rule, e.g. /v1/videos/multi-image2video/<path:ref>
    method: str  # lower case
    endpoint: str  # e.g. api_v1.create_task, control.add_fault
    summary: str
    body: str | None = None  # the schema of its JSON body
    status: int = 200  # of its answer


@dataclass(frozen=True)
class _KlingOperation:
    summary: str
    answer: str  # the schema of its success answer
    errors: tuple[int, ...]
    body: str | None = None
    query: str | None = None  # the schema of its query parameters


_KLING = {  # Kling's views (mock_kling.http.api) by name
    "create_task": _KlingOperation(
        "Create a task", "create_response", (400, 401, 403, 404, 429), body="create_request"
    ),
    "query_task": _KlingOperation("Query one task", "query_response", (401, 404, 429)),
    "list_tasks": _KlingOperation(
        "List tasks", "list_response", (400, 401, 429), query="list_request"
    ),
}


def openapi_document(profile_name: str, routes: tuple[Route, ...]) -> dict[str, Any]:
    """The document for a vendor profile and the app's routes (shared and cached: do not
    mutate). ValueError for a route of Kling's API it cannot describe."""
    return _document(profile_name, routes)


@functools.cache
def _document(profile_name: str, routes: tuple[Route, ...]) -> dict[str, Any]:
    profile = profiles.get(profile_name)
    paths: dict[str, Any] = {}
    for route in routes:
        prefix = next((p for p in profiles.PREFIXES if route.rule.startswith(p + "/")), None)
        if prefix is not None and prefix not in profile.prefixes:
            continue  # the profile answers 404 there
        operation = _kling(route) if prefix is not None else _other(route)
        path = _PARAMETER.sub(r"{\1}", route.rule)
        parameters = [_path_parameter(name) for name in _PARAMETER.findall(route.rule)]
        operation["parameters"] = parameters + operation.get("parameters", [])
        if not operation["parameters"]:
            del operation["parameters"]
        paths.setdefault(path, {})[route.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"mock-kling: Kling multi-image2video API fake ({profile.name} profile)",
            "version": __version__,
            "description": f"Kling's routes under {' and '.join(profile.prefixes)}, "
            "and the fake's control API.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                _component(name): _schema(profile_name, name)
                for name in contracts.SCHEMA_NAMES
                if name not in ("common", "list_request")
            },
        },
    }


def _kling(route: Route) -> dict[str, Any]:
    view = route.endpoint.rpartition(".")[2]
    if view not in _KLING:
        raise ValueError(f"no OpenAPI operation for Kling's route {route.rule} ({view})")
    kling = _KLING[view]
    operation: dict[str, Any] = {
        "summary": kling.summary,
        "operationId": _operation_id(route),
        "security": [{"bearer": []}],
        "responses": {"200": {"description": "Success", **_json(kling.answer)}},
    }
    operation["responses"].update(_errors(*kling.errors))
    if kling.body is not None:
        operation["requestBody"] = {"required": True, **_json(kling.body)}
    if kling.query is not None:
        operation["parameters"] = _query_parameters(kling.query)
    return operation


def _other(route: Route) -> dict[str, Any]:
    """A route of the fake's own: control (JSON; metrics: text), media (an MP4) or a page."""
    if route.endpoint.startswith("media."):
        answer = {"description": "The video", "content": {"video/mp4": {}}}
        responses = {"200": answer, **_errors(404)}
    elif route.endpoint.startswith("dashboard."):
        responses = _PAGES[route.endpoint.partition(".")[2]]
    elif route.endpoint == "control.metrics":  # Prometheus' text format
        responses = {"200": {"description": "Metrics", "content": {"text/plain": {}}}}
    else:
        answer = {"description": "JSON", "content": {"application/json": {}}}
        responses = {str(route.status): answer, **_errors(400, 404)}
    operation: dict[str, Any] = {
        "summary": route.summary,
        "operationId": _operation_id(route),
        "tags": [route.endpoint.partition(".")[0]],
        "responses": responses,
    }
    if route.body is not None:
        operation["requestBody"] = {"required": True, **_json(route.body)}
    return operation


def _query_parameters(schema_name: str) -> list[dict[str, Any]]:
    """One query parameter per property of an object schema; an empty value means the default,
    as when the parameter is left out."""
    schema = contracts.schema(schema_name)
    required = set(schema.get("required", ()))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "allowEmptyValue": True,
            "schema": {k: v for k, v in rule.items() if k != "$comment"},
        }
        for name, rule in schema["properties"].items()
    ]


def _path_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": dict(_STRING)}


def _operation_id(route: Route) -> str:
    return f"{route.method}_{route.endpoint.replace('.', '_')}"


def _schema(profile_name: str, name: str) -> dict[str, Any]:
    schema = derived.schema(profile_name, name) if "/" not in name else contracts.schema(name)
    for key in _ROOT_ONLY:
        schema.pop(key, None)
    if name == "create_request":  # the fake's own bounds on text it keeps (see validation)
        for field, limit in KEPT_TEXT_LIMITS.items():
            if field in schema["properties"]:
                schema["properties"][field] = {**schema["properties"][field], "maxLength": limit}
    return schema


def _component(name: str) -> str:
    return name.replace("/", "_")


def _json(name: str) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{_component(name)}"}
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): {"description": "A Kling error", **_json("error_response")} for s in statuses}


_TYPES = ("text/html", "text/css", "text/javascript")
_FILES = {"description": "A file", "content": {media_type: {} for media_type in _TYPES}}
_PAGES: dict[str, dict[str, Any]] = {  # the dashboard's views (mock_kling.http.dashboard)
    "root": {"302": {"description": "Redirect to the dashboard page"}},
    "page": {"200": {"description": "The page", "content": {"text/html": {}}}},
    "asset": {"200": _FILES, **_errors(404)},
}
