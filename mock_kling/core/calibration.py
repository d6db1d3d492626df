"""A recorded API's behaviour as data (time in each state, failures), sampled per task with the
seed: what `serve --calibration` plays instead of fixed timings."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mock_kling.core.outcomes import Outcome

_ALL = "*"  # the samples of every mode and duration


@dataclass(frozen=True)
class Samples:
    """Observed seconds in `submitted` and in `processing` (each non-empty, or both empty)."""

    submitted: tuple[float, ...] = ()
    processing: tuple[float, ...] = ()


@dataclass(frozen=True)
class Calibration:
    """Empirical timings by `mode/duration` (`*`: all), failure rate and failure messages."""

    samples: Mapping[str, Samples] = field(default_factory=dict)
    failure_rate: float = 0.0
    failure_messages: tuple[str, ...] = ()  # with repeats, as observed

    def outcome(self, rng: random.Random, mode: str, duration: str) -> Outcome:
        """One task's outcome: timings drawn from the recorded ones of its kind (else of all),
        failing at the recorded rate with a recorded message."""
        kind = self.samples.get(f"{mode}/{duration}") or self.samples.get(_ALL) or Samples()
        submitted = _draw(rng, kind.submitted)
        processing = _draw(rng, kind.processing)
        if self.failure_rate > 0 and rng.random() < self.failure_rate:
            message = rng.choice(self.failure_messages) if self.failure_messages else ""
            return Outcome("fail", message, submitted, processing)
        return Outcome("succeed", "", submitted, processing)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Calibration:
        """A calibration from `mock-kling calibrate`'s JSON (extra keys are for people)."""
        timings = data.get("timings", {})
        samples = {
            kind: Samples(
                _floats(value.get("submitted_seconds")), _floats(value.get("processing_seconds"))
            )
            for kind, value in timings.items()
        }
        messages = data.get("failure_messages", {})
        repeated = tuple(m for m, count in messages.items() for _ in range(int(count)))
        return cls(samples, float(data.get("failure_rate", 0.0)), repeated)


def _draw(rng: random.Random, values: Sequence[float]) -> float | None:
    return rng.choice(values) if values else None


def _floats(values: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in values or ())
