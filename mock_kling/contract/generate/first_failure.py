"""Hypothesis without repeats on a paid target: it re-runs a failing example to report it, which
would send (and bill) its create again; here the first violation is kept and raised after the
run instead, and later examples send nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from mock_kling.contract.client.budget import BudgetExhausted
from mock_kling.contract.scenarios.checks import ContractViolation


class FirstFailure:
    """Active (a target that bills): examples run in `guard()` keep the first ContractViolation
    and swallow it; `halted` tells later examples to do nothing; `run()` raises it at the end.
    Inactive (a fake): violations pass straight through, so Hypothesis can shrink them."""

    def __init__(self, active: bool) -> None:
        self.active = active
        self.error: ContractViolation | None = None

    @property
    def halted(self) -> bool:
        return self.error is not None

    @contextmanager
    def guard(self) -> Iterator[None]:
        try:
            yield
        except ContractViolation as violation:
            if not self.active:
                raise
            self.error = self.error or violation

    def run(self, test: Callable[[], None]) -> None:
        """Run a Hypothesis test, then raise the first violation kept (also over a later skip:
        the cap running out after a failure does not hide it)."""
        try:
            test()
        except BudgetExhausted:
            self.raise_kept()
            raise
        self.raise_kept()

    def raise_kept(self) -> None:
        if self.error is not None:
            raise self.error
