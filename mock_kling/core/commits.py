"""Read, decide, commit: the core's one way to change facts that another replica may change at
the same time (usage, the rule lists, limits, a new task), decided again while they move."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mock_kling.core.limits import Usage
from mock_kling.core.store import Change, Store, StoreError

_T = TypeVar("_T")
# Commits a decision may take before the fake gives up (each "changed" means another replica
# wrote one of the facts in between; a new task id can also collide with one just taken).
TRIES = 64


def commit_decided(store: Store, decide: Callable[[], tuple[Change, _T]]) -> _T:
    """Call `decide` (it reads the facts it needs and returns the change it decided and its
    result) and commit the change; read and decide again while the store answers that a fact
    moved or an id was taken meanwhile. The result of the decision that was written. Inside
    this process's `atomic()` group, so this process's threads do not race each other."""
    with store.atomic():
        for _ in range(TRIES):
            change, result = decide()
            if _nothing(change) or store.commit(change) == "done":
                return result
    raise StoreError("commit", f"gave up after {TRIES} tries: the facts kept changing")


def writable(store: Store, usage: Usage) -> Usage:
    """The usage to change, as read from `store`: a copy when the store is shared (the value as
    read must stay as read for the commit), else the store's own value, changed in place."""
    return usage.copy() if store.shared else usage


def _nothing(change: Change) -> bool:
    return change.task is None and change.counted is None and not change.deliveries and all(
        fact is None
        for fact in (
            change.usage, change.fault_rules, change.next_outcomes, change.callback_faults,
            change.limits,
        )
    )  # fmt: skip
