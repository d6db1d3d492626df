"""The callback journal's record: one attempt, duplicate send or dropped notification."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Attempt:
    """One journal entry: an attempt, a duplicate send, or a dropped notification."""

    seq: int
    task_id: str
    status: str
    url: str
    payload: dict[str, Any]
    attempt: int
    at_ms: int
    http_status: int | None
    error: str | None
    latency_ms: float
    result: str  # delivered, retrying, gave_up, dropped, takeover (no send: see dispatch)
    fault: str | None = None  # drop, delay, duplicate, takeover: what shaped it

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def sort_key(self) -> tuple[int, int, int, bool]:
        return (self.at_ms, self.seq, self.attempt, self.fault == "duplicate")
