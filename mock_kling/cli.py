"""The `mock-kling` command: `serve` the fake on waitress, print a `token` for curl users."""

from __future__ import annotations

import time

import click
from waitress.server import create_server

from . import __version__
from .app import create_app
from .auth import make_token
from .backend import Backend
from .clock import Clock, ManualClock, SystemClock
from .config import DEV_ACCESS_KEY, DEV_SECRET_KEY, Config


@click.group()
@click.version_option(__version__, prog_name="mock-kling")
def main() -> None:
    """A fake of Kling's multi-image-to-video API, for development and tests."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="MOCK_KLING_HOST")
@click.option(
    "--port", default=8000, show_default=True, envvar="MOCK_KLING_PORT", help="0 picks a free port."
)
@click.option(
    "--access-key",
    multiple=True,
    envvar="MOCK_KLING_ACCESS_KEY",
    help="JWT access key (iss); repeat for more accounts.",
)
@click.option(
    "--secret-key",
    multiple=True,
    envvar="MOCK_KLING_SECRET_KEY",
    help="Secret key of the access key in the same position.",
)
@click.option(
    "--api-key",
    multiple=True,
    envvar="MOCK_KLING_API_KEY",
    help="Plain bearer key, reseller style; repeat for more.",
)
@click.option(
    "--seed", type=int, envvar="MOCK_KLING_SEED", help="Seed for ids; default: random, printed."
)
@click.option(
    "--submitted-seconds",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    envvar="MOCK_KLING_SUBMITTED_SECONDS",
)
@click.option(
    "--processing-seconds",
    type=click.FloatRange(min=0),
    default=8.0,
    show_default=True,
    envvar="MOCK_KLING_PROCESSING_SECONDS",
)
@click.option(
    "--clock",
    "clock_kind",
    type=click.Choice(["system", "manual"]),
    default="system",
    show_default=True,
    envvar="MOCK_KLING_CLOCK",
    help="manual: time moves only by POST /__mock__/clock/advance.",
)
@click.option(
    "--public-url",
    envvar="MOCK_KLING_PUBLIC_URL",
    help="Base URL for result video links; default: the URL each request came to.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    envvar="MOCK_KLING_THREADS",
)
def serve(
    host: str,
    port: int,
    access_key: tuple[str, ...],
    secret_key: tuple[str, ...],
    api_key: tuple[str, ...],
    seed: int | None,
    submitted_seconds: float,
    processing_seconds: float,
    clock_kind: str,
    public_url: str | None,
    threads: int,
) -> None:
    """Start the fake on a production WSGI server (waitress)."""
    if len(access_key) != len(secret_key):
        raise click.UsageError("give one --secret-key for each --access-key, in the same order")
    pairs = dict(zip(access_key, secret_key, strict=True))
    if not pairs and not api_key:
        pairs = {DEV_ACCESS_KEY: DEV_SECRET_KEY}
    config = Config(
        key_pairs=pairs,
        api_keys=list(api_key),
        seed=seed,
        submitted_seconds=submitted_seconds,
        processing_seconds=processing_seconds,
        public_url=public_url.rstrip("/") if public_url else None,
    )
    clock: Clock = ManualClock(SystemClock().now_ms()) if clock_kind == "manual" else SystemClock()
    backend = Backend(config, clock)
    server = create_server(
        create_app(backend=backend), host=host, port=port, threads=threads, ident="mock-kling"
    )
    _print_banner(f"http://{_url_host(host)}:{_bound_port(server)}", backend, clock_kind)
    server.run()


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


def _print_banner(base_url: str, backend: Backend, clock_kind: str) -> None:
    config = backend.config
    lines = [
        f"mock-kling {__version__} listening on {base_url}",
        f"  seed {backend.seed}, clock {clock_kind}",
        f"  official: {base_url}/v1/videos/multi-image2video",
        f"  reseller: {base_url}/kling/v1/videos/multi-image2video",
    ]
    lines += [
        f"  JWT account: access key {ak!r}, secret key {sk!r}"
        for ak, sk in config.key_pairs.items()
    ]
    lines += [f"  API key account: {key!r}" for key in config.api_keys]
    if DEV_ACCESS_KEY in config.key_pairs:
        lines.append(
            f'  try: curl -H "Authorization: Bearer $(mock-kling token)" '
            f'"{base_url}/v1/videos/multi-image2video?pageNum=1&pageSize=10"'
        )
    click.echo("\n".join(lines), nl=True)


def _bound_port(server: object) -> int:
    # One socket: `effective_port`; several (a name with IPv4 and IPv6): `effective_listen`.
    listen = getattr(server, "effective_listen", None)
    port: int = listen[0][1] if listen else getattr(server, "effective_port")  # noqa: B009
    return port


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
