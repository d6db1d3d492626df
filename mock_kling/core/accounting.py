"""The backend's accounting half: account limits and usage, fault rules and callback faults
set through the control API, where callbacks may go, and restoring saved state."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from mock_kling.core.attempts import Attempt
from mock_kling.core.clock import Clock, ManualClock
from mock_kling.core.config import Config
from mock_kling.core.delivery import CallbackFault
from mock_kling.core.errors import KlingError
from mock_kling.core.events import Event, LimitsChanged
from mock_kling.core.faults import FaultRule
from mock_kling.core.ids import IdSource
from mock_kling.core.journal import RequestRecord
from mock_kling.core.limits import Limits
from mock_kling.core.store import Store
from mock_kling.core.tasks import Task


class Accounting:
    """Mixed into Backend, whose constructor sets these fields."""

    _store: Store
    _clock: Clock
    _config: Config
    _ids: IdSource
    _emit: Callable[[Event], None]
    now_ms: Callable[[], int]

    # --- limits and usage -----------------------------------------------------------------------

    def limits(self, account_id: str) -> Limits:
        return self._store.limits(account_id) or self._config.limits

    def set_limits(self, account_id: str, data: Any) -> Limits:
        """Change an account's limits from control-API JSON (ValueError when bad)."""
        with self._store.atomic():
            limits = self.limits(account_id).updated(data)
            self._store.set_limits(account_id, limits)
            self._emit(LimitsChanged(account_id, limits))
            return limits

    def changed_limits(self) -> dict[str, Limits]:
        """Accounts whose limits were changed through the control API."""
        return self._store.changed_limits()

    def usage(self, account_id: str) -> dict[str, Any]:
        with self._store.atomic():
            usage = self._store.usage(account_id)
            running = usage.running(self.now_ms())
            self._store.put_usage(account_id, usage)
            return {"running": running, "units_spent": usage.spent}

    # --- fault rules and callback faults --------------------------------------------------------

    def add_fault_rule(self, rule: FaultRule) -> None:
        with self._store.atomic():
            self._store.put_fault_rules([*self._store.fault_rules(), rule])

    def fault_rules(self) -> list[FaultRule]:
        return self._store.fault_rules()

    def clear_fault_rules(self) -> None:
        self._store.put_fault_rules([])

    def add_callback_fault(self, fault: CallbackFault) -> None:
        with self._store.atomic():
            self._store.put_callback_faults([*self._store.callback_faults(), fault])

    def callback_faults(self) -> list[CallbackFault]:
        """Callback faults not used up yet, with their remaining `times`."""
        return self._store.callback_faults()

    # --- restoring saved state ------------------------------------------------------------------

    def restore(
        self,
        tasks: Iterable[Task],
        requests: Iterable[RequestRecord] = (),
        attempts: Iterable[Attempt] = (),
        clock_ms: int | None = None,
    ) -> None:
        """Take back tasks and journals saved by an earlier run (tasks keep their ids); a manual
        clock resumes at `clock_ms`."""
        store = self._store
        with store.atomic():
            if clock_ms is not None and isinstance(self._clock, ManualClock):
                self._clock.reset_to(clock_ms)  # resumes where it was, however long the restart
                store.set_clock_ms(clock_ms)
            for task in tasks:
                store.add_task(task)
                self._ids.reserve(task.task_id, task.video_id)
                usage = store.usage(task.account_id)
                usage.track(task)
                usage.spent += float(task.request.unit_cost)
                store.put_usage(task.account_id, usage)
            for record in requests:
                store.add_request(record)
            for attempt in attempts:
                store.add_attempt(attempt)

    # --- internals ------------------------------------------------------------------------------

    def _check_callback_host(self, url: str | None) -> None:
        allowed = self._config.callback_hosts
        host = urlsplit(url).hostname if url is not None else None
        if allowed is not None and host is not None and host.lower() not in allowed:
            shown = host if len(host) <= 100 else host[:100] + "..."
            raise KlingError(
                1201,
                f"callback_url host {shown!r} is not allowed on this server "
                f"(allowed: {', '.join(allowed) or 'none'})",
            )
