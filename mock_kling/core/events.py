"""Domain events: what the backend tells its subscribers (persistence, journals, logs, tests)
after each change of what the fake remembers."""

from __future__ import annotations

from dataclasses import dataclass

from mock_kling.core.attempts import Attempt
from mock_kling.core.journal import RequestRecord
from mock_kling.core.limits import Limits
from mock_kling.core.tasks import Step, Task


@dataclass(frozen=True, slots=True)
class TaskCreated:
    task: Task


@dataclass(frozen=True, slots=True)
class TaskReplanned:
    task: Task


@dataclass(frozen=True, slots=True)
class StepReached:
    """A task's status changed (announced once, when the clock passed the step's time)."""

    task: Task
    step: Step


@dataclass(frozen=True, slots=True)
class RequestJournaled:
    record: RequestRecord


@dataclass(frozen=True, slots=True)
class CallbackAttempted:
    attempt: Attempt


@dataclass(frozen=True, slots=True)
class LimitsChanged:
    account: str
    limits: Limits


@dataclass(frozen=True, slots=True)
class ClockMoved:
    now_ms: int


@dataclass(frozen=True, slots=True)
class Reset:
    now_ms: int


@dataclass(frozen=True, slots=True)
class ErrorRecorded:
    """An unexpected exception inside the fake (a bug): in a request, a callback job or the
    driver. Tests re-raise it; `/__mock__/health` shows it."""

    where: str
    error: BaseException
    at_ms: int


Event = (
    TaskCreated
    | TaskReplanned
    | StepReached
    | RequestJournaled
    | CallbackAttempted
    | LimitsChanged
    | ClockMoved
    | Reset
    | ErrorRecorded
)
