"""A task: what was asked, and its lifecycle as data; its status is a function of (task, now)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mock_kling.core.images import ImageInfo

if TYPE_CHECKING:
    from mock_kling.core.outcomes import Outcome

# The statuses the lifecycle branches on; the contracts' task_status enum (common.json) is the
# list Kling documents, checked against STATUSES when the contracts load.
SUBMITTED, PROCESSING, SUCCEED, FAILED = "submitted", "processing", "succeed", "failed"
STATUSES = (SUBMITTED, PROCESSING, SUCCEED, FAILED)
TERMINAL = frozenset({SUCCEED, FAILED})


@dataclass(frozen=True, slots=True)
class Rendering:
    """How the fake renders and bills one `mode`."""

    short_side: int  # of the frame: kling-v1-6 renders std at 720p and pro at 1080p
    units_per_second: float  # resource units a second costs (std 5 s = 1, pro 5 s = 3.5)


# One entry per value of the create contract's `mode` enum (checked when the contracts load).
MODES: dict[str, Rendering] = {"std": Rendering(720, 0.2), "pro": Rendering(1080, 0.7)}
_RATIO = re.compile(r"^([1-9][0-9]{0,3}):([1-9][0-9]{0,3})$")


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """A validated create-task body, with the contract's defaults applied and "" read as not set
    (`mode` is a key of MODES)."""

    prompt: str
    images: tuple[ImageInfo, ...]
    model_name: str
    mode: str
    duration: str
    aspect_ratio: str
    negative_prompt: str = ""
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
        short = MODES[self.mode].short_side
        long = round(short * max(width, height) / min(width, height) / 2) * 2
        return (long, short) if width >= height else (short, long)

    @property
    def unit_cost(self) -> str:
        """`final_unit_deduction` of a successful task, as Kling writes it (a string)."""
        return f"{MODES[self.mode].units_per_second * float(self.duration):g}"


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

    # The announcing of steps (StepReached, then the callback queued for it): step 0 is the
    # creation; `index` is the next step not announced yet. Stores keep `index` per running task
    # and ask these two; the rule lives here, not in each store.

    def announced_end(self, index: int) -> bool:
        """Whether the steps announced before `index` include the task's end: nothing more is
        announced (a store forgets the task)."""
        return self.timeline[index - 1].status in TERMINAL

    def announce_at(self, index: int) -> int | None:
        """When step `index` is to be announced: None once the end was announced, or while the
        timeline has no step `index` yet (stuck: a re-plan may add steps)."""
        if self.announced_end(index) or index >= len(self.timeline):
            return None
        return self.timeline[index].at_ms

    def ended_at(self) -> int | None:
        """When the task reached a terminal status, if its timeline has one."""
        last = self.timeline[-1]
        return last.at_ms if last.status in TERMINAL else None
