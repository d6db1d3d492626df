"""Outcome rules set through the control API: the outcome of the next N tasks of an account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mock_kling.core.outcomes import Outcome


@dataclass(frozen=True)
class NextOutcome:
    """An outcome waiting for the next `count` tasks of `account` (None: any account)."""

    outcome: Outcome
    account: str | None = None
    count: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome.to_json(), "account": self.account, "count": self.count}

    def applies_to(self, account: str) -> bool:
        return self.account in (None, account)
