"""The suite's options (`--kling-*`, each also read from an environment variable) and the target
they describe."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from mock_kling.contract.client.budget import SubmitBudget
from mock_kling.contract.client.credentials import Credentials
from mock_kling.contract.client.target import API_PATH, INTERFACE_ENV, PREFIXES, Target
from mock_kling.contract.client.transport import HttpTransport, Transport, WsgiTransport
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
        "Cap on submits sent (creates meant to be accepted: paid tasks, counted whatever the "
        "answer); default 0 for a remote API, unlimited for the fake.",
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
    Option(
        "control-fake",
        "KLING_CONTROL_FAKE",
        "Let the suite reset a running mock-kling fake it did not start (everyone's tasks and "
        "journals) and move its manual clock; default: never.",
        type=bool,
    ),
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("kling", "Kling contract suite")
    for option in OPTIONS:
        if option.type is bool:
            group.addoption(
                f"--kling-{option.name}",
                dest=dest(option.name),
                action="store_true",
                default=None,
                help=f"{option.help} [env {option.env}=1]",
            )
            continue
        group.addoption(
            f"--kling-{option.name}",
            dest=dest(option.name),
            type=option.type,
            choices=option.choices,
            default=None,
            help=f"{option.help} [env {option.env}]",
        )


def flag(name: str) -> str:
    """The option `name` as the interface in use spells it: `--prefix` under `mock-kling
    contract`, `--kling-prefix` under pytest."""
    return f"--{name}" if os.environ.get(INTERFACE_ENV) == "cli" else f"--kling-{name}"


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
    if option.type is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    try:
        return option.type(raw)
    except ValueError:
        raise pytest.UsageError(
            f"{option.env}={raw!r} ({flag(name)}) is not a valid {option.type.__name__}"
        ) from None


def build_target(config: pytest.Config) -> Target:
    """The target the options describe (an in-process fake unless --kling-base-url is given)."""
    profile = value(config, "profile") or "official"
    prefix = value(config, "prefix") or profiles.get(profile).prefix
    base_url, cap = value(config, "base-url"), value(config, "max-submits")
    allowed = value(config, "allow-billable-probes")
    probes_flag = flag("allow-billable-probes")
    probes = None if allowed is None else SubmitBudget(allowed, probes_flag, "create probe")
    credentials = _credentials(config, profile)
    budget = None if cap is None else SubmitBudget(cap, flag("max-submits"))
    if base_url is None:
        app = _app_factory(config)
        target = in_process_target(credentials, prefix, budget, app, profile, probes)
        target.find_routes()
        return target
    check_base_url(base_url)
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
            control=bool(value(config, "control-fake")),
            control_flag=flag("control-fake"),
            submits_flag=flag("max-submits"),
            probes_flag=probes_flag,
        )
    except requests.RequestException as exc:
        transport.close()
        raise pytest.UsageError(
            f"cannot reach {base_url} ({flag('base-url')}): {_reason(exc)}"
        ) from None
    if not target.is_fake and _missing(config):
        target.close()
        raise pytest.UsageError(
            f"{base_url} is not a mock-kling fake: give credentials, {flag('access-key')} + "
            f"{flag('secret-key')} (JWT) or {flag('api-key')} (or KLING_ACCESS_KEY + "
            "KLING_SECRET_KEY, KLING_API_KEY)"
        )
    check_prefix(target, base_url)
    target.find_routes()
    return target


def check_base_url(base_url: str) -> None:
    """A base URL is the server's root (or a gateway's path before the prefix): one that holds
    the API path, or ends in a prefix, was pasted from the banner's `API:` line."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise pytest.UsageError(
            f"{flag('base-url')} {base_url!r} is not an http(s) URL: give e.g. "
            "http://127.0.0.1:8000"
        )
    path = parts.path.rstrip("/")
    found = path.find(API_PATH)
    before = path if found < 0 else path[:found]
    prefix = next((p for p in sorted(PREFIXES, key=len, reverse=True) if before.endswith(p)), "")
    cut = len(before) - len(prefix)
    if found < 0 and not prefix:
        return
    what = f"the API path {path[cut:]}" if found >= 0 else f"the path prefix {prefix}"
    root = urlunsplit((parts.scheme, parts.netloc, path[:cut], "", ""))
    raise pytest.UsageError(
        f"{flag('base-url')} {base_url} contains {what}: give the server's root, "
        f"{flag('base-url')} {root} (the suite adds the prefix and the path)"
    )


def check_prefix(target: Target, base_url: str) -> None:
    """Free GETs to the list and query paths under the prefix tell whether the route is there:
    any answer but a bare 404 on both (a 405: the route exists, not with GET; a 401: it exists,
    the key was refused; a Kling 404 with a code: it exists, the task does not) means it is. Only
    "no such route" is a usage error; the other prefixes are tried to say which one answers."""
    if _answers(target, target.prefix):
        return
    others = [p for p in PREFIXES if p != target.prefix]
    found = [p for p in others if _answers(target, p)]
    target.close()
    hint = f"; {found[0]} answers: give {flag('prefix')} {found[0]}" if found else ""
    raise pytest.UsageError(
        f"{base_url}{target.api_path()} is not found (HTTP 404): wrong prefix "
        f"{target.prefix} ({flag('prefix')}, or {flag('profile')} for a reseller){hint}"
    )


def _answers(target: Target, prefix: str) -> bool:
    path = prefix + API_PATH
    for where in (path, f"{path}/999999999999999991"):
        answer = target.request("GET", where)
        if answer.status != 404 or answer.code is not None:
            return True
    return False


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
        raise pytest.UsageError(f"give {flag('access-key')} and {flag('secret-key')} together")
    if access is not None and api_key is not None:
        raise pytest.UsageError(
            f"give {flag('access-key')} + {flag('secret-key')} or {flag('api-key')}, not both"
        )
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
