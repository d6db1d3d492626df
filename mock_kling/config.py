"""The fake's settings: accounts, seed, lifecycle timings and limits, with development defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

DEV_ACCESS_KEY = "mock-access-key"
DEV_SECRET_KEY = "mock-secret-key-0123456789abcdef"  # 32 bytes, as HS256 wants
MAX_BODY_BYTES = 64 * 1024 * 1024  # 4 images of 10 MB in base64 (~56 MB) and the text fields
MEDIA_RETENTION_DAYS = 30


@dataclass
class Config:
    """Everything that shapes one fake instance; `serve` and fixtures build one of these."""

    key_pairs: dict[str, str] = field(default_factory=lambda: {DEV_ACCESS_KEY: DEV_SECRET_KEY})
    api_keys: list[str] = field(default_factory=list)
    seed: int | None = None  # None: drawn from the OS at start, and reported
    submitted_seconds: float = 2.0
    processing_seconds: float = 8.0
    max_body_bytes: int = MAX_BODY_BYTES
    public_url: str | None = None  # base of media URLs; None: the URL the request came to
