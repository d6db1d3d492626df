"""The `mock-kling` command: `serve` the fake on waitress, print a `token` for curl users."""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from mock_kling.assemble import build_backend
from mock_kling.contract.cli import contract
from mock_kling.core.auth import make_token
from mock_kling.core.backend import Backend
from mock_kling.core.clock import Clock, ManualClock, SystemClock
from mock_kling.core.config import DEV_ACCESS_KEY, DEV_API_KEY, DEV_SECRET_KEY, Config
from mock_kling.core.limits import Limits
from mock_kling.core.outcomes import RESULTS
from mock_kling.core.profiles import JWT, PROFILES, ROUTE, V1
from mock_kling.core.version import __version__
from mock_kling.http.app import create_app
from mock_kling.http.dashboard import UI
from mock_kling.serve import request_log
from mock_kling.serve.persistence import Persistence, StateFile
from mock_kling.serve.server import GracefulServer, run_until_stopped

_Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
_Server = TypeVar("_Server")


def _option(name: str, **kwargs: Any) -> _Decorator:
    """A `serve` option that also reads MOCK_KLING_<NAME> from the environment."""
    env = "MOCK_KLING_" + name.removeprefix("--").replace("-", "_").upper()
    return click.option(name, envvar=env, show_envvar=True, show_default=True, **kwargs)


_SECONDS = click.FloatRange(min=0)
_SERVE_OPTIONS: tuple[_Decorator, ...] = (
    _option("--host", default="127.0.0.1"),
    _option("--port", default=8000, help="0 picks a free port."),
    _option("--access-key", multiple=True, help="JWT access key (iss); repeat for more accounts."),
    _option("--secret-key", multiple=True, help="Secret key of the access key in that position."),
    _option("--api-key", multiple=True, help="Plain bearer key (resellers' style); repeatable."),
    _option("--seed", type=int, help="Seeds ids and random outcomes; default: random, printed."),
    _option(
        "--profile",
        type=click.Choice(list(PROFILES)),
        default="official",
        help="The vendor to play: prefix, auth, request rules, answer shape.",
    ),
    _option(
        "--clock",
        type=click.Choice(["system", "manual"]),
        default="system",
        help="manual: time moves only by POST /__mock__/clock/advance.",
    ),
    _option("--submitted-seconds", type=_SECONDS, default=2.0, help="Time in submitted."),
    _option("--processing-seconds", type=_SECONDS, default=8.0, help="Time in processing."),
    _option(
        "--outcome",
        type=click.Choice(RESULTS),
        default="succeed",
        help="Every task's result unless a marker or the control API says otherwise.",
    ),
    _option(
        "--failure-rate",
        type=click.FloatRange(0, 1),
        default=0.0,
        help="Share of tasks that fail at processing (seeded).",
    ),
    _option("--failure-message", default="", help="task_status_msg of failed tasks."),
    _option("--concurrency", type=click.IntRange(min=0), help="Running tasks per account (1303)."),
    _option("--units", type=click.FloatRange(min=0), help="Resource units per account (1102)."),
    _option("--rate-limit", type=click.FloatRange(min=0), help="Requests/s per account (1302)."),
    _option("--callback-attempts", type=click.IntRange(min=1), default=5),
    _option("--callback-backoff", type=_SECONDS, default=1.0, help="Seconds; doubles each retry."),
    _option("--callback-timeout", type=click.FloatRange(min=0.01), default=5.0, help="Seconds."),
    _option(
        "--callback-host",
        multiple=True,
        help="Only these hosts may receive callbacks "
        "(repeat; for shared dev servers). Default: any.",
    ),
    _option("--public-url", help="Base URL of result videos and callbacks; default: this server."),
    _option("--threads", type=click.IntRange(min=1), default=8, help="waitress worker threads."),
    _option(
        "--state",
        type=click.Path(dir_okay=False),
        help="Keep tasks and journals in this "
        "file across restarts (JSON Lines; written before each answer).",
    ),
    _option("--quiet", is_flag=True, help="No request log (one line per API request)."),
    _option(
        "--log-format",
        type=click.Choice(request_log.FORMATS),
        default="text",
        help="The request log: text lines, or one JSON object per line.",
    ),
)


@click.group()
@click.version_option(__version__, prog_name="mock-kling")
def main() -> None:
    """A fake of Kling's multi-image-to-video API, for development and tests."""


