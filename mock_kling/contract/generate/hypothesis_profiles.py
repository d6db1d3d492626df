"""The suite's Hypothesis profiles, under names of their own: "mock-kling-dev" (default),
"mock-kling-ci" (more examples, chosen when CI=true) and "mock-kling-remote" (few examples, no
deadline, no shrinking: every example may cost money). `register()` adds them; nothing happens
on import, and no profile is ever loaded: the suite hands its settings to its own tests, so a
session's loaded profile (a user's "dev", Hypothesis' own "ci") stays as it was."""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, Phase, settings

DEV, CI, REMOTE = "mock-kling-dev", "mock-kling-ci", "mock-kling-remote"
NAMES = (DEV, CI, REMOTE)
_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def register() -> None:
    """Register the three profiles (again: the same values). Built on Hypothesis' defaults, not
    on whatever profile is loaded: the suite behaves the same on a laptop and in CI."""
    base = settings.get_profile("default")
    settings.register_profile(
        DEV,
        parent=base,
        max_examples=20,
        stateful_step_count=20,
        deadline=timedelta(seconds=5),
        suppress_health_check=_SLOW,
        report_multiple_bugs=False,
    )
    settings.register_profile(
        CI,
        parent=base,
        derandomize=True,  # reproducible runs
        max_examples=50,
        stateful_step_count=25,
        deadline=timedelta(seconds=10),
        database=None,
        suppress_health_check=_SLOW,
        report_multiple_bugs=False,
    )
    settings.register_profile(
        REMOTE,
        parent=base,
        max_examples=3,
        stateful_step_count=8,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),
        database=None,
        suppress_health_check=_SLOW,
        report_multiple_bugs=False,
    )


def choose(given: str | None, remote: bool) -> str:
    """--hypothesis-profile when given, else remote for a real API, ci under CI, else dev."""
    if given:
        return given
    if remote:
        return REMOTE
    return CI if os.environ.get("CI", "").lower() in ("1", "true", "yes") else DEV


def get(name: str) -> settings:
    """Profile `name`; the suite's own are registered on first use."""
    if name in NAMES:
        register()
    return settings.get_profile(name)
