"""The banner `mock-kling serve` prints once it listens: its URLs, accounts and a curl to try."""

from __future__ import annotations

from mock_kling.core.backend import Backend
from mock_kling.core.config import DEV_ACCESS_KEY
from mock_kling.core.profiles import JWT, ROUTE, V1
from mock_kling.core.version import __version__
from mock_kling.http.routes import UI


def banner(base_url: str, backend: Backend, clock_kind: str, workers: int = 1) -> str:
    """What `serve` prints once it listens: where, who, and a first request to try."""
    config, profile = backend.config, backend.profile
    lines = [
        f"mock-kling {__version__} listening on {base_url}",
        f"  profile {profile.name}: {profile.title}; seed {backend.seed}; clock {clock_kind}",
    ]
    if workers > 1:
        lines.append(
            f"  {workers} workers on this port sharing the store (seeds from {backend.seed})"
        )
    lines += [f"  API: {base_url}{prefix}{ROUTE}" for prefix in profile.prefixes]
    lines.append(f"  control: {base_url}/__mock__/openapi.json")
    lines.append(f"  dashboard: {base_url}{UI}")
    if JWT in profile.auth:
        for access_key, secret_key in config.key_pairs.items():
            lines.append(f"  JWT account: access key {access_key!r}, secret key {secret_key!r}")
    lines += [f"  API key account: {key!r}" for key in config.api_keys]
    if JWT in profile.auth and DEV_ACCESS_KEY in config.key_pairs:
        lines.append(
            f'  try: curl -H "Authorization: Bearer $(mock-kling token)" '
            f'"{base_url}{V1}{ROUTE}?pageNum=1&pageSize=10"'
        )
    return "\n".join(lines)


def url_host(host: str) -> str:
    """A host as it stands in a URL (IPv6 addresses in brackets)."""
    return f"[{host}]" if ":" in host else host
