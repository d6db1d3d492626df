"""The contract suite bites: run against deliberately broken variants of the fake (see
contract_variants.py), each of the suite's checks named below fails, on the rule that names the
defect; against the intact fake the same checks pass."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, settings

from contract_tests import (
    test_auth,
    test_callbacks,
    test_lifecycle,
    test_negative,
    test_positive,
    test_responses,
)
from mock_kling.contract.client.local_server import LocalServer
from mock_kling.contract.client.options import in_process_target
from mock_kling.contract.generate import hypothesis_profiles as profiles
from mock_kling.contract.generate.mutations import MUTATIONS
from mock_kling.contract.kit import Kit
from mock_kling.contract.scenarios.checks import ContractViolation
from mock_kling.http.app import backend_of

from . import contract_variants as variants

ROOT = Path(__file__).resolve().parent.parent
DURATION_NUMBER = next(m for m in MUTATIONS if m.name == "duration-number")
EXPIRED = next(c for c in test_auth.CASES if c.name == "expired")

Check = Callable[[Kit], None]
# (variant factory, the suite's check run against it, what its failure must say)
BITES: dict[str, tuple[Callable[[], Any], Check, str]] = {
    "numeric duration in answers": (
        variants.numeric_duration,
        lambda kit: test_callbacks.test_callbacks_follow_the_task(kit, ""),
        r"^query_response: .*at data\.task_result\.videos\[0\]\.duration: 5\.0 is not of type",
    ),
    "request_id missing": (
        variants.no_request_id,
        test_responses.test_list_with_default_paging_conforms,
        r"^list_response: .*'request_id' is a required property",
    ),
    "status goes backwards": (
        variants.status_goes_backwards,
        test_lifecycle.test_lifecycle,
        r"^lifecycle\.terminal: .*status went backwards: succeed -> processing",
    ),
    "accepts an invalid request": (
        variants.accepts_numeric_duration,
        lambda kit: test_negative.test_one_broken_rule_is_refused(kit, DURATION_NUMBER),
        r"^refused: negative\[duration-number\] .*accepted an invalid request: HTTP 200 code 0",
    ),
    "500 on some input": (
        variants.fails_on_pro,
        test_positive.test_valid_requests_are_accepted,
        r"^server_error: positive: a valid request: HTTP 500",
    ),
    "callback with the wrong shape": (
        variants.wrong_callback_shape,
        lambda kit: test_callbacks.test_callbacks_follow_the_task(kit, ""),
        r"^callback: callbacks: callbacks of task \d+: delivery 1: at \(root\)",
    ),
    "auth lets an expired token in": (
        variants.lets_expired_tokens_in,
        lambda kit: test_auth.test_bad_token_is_refused(kit, EXPIRED, "list"),
        r"^refused: auth\[expired\] on list: accepted a token \(expired\): HTTP 200",
    ),
}


@pytest.fixture(scope="module")
def local() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


# Reproducible, and no shrinking: the first failing example is evidence enough, and fast.
QUICK = settings(
    profiles.get(profiles.DEV),
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),
)


def _kit(app: Any, local: LocalServer) -> Kit:
    return Kit(in_process_target(app=app), QUICK, local)


def _close(app: Any) -> None:
    app.close() if isinstance(app, variants.Broken) else backend_of(app).close()


@pytest.mark.parametrize("defect", list(BITES))
def test_the_suite_catches(defect: str, local: LocalServer) -> None:
    factory, check, message = BITES[defect]
    app = factory()
    try:
        with pytest.raises(ContractViolation, match=message):
            check(_kit(app, local))
    finally:
        _close(app)


@pytest.mark.parametrize("defect", list(BITES))
def test_the_same_check_passes_on_the_intact_fake(defect: str, local: LocalServer) -> None:
    _, check, _ = BITES[defect]
    target = in_process_target()
    try:
        check(Kit(target, QUICK, local))
    finally:
        target.close()


@pytest.mark.slow
def test_the_whole_suite_fails_on_the_named_check(tmp_path: Path) -> None:
    """Through pytest itself: the suite run on a variant fails, and its report names the check."""
    result, report = variants.run_suite(
        "status_goes_backwards",
        tmp_path,
        *("-k", "lifecycle or test_list_with_default"),
        *("--hypothesis-profile", "mock-kling-remote"),  # few examples, no shrinking: quick
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "FAILED contract_tests/test_lifecycle.py::test_lifecycle" in result.stdout
    outcomes = {check["check"]: check for check in report["checks"]}
    lifecycle = outcomes["test_lifecycle.py::test_lifecycle"]
    assert lifecycle["outcome"] == "failed"
    assert "status went backwards: succeed -> processing" in lifecycle["message"]
    assert (
        outcomes["test_responses.py::test_list_with_default_paging_conforms"]["outcome"] == "passed"
    )
    assert "test_lifecycle.py::test_lifecycle" in (tmp_path / "report.md").read_text()
