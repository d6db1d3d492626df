"""Rules set through the control API: the outcome of the next N tasks of an account, and how
any rule with a limited number of uses is used up."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TypeVar

from mock_kling.core.outcomes import Outcome

Rule = TypeVar("Rule")


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


def used_once(rules: list[Rule], index: int, uses_field: str) -> list[Rule]:
    """The rules after `rules[index]` was used once: its uses (`uses_field`; None: unlimited)
    go down by one, and a rule with none left goes."""
    left = getattr(rules[index], uses_field)
    rules = list(rules)
    if left is not None and left > 1:
        rules[index] = replace(rules[index], **{uses_field: left - 1})  # type: ignore[type-var]
    elif left is not None:
        del rules[index]
    return rules
