"""The Redis store's accounts, rules, journals and manual clock (keys described in `redis.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mock_kling.core.attempts import Attempt
from mock_kling.core.delivery import CallbackFault
from mock_kling.core.faults import FaultRule
from mock_kling.core.journal import RequestRecord, bounded
from mock_kling.core.limits import Limits, Usage
from mock_kling.core.rules import NextOutcome
from mock_kling.store import redis_codec as codec
from mock_kling.store.redis_base import guarded
from mock_kling.store.redis_queue import RedisQueue

_R = TypeVar("_R")


class RedisAccounts(RedisQueue):
    """Accounts' limits and usage, the control API's rules, the bounded journals, the clock."""

    _request_limit: int
    _attempt_limit: int

    # --- accounts ---------------------------------------------------------------------------

    @guarded
    def limits(self, account: str) -> Limits | None:
        text = self._call("HGET", self._p + "limits", account)
        return None if text is None else codec.load_limits(text)

    @guarded
    def set_limits(self, account: str, limits: Limits) -> None:
        self._call("HSET", self._p + "limits", account, codec.dump_limits(limits))

    @guarded
    def changed_limits(self) -> dict[str, Limits]:
        found = self._r.hgetall(self._p + "limits")
        return {name: codec.load_limits(text) for name, text in found.items()}

    @guarded
    def usage(self, account: str) -> Usage:
        text = self._call("HGET", self._p + "usage", account)
        return Usage() if text is None else codec.load_usage(text)

    @guarded
    def put_usage(self, account: str, usage: Usage) -> None:
        self._call("HSET", self._p + "usage", account, codec.dump_usage(usage))

    @guarded
    def admission(self, account: str) -> tuple[list[FaultRule], Limits | None]:
        rules, limits = self._run("ADMISSION", account)  # false: None, or False on RESP3
        return (
            codec.load_fault_rules(rules) if rules else [],
            codec.load_limits(limits) if limits else None,
        )

    # --- rules ------------------------------------------------------------------------------

    def fault_rules(self) -> list[FaultRule]:
        return self._get("fault_rules", codec.load_fault_rules, [])

    def put_fault_rules(self, rules: list[FaultRule]) -> None:
        self._set("fault_rules", codec.dump_fault_rules(rules))

    def next_outcomes(self) -> list[NextOutcome]:
        return self._get("next_outcomes", codec.load_next_outcomes, [])

    def put_next_outcomes(self, rules: list[NextOutcome]) -> None:
        self._set("next_outcomes", codec.dump_next_outcomes(rules))

    def callback_faults(self) -> list[CallbackFault]:
        return self._get("callback_faults", codec.load_callback_faults, [])

    def put_callback_faults(self, faults: list[CallbackFault]) -> None:
        self._set("callback_faults", codec.dump_callback_faults(faults))

    @guarded
    def _get(self, name: str, load: Callable[[str], _R], default: _R) -> _R:
        text = self._call("GET", self._p + name)
        return default if text is None else load(text)

    @guarded
    def _set(self, name: str, text: str) -> None:
        self._call("SET", self._p + name, text)

    # --- journals ---------------------------------------------------------------------------

    def add_request(self, record: RequestRecord) -> None:
        self._push("requests", codec.dump_request(bounded(record)), self._request_limit)

    def requests(self) -> list[RequestRecord]:
        return [codec.load_request(t) for t in self._journal("requests", self._request_limit)]

    def add_attempt(self, attempt: Attempt) -> None:
        self._push("attempts", codec.dump_attempt(attempt), self._attempt_limit)

    def attempts(self) -> list[Attempt]:
        return [codec.load_attempt(t) for t in self._journal("attempts", self._attempt_limit)]

    @guarded
    def _push(self, name: str, text: str, limit: int) -> None:
        """One round trip: the list may hold up to `limit // 8 + 1` entries more than `limit`
        (`_journal` reads the newest `limit`); the push that goes past that trims it back, so
        a full journal costs a second round trip once every `limit // 8 + 1` pushes, not each."""
        if self._call("LPUSH", self._p + name, text) > limit + limit // 8 + 1:
            self._r.ltrim(self._p + name, 0, limit - 1)

    @guarded
    def _journal(self, name: str, limit: int) -> list[str]:
        return list(reversed(self._r.lrange(self._p + name, 0, limit - 1)))

    # --- the manual clock -------------------------------------------------------------------

    @guarded
    def clock_ms(self) -> int | None:
        text = self._r.get(self._p + "clock")
        return None if text is None else int(text)

    @guarded
    def set_clock_ms(self, now_ms: int) -> None:
        self._r.set(self._p + "clock", now_ms)
