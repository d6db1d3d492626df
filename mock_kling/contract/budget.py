"""The cap on accepted submits: every accepted create on a real API is a paid task."""

from __future__ import annotations

import unittest


class BudgetExhausted(unittest.SkipTest):
    """A check needs more accepted submits than the cap leaves. The pytest plugin reports it as a
    skip with this reason; being a SkipTest, Hypothesis re-raises it instead of shrinking it."""


class SubmitBudget:
    """Counts accepted submits against a cap (None: unlimited, as for the fake)."""

    def __init__(self, cap: int | None) -> None:
        self.cap = cap
        self.accepted = 0

    @property
    def remaining(self) -> int | None:
        return None if self.cap is None else max(0, self.cap - self.accepted)

    def allows(self, count: int) -> bool:
        remaining = self.remaining
        return remaining is None or remaining >= count

    def require(self, count: int) -> None:
        """Raise BudgetExhausted (a skip) unless `count` more submits may be accepted."""
        if not self.allows(count):
            raise BudgetExhausted(
                f"needs {count} accepted submit{'s' if count != 1 else ''}; "
                f"--kling-max-submits allows {self.remaining} more (cap {self.cap})"
            )

    def affordable(self, wanted: int) -> int:
        """How many of `wanted` one-submit examples fit in what is left."""
        remaining = self.remaining
        return wanted if remaining is None else min(wanted, remaining)

    def count(self, accepted: bool) -> None:
        if accepted:
            self.accepted += 1
