"""Hypothesis profiles of the suite: "dev" (default), "ci" (more examples, chosen when CI=true)
and "remote" (few examples, no deadline, no shrinking: every example may cost money)."""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, Phase, settings

_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
# Built on Hypothesis' defaults, not on whatever profile is loaded (Hypothesis loads its own "ci"
# profile when it detects CI): the suite behaves the same on a laptop and in CI.
_BASE = settings.get_profile("default")

settings.register_profile(
    "dev",
    parent=_BASE,
    max_examples=20,
    stateful_step_count=20,
    deadline=timedelta(seconds=5),
    suppress_health_check=_SLOW,
    report_multiple_bugs=False,
)
settings.register_profile(
    "ci",
    parent=_BASE,
    derandomize=True,  # reproducible runs
    max_examples=50,
    stateful_step_count=25,
    deadline=timedelta(seconds=10),
    suppress_health_check=_SLOW,
    report_multiple_bugs=False,
    database=None,
)
settings.register_profile(
    "remote",
    parent=_BASE,
    max_examples=3,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=_SLOW,
    report_multiple_bugs=False,
    phases=(Phase.explicit, Phase.generate),
    database=None,
)


def choose(given: str | None, remote: bool) -> str:
    """--hypothesis-profile when given, else remote for a real API, ci under CI, else dev."""
    if given:
        return given
    if remote:
        return "remote"
    return "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev"


def get(name: str) -> settings:
    return settings.get_profile(name)
