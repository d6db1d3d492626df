"""Store implementations, and `open_store`: the one place a store URL is read."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

from mock_kling.core.store import Store
from mock_kling.store.memory import MemoryStore

SCHEMES = ("memory", "sqlite:///PATH", "redis://HOST:PORT/DB", "unix:///SOCKET")


class StoreUrlError(ValueError):
    """A store URL that names no store this build can open."""


def open_store(url: str, journal_limit: int = 10_000) -> Store:
    """The store a URL names: `memory` (the default); `sqlite:///relative/fake.db`,
    `sqlite:////absolute/fake.db` (as SQLAlchemy writes them; `?timeout=SECONDS`: how long to
    wait for a database another process holds locked, default 5); `redis://host:port/db` or
    `unix:///path/redis.sock?db=0`, any node of a Redis Cluster (`?namespace=` one tenant's keys,
    `lease=`)."""
    if url == "memory":
        return MemoryStore(journal_limit)
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return _sqlite(url, parts.netloc, parts.path, parts.query, journal_limit)
    if parts.scheme in ("redis", "rediss", "unix"):
        return _redis(url, journal_limit)
    raise StoreUrlError(f"unknown store {url!r}: use one of {', '.join(SCHEMES)}")


def _sqlite(url: str, host: str, path: str, query: str, journal_limit: int) -> Store:
    from mock_kling.store.sqlite import SqliteStore  # only a sqlite URL needs it

    if host or len(path) < 2:
        raise StoreUrlError(f"bad store {url!r}: write sqlite:///path/to/fake.db")
    options = parse_qs(query)
    try:
        timeout = float(options.pop("timeout", ["5"])[-1])
    except ValueError:
        raise StoreUrlError(f"bad store {url!r}: timeout must be a number of seconds") from None
    if options:
        raise StoreUrlError(f"bad store {url!r}: unknown option {', '.join(options)}")
    return SqliteStore(path[1:], url=url, busy_timeout=timeout, request_limit=journal_limit)


def _redis(url: str, journal_limit: int) -> Store:
    try:
        from mock_kling.store.redis import open_redis  # only a redis URL needs redis-py
    except ImportError:
        raise StoreUrlError(
            f"store {url!r} needs redis-py: pip install 'mock-kling[redis]'"
        ) from None
    try:
        # i20r's RedisStore gains add_clock_ms / raise_clock_ms (issue 20); the lead drops this
        return open_redis(url, request_limit=journal_limit)
    except ValueError as exc:
        raise StoreUrlError(f"bad store {url!r}: {exc}") from None


def sqlite_url(path: str) -> str:
    """The store URL of a database file (`--state FILE`)."""
    return "sqlite:///" + os.path.abspath(path)
