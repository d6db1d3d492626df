"""Fault and latency injection: rules per endpoint that answer with a service code, add latency
or drop the connection, for the next N requests or with a seeded probability."""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, replace
from typing import Any

from mock_kling.core.errors import SERVICE_CODES

ENDPOINTS = ("create", "query", "list", "any")
_FIELDS = {"endpoint", "code", "message", "latency_ms", "drop", "times", "probability", "account"}


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

    @classmethod
    def from_json(cls, data: Any) -> FaultRule:
        """Read a rule from control-API JSON; ValueError names the bad field."""
        if not isinstance(data, dict):
            raise ValueError("a fault rule must be an object")
        unknown = set(data) - _FIELDS
        if unknown:
            raise ValueError(f"fault rule has unknown fields: {', '.join(sorted(unknown))}")
        rule = cls(
            endpoint=_choice(data.get("endpoint", "any"), "endpoint", ENDPOINTS),
            code=_code(data.get("code")),
            message=_text(data.get("message", ""), "message"),
            latency_ms=_latency(data.get("latency_ms")),
            drop=_flag(data.get("drop", False)),
            times=_times(data.get("times")),
            probability=_probability(data.get("probability", 1.0)),
            account=_optional_text(data.get("account"), "account"),
        )
        if rule.code is None and rule.latency_ms is None and not rule.drop:
            raise ValueError("a fault rule needs code, latency_ms or drop")
        return rule


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
        left = list(rules)
        if rule.times is not None:
            if rule.times > 1:
                left[index] = replace(rule, times=rule.times - 1)
            else:
                del left[index]
        return _fault(rule, rng), left
    return None, rules


def _fault(rule: FaultRule, rng: random.Random) -> Fault:
    latency = 0.0
    if rule.latency_ms is not None:
        latency = rng.uniform(*rule.latency_ms) / 1000
    message = rule.message or (
        f"injected fault: {SERVICE_CODES[rule.code].meaning}" if rule.code else ""
    )
    return Fault(latency, rule.code, message, rule.drop)


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
    return str(value)


def _code(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in SERVICE_CODES:
        raise ValueError(f"code must be a Kling service code other than 0 (got {value!r})")
    if value == 0:
        raise ValueError("code must be a Kling service code other than 0 (got 0)")
    return value


def _latency(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    low_high = value if isinstance(value, list) else [value, value]
    if len(low_high) != 2 or not all(_is_number(v) and 0 <= v <= 600_000 for v in low_high):
        raise ValueError("latency_ms must be a number or [low, high] in [0, 600000]")
    low, high = sorted(float(v) for v in low_high)
    return low, high


def _times(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("times must be a positive integer or null")
    return value


def _probability(value: Any) -> float:
    if not _is_number(value) or not 0 <= value <= 1:
        raise ValueError("probability must be a number in [0, 1]")
    return float(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("drop must be true or false")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def _optional_text(value: Any, name: str) -> str | None:
    return None if value is None else _text(value, name)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
