"""Cost control: against a target that is not a fake, the suite sends no create request unless
allowed (submits by --kling-max-submits, create probes by --kling-allow-billable-probes), skips
what needs more with a clear reason, and never goes over the cap."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from .contract_variants import run_suite


def _run(tmp_path: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    return run_suite("not_a_fake", tmp_path, "--kling-poll-interval", "0.05", *options)


@pytest.mark.slow
def test_a_real_api_gets_only_free_checks_by_default(tmp_path: Path) -> None:
    result, report = _run(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert report["meta"]["accepted_submits"] == 0
    assert report["meta"]["create_requests_sent"] == 0
    assert "not a mock-kling fake" in report["meta"]["target"]
    assert report["meta"]["hypothesis_profile"] == "mock-kling-remote"
    checks = {check["check"]: check for check in report["checks"]}
    positive = checks["test_positive.py::test_valid_requests_are_accepted"]
    assert positive["outcome"] == "skipped"
    assert positive["message"].startswith("needs 1 accepted submit; --kling-max-submits allows 0")
    assert checks["test_lifecycle.py::test_lifecycle"]["outcome"] == "skipped"
    probe = checks["test_negative.py::test_one_broken_rule_is_refused[prompt-missing]"]
    assert probe["outcome"] == "skipped"
    assert "--kling-allow-billable-probes allows 0 more" in probe["message"]
    assert checks["test_auth.py::test_bad_token_is_refused[expired-list]"]["outcome"] == "passed"
    assert checks["test_auth.py::test_bad_token_is_refused[expired-create]"]["outcome"] == "skipped"


@pytest.mark.slow
def test_billable_probes_run_when_allowed(tmp_path: Path) -> None:
    result, report = _run(tmp_path, "--kling-allow-billable-probes", "100")
    assert result.returncode == 0, result.stdout[-3000:]
    assert report["meta"]["accepted_submits"] == 0  # the target refuses them, as documented
    assert report["meta"]["create_requests_sent"] > 0
    checks = {check["check"]: check for check in report["checks"]}
    probe = checks["test_negative.py::test_one_broken_rule_is_refused[prompt-missing]"]
    assert probe["outcome"] == "passed"


@pytest.mark.slow
@pytest.mark.parametrize("cap", [2])
def test_the_cap_is_never_exceeded(tmp_path: Path, cap: int) -> None:
    result, report = _run(tmp_path, "--kling-max-submits", str(cap))
    assert result.returncode == 0, result.stdout[-3000:]
    assert report["meta"]["accepted_submits"] == cap
    skipped = [c for c in report["checks"] if c["outcome"] == "skipped"]
    assert any(f"(cap {cap})" in c["message"] for c in skipped)
