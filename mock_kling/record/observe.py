"""What a cassette shows: each exchange's kind, and each task's lifecycle as sightings of its
status with their times."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mock_kling.core.profiles import ROUTE
from mock_kling.core.tasks import FAILED, PROCESSING, SUBMITTED, SUCCEED, TERMINAL
from mock_kling.record.cassette import Interaction

CREATE, QUERY, LIST, CALLBACK, OTHER = "create", "query", "list", "callback", "other"


def kind(interaction: Interaction) -> str:
    """create, query (one task), list, callback or other."""
    if interaction.is_callback:
        return CALLBACK
    path = urlsplit(interaction.uri).path.rstrip("/")
    if path.endswith(ROUTE):
        return CREATE if interaction.method == "POST" else LIST
    if ROUTE + "/" in path and interaction.method == "GET":
        return QUERY
    return OTHER


def label(interaction: Interaction) -> str:
    """`METHOD path?query`: how a report names an exchange."""
    parts = urlsplit(interaction.uri)
    return f"{interaction.method} {parts.path}" + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class Sighting:
    """A task's status as one answer or callback showed it."""

    status: str
    updated_at: int | None  # the answer's updated_at (when the status was entered), if any
    seen_at: int  # when the exchange happened
    message: str = ""


@dataclass
class Trace:
    """One task as the recording saw it."""

    task_id: str
    created_at: int | None = None
    mode: str = ""
    duration: str = ""
    sightings: list[Sighting] = field(default_factory=list)

    def statuses(self) -> list[str]:
        """The distinct statuses in the order first seen."""
        seen: list[str] = []
        for sighting in sorted(self.sightings, key=_order):
            if sighting.status not in seen:
                seen.append(sighting.status)
        return seen

    def entered(self, status: str) -> int | None:
        """When the task entered `status`: the answer's updated_at, else when first seen."""
        times = [s.updated_at or s.seen_at for s in self.sightings if s.status == status]
        return min(times) if times else None

    def end(self) -> Sighting | None:
        ends = [s for s in self.sightings if s.status in TERMINAL]
        return min(ends, key=_order) if ends else None

    def durations(self) -> tuple[float | None, float | None]:
        """Seconds in submitted and in processing, where the recording shows both ends."""
        created = self.created_at or self.entered(SUBMITTED)
        processing = self.entered(PROCESSING)
        end = self.entered(SUCCEED) or self.entered(FAILED)
        submitted_s = _seconds(created, processing if processing is not None else end)
        return submitted_s, _seconds(processing, end)


def traces(interactions: Sequence[Interaction]) -> dict[str, Trace]:
    """Every task the recording mentions, by task_id, in order of first mention."""
    found: dict[str, Trace] = {}
    for interaction in interactions:
        request = interaction.request_json() if kind(interaction) == CREATE else None
        for task in task_objects(interaction):
            trace = found.setdefault(str(task["task_id"]), Trace(str(task["task_id"])))
            if isinstance(request, dict):
                trace.mode = str(request.get("mode") or "std")
                trace.duration = str(request.get("duration") or "5")
            if isinstance(task.get("created_at"), int):
                trace.created_at = task["created_at"]
            trace.sightings.append(_sighting(task, interaction.at_ms))
    return found


def task_objects(interaction: Interaction) -> Iterator[dict[str, Any]]:
    """The task objects an answer (or a callback's body) carries."""
    body = interaction.request_json() if interaction.is_callback else interaction.response_json()
    if not isinstance(body, dict):
        return
    data = body if interaction.is_callback else body.get("data")
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict) and "task_id" in item and "task_status" in item:
            yield item


def _sighting(task: dict[str, Any], seen_at: int) -> Sighting:
    updated = task.get("updated_at")
    message = task.get("task_status_msg")
    return Sighting(
        str(task["task_status"]),
        updated if isinstance(updated, int) else None,
        seen_at,
        message if isinstance(message, str) else "",
    )


def _order(sighting: Sighting) -> tuple[int, int]:
    return (sighting.updated_at or sighting.seen_at, sighting.seen_at)


def _seconds(start: int | None, end: int | None) -> float | None:
    return None if start is None or end is None else max(0, end - start) / 1000
