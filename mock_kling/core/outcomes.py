"""How a task ends and when: outcomes as data, chosen per task, per next task, by prompt marker
or by the server's defaults."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from mock_kling.core.tasks import FAILED, PROCESSING, SUBMITTED, SUCCEED, Step

RESULTS = ("succeed", "fail", "fail_at_submit", "stuck")
CONTENT_SAFETY_MESSAGE = "Failure to pass the risk control system: the content may be inappropriate"
SUBMIT_FAILURE_MESSAGE = "Image pixel is invalid"
_MARKER = re.compile(r"\bmock:(succeed|fail_at_submit|fail|stuck|seconds=(\d+(?:\.\d+)?))\b")


@dataclass(frozen=True)
class Timings:
    """The server's default time in each state."""

    submitted_seconds: float = 2.0
    processing_seconds: float = 8.0


@dataclass(frozen=True)
class Outcome:
    """What a task will do: succeed, fail at processing, fail right after submit, or stay in
    processing forever; with optional times (None: the server's default)."""

    result: str = "succeed"
    message: str = ""
    submitted_seconds: float | None = None
    processing_seconds: float | None = None

    def timeline(self, start_ms: int, timings: Timings) -> tuple[Step, ...]:
        """Every step of a task created at `start_ms`."""
        return (Step(start_ms, SUBMITTED), *self.steps_after(SUBMITTED, start_ms, timings))

    def steps_after(self, status: str, since_ms: int, timings: Timings) -> tuple[Step, ...]:
        """The steps that follow `status`, entered at `since_ms`, under this outcome."""
        if status == SUBMITTED:
            at = since_ms + _ms(self.submitted_seconds, timings.submitted_seconds)
            if self.result == "fail_at_submit":
                return (Step(at, FAILED, self.message or SUBMIT_FAILURE_MESSAGE),)
            return (Step(at, PROCESSING), *self.steps_after(PROCESSING, at, timings))
        if status != PROCESSING or self.result == "stuck":
            return ()
        if self.result == "fail_at_submit":
            return (Step(since_ms, FAILED, self.message or SUBMIT_FAILURE_MESSAGE),)
        at = since_ms + _ms(self.processing_seconds, timings.processing_seconds)
        if self.result == "fail":
            return (Step(at, FAILED, self.message or CONTENT_SAFETY_MESSAGE),)
        return (Step(at, SUCCEED),)

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, "")}

    @classmethod
    def from_json(cls, data: Any) -> Outcome:
        """Read an outcome from control-API JSON; ValueError names the bad field."""
        if not isinstance(data, dict):
            raise ValueError('outcome must be an object like {"result": "fail"}')
        unknown = set(data) - {"result", "message", "submitted_seconds", "processing_seconds"}
        if unknown:
            raise ValueError(f"outcome has unknown fields: {', '.join(sorted(unknown))}")
        result = data.get("result", "succeed")
        if result not in RESULTS:
            raise ValueError(f"outcome.result must be one of {', '.join(RESULTS)} (got {result!r})")
        message = data.get("message", "")
        if not isinstance(message, str):
            raise ValueError("outcome.message must be a string")
        return cls(
            result,
            message,
            _seconds(data, "submitted_seconds"),
            _seconds(data, "processing_seconds"),
        )


def from_prompt(prompt: str, timings: Timings) -> Outcome | None:
    """The outcome chosen by `mock:...` markers in a prompt, if any (see the README's table)."""
    result, total = None, None
    for match in _MARKER.finditer(prompt):
        if match.group(2) is not None:
            total = float(match.group(2))
        else:
            result = match.group(1)
    if result is None and total is None:
        return None
    if total is None:
        return Outcome(result or "succeed")
    submitted = min(timings.submitted_seconds, total)
    return Outcome(result or "succeed", "", submitted, total - submitted)


def _ms(seconds: float | None, default: float) -> int:
    return round((default if seconds is None else seconds) * 1000)


def _seconds(data: dict[str, Any], name: str) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"outcome.{name} must be a number of seconds")
    if not 0 <= value <= 10**8:
        raise ValueError(f"outcome.{name} must be in [0, 100000000] (got {value})")
    return float(value)
