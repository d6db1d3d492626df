"""The control API under /__mock__/: clock, tasks and outcomes, faults, limits, journals."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue

from mock_kling.callbacks.queue import CallbackFault
from mock_kling.contracts.openapi import openapi_document
from mock_kling.core import wire
from mock_kling.core.backend import NextOutcome
from mock_kling.core.clock import ManualClock
from mock_kling.core.errors import KlingError
from mock_kling.core.faults import FaultRule
from mock_kling.core.outcomes import Outcome
from mock_kling.core.requests import parse_json
from mock_kling.core.tasks import Task
from mock_kling.http.context import FAST_PATH, current_backend
from mock_kling.http.health import report

blueprint = Blueprint("control", __name__)


@blueprint.get("/health")
def health() -> ResponseReturnValue:
    """Status, seed, task count, the fast path's counts and the unexpected errors recorded."""
    return _json(report(current_backend(), current_app.extensions.get(FAST_PATH)))


@blueprint.post("/reset")
def reset() -> ResponseReturnValue:
    current_backend().reset()
    return _json({"reset": True})


@blueprint.get("/clock")
def clock() -> ResponseReturnValue:
    backend = current_backend()
    kind = "manual" if isinstance(backend.clock, ManualClock) else "system"
    return _json({"now_ms": backend.now_ms(), "kind": kind})


@blueprint.post("/clock/advance")
def advance() -> ResponseReturnValue:
    seconds = _body().get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= 1e9:
        raise KlingError(1201, "seconds must be a number in [0, 1000000000]")
    return _json({"now_ms": current_backend().advance(seconds), "kind": "manual"})


@blueprint.get("/tasks")
def tasks() -> ResponseReturnValue:
    return _json([_task_view(task) for task in current_backend().all_tasks()])


@blueprint.get("/tasks/<task_id>")
def task(task_id: str) -> ResponseReturnValue:
    return _json(_task_view(current_backend().task(task_id)))


@blueprint.post("/tasks/<task_id>/outcome")
def force_outcome(task_id: str) -> ResponseReturnValue:
    outcome = _parse(Outcome.from_json, _body())
    return _json(_task_view(current_backend().force_outcome(task_id, outcome)))


@blueprint.post("/tasks/<task_id>/advance")
def force_next_transition(task_id: str) -> ResponseReturnValue:
    return _json(_task_view(current_backend().force_next_transition(task_id)))


@blueprint.get("/outcomes")
def next_outcomes() -> ResponseReturnValue:
    return _json([rule.to_json() for rule in current_backend().next_outcomes()])


@blueprint.post("/outcomes")
def add_next_outcome() -> ResponseReturnValue:
    body = _body()
    outcome = _parse(Outcome.from_json, body.get("outcome", {}))
    account, count = body.get("account"), _whole(body.get("count", 1))
    if account is not None and not isinstance(account, str):
        raise KlingError(1201, "account must be an access key, an API key or null (any account)")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise KlingError(1201, "count must be a positive integer")
    rule = NextOutcome(outcome, account, count)
    current_backend().add_next_outcome(rule)
    return _json(rule.to_json(), 201)


@blueprint.delete("/outcomes")
def clear_next_outcomes() -> ResponseReturnValue:
    current_backend().clear_next_outcomes()
    return _json([])


@blueprint.get("/faults")
def faults() -> ResponseReturnValue:
    return _json([rule.to_json() for rule in current_backend().faults.all()])


@blueprint.post("/faults")
def add_fault() -> ResponseReturnValue:
    body = _body()
    if "times" in body:
        body["times"] = _whole(body["times"])
    rule = _parse(FaultRule.from_json, body)
    backend = current_backend()
    with backend.lock:
        backend.faults.add(rule)
    return _json(rule.to_json(), 201)


@blueprint.delete("/faults")
def clear_faults() -> ResponseReturnValue:
    backend = current_backend()
    with backend.lock:
        backend.faults.clear()
    return _json([])


@blueprint.get("/accounts")
def accounts() -> ResponseReturnValue:
    backend = current_backend()
    return _json([_account_view(account.account_id) for account in backend.accounts.all()])


@blueprint.get("/accounts/<account_id>")
def account(account_id: str) -> ResponseReturnValue:
    return _json(_account_view(_known_account(account_id)))


@blueprint.post("/accounts/<account_id>/limits")
def set_limits(account_id: str) -> ResponseReturnValue:
    backend = current_backend()
    _parse(lambda data: backend.set_limits(_known_account(account_id), data), _body())
    return _json(_account_view(account_id))


@blueprint.get("/requests")
def requests() -> ResponseReturnValue:
    return _json([record.to_json() for record in current_backend().requests.all()])


@blueprint.get("/callbacks")
def callbacks() -> ResponseReturnValue:
    return _json([attempt.to_json() for attempt in current_backend().callbacks.journal()])


@blueprint.get("/callbacks/faults")
def callback_faults() -> ResponseReturnValue:
    return _json([_fault_json(f) for f in current_backend().callbacks.faults()])


@blueprint.post("/callbacks/faults")
def add_callback_fault() -> ResponseReturnValue:
    fault = _parse(_callback_fault, _body())
    current_backend().callbacks.add_fault(fault)
    return _json(_fault_json(fault), 201)


@blueprint.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return _json(openapi_document(current_backend().profile.name))


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
    if account_id not in {a.account_id for a in current_backend().accounts.all()}:
        raise KlingError(1203, f"account {account_id!r} does not exist (use its access or API key)")
    return account_id


def _callback_fault(data: dict[str, Any]) -> CallbackFault:
    unknown = set(data) - {"action", "seconds", "times", "task_id"}
    if unknown:
        raise ValueError(f"callback fault has unknown fields: {', '.join(sorted(unknown))}")
    action, seconds = data.get("action"), data.get("seconds", 0)
    times, task_id = _whole(data.get("times", 1)), data.get("task_id")
    if action not in ("drop", "duplicate", "delay"):
        raise ValueError("action must be one of drop, duplicate, delay")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= 1e8:
        raise ValueError("seconds must be a number in [0, 100000000]")
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError("times must be a positive integer")
    if task_id is not None and not isinstance(task_id, str):
        raise ValueError("task_id must be a string or null")
    return CallbackFault(action, float(seconds), times, task_id)


def _fault_json(fault: CallbackFault) -> dict[str, Any]:
    return {
        "action": fault.action,
        "seconds": fault.seconds,
        "times": fault.times,
        "task_id": fault.task_id,
    }


def _whole(value: Any) -> Any:
    """JSON does not tell 2 from 2.0 (JSON Schema's "integer" takes both): read 2.0 as 2."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _parse(parse: Any, data: Any) -> Any:
    try:
        return parse(data)
    except ValueError as exc:
        raise KlingError(1201, str(exc)) from None
    except (TypeError, OverflowError) as exc:  # e.g. {"code": []} (unhashable), a 400-digit int
        raise KlingError(1201, f"a field has a value of the wrong type or size ({exc})") from None


def _body() -> dict[str, Any]:
    body = parse_json(request.get_data(cache=False)) if request.is_json else None
    if not isinstance(body, dict):
        raise KlingError(1200, "the control API takes a JSON object body")
    return body


def _json(data: Any, status: int = 200) -> ResponseReturnValue:
    response = current_app.json.response(data)
    response.status_code = status
    return response
