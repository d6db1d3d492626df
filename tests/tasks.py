"""Tasks made directly (not through the API), for tests of the core and of the stores."""

from __future__ import annotations

from mock_kling.core.images import ImageInfo
from mock_kling.core.outcomes import Outcome, Timings
from mock_kling.core.tasks import Task, TaskRequest


def make_task(
    task_id: str,
    *,
    account: str = "acct",
    created_at: int = 0,
    external: str | None = None,
    timings: Timings | None = None,
    outcome: Outcome | None = None,
    callback_url: str | None = None,
) -> Task:
    outcome = outcome or Outcome()
    request = TaskRequest(
        "p",
        (ImageInfo("url"),),
        "kling-v1-6",
        "std",
        "5",
        "16:9",
        external_task_id=external,
        callback_url=callback_url,
    )
    return Task(
        task_id=task_id,
        account_id=account,
        request=request,
        created_at=created_at,
        video_id="v" + task_id,
        timeline=outcome.timeline(created_at, timings or Timings()),
        outcome=outcome,
    )
