"""How a task ends and when: outcomes as data, chosen per task, per next task, by prompt marker
or by the server's defaults."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mock_kling.core.tasks import FAILED, PROCESSING, SUBMITTED, SUCCEED, Step

RESULTS = ("succeed", "fail", "fail_at_submit", "stuck")
CONTENT_SAFETY_MESSAGE = "Failure to pass the risk control system: the content may be inappropriate"
SUBMIT_FAILURE_MESSAGE = "Image pixel is invalid"
_SECONDS = ("submitted_seconds", "processing_seconds")
MARKER_PREFIX = "mock:"  # a prompt word `mock:<result>` or `mock:seconds=<n>` picks the outcome
MARKERS = (*(MARKER_PREFIX + result for result in RESULTS), MARKER_PREFIX + "seconds=<n>")
_RESULT_WORDS = "|".join(sorted(RESULTS, key=len, reverse=True))  # fail_at_submit before fail
_MARKER = re.compile(rf"\b{MARKER_PREFIX}({_RESULT_WORDS}|seconds=(\d+(?:\.\d+)?))\b")


@dataclass(frozen=True)
class Timings:
    """The server's default time in each state."""

    submitted_seconds: float = 2.0
    processing_seconds: float = 8.0


@dataclass(frozen=True, slots=True)
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

    def __post_init__(self) -> None:
        if self.result not in RESULTS:
            raise ValueError(f"outcome.result must be one of {', '.join(RESULTS)}")
        if any(
            s is not None and not s >= 0 for s in (self.submitted_seconds, self.processing_seconds)
        ):
            raise ValueError("outcome seconds must be >= 0 or None")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Outcome:
        """An outcome from JSON the control contract accepted (control/outcome.json)."""
        fields: dict[str, Any] = {
            k: float(v) if k in _SECONDS and v is not None else v for k, v in data.items()
        }
        return cls(**fields)


def from_prompt(prompt: str, timings: Timings) -> Outcome | None:
    """The outcome chosen by `mock:...` markers in a prompt, if any (see the README's table)."""
    if MARKER_PREFIX not in prompt:  # most prompts: no regex scan
        return None
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
