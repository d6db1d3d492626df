"""A task: what was asked, and its lifecycle as data; its status is a function of (task, now)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .images import ImageInfo

if TYPE_CHECKING:
    from .outcomes import Outcome

SUBMITTED, PROCESSING, SUCCEED, FAILED = "submitted", "processing", "succeed", "failed"
TERMINAL = frozenset({SUCCEED, FAILED})

# Output frame size by (mode, aspect_ratio): kling-v1-6 renders std at 720p and pro at 1080p.
FRAME_SIZES: dict[tuple[str, str], tuple[int, int]] = {
    ("std", "16:9"): (1280, 720),
    ("std", "9:16"): (720, 1280),
    ("std", "1:1"): (720, 720),
    ("pro", "16:9"): (1920, 1080),
    ("pro", "9:16"): (1080, 1920),
    ("pro", "1:1"): (1080, 1080),
}

# Resource units charged when a task succeeds (the fake's table; Kling bills by mode and duration).
UNIT_COST: dict[tuple[str, str], str] = {
    ("std", "5"): "1",
    ("std", "10"): "2",
    ("pro", "5"): "3.5",
    ("pro", "10"): "7",
}


@dataclass(frozen=True)
class TaskRequest:
    """A validated create-task body, with documented defaults applied and "" read as not set."""

    prompt: str
    images: tuple[ImageInfo, ...]
    model_name: str = "kling-v1-6"
    negative_prompt: str = ""
    mode: str = "std"
    duration: str = "5"
    aspect_ratio: str = "16:9"
    watermark_enabled: bool = False
    callback_url: str | None = None
    external_task_id: str | None = None

    @property
    def image_count(self) -> int:
        return len(self.images)

    @property
    def frame_size(self) -> tuple[int, int]:
        return FRAME_SIZES[(self.mode, self.aspect_ratio)]

    @property
    def unit_cost(self) -> str:
        return UNIT_COST[(self.mode, self.duration)]


@dataclass(frozen=True)
class Step:
    """From `at_ms` on, the task has this status (and, when failed, this message)."""

    at_ms: int
    status: str
    status_msg: str = ""


@dataclass
class Task:
    """One submitted job, owned by one account."""

    task_id: str
    account_id: str
    request: TaskRequest
    created_at: int
    video_id: str
    timeline: tuple[Step, ...]
    outcome: Outcome

    def step_at(self, now_ms: int) -> Step:
        """The step in force at `now_ms` (the first one if `now_ms` is before creation)."""
        current = self.timeline[0]
        for step in self.timeline[1:]:
            if step.at_ms > now_ms:
                break
            current = step
        return current

    def ended_at(self) -> int | None:
        """When the task reached a terminal status, if its timeline has one."""
        last = self.timeline[-1]
        return last.at_ms if last.status in TERMINAL else None
