"""The three Kling routes (create, query one, list), mounted under /v1 and /kling/v1."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from flask.typing import ResponseReturnValue

from mock_kling.apispec.rules import parse_paging
from mock_kling.core import wire
from mock_kling.core.errors import KlingError
from mock_kling.core.faults import Fault
from mock_kling.core.journal import summarize
from mock_kling.core.requests import parse_json
from mock_kling.http import routes
from mock_kling.http.context import current_backend

blueprint = Blueprint("api", __name__)
_ENDPOINTS = {"create_task": "create", "query_task": "query", "list_tasks": "list"}


@blueprint.before_request
def _admit() -> ResponseReturnValue | None:
    """Authenticate, then apply injected faults, the account's state and its rate limit."""
    backend = current_backend()
    prefix = next(p for p in routes.PREFIXES if request.blueprint == routes.blueprint_name(p))
    if prefix not in backend.profile.prefixes:
        raise KlingError(1203, f"no such resource: {request.method} {request.path}")
    g.account = backend.authenticate(routes.authorization(request))
    endpoint = _ENDPOINTS.get((request.endpoint or "").rpartition(".")[2], "any")
    fault = backend.admit(g.account, endpoint)
    return None if fault is None else _apply(fault)


@blueprint.post(routes.PATH)
def create_task() -> ResponseReturnValue:
    body = _json_body()
    g.body_summary = summarize(body)
    backend = current_backend()
    task = backend.create_task(g.account, body)
    g.body_summary = summarize(body, task.request.images)
    return _ok(wire.created(task, backend.profile.create_data))


@blueprint.get(f"{routes.PATH}/<path:ref>")
def query_task(ref: str) -> ResponseReturnValue:
    backend = current_backend()
    task = backend.find_task(g.account, ref)
    return _ok(wire.task_object(task, task.step_at(backend.now_ms()), _media_url()))


@blueprint.get(routes.PATH)
def list_tasks() -> ResponseReturnValue:
    backend = current_backend()
    page_num, page_size = parse_paging(routes.query_args(request))
    tasks = backend.list_tasks(g.account, page_num, page_size)
    now, media_url = backend.now_ms(), _media_url()
    return _ok([wire.task_object(task, task.step_at(now), media_url) for task in tasks])


def _apply(fault: Fault) -> ResponseReturnValue | None:
    if fault.latency_s > 0:
        time.sleep(fault.latency_s)  # real latency: it is what a client's timeout sees
    if fault.drop:
        g.dropped = True
        response = Response(b"")
        del response.headers["Content-Type"]
        response.headers["Content-Length"] = "64"  # promised, never sent: the server closes
        return response
    if fault.code is not None:
        raise KlingError(fault.code, fault.message)
    return None


def _json_body() -> Any:
    if request.mimetype != "application/json":
        got = request.mimetype or "none"
        raise KlingError(1200, f"Content-Type must be application/json (got {got})")
    return parse_json(request.get_data(cache=False))


def _ok(data: Any) -> ResponseReturnValue:
    g.service_code = 0
    return current_app.json.response(wire.envelope(data, g.request_id))


def _media_url() -> str:
    return routes.media_url(current_backend(), request)
