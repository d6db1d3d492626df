"""The composition root of one fake: a Backend wired to the contracts, a store, the callback
sender and the threads that send. Every way of running the fake (serve, fixtures, tests,
benchmarks) builds it here."""

from __future__ import annotations

from mock_kling.apispec import derived
from mock_kling.callbacks.runner import ThreadRunner
from mock_kling.callbacks.sender import http_post
from mock_kling.core.backend import Backend
from mock_kling.core.clock import Clock, ManualClock, StoreClock, SystemClock
from mock_kling.core.config import Config
from mock_kling.core.delivery import Sender
from mock_kling.core.refusals import Contract
from mock_kling.core.store import Store
from mock_kling.store.memory import MemoryStore


def build_backend(
    config: Config | None = None,
    clock: Clock | None = None,
    *,
    store: Store | None = None,
    sender: Sender = http_post,
) -> Backend:
    """A fake Kling's state and operations: in memory unless `store` is given, sending callbacks
    over HTTP unless `sender` is given."""
    config = config or Config()
    chosen: Store = store if store is not None else MemoryStore(config.journal_limit)
    return Backend(
        config, clock, store=chosen, sender=sender, runner=ThreadRunner(),
        create_validator=_create_validator,
    )  # fmt: skip


def _create_validator(profile_name: str) -> Contract:
    return derived.create_contract(profile_name)


def make_clock(kind: str, store: Store) -> Clock:
    """The clock `serve --clock KIND` runs on: system time; or a manual clock, kept in the store
    when the store is shared (replicas advance one time), else in memory (fast)."""
    if kind != "manual":
        return SystemClock()
    start_ms = SystemClock().now_ms()
    if not store.shared:
        return ManualClock(start_ms)
    return StoreClock(store, start_ms)
