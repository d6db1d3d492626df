"""The Redis store's values as text: the stores' shared JSON codec (`codec.py`), one string per
value or list of values."""

from __future__ import annotations

import threading
from typing import Any

from mock_kling.core.attempts import Attempt
from mock_kling.core.delivery import CallbackFault, Delivery
from mock_kling.core.faults import FaultRule
from mock_kling.core.journal import RequestRecord
from mock_kling.core.limits import Counted, Limits, Usage
from mock_kling.core.rules import NextOutcome
from mock_kling.core.tasks import Task
from mock_kling.store import codec
from mock_kling.store.codec import dumps, loads

Text = str | bytes


def dump_task(task: Task) -> str:
    return dumps(codec.task_json(task))


def load_task(text: Text) -> Task:
    return codec.task_from(loads(text))


class TaskCache:
    """Tasks decoded from their JSON, the latest `limit` texts kept: a task unchanged since its
    last load is the same object again (tasks are immutable values, as the memory store hands
    them out), so it is neither decoded again nor rendered again by the fast path, whose
    rendering cache holds per task object."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._by_text: dict[Text, Task] = {}
        self._lock = threading.Lock()  # writers; a read is one dict lookup

    def load(self, text: Text) -> Task:
        task = self._by_text.get(text)
        if task is None:
            task = load_task(text)
            with self._lock:
                if len(self._by_text) >= self._limit:
                    del self._by_text[next(iter(self._by_text))]  # the oldest entry
                self._by_text[text] = task
        return task


def dump_delivery(delivery: Delivery) -> str:
    return dumps(codec.delivery_json(delivery))


def load_delivery(text: Text) -> Delivery:
    return codec.delivery_from(loads(text))


def dump_attempt(attempt: Attempt) -> str:
    return dumps(codec.attempt_json(attempt))


def load_attempt(text: Text) -> Attempt:
    return codec.attempt_from(loads(text))


def dump_request(record: RequestRecord) -> str:
    return dumps(codec.record_json(record))


def load_request(text: Text) -> RequestRecord:
    return codec.record_from(loads(text))


def dump_limits(limits: Limits) -> str:
    return dumps(codec.limits_json(limits))


def load_limits(text: Text) -> Limits:
    return codec.limits_from(loads(text))


def load_admission(reply: list[Any]) -> tuple[list[FaultRule], Limits | None]:
    """The reply of admission.lua: the fault rules and the account's limits (each false when
    not set, or False on RESP3)."""
    rules, limits = reply
    return (load_fault_rules(rules) if rules else [], load_limits(limits) if limits else None)


def dump_counted(counted: Counted) -> str:
    return dumps(codec.counted_json(counted))


def load_usage_parts(stored: Text | None, counted: list[Text]) -> Usage:
    """An account's usage from its two parts (usage_as_read in lib.lua): the JSON as stored
    (None: none) with the tasks counted since, and `read_as` as a commit compares it."""
    usage = load_usage(stored) if stored else Usage()
    for text in counted:
        usage.count(codec.counted_from(loads(text)))
    text = stored.decode() if isinstance(stored, bytes) else stored or ""
    usage.read_as = f"{len(counted)}|{text}"
    return usage


def dump_usage(usage: Usage) -> str:
    return dumps(codec.usage_json(usage))


def load_usage(text: Text) -> Usage:
    return codec.usage_from(loads(text))


def dump_fault_rules(rules: list[FaultRule]) -> str:
    return dumps([codec.fault_rule_json(rule) for rule in rules])


def load_fault_rules(text: Text) -> list[FaultRule]:
    return [codec.fault_rule_from(item) for item in loads(text)]


def dump_next_outcomes(rules: list[NextOutcome]) -> str:
    return dumps([codec.next_outcome_json(rule) for rule in rules])


def load_next_outcomes(text: Text) -> list[NextOutcome]:
    return [codec.next_outcome_from(item) for item in loads(text)]


def dump_callback_faults(faults: list[CallbackFault]) -> str:
    return dumps([codec.callback_fault_json(fault) for fault in faults])


def load_callback_faults(text: Text) -> list[CallbackFault]:
    return [codec.callback_fault_from(item) for item in loads(text)]