def _serve_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_SERVE_OPTIONS):
        function = option(function)
    return function


@main.command()
@_serve_options
def serve(**options: Any) -> None:
    """Start the fake on a production WSGI server (waitress); SIGTERM stops it gracefully."""
    config = _config(options)
    manual = options["clock"] == "manual"
    clock: Clock = ManualClock(SystemClock().now_ms()) if manual else SystemClock()
    backend = build_backend(config, clock)
    persistence = Persistence(backend, StateFile(options["state"])) if options["state"] else None
    if persistence is not None:
        persistence.start()
    app = create_app(backend=backend)
    host, port = options["host"], options["port"]
    server = _bound(
        lambda: GracefulServer(app, host, port, options["threads"], config.max_body_bytes),
        host,
        port,
    )
    base_url = f"http://{_url_host(options['host'])}:{server.port}"
    backend.serve_at(base_url)
    _print_banner(base_url, backend, options["clock"])
    if not options["quiet"]:
        request_log.attach(backend, options["log_format"])

    def shut_down() -> None:
        backend.close()  # in-flight callbacks finish and are journaled; queued ones wait
        if persistence is not None:
            persistence.stop()
        click.echo("mock-kling stopped")

    run_until_stopped(server, shut_down)


@main.command()
@click.option(
    "--access-key", default=DEV_ACCESS_KEY, show_default=True, envvar="MOCK_KLING_ACCESS_KEY"
)
@click.option(
    "--secret-key", default=DEV_SECRET_KEY, show_default=True, envvar="MOCK_KLING_SECRET_KEY"
)
@click.option(
    "--ttl", type=click.IntRange(min=1), default=1800, show_default=True, help="Seconds until exp."
)
def token(access_key: str, secret_key: str, ttl: int) -> None:
    """Print a JWT as Kling's docs build it (iss, exp = now + ttl, nbf = now - 5)."""
    click.echo(make_token(access_key, secret_key, time.time(), ttl))


def _config(options: dict[str, Any]) -> Config:
    access, secret = options["access_key"], options["secret_key"]
    if len(access) != len(secret):
        raise click.UsageError("give one --secret-key for each --access-key, in the same order")
    pairs = dict(zip(access, secret, strict=True))
    api_keys = list(options["api_key"])
    if not pairs and not api_keys:
        pairs = {DEV_ACCESS_KEY: DEV_SECRET_KEY}
        api_keys = [] if JWT in PROFILES[options["profile"]].auth else [DEV_API_KEY]
    limits = Limits(options["concurrency"], options["units"], options["rate_limit"])
    public_url = options["public_url"]
    return Config(
        key_pairs=pairs,
        api_keys=api_keys,
        seed=options["seed"],
        profile=options["profile"],
        submitted_seconds=options["submitted_seconds"],
        processing_seconds=options["processing_seconds"],
        outcome=options["outcome"],
        failure_rate=options["failure_rate"],
        failure_message=options["failure_message"],
        limits=limits,
        callback_attempts=options["callback_attempts"],
        callback_backoff_seconds=options["callback_backoff"],
        callback_timeout_seconds=options["callback_timeout"],
        callback_hosts=tuple(h.lower() for h in options["callback_host"]) or None,
        public_url=public_url.rstrip("/") if public_url else None,
    )


class _PortInUse(click.ClickException):
    exit_code = 2  # as for a usage error: the command line asked for what cannot be had


def _bound(make_server: Callable[[], _Server], host: str, port: int) -> _Server:
    """`make_server()` (it binds the port); a port in use is a one-line error, not a traceback."""
    try:
        return make_server()
    except (OSError, RuntimeError) as error:  # the socket's OSError, or a Rust server's text
        in_use = getattr(error, "errno", None) == errno.EADDRINUSE
        if not in_use and f"os error {errno.EADDRINUSE}" not in str(error):
            raise
    raise _PortInUse(
        f"{host}:{port} is already in use (another mock-kling serve?): stop it, or start on "
        "another port with --port N (--port 0 picks a free one)"
    )


def _print_banner(base_url: str, backend: Backend, clock_kind: str) -> None:
    config, profile = backend.config, backend.profile
    lines = [
        f"mock-kling {__version__} listening on {base_url}",
        f"  profile {profile.name}: {profile.title}; seed {backend.seed}; clock {clock_kind}",
    ]
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
    click.echo("\n".join(lines))


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


main.add_command(contract)
