"""The contract suite's pytest plugin in a user's own session: `-p mock_kling.contract.plugin`
gives their test files the suite's options, fixtures and report; without it nothing loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .test_serve import Server

AK, SK = "plugin-access-key", "plugin-secret-key-0123456789abcdef"
PLUGIN = ("-p", "mock_kling.contract.plugin", "-p", "no:cacheprovider")

USER_TESTS = """
import pytest

from mock_kling.contract.client.api import send_create, submit
from mock_kling.contract.scenarios.checks import AUTH_CODES, check_accepted, check_refused
from mock_kling.contract.generate.strategies import minimal_body


@pytest.mark.cost(2)
def test_two_tasks(kit):
    kit.target.budget.require(2)
    for _ in range(2):
        submit(kit.target, minimal_body(), "two tasks")


def test_no_token_is_refused(target):
    answer = target.request("GET", target.api_path(), auth=False)
    check_refused(answer, "list", "no token", AUTH_CODES, profile=target.profile)


@pytest.mark.cost(1)
def test_my_request_is_accepted(kit):
    kit.target.budget.require(1)
    answer = send_create(kit.target, minimal_body(prompt="a red kite over a beach"))
    check_accepted(answer, "my request", kit.target.profile)
"""


def _checks(report_dir: Path) -> dict[str, str]:
    report = json.loads((report_dir / "report.json").read_text())
    return {check["check"].rpartition("/")[2]: check["outcome"] for check in report["checks"]}


def test_user_tests_use_the_plugin_against_the_in_process_fake(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(test_mine=USER_TESTS)
    result = pytester.runpytest_subprocess(*PLUGIN, "--kling-report", str(tmp_path), "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["kling contract target: an in-process mock-kling fake*"])
    # The checks (those using `kit` or carrying a cost) land in the report; plain tests do not.
    assert _checks(tmp_path) == {
        "test_mine.py::test_my_request_is_accepted": "passed",
        "test_mine.py::test_two_tasks": "passed",
    }


@pytest.mark.slow
def test_user_tests_use_the_plugin_against_a_served_fake(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    keys = ("--access-key", AK, "--secret-key", SK, "--api-key", "sk-plugin-unused")
    server = Server("--clock", "manual", *keys)
    try:
        pytester.makepyfile(test_mine=USER_TESTS)
        keys = ("--kling-access-key", AK, "--kling-secret-key", SK)
        options = ("--kling-base-url", server.url, *keys, "--kling-max-submits", "2")
        options += ("--kling-max-cost", "1")
        result = pytester.runpytest_subprocess(*PLUGIN, *options, "--kling-report", str(tmp_path))
    finally:
        server.stop()
    # The order stays as written; --kling-max-cost 1 keeps the two-submit check from taking the
    # whole cap, so the one-submit check after it runs.
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines([f"kling contract target: {server.url}*"])
    assert _checks(tmp_path) == {
        "test_mine.py::test_my_request_is_accepted": "passed",
        "test_mine.py::test_two_tasks": "skipped",
    }


def test_the_plugin_loads_only_when_asked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--kling-base-url", "x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unrecognized arguments: --kling-base-url*"])
