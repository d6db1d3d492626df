"""The contract suite over real HTTP: `mock-kling contract` against `mock-kling serve --clock
manual`, given only the base URL and keys, passes and writes both reports; and the CLI's
argument handling."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from mock_kling.contract.cli import pytest_arguments, suite_dir

from .test_serve import MOCK_KLING, Server

AK, SK = "contract-access-key", "contract-secret-key-0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent


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
            "dev",
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
        "--kling-base-url",
        "https://api.example",
        "--kling-max-submits",
        "2",
        "-k",
        "auth",
    ]
