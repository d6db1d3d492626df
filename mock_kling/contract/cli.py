"""`mock-kling contract`: run the contract suite (pytest) against a base URL, or the fake."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from mock_kling.contract.client.target import INTERFACE_ENV
from mock_kling.core.profiles import PROFILES

PLUGIN = "mock_kling.contract.plugin"
# The suite's test files: inside the package in a wheel (hatch force-include), else the
# repository's top-level folder (a source checkout or an editable install).
PACKAGED = Path(__file__).resolve().parent / "suite"
CHECKOUT = Path(__file__).resolve().parents[2] / "contract_tests"
_MARKER = "conftest.py"
# (click option name, the suite's pytest option); every one is also read from KLING_* variables.
_FORWARDED = (
    ("base_url", "--kling-base-url"),
    ("access_key", "--kling-access-key"),
    ("secret_key", "--kling-secret-key"),
    ("api_key", "--kling-api-key"),
    ("profile", "--kling-profile"),
    ("prefix", "--kling-prefix"),
    ("max_submits", "--kling-max-submits"),
    ("allow_billable_probes", "--kling-allow-billable-probes"),
    ("report", "--kling-report"),
    ("public_url", "--kling-public-url"),
    ("poll_budget", "--kling-poll-budget"),
)
_FLAGS = (("control_fake", "--kling-control-fake"),)  # on/off, no value


def suite_dir() -> Path:
    """The suite's folder: the copy inside the package first, then the checkout's."""
    for folder in (PACKAGED, CHECKOUT):
        if (folder / _MARKER).is_file():
            return folder
    raise click.ClickException(
        f"contract suite not found: looked in {PACKAGED} (package data) "
        f"and {CHECKOUT} (source checkout)"
    )


def pytest_arguments(options: dict[str, Any], extra: tuple[str, ...], suite: Path) -> list[str]:
    """The pytest command line for these `contract` options and extra pytest arguments."""
    arguments = [str(suite), "-p", PLUGIN]
    for name, flag in _FORWARDED:
        if options.get(name) is not None:
            arguments += [flag, str(options[name])]
    arguments += [flag for name, flag in _FLAGS if options.get(name)]
    if suite == PACKAGED:  # an installed copy: leave site-packages unwritten
        arguments += ["-p", "no:cacheprovider"]
    return [*arguments, *extra]


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--base-url", help="Target base URL [KLING_BASE_URL]; default: an in-process fake.")
@click.option("--access-key", help="JWT access key [KLING_ACCESS_KEY].")
@click.option("--secret-key", help="JWT secret key [KLING_SECRET_KEY]; prefer the variable.")
@click.option("--api-key", help="Plain bearer key, resellers' style [KLING_API_KEY].")
@click.option(
    "--profile", type=click.Choice(list(PROFILES)), help="Vendor profile [KLING_PROFILE]."
)
@click.option("--prefix", help="Path prefix, /v1 or /kling/v1 [KLING_PREFIX].")
@click.option(
    "--max-submits",
    type=click.IntRange(min=0),
    help="Cap on accepted (paid) submits [KLING_MAX_SUBMITS]; default 0 for a real API.",
)
@click.option(
    "--allow-billable-probes",
    type=click.IntRange(min=0),
    help="Create requests meant to be refused (negative, auth) that may be sent to a real API; "
    "a target looser than the docs may bill each [KLING_ALLOW_BILLABLE_PROBES]; default 0.",
)
@click.option(
    "--report", type=click.Path(file_okay=False), help="Report folder [KLING_REPORT_DIR]."
)
@click.option("--public-url", help="Public URL reaching the suite's receiver [KLING_PUBLIC_URL].")
@click.option(
    "--poll-budget", type=float, help="Seconds to wait for a remote task [KLING_POLL_BUDGET]."
)
@click.option(
    "--control-fake",
    is_flag=True,
    default=None,
    help="Let the suite reset a running mock-kling fake it did not start (everyone's tasks and "
    "journals) and move its manual clock [KLING_CONTROL_FAKE=1]; default: never.",
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def contract(ctx: click.Context, /, pytest_args: tuple[str, ...], **options: Any) -> None:
    """Run the contract suite; arguments after `--` go to pytest. Exits with pytest's code.

    pytest runs in a fresh interpreter: in this one mock_kling is already imported, and an
    installed copy would make pytest warn that it cannot rewrite its asserts (a crash under
    `-W error`). That interpreter does not put the working directory on sys.path, so a
    `mock_kling/` folder there (a checkout, a fork, a vendored copy) cannot shadow the installed
    package whose suite runs."""
    if importlib.util.find_spec("pytest") is None:
        raise click.ClickException(
            "the contract suite needs its extra: pip install 'mock-kling[contract]'"
        )
    arguments = pytest_arguments(options, pytest_args, suite_dir())
    env = {**os.environ, INTERFACE_ENV: "cli"}
    ctx.exit(subprocess.run([*pytest_command(), *arguments], env=env).returncode)


def pytest_command() -> list[str]:
    """This Python running pytest without the working directory on sys.path (`-P`)."""
    return [sys.executable, "-P", "-m", "pytest"]
