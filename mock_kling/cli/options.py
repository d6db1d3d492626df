"""The options of `mock-kling serve`, each also read from a MOCK_KLING_<NAME> variable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mock_kling.core.outcomes import RESULTS
from mock_kling.core.profiles import PROFILES
from mock_kling.serve import request_log

_Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _option(name: str, **kwargs: Any) -> _Decorator:
    """A `serve` option that also reads MOCK_KLING_<NAME> from the environment."""
    env = "MOCK_KLING_" + name.removeprefix("--").replace("-", "_").upper()
    return click.option(name, envvar=env, show_envvar=True, show_default=True, **kwargs)


_SECONDS = click.FloatRange(min=0)
_FILE = click.Path(dir_okay=False, exists=True, path_type=Path)
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
    _option(
        "--threads",
        type=click.IntRange(min=1),
        default=8,
        help="Python threads that run the Flask app (control API, refusals) and the calls "
        "of a shared store; connections and bodies are read on the event loop.",
    ),
    _option(
        "--body-timeout",
        type=click.FloatRange(min=0.01),
        default=30.0,
        help="Seconds a request body may take to arrive; then 408 and the connection closes.",
    ),
    _option(
        "--store",
        default="memory",
        help="Where the fake keeps its state: memory, or sqlite:///path/to/fake.db (kept across "
        "restarts, shared by the processes that open it; sqlite:////absolute/path), or "
        "redis://HOST:PORT/DB (shared by replicas on several hosts; any node of a Redis Cluster "
        "will do; ?namespace=NAME&lease=SECONDS).",
    ),
    _option(
        "--state",
        type=click.Path(dir_okay=False),
        help="Keep tasks, journals and callbacks in this SQLite file across restarts "
        "(short for --store sqlite:///FILE).",
    ),
    _option(
        "--workers",
        type=click.IntRange(min=1),
        default=1,
        help="Server processes on one port sharing the store (sqlite or redis; not memory); "
        "worker i draws from seed + i.",
    ),
    _option("--calibration", type=_FILE, help="Timings and failures from `mock-kling calibrate`."),
    _option(
        "--replay", type=_FILE, help="Answer this cassette's exchanges in order, nothing else."
    ),
    _option("--quiet", is_flag=True, help="No request log (one line per API request)."),
    _option(
        "--log-format",
        type=click.Choice(request_log.FORMATS),
        default="text",
        help="The request log: text lines, or one JSON object per line.",
    ),
)


def serve_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_SERVE_OPTIONS):
        function = option(function)
    return function
