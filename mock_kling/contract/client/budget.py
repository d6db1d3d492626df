"""The caps on creates: accepted submits (each a paid task on a real API) and create probes that
a target looser than the docs may bill."""

from __future__ import annotations

import unittest


class BudgetExhausted(unittest.SkipTest):
    """A check needs a create the caps do not allow. The pytest plugin reports it as a skip with
    this reason; being a SkipTest, Hypothesis re-raises it instead of shrinking it."""


class SubmitBudget:
    """Counts creates sent against a cap (None: unlimited, as for the fake). `flag` names the
    option that sets the cap; `what` says what is counted."""

    def __init__(
        self, cap: int | None, flag: str = "--kling-max-submits", what: str = "accepted submit"
    ) -> None:
        self.cap = cap
        self.accepted = 0
        self.flag = flag
        self.what = what

    @property
    def remaining(self) -> int | None:
        return None if self.cap is None else max(0, self.cap - self.accepted)

    def allows(self, count: int) -> bool:
        remaining = self.remaining
        return remaining is None or remaining >= count

    def require(self, count: int) -> None:
        """Raise BudgetExhausted (a skip) unless `count` more may be counted."""
        if not self.allows(count):
            raise BudgetExhausted(
                f"needs {count} {self.what}{'s' if count != 1 else ''}; "
                f"{self.flag} allows {self.remaining} more (cap {self.cap})"
            )

    def affordable(self, wanted: int) -> int:
        """How many of `wanted` one-create examples fit in what is left."""
        remaining = self.remaining
        return wanted if remaining is None else min(wanted, remaining)

    def count(self, accepted: bool) -> None:
        if accepted:
            self.accepted += 1
