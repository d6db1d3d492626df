"""A task: what was asked, and its lifecycle as data; its status is a function of (task, now)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mock_kling.core.images import ImageInfo

if TYPE_CHECKING:
    from mock_kling.core.outcomes import Outcome

SUBMITTED, PROCESSING, SUCCEED, FAILED = "submitted", "processing", "succeed", "failed"
TERMINAL = frozenset({SUCCEED, FAILED})

# kling-v1-6 renders std at 720p and pro at 1080p: the short side of the frame.
SHORT_SIDE = {"std": 720, "pro": 1080}
# Resource units a second of video costs (the fake's table: std 5 s = 1, pro 5 s = 3.5).
UNITS_PER_SECOND = {"std": 0.2, "pro": 0.7}
_RATIO = re.compile(r"^([1-9][0-9]{0,3}):([1-9][0-9]{0,3})$")


@dataclass(frozen=True, slots=True)
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
        """(width, height): 16:9 std is 1280x720, 9:16 pro 1080x1920; an unreadable or extreme
        ratio (a free-string vendor) renders 16:9."""
        match = _RATIO.match(self.aspect_ratio)
        width, height = (int(match[1]), int(match[2])) if match else (16, 9)
        if not 1 / 2.5 <= width / height <= 2.5:
            width, height = 16, 9
        short = SHORT_SIDE[self.mode]
        long = round(short * max(width, height) / min(width, height) / 2) * 2
        return (long, short) if width >= height else (short, long)

    @property
    def unit_cost(self) -> str:
        """`final_unit_deduction` of a successful task, as Kling writes it (a string)."""
        return f"{UNITS_PER_SECOND[self.mode] * float(self.duration):g}"


@dataclass(frozen=True, slots=True)
class Step:
    """From `at_ms` on, the task has this status (and, when failed, this message)."""

    at_ms: int
    status: str
    status_msg: str = ""


@dataclass(frozen=True, slots=True)
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
