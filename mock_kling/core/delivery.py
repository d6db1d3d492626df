"""A pending callback notification as data, the delivery policy (attempts, backoff, timeout)
and callback faults; what an attempt's result does to a notification (its retry plan)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from mock_kling.core.attempts import Attempt

FAULT_ACTIONS = ("drop", "duplicate", "delay")


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard the fake tries: attempts per notification, fake-time backoff, real-time timeout."""

    attempts: int = 5
    backoff_seconds: float = 1.0
    timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1 (got {self.attempts})")
        if not (math.isfinite(self.backoff_seconds) and self.backoff_seconds >= 0):
            raise ValueError(f"backoff_seconds must be >= 0 (got {self.backoff_seconds})")
        if not (math.isfinite(self.timeout_seconds) and self.timeout_seconds > 0):
            raise ValueError(f"timeout_seconds must be > 0 (got {self.timeout_seconds})")

    def backoff_ms(self, retry: int) -> int:
        """Fake-time wait before retry number `retry` (1 for the second attempt, ...)."""
        return round(self.backoff_seconds * 2.0 ** (retry - 1) * 1000)


@dataclass(frozen=True)
class CallbackFault:
    """A planned misbehaviour for the next `times` notifications (of `task_id`, or of any task)."""

    action: str
    seconds: float = 0.0
    times: int = 1
    task_id: str | None = None

    def __post_init__(self) -> None:
        if self.action not in FAULT_ACTIONS:
            raise ValueError(
                f"action must be one of {', '.join(FAULT_ACTIONS)} (got {self.action!r})"
            )
        if not (math.isfinite(self.seconds) and self.seconds >= 0):
            raise ValueError(f"seconds must be >= 0 (got {self.seconds})")
        if self.times < 1:
            raise ValueError(f"times must be at least 1 (got {self.times})")

    def matches(self, task_id: str) -> bool:
        return self.task_id is None or self.task_id == task_id

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "seconds": self.seconds,
            "times": self.times,
            "task_id": self.task_id,
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """A notification waiting in its task's queue: what to POST where, and its state. A value:
    every change is a new Delivery put back into the store."""

    seq: int
    task_id: str
    status: str
    url: str
    payload: dict[str, Any]
    body: bytes
    due_ms: int  # when the next send may start (moved by delay faults and retries)
    enqueued_due_ms: int  # the due time it was enqueued with
    attempts: int = 0  # attempts made so far
    matched: bool = False  # callback faults were looked up (once, when it first came due)
    fault: str | None = None  # "delay" or "duplicate" when one shapes it
    started: bool = False  # its first send has started
    duplicate_due: bool = False  # the next send is the duplicate of its final attempt
    taken_over: bool = False  # claimed after another claim's lease ran out (a replica died)
    claim: str = ""  # the store's token of the claim it was handed out under (one per claim)

    def entry(self, **fields: Any) -> Attempt:
        """A journal record of a send of this notification."""
        return Attempt(
            seq=self.seq,
            task_id=self.task_id,
            status=self.status,
            url=self.url,
            payload=self.payload,
            **fields,
        )

    def after_send(self, delivered: bool, now_ms: int, policy: DeliveryPolicy) -> Sent:
        """The journal result of a send that `delivered` or not, and the notification that stays
        queued afterwards (None: finished). A duplicate fault sends the final attempt twice."""
        if self.duplicate_due:
            return Sent("delivered" if delivered else "gave_up", "duplicate", None)
        attempt = self.attempts + 1
        fault = "delay" if self.fault == "delay" else None
        if not delivered and attempt < policy.attempts:
            retry = replace(self, attempts=attempt, due_ms=now_ms + policy.backoff_ms(attempt))
            return Sent("retrying", fault, retry)
        result = "delivered" if delivered else "gave_up"
        if self.fault == "duplicate":
            return Sent(result, fault, replace(self, attempts=attempt, duplicate_due=True))
        return Sent(result, fault, None)


@dataclass(frozen=True, slots=True)
class Sent:
    """What one send comes to: its journal result and fault, and what stays queued."""

    result: str
    fault: str | None
    queued: Delivery | None


Sender = Callable[[str, bytes, float], tuple[int | None, str | None]]
"""POSTs a body to a URL within a timeout: (HTTP status or None, error text or None)."""


def answer_error(status: int) -> str | None:
    """Why an HTTP status is not a delivery, or None for 2xx."""
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return f"redirect {status} not followed"
    return f"non-2xx answer {status}"
