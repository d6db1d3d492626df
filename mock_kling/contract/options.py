"""The suite's options (`--kling-*`, each also read from an environment variable) and the target
they describe."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from mock_kling.contract.budget import SubmitBudget
from mock_kling.contract.credentials import Credentials
from mock_kling.contract.target import PREFIXES, PROBES_FLAG, Target
from mock_kling.contract.transport import HttpTransport, Transport, WsgiTransport
from mock_kling.core import profiles
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import DEV_ACCESS_KEY, DEV_API_KEY, DEV_SECRET_KEY, Config
from mock_kling.http.app import backend_of, create_app


@dataclass(frozen=True)
class Option:
    """One `--kling-NAME` option and its environment variable."""

    name: str
    env: str
    help: str
    type: Any = str
    choices: tuple[str, ...] | None = None


OPTIONS = (
    Option("base-url", "KLING_BASE_URL", "Base URL of the target; default: an in-process fake."),
    Option("access-key", "KLING_ACCESS_KEY", "JWT access key (iss)."),
    Option("secret-key", "KLING_SECRET_KEY", "JWT secret key (signs HS256)."),
    Option("api-key", "KLING_API_KEY", "Plain bearer key (resellers) instead of a JWT."),
    Option(
        "profile",
        "KLING_PROFILE",
        "Vendor profile (mock_kling.core.profiles): prefix, auth and contracts; default official.",
        choices=tuple(profiles.PROFILES),
    ),
    Option("prefix", "KLING_PREFIX", "API path prefix (/v1 or /kling/v1); default: the profile's."),
    Option(
        "max-submits",
        "KLING_MAX_SUBMITS",
        "Cap on accepted (paid) submits; default 0 for a remote API, unlimited for the fake.",
        type=int,
    ),
    Option(
        "allow-billable-probes",
        "KLING_ALLOW_BILLABLE_PROBES",
        "Create requests meant to be refused (negative, auth) that may be sent to a real API: a "
        "target looser than the docs may accept and bill each one; default 0.",
        type=int,
    ),
    Option("report", "KLING_REPORT_DIR", "Write report.json and report.md into this folder."),
    Option(
        "public-url",
        "KLING_PUBLIC_URL",
        "Public URL that reaches the suite's local server (image URLs, callbacks) from a real API.",
    ),
    Option("receiver-port", "KLING_RECEIVER_PORT", "Port of the local server (default: any).", int),
    Option("poll-budget", "KLING_POLL_BUDGET", "Seconds to wait for a remote task (600).", float),
    Option("poll-interval", "KLING_POLL_INTERVAL", "Seconds between remote polls (5).", float),
    Option("timeout", "KLING_TIMEOUT", "Seconds per HTTP request (30).", float),
    Option("app", "KLING_APP", "In-process target: a WSGI app factory 'module:callable'."),
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("kling", "Kling contract suite")
    for option in OPTIONS:
        group.addoption(
            f"--kling-{option.name}",
            dest=dest(option.name),
            type=option.type,
            choices=option.choices,
            default=None,
            help=f"{option.help} [env {option.env}]",
        )


def dest(name: str) -> str:
    return "kling_" + name.replace("-", "_")


def value(config: pytest.Config, name: str) -> Any:
    """The option's value, else its environment variable's (converted), else None."""
    given = config.getoption(dest(name))
    if given is not None:
        return given
    option = next(o for o in OPTIONS if o.name == name)
    raw = os.environ.get(option.env)
    if raw is None or raw == "":
        return None
    try:
        return option.type(raw)
    except ValueError:
        raise pytest.UsageError(
            f"{option.env}={raw!r} is not a valid {option.type.__name__}"
        ) from None


def build_target(config: pytest.Config) -> Target:
    """The target the options describe (an in-process fake unless --kling-base-url is given)."""
    profile = value(config, "profile") or "official"
    prefix = value(config, "prefix") or profiles.get(profile).prefix
    base_url, cap = value(config, "base-url"), value(config, "max-submits")
    allowed = value(config, "allow-billable-probes")
    probes = None if allowed is None else SubmitBudget(allowed, PROBES_FLAG, "create probe")
    credentials = _credentials(config, profile)
    budget = None if cap is None else SubmitBudget(cap)
    if base_url is None:
        app = _app_factory(config)
        return in_process_target(credentials, prefix, budget, app, profile, probes)
    transport = HttpTransport(base_url, value(config, "timeout") or 30.0)
    try:
        target = Target(
            transport,
            credentials,
            prefix=prefix,
            profile=profile,
            budget=budget,
            probes=probes,
            name=base_url,
        )
    except requests.RequestException as exc:
        transport.close()
        raise pytest.UsageError(f"cannot reach {base_url}: {_reason(exc)}") from None
    if not target.is_fake and _missing(config):
        target.close()
        raise pytest.UsageError(
            f"{base_url} is not a mock-kling fake: give credentials, KLING_ACCESS_KEY + "
            "KLING_SECRET_KEY (JWT) or KLING_API_KEY"
        )
    _check_prefix(target, base_url)
    return target


def _check_prefix(target: Target, base_url: str) -> None:
    """A list request (free) under the prefix must find the endpoint: a 404 or 405 there means
    the prefix is wrong; the other prefixes are tried to say which one answers."""
    if target.request("GET", target.api_path()).status not in (404, 405):
        return
    others = [p for p in PREFIXES if p != target.prefix]
    found = [p for p in others if _answers(target, p)]
    target.close()
    hint = f"; {found[0]} answers: give --kling-prefix {found[0]}" if found else ""
    raise pytest.UsageError(
        f"{base_url}{target.api_path()} is not found (HTTP 404/405): wrong prefix "
        f"{target.prefix} (--kling-prefix, or --kling-profile for a reseller){hint}"
    )


def _answers(target: Target, prefix: str) -> bool:
    path = prefix + target.api_path().removeprefix(target.prefix)
    return target.request("GET", path).status not in (404, 405)


def _reason(exc: requests.RequestException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."


def in_process_target(
    credentials: Credentials | None = None,
    prefix: str | None = None,
    budget: SubmitBudget | None = None,
    app: Any = None,
    profile: str = "official",
    probes: SubmitBudget | None = None,
) -> Target:
    """A fake on a manual clock playing vendor `profile`, called without sockets (or `app`, any
    WSGI app)."""
    credentials = credentials or default_credentials(profile)
    on_close = None
    if app is None:
        app = fake_app(credentials, profile)
        on_close = backend_of(app).close
    transport: Transport = WsgiTransport(app, on_close)
    prefix = prefix or profiles.get(profile).prefix
    return Target(
        transport,
        credentials,
        prefix=prefix,
        profile=profile,
        budget=budget,
        probes=probes,
        in_process=True,
    )


def fake_app(credentials: Credentials, profile: str = "official", seed: int = 20260101) -> Any:
    """mock-kling's app on a manual clock, playing `profile`, that knows `credentials` and the
    development keys."""
    pairs = {DEV_ACCESS_KEY: DEV_SECRET_KEY}
    if credentials.access_key is not None and credentials.secret_key is not None:
        pairs[credentials.access_key] = credentials.secret_key
    keys = {DEV_API_KEY} | ({credentials.api_key} if credentials.api_key else set())
    config = Config(key_pairs=pairs, api_keys=sorted(keys), seed=seed, profile=profile)
    return create_app(config, clock=ManualClock())


def default_credentials(profile: str) -> Credentials:
    """The fake's development keys: the JWT pair, or its plain key for key-only vendors."""
    if profiles.JWT in profiles.get(profile).auth:
        return Credentials(DEV_ACCESS_KEY, DEV_SECRET_KEY)
    return Credentials(api_key=DEV_API_KEY)


def _credentials(config: pytest.Config, profile: str) -> Credentials:
    access, secret = value(config, "access-key"), value(config, "secret-key")
    api_key = value(config, "api-key")
    if (access is None) != (secret is None):
        raise pytest.UsageError("give the access key and the secret key together")
    if access is not None and api_key is not None:
        raise pytest.UsageError("give an access/secret key pair or an API key, not both")
    if access is not None:
        return Credentials(access, secret)
    if api_key is not None:
        return Credentials(api_key=api_key)
    return default_credentials(profile)


def _missing(config: pytest.Config) -> bool:
    return all(value(config, name) is None for name in ("access-key", "api-key"))


def _app_factory(config: pytest.Config) -> Any:
    spec = value(config, "app")
    if spec is None:
        return None
    module_name, _, attribute = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise pytest.UsageError(f"--kling-app {spec!r}: {exc}") from None
    return factory()
