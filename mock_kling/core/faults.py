"""Fault and latency injection: rules per endpoint that answer with a service code, add latency
or drop the connection, for the next N requests or with a seeded probability."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mock_kling.core.errors import SERVICE_CODES
from mock_kling.core.rules import used_once

ENDPOINTS = ("create", "query", "list", "any")


@dataclass(frozen=True)
class FaultRule:
    """One injected fault. Effects: latency first, then a dropped connection or a code."""

    endpoint: str = "any"
    code: int | None = None
    message: str = ""
    latency_ms: tuple[float, float] | None = None  # (low, high): uniform, seeded
    drop: bool = False
    times: int | None = None  # apply to this many matching requests, then expire
    probability: float = 1.0
    account: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["latency_ms"] = None if self.latency_ms is None else list(self.latency_ms)
        return data

    def __post_init__(self) -> None:
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)}")
        if self.code is not None and (self.code == 0 or self.code not in SERVICE_CODES):
            raise ValueError("code must be a Kling service code other than 0")
        if not 0 <= self.probability <= 1:
            raise ValueError("probability must be in [0, 1]")
        if self.code is None and self.latency_ms is None and not self.drop:
            raise ValueError("a fault rule needs code, latency_ms or drop")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultRule:
        """A rule from JSON the control contract accepted (control/fault_rule.json)."""
        fields = dict(data)
        latency = fields.get("latency_ms")
        if latency is not None:
            low_high = latency if isinstance(latency, list) else [latency, latency]
            fields["latency_ms"] = tuple(sorted(float(v) for v in low_high))
        if fields.get("times") is not None:
            fields["times"] = int(fields["times"])  # 2.0 is the integer 2 in JSON
        fields["probability"] = float(fields.get("probability", 1.0))
        return cls(**fields)


@dataclass(frozen=True)
class Fault:
    """What to do to one request."""

    latency_s: float = 0.0
    code: int | None = None
    message: str = ""
    drop: bool = False


def take_fault(
    rules: list[FaultRule], endpoint: str, account: str | None, rng: random.Random
) -> tuple[Fault | None, list[FaultRule]]:
    """The fault for this request if a rule fires (rules are matched in order), and the rules
    left afterwards (a rule's `times` used up by one)."""
    for index, rule in enumerate(rules):
        if rule.endpoint not in ("any", endpoint):
            continue
        if rule.account is not None and rule.account != account:
            continue
        if rule.probability < 1 and rng.random() >= rule.probability:
            continue
        return _fault(rule, rng), used_once(rules, index, "times")
    return None, rules


def _fault(rule: FaultRule, rng: random.Random) -> Fault:
    latency = 0.0
    if rule.latency_ms is not None:
        latency = rng.uniform(*rule.latency_ms) / 1000
    message = rule.message or (
        f"injected fault: {SERVICE_CODES[rule.code].meaning}" if rule.code else ""
    )
    return Fault(latency, rule.code, message, rule.drop)
