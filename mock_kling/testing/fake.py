"""A handle on one fake for test code: its URLs and credentials, time, outcomes, faults, limits
and journals, as Python objects."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask

from mock_kling.core.attempts import Attempt
from mock_kling.core.auth import make_token
from mock_kling.core.backend import Backend
from mock_kling.core.delivery import CallbackFault
from mock_kling.core.faults import FaultRule
from mock_kling.core.journal import RequestRecord
from mock_kling.core.limits import Limits
from mock_kling.core.outcomes import Outcome
from mock_kling.core.profiles import JWT, ROUTE
from mock_kling.core.rules import NextOutcome
from mock_kling.core.tasks import Task


class KlingFake:
    """What a test holds: `.api_url`, `.headers()`, `.advance(10)`, `.callbacks` ..."""

    def __init__(self, backend: Backend, base_url: str, app: Flask) -> None:
        self.backend = backend
        self.base_url = base_url.rstrip("/")
        self.app = app

    def httpx_transport(self) -> Any:
        """An httpx transport that reaches this fake in-process (needs httpx)."""
        from mock_kling.serve.inprocess import httpx_transport

        return httpx_transport(self.app)

    def async_httpx_transport(self) -> Any:
        """The same for `httpx.AsyncClient` (the app runs in a worker thread; needs httpx)."""
        from mock_kling.serve.inprocess import async_httpx_transport

        return async_httpx_transport(self.app)

    def requests_session(self) -> Any:
        """A requests.Session whose calls to `base_url` reach this fake in-process."""
        from mock_kling.serve.inprocess import requests_session

        return requests_session(self.app, self.base_url)

    # --- where and who -------------------------------------------------------------------------

    @property
    def reseller_url(self) -> str:
        """The resellers' base URL (`.../kling`), under which `/v1/...` is served too."""
        return self.base_url + "/kling"

    @property
    def api_url(self) -> str:
        """The create/list URL under the profile's prefix (`/v1` for the official API)."""
        return f"{self.base_url}{self.backend.profile.prefix}{ROUTE}"

    @property
    def access_key(self) -> str:
        return next(iter(self.backend.config.key_pairs))

    @property
    def secret_key(self) -> str:
        return self.backend.config.key_pairs[self.access_key]

    @property
    def api_key(self) -> str | None:
        keys = self.backend.config.api_keys
        return keys[0] if keys else None

    def token(self, ttl_seconds: int = 1800, access_key: str | None = None) -> str:
        """A JWT valid on the fake's clock now, as Kling's docs build one."""
        access_key = access_key or self.access_key
        secret = self.backend.config.key_pairs[access_key]
        return make_token(access_key, secret, self.backend.now_ms() / 1000, ttl_seconds)

    def headers(self, api_key: bool | None = None) -> dict[str, str]:
        """A fresh `Authorization` header: a JWT, or the first plain API key (the default for
        profiles that take only keys)."""
        if api_key is None:
            api_key = JWT not in self.backend.profile.auth
        credential = self.api_key if api_key else self.token()
        if credential is None:
            raise ValueError("this fake has no API key; give one with api_keys=[...]")
        return {"Authorization": f"Bearer {credential}"}

    # --- time ----------------------------------------------------------------------------------

    def now_ms(self) -> int:
        return self.backend.now_ms()

    def advance(self, seconds: float) -> None:
        """Move the manual clock on; every transition, callback and retry due runs, in order."""
        self.backend.advance(seconds)

    def run_until_settled(self, limit_seconds: float = 86_400) -> None:
        """Advance until every task that can end has ended and no callback is pending."""
        deadline = self.now_ms() + round(limit_seconds * 1000)
        for _ in range(100_000):
            due = self.backend.next_due_ms()
            if due is None:
                return
            if due > deadline:
                break
            self.advance(max(due - self.now_ms(), 0) / 1000)
        raise TimeoutError(f"not settled within {limit_seconds} s of fake time")

    # --- outcomes, faults, limits --------------------------------------------------------------

    def force_outcome(self, task_id: str, result: str = "succeed", **outcome: Any) -> Task:
        """Re-plan a running task: result succeed / fail / fail_at_submit / stuck, with
        optional message, submitted_seconds, processing_seconds."""
        return self.backend.force_outcome(task_id, Outcome.from_json({"result": result, **outcome}))

    def next_transition(self, task_id: str) -> Task:
        return self.backend.force_next_transition(task_id)

    def next_outcome(
        self, result: str = "succeed", count: int = 1, account: str | None = None, **outcome: Any
    ) -> None:
        """The outcome of the next `count` tasks (of `account`, or of any account)."""
        chosen = Outcome.from_json({"result": result, **outcome})
        self.backend.add_next_outcome(NextOutcome(chosen, account, count))

    def add_fault(self, **rule: Any) -> None:
        """A fault rule, as for POST /__mock__/faults: endpoint, code, latency_ms, drop, times..."""
        self.backend.add_fault_rule(FaultRule.from_json(rule))

    def add_callback_fault(
        self, action: str, seconds: float = 0.0, times: int = 1, task_id: str | None = None
    ) -> None:
        self.backend.add_callback_fault(CallbackFault(action, seconds, times, task_id))

    def set_limits(self, account: str | None = None, **limits: Any) -> Limits:
        """Change an account's limits (default: the first JWT account)."""
        return self.backend.set_limits(account or self.access_key, limits)

    # --- what happened -------------------------------------------------------------------------

    @property
    def tasks(self) -> list[Task]:
        """Every task of every account, newest first."""
        return self.backend.all_tasks()

    def task(self, task_id: str) -> Task:
        return self.backend.task(task_id)

    @property
    def requests(self) -> list[RequestRecord]:
        return self.backend.requests()

    @property
    def callbacks(self) -> list[Attempt]:
        return self.backend.attempts()

    def wait_for_callback(self, task_id: str, status: str, timeout: float = 5.0) -> Attempt:
        """The delivered callback for (task, status): returned as soon as it is in the journal."""

        def match(entry: Attempt) -> bool:
            return (entry.task_id, entry.status, entry.result) == (task_id, status, "delivered")

        started = time.monotonic()
        found = self.backend.wait_for_attempt(match, timeout)
        if found is None:
            seen = [(a.task_id, a.status, a.result) for a in self.callbacks]
            raise TimeoutError(
                f"no delivered {status!r} callback for task {task_id} within {timeout} s "
                f"(waited {time.monotonic() - started:.2f} s); journal: {seen}"
            )
        return found
