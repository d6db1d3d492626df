"""The fake's settings: accounts, seed, lifecycle, outcomes, limits and callback delivery, with
development defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

from mock_kling.core.calibration import Calibration
from mock_kling.core.limits import Limits

DEV_ACCESS_KEY = "mock-access-key"
DEV_SECRET_KEY = "mock-secret-key-0123456789abcdef"  # 32 bytes, as HS256 wants
DEV_API_KEY = "sk-mock-kling"  # the resellers' profiles take plain keys
MAX_BODY_BYTES = 64 * 1024 * 1024  # 4 images of 10 MB in base64 (~56 MB) and the text fields
MEDIA_RETENTION_DAYS = 30


@dataclass
class Config:
    """Everything that shapes one fake instance; `serve` and fixtures build one of these."""

    key_pairs: dict[str, str] = field(default_factory=lambda: {DEV_ACCESS_KEY: DEV_SECRET_KEY})
    api_keys: list[str] = field(default_factory=list)
    seed: int | None = None  # None: drawn from the OS at start, and reported
    profile: str = "official"  # the vendor whose API the fake plays (mock_kling.core.profiles)
    submitted_seconds: float = 2.0
    processing_seconds: float = 8.0
    outcome: str = "succeed"  # every task's result unless chosen otherwise
    failure_rate: float = 0.0  # share of tasks that fail at processing (seeded)
    failure_message: str = ""  # task_status_msg of failed tasks; "" = a Kling-like default
    limits: Limits = field(default_factory=Limits)  # every account's limits at start
    callback_attempts: int = 5
    callback_backoff_seconds: float = 1.0
    callback_timeout_seconds: float = 5.0
    callback_hosts: tuple[str, ...] | None = None  # hosts callbacks may go to; None: any
    max_body_bytes: int = MAX_BODY_BYTES
    public_url: str | None = None  # base of media URLs; None: the URL the request came to
    journal_limit: int = 10_000
    calibration: Calibration | None = None  # recorded timings and failures (mock-kling calibrate)
