"""The control API under /__mock__/: health and the clock (more controls build on this)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue

from .clock import ManualClock
from .context import current_backend
from .errors import KlingError

blueprint = Blueprint("control", __name__)


@blueprint.get("/health")
def health() -> ResponseReturnValue:
    backend = current_backend()
    return _json({"status": "ok", "seed": backend.seed, "tasks": len(backend.store)})


@blueprint.get("/clock")
def clock() -> ResponseReturnValue:
    backend = current_backend()
    manual = isinstance(backend.clock, ManualClock)
    return _json({"now_ms": backend.now_ms(), "kind": "manual" if manual else "system"})


@blueprint.post("/clock/advance")
def advance() -> ResponseReturnValue:
    backend = current_backend()
    if not isinstance(backend.clock, ManualClock):
        raise KlingError(
            1200, "the clock is the system clock; start with --clock manual to advance it"
        )
    body: Any = request.get_json(silent=True)
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds <= 10**9
    ):
        raise KlingError(1201, "seconds must be a number in [0, 1000000000]")
    return _json({"now_ms": backend.clock.advance(seconds), "kind": "manual"})


def _json(data: Any) -> ResponseReturnValue:
    return current_app.json.response(data)
