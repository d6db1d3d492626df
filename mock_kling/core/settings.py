"""What the parts of one fake read of its current settings: the config and what derives from it
(timings, the seeded randomness, where media links point). The Backend owns one and changes it in
place on `reconfigure`, `reset` and `serve_at`; its parts hold the same object."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from mock_kling.core.config import Config
from mock_kling.core.outcomes import Timings


@dataclass
class Settings:
    """The fake's settings now (mutable: one owner, the Backend)."""

    config: Config = field(default_factory=Config)
    timings: Timings = field(default_factory=Timings)
    base_url: str = "http://localhost"  # where result videos are served from
    outcome_random: random.Random = field(default_factory=random.Random)
    fault_random: random.Random = field(default_factory=random.Random)
