"""The `mock-kling` command: `serve` the fake on uvicorn, print a `token` for curl users."""

from __future__ import annotations

import dataclasses
import importlib
import random
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click

from mock_kling.apispec import bundle
from mock_kling.assemble import build_backend, make_clock
from mock_kling.cli.options import serve_options
from mock_kling.core.auth import make_token
from mock_kling.core.calibration import Calibration
from mock_kling.core.config import DEV_ACCESS_KEY, DEV_API_KEY, DEV_SECRET_KEY, Config
from mock_kling.core.limits import Limits
from mock_kling.core.profiles import JWT, PROFILES
from mock_kling.core.store import Store, StoreError
from mock_kling.core.version import __version__
from mock_kling.http.edge import Edge
from mock_kling.http.lazy import LazyApp
from mock_kling.serve import request_log
from mock_kling.serve.banner import banner, url_host
from mock_kling.serve.server import GracefulServer, PortInUse, bind, run_until_stopped
from mock_kling.serve.workers import run_forked
from mock_kling.store import StoreUrlError, open_store, sqlite_url

_Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


# Commands whose code loads only when one of them runs (or `--help` lists them), so that `serve`
# starts without the record and contract-suite modules.
_LAZY_COMMANDS = {
    "contract": "mock_kling.contract.cli",
    "record": "mock_kling.record.commands",
    "calibrate": "mock_kling.record.commands",
    "drift": "mock_kling.record.commands",
}


class _LazyGroup(click.Group):
    """The CLI's commands, those of `_LAZY_COMMANDS` imported by name when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = _LAZY_COMMANDS.get(cmd_name)
        if module is None:
            return super().get_command(ctx, cmd_name)
        command: click.Command = getattr(importlib.import_module(module), cmd_name)
        return command


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="mock-kling")
def main() -> None:
    """A fake of Kling's multi-image-to-video API, for development and tests."""


@main.command()
@serve_options
def serve(**options: Any) -> None:
    """Start the fake on an asynchronous HTTP server (uvicorn); SIGTERM stops it gracefully."""
    if options["replay"]:
        from mock_kling.record.commands import serve_replay

        return serve_replay(options["replay"], options["host"], options["port"])
    bundle.exit_on_disagreement()  # a table mismatch stops the start (exit 2), not every request
    config = _config(options)
    workers = options["workers"]
    if workers > 1:
        config = _shared_config(options, config)
    host, port = options["host"], options["port"]
    with _bound(host, port) as listener:  # closed however serving ends (a bad --store, say)
        base_url = f"http://{url_host(options['host'])}:{listener.getsockname()[1]}"
        if workers == 1:
            _serve_one(options, config, listener, base_url, 0)
            return
        # the parent closes its copy: the port closes when the workers close theirs
        code = run_forked(
            workers, lambda i: _serve_one(options, config, listener, base_url, i), listener.close
        )
    if code:
        raise SystemExit(code)


def _serve_one(
    options: dict[str, Any], config: Config, listener: socket.socket, base_url: str, index: int
) -> int:
    """One worker: its fake on the store, served on `listener`; worker 0 prints the banner."""
    if options["workers"] > 1:
        config = dataclasses.replace(config, seed=(config.seed or 0) + index)
    store = _store(options, config)
    backend = build_backend(config, make_clock(options["clock"], store), store=store)
    app = LazyApp(backend)  # Flask loads after the first answers: a faster start
    pool = ThreadPoolExecutor(options["threads"], thread_name_prefix="mock-kling")
    edge = Edge(app, pool, config.max_body_bytes, options["body_timeout"])
    server = GracefulServer(edge, listener)
    server.install_signals()
    backend.serve_at(base_url)
    detach_log = None if options["quiet"] else request_log.attach(backend, options["log_format"])
    if _shared(options):
        backend.drive_callbacks()  # each replica sends what any replica queued (system clock)
    if index == 0:
        click.echo(banner(base_url, backend, options["clock"], options["workers"]))
    app.warm()

    def shut_down() -> None:
        pool.shutdown(wait=True)  # Flask calls under way finish
        backend.close()  # in-flight callbacks finish and are journaled; queued ones wait
        if detach_log is not None:
            detach_log()  # the lines still pending
        click.echo("mock-kling stopped")

    run_until_stopped(server, shut_down)
    return 0


def _shared_config(options: dict[str, Any], config: Config) -> Config:
    """Several workers need a shared store (checked by opening it once here) and a seed."""
    if not _shared(options):
        click.echo(
            f"Error: --workers {options['workers']} needs a shared store: "
            "--store sqlite:///FILE, --state FILE or --store redis://HOST:PORT/DB",
            err=True,
        )
        raise SystemExit(2)
    close = getattr(_store(options, config), "close", None)
    if close is not None:
        close()  # each worker opens its own after the fork
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**32)
    return dataclasses.replace(config, seed=seed)


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
        calibration=_calibration(options["calibration"]),
    )


def _shared(options: dict[str, Any]) -> bool:
    """Whether the store may be shared with other processes (sqlite or redis, not memory)."""
    return options["store"] != "memory" or bool(options["state"])


def _store(options: dict[str, Any], config: Config) -> Store:
    """The store named by --store, or by --state FILE (a SQLite file); a bad one stops here."""
    url, state = options["store"], options["state"]
    if state and url != "memory":
        raise click.UsageError("give --store or --state, not both")
    url = sqlite_url(state) if state else url
    try:
        return open_store(url, config.journal_limit)
    except StoreUrlError as exc:
        raise click.BadParameter(str(exc), param_hint="--store") from None
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


class _PortInUse(click.ClickException):
    exit_code = 2  # as for a usage error: the command line asked for what cannot be had


def _bound(host: str, port: int) -> socket.socket:
    """The listening socket (bound exclusively); a port in use is a one-line error, not a
    traceback."""
    try:
        return bind(host, port)
    except PortInUse:
        pass
    raise _PortInUse(
        f"{host}:{port} is already in use (another mock-kling serve?): stop it, or start on "
        "another port with --port N (--port 0 picks a free one)"
    )


def _calibration(path: Path | None) -> Calibration | None:
    """A `--calibration` file's timings and failure rates (the record code loads only for it)."""
    if path is None:
        return None
    from mock_kling.record.commands import load_calibration

    return load_calibration(path)
