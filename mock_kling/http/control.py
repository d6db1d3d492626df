"""The control API under /__mock__/: clock, tasks and outcomes, faults, limits, journals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue

from mock_kling.apispec import bundle as contracts
from mock_kling.apispec.openapi import Route, openapi_document
from mock_kling.core import wire
from mock_kling.core.delivery import CallbackFault
from mock_kling.core.errors import KlingError
from mock_kling.core.faults import FaultRule
from mock_kling.core.outcomes import Outcome
from mock_kling.core.refusals import check
from mock_kling.core.requests import parse_json
from mock_kling.core.rules import NextOutcome
from mock_kling.core.tasks import Task
from mock_kling.http.context import FAST_PATH, current_backend
from mock_kling.http.health import report
from mock_kling.http.metrics import CONTENT_TYPE
from mock_kling.http.metrics import EXTENSION as METRICS
from mock_kling.http.polling import attempt_key, journal, newest, request_key
from mock_kling.http.routes import query_args

blueprint = Blueprint("control", __name__)
View = TypeVar("View", bound=Callable[..., ResponseReturnValue])


@dataclass(frozen=True)
class Body:
    """The control contract of a view's JSON body, and the status of its answer."""

    schema: str
    status: int = 200


BODIES: dict[str, Body] = {}  # endpoint -> its body (see `takes`)


def takes(schema_name: str, status: int = 200) -> Callable[[View], View]:
    """Mark a view as taking a JSON body by control contract `schema_name` (validated by _body,
    documented in the OpenAPI document with the `status` of its answer)."""

    def mark(view: View) -> View:
        BODIES[f"{blueprint.name}.{view.__name__}"] = Body(schema_name, status)
        return view

    return mark


@blueprint.get("/health")
def health() -> ResponseReturnValue:
    """Status, seed, task count, the fast path's counts and the unexpected errors recorded."""
    return _json(report(current_backend(), current_app.extensions.get(FAST_PATH)))


@blueprint.get("/metrics")
def metrics() -> ResponseReturnValue:
    """This replica's metrics in Prometheus' text format (see mock_kling/http/metrics.py)."""
    body = current_app.extensions[METRICS].render()
    return Response(body, headers={"Content-Type": CONTENT_TYPE})


@blueprint.post("/reset")
def reset() -> ResponseReturnValue:
    """Forget tasks, journals, rules, faults, limits; rewind a manual clock."""
    current_backend().reset()
    return _json({"reset": True})


@blueprint.get("/clock")
def clock() -> ResponseReturnValue:
    """The fake's clock."""
    backend = current_backend()
    kind = "manual" if backend.manual_clock else "system"
    return _json({"now_ms": backend.now_ms(), "kind": kind})


@blueprint.post("/clock/advance")
@takes("control/clock_advance")
def advance() -> ResponseReturnValue:
    """Advance a manual clock, running due transitions, callbacks and retries."""
    seconds = _body()["seconds"]
    return _json({"now_ms": current_backend().advance(seconds), "kind": "manual"})


@blueprint.get("/tasks")
def tasks() -> ResponseReturnValue:
    """Every account's tasks with their outcome and timeline, newest first (?limit=N: N)."""
    found = newest(current_backend().all_tasks(), query_args(request))
    return _json([_task_view(task) for task in found])


@blueprint.get("/tasks/<task_id>")
def task(task_id: str) -> ResponseReturnValue:
    """One task with its outcome and timeline."""
    return _json(_task_view(current_backend().task(task_id)))


@blueprint.post("/tasks/<task_id>/outcome")
@takes("control/outcome")
def force_outcome(task_id: str) -> ResponseReturnValue:
    """Re-plan a running task's outcome from now."""
    outcome = Outcome.from_json(_body())
    return _json(_task_view(current_backend().force_outcome(task_id, outcome)))


@blueprint.post("/tasks/<task_id>/advance")
def force_next_transition(task_id: str) -> ResponseReturnValue:
    """Make a running task take its next step now."""
    return _json(_task_view(current_backend().force_next_transition(task_id)))


@blueprint.get("/outcomes")
def next_outcomes() -> ResponseReturnValue:
    """Outcomes waiting for the next tasks."""
    return _json([rule.to_json() for rule in current_backend().next_outcomes()])


@blueprint.post("/outcomes")
@takes("control/next_outcome", status=201)
def add_next_outcome() -> ResponseReturnValue:
    """Choose the outcome of the next task(s)."""
    body = _body()
    outcome = Outcome.from_json(body.get("outcome", {}))
    rule = NextOutcome(outcome, body.get("account"), int(body.get("count", 1)))
    current_backend().add_next_outcome(rule)
    return _json(rule.to_json(), 201)


