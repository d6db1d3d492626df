"""The contract suite over real HTTP: `mock-kling contract` against `mock-kling serve --clock
manual`, given only the base URL and keys, passes and writes both reports; and the CLI's
argument handling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mock_kling.contract.cli import PLUGIN, pytest_arguments, suite_dir

from .test_serve import MOCK_KLING, Server

AK, SK = "contract-access-key", "contract-secret-key-0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_suite_passes_against_serve_over_http(tmp_path: Path) -> None:
    keys = ("--access-key", AK, "--secret-key", SK, "--api-key", "sk-contract-unused")
    server = Server("--clock", "manual", "--seed", "9", *keys)
    try:
        command = [
            *MOCK_KLING,
            "contract",
            "--base-url",
            server.url,
            "--report",
            str(tmp_path),
            "--",
            "-q",
            "-p",
            "no:cacheprovider",
            "--hypothesis-profile",
            "mock-kling-dev",
        ]
        env = {**os.environ, "KLING_ACCESS_KEY": AK, "KLING_SECRET_KEY": SK}
        result = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert "mock-kling fake, manual clock" in report["meta"]["target"]
    assert report["meta"]["accepted_submits"] > 0
    assert set(report["summary"]) <= {"passed", "skipped"}
    assert report["drift"]
    assert all(row["equal"] for row in report["drift"])
    markdown = (tmp_path / "report.md").read_text()
    assert "## Open questions" in markdown
    assert "## Drift" in markdown


def test_contract_options_become_suite_options() -> None:
    options = {"base_url": "https://api.example", "max_submits": 2, "api_key": None}
    arguments = pytest_arguments(options, ("-k", "auth"), suite_dir())
    assert arguments == [
        str(ROOT / "contract_tests"),
        "-p",
        PLUGIN,
        "--kling-base-url",
        "https://api.example",
        "--kling-max-submits",
        "2",
        "-k",
        "auth",
    ]


@pytest.mark.slow
def test_the_suite_passes_against_a_short_jwt_secret_even_with_warnings_as_errors(
    tmp_path: Path,
) -> None:
    """PyJWT warns about an HS256 secret under 32 bytes; the target chose it, so the verdict must
    not depend on it (nor on the user's warning filters). The report notes it once."""
    secret = "123456789012345678901234567"  # 27 bytes
    keys = ("--access-key", "ak", "--secret-key", secret)
    server = Server("--clock", "manual", *keys, "--api-key", "sk-contract-unused")
    try:
        command = [sys.executable, "-m", "pytest", "contract_tests", "-W", "error", "-q"]
        command += ["--kling-base-url", server.url, "--kling-access-key", "ak"]
        command += ["--kling-secret-key", secret, "--kling-report", str(tmp_path)]
        command += ["-p", "no:cacheprovider", "--hypothesis-profile", "mock-kling-dev"]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert "failed" not in report["summary"]
    assert report["meta"]["note"].startswith("the secret key has 27 bytes, fewer than the 32")
    assert (tmp_path / "report.md").read_text().count("27 bytes") == 1
