"""The callback queue as the tests drive it: the core Dispatcher over a MemoryStore, with the
operations the backend performs on them (enqueue, cancel, faults, journal) as plain methods."""

from __future__ import annotations

import json
from typing import Any

from mock_kling.callbacks.runner import ThreadRunner
from mock_kling.callbacks.sender import http_post
from mock_kling.core.attempts import Attempt
from mock_kling.core.clock import Clock, ManualClock
from mock_kling.core.delivery import CallbackFault, Delivery, DeliveryPolicy, Sender
from mock_kling.core.dispatch import Dispatcher
from mock_kling.core.events import Event
from mock_kling.store.memory import MemoryStore


class CallbackQueue:
    """A Dispatcher with its own store; errors inside it are kept in `errors`."""

    def __init__(
        self,
        clock: Clock,
        policy: DeliveryPolicy | None = None,
        sender: Sender = http_post,
        workers: int = 8,
        journal_limit: int = 100_000,
    ) -> None:
        self.store = MemoryStore(attempt_limit=journal_limit)
        self.clock = clock
        self.errors: list[BaseException] = []
        self.events: list[Event] = []
        self.dispatcher = Dispatcher(
            self.store, clock, sender, self.events.append, self._error, ThreadRunner(workers)
        )
        self.dispatcher.policy = policy or DeliveryPolicy()

    def _error(self, error: BaseException, where: str) -> None:
        self.errors.append(error)

    def enqueue(
        self, task_id: str, status: str, url: str, payload: dict[str, Any], due_ms: int
    ) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        with self.store.atomic():
            seq = self.store.next_delivery_seq()
            self.store.add_delivery(
                Delivery(seq, task_id, status, url, json.loads(body), body, due_ms, due_ms)
            )
        self.dispatcher.kick()

    def cancel_pending(self, task_id: str, after_ms: int | None = None) -> None:
        self.store.cancel_deliveries(task_id, -(2**62) if after_ms is None else after_ms)

    def add_fault(self, fault: CallbackFault) -> None:
        with self.store.atomic():
            self.store.put_callback_faults([*self.store.callback_faults(), fault])
        self.dispatcher.kick()

    def faults(self) -> list[CallbackFault]:
        return self.store.callback_faults()

    def journal(self) -> list[Attempt]:
        return sorted(self.store.attempts(), key=Attempt.sort_key)

    def pending(self) -> int:
        return self.store.pending_deliveries()

    def next_due_ms(self) -> int | None:
        return self.store.next_delivery_ms()

    def reset(self) -> None:
        with self.store.atomic():
            self.dispatcher.reset()
            self.store.reset()

    def settle(self, target_ms: int) -> int:
        """Advance the (manual) clock to `target_ms`, running what falls due on the way."""
        assert isinstance(self.clock, ManualClock)
        return self.dispatcher.settle(max(0, target_ms - self.clock.now_ms()), self.clock.add_ms)

    def run_due(self) -> int:
        return self.dispatcher.run_due()

    def start_background(self) -> None:
        self.dispatcher.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.dispatcher.stop(timeout)

    def wait_idle(self, timeout: float) -> bool:
        return self.dispatcher.wait_idle(timeout)

    def wait_for(self, match: Any, timeout: float) -> Attempt | None:
        return self.dispatcher.wait_for(match, timeout)