@blueprint.delete("/outcomes")
def clear_next_outcomes() -> ResponseReturnValue:
    """Clear waiting outcomes."""
    current_backend().clear_next_outcomes()
    return _json([])


@blueprint.get("/faults")
def faults() -> ResponseReturnValue:
    """Fault rules."""
    return _json([rule.to_json() for rule in current_backend().fault_rules()])


@blueprint.post("/faults")
@takes("control/fault_rule", status=201)
def add_fault() -> ResponseReturnValue:
    """Add a fault rule."""
    rule = FaultRule.from_json(_body())
    current_backend().add_fault_rule(rule)
    return _json(rule.to_json(), 201)


@blueprint.delete("/faults")
def clear_faults() -> ResponseReturnValue:
    """Clear fault rules."""
    current_backend().clear_fault_rules()
    return _json([])


@blueprint.get("/accounts")
def accounts() -> ResponseReturnValue:
    """Accounts with limits and usage."""
    backend = current_backend()
    return _json([_account_view(account.account_id) for account in backend.accounts()])


@blueprint.get("/accounts/<account_id>")
def account(account_id: str) -> ResponseReturnValue:
    """One account."""
    return _json(_account_view(_known_account(account_id)))


@blueprint.post("/accounts/<account_id>/limits")
@takes("control/limits")
def set_limits(account_id: str) -> ResponseReturnValue:
    """Change an account's limits."""
    backend = current_backend()
    backend.set_limits(_known_account(account_id), _body())
    return _json(_account_view(account_id))


@blueprint.get("/requests")
def requests() -> ResponseReturnValue:
    """The request journal (?since=cursor: what came after it; ?limit=N: the last N)."""
    return _json(journal(current_backend().requests(), request_key, query_args(request)))


@blueprint.get("/callbacks")
def callbacks() -> ResponseReturnValue:
    """The callback delivery journal (?task_id=, ?since=cursor, ?limit=N as for requests)."""
    args, attempts = query_args(request), current_backend().attempts()
    if "task_id" in args:
        attempts = [attempt for attempt in attempts if attempt.task_id == args["task_id"]]
    return _json(journal(attempts, attempt_key, args))


@blueprint.get("/callbacks/faults")
def callback_faults() -> ResponseReturnValue:
    """Callback faults."""
    return _json([f.to_json() for f in current_backend().callback_faults()])


@blueprint.post("/callbacks/faults")
@takes("control/callback_fault", status=201)
def add_callback_fault() -> ResponseReturnValue:
    """Add a callback fault (drop, duplicate, delay)."""
    fault = _callback_fault(_body())
    current_backend().add_callback_fault(fault)
    return _json(fault.to_json(), 201)


@blueprint.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """This document."""
    return _json(openapi_document(current_backend().profile.name, _routes()))


def _routes() -> tuple[Route, ...]:
    """Every route of the app, for the OpenAPI document (Flask's own static route aside)."""
    app, routes = current_app, []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        summary = (view.__doc__ or rule.endpoint).strip().splitlines()[0].rstrip(".")
        body = BODIES.get(rule.endpoint)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            schema, status = (body.schema, body.status) if body else (None, 200)
            routes.append(Route(rule.rule, method.lower(), rule.endpoint, summary, schema, status))
    return tuple(routes)


def _task_view(task: Task) -> dict[str, Any]:
    backend = current_backend()
    return {
        "account": task.account_id,
        "task": wire.task_object(task, task.step_at(backend.now_ms()), backend.base_url),
        "outcome": task.outcome.to_json(),
        "timeline": [
            {"at_ms": s.at_ms, "status": s.status, "status_msg": s.status_msg}
            for s in task.timeline
        ],
    }


def _account_view(account_id: str) -> dict[str, Any]:
    backend = current_backend()
    return {
        "account": account_id,
        "limits": backend.limits(account_id).to_json(),
        "usage": backend.usage(account_id),
    }


def _known_account(account_id: str) -> str:
    if account_id not in {a.account_id for a in current_backend().accounts()}:
        raise KlingError(1203, f"account {account_id!r} does not exist (use its access or API key)")
    return account_id


def _callback_fault(data: dict[str, Any]) -> CallbackFault:
    seconds, times = float(data.get("seconds", 0)), int(data.get("times", 1))
    return CallbackFault(data["action"], seconds, times, data.get("task_id"))


def _body() -> dict[str, Any]:
    """The request's JSON object, checked against the view's control contract."""
    body = parse_json(request.get_data(cache=False)) if request.is_json else None
    if not isinstance(body, dict):
        raise KlingError(1200, "the control API takes a JSON object body")
    check(contracts.validator(BODIES[request.endpoint or ""].schema), body)
    return body


def _json(data: Any, status: int = 200) -> ResponseReturnValue:
    response = current_app.json.response(data)
    response.status_code = status
    return response
