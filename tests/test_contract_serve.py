"""The contract suite over real HTTP: `mock-kling contract` against `mock-kling serve --clock
manual`, given only the base URL and keys, passes and writes both reports; a running fake the
suite did not start keeps its users' tasks, journals, clock and seed; and the CLI's argument
handling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from mock_kling.contract.cli import PLUGIN, pytest_arguments, suite_dir
from mock_kling.core.auth import make_token

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
            "--control-fake",  # a test server of this test: the suite may reset it, move its clock
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
    announced = "--control-fake: the suite resets this fake (everyone's tasks and journals)"
    assert report["meta"]["control"].startswith(announced)
    assert announced in result.stdout
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


USER_AK, USER_SK = "user-access-key", "user-secret-key-0123456789abcdefghij"
_BODY = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "a kite"}


def _fake(server: Server, path: str) -> Any:
    response = requests.get(server.url + path, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _as_user(server: Server, method: str, path: str, body: Any = None) -> Any:
    now_s = _fake(server, "/__mock__/clock")["now_ms"] / 1000
    headers = {"Authorization": "Bearer " + make_token(USER_AK, USER_SK, now_s)}
    url = f"{server.url}/v1/videos/multi-image2video{path}"
    response = requests.request(method, url, headers=headers, json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _state(server: Server, task_ids: list[str]) -> dict[str, Any]:
    """What the user holds, read through the control API only (it journals nothing)."""
    return {
        "clock": _fake(server, "/__mock__/clock"),
        "seed": _fake(server, "/__mock__/health")["seed"],
        "tasks": [_fake(server, f"/__mock__/tasks/{task_id}") for task_id in task_ids],
        "requests": _fake(server, "/__mock__/requests"),
        "callbacks": _fake(server, "/__mock__/callbacks"),
    }


@pytest.mark.slow
def test_the_suite_leaves_a_running_fake_as_it_found_it(tmp_path: Path) -> None:
    """A `serve` on a manual clock holds a user's tasks (one moved on by the user's own clock
    advance); `mock-kling contract` with its own account, started from another folder, creates
    tasks of its own and leaves the user's tasks, the journals' entries, the clock and the seed as
    they were. What needs the clock moved is reported as not run."""
    keys = ("--access-key", USER_AK, "--secret-key", USER_SK, "--access-key", AK)
    server = Server(
        "--clock", "manual", "--seed", "11", *keys, "--secret-key", SK, "--api-key", "sk-u"
    )
    try:
        first = _as_user(server, "POST", "", {**_BODY, "external_task_id": "user-ext-1"})
        requests.post(server.url + "/__mock__/clock/advance", json={"seconds": 12}, timeout=10)
        second = _as_user(server, "POST", "", _BODY)
        task_ids = [str(first["task_id"]), str(second["task_id"])]
        listed_before = _as_user(server, "GET", "?pageNum=1&pageSize=500")
        before = _state(server, task_ids)
        command = [*MOCK_KLING, "contract", "--base-url", server.url, "--report", str(tmp_path)]
        command += ["--access-key", AK, "--secret-key", SK, "--", "-q", "-p", "no:randomly"]
        command += ["--hypothesis-profile", "mock-kling-dev"]
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        after = _state(server, task_ids)
        listed_after = _as_user(server, "GET", "?pageNum=1&pageSize=500")
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert after["clock"] == before["clock"]
    assert after["seed"] == before["seed"]
    assert after["tasks"] == before["tasks"]
    assert listed_after == listed_before  # the user's account sees none of the suite's tasks
    assert after["requests"][: len(before["requests"])] == before["requests"]
    assert len(after["requests"]) > len(before["requests"])  # the suite did send requests
    assert after["callbacks"][: len(before["callbacks"])] == before["callbacks"]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["meta"]["accepted_submits"] > 0
    assert (
        "leaves this fake's tasks, journals, clock and seed as they are"
        in (report["meta"]["control"])
    )
    assert "leaves this fake's tasks" in result.stdout
    checks = {c["check"]: c for c in report["checks"]}
    lifecycle = checks["test_lifecycle.py::test_lifecycle"]
    assert lifecycle["outcome"] == "not run"
    assert "--control-fake" in lifecycle["message"]
    assert "failed" not in report["summary"]


@pytest.mark.slow
def test_contract_runs_the_installed_suite_from_a_folder_holding_a_mock_kling_package(
    tmp_path: Path,
) -> None:
    """A checkout, a fork or a vendored copy in the working directory must not shadow the
    installed package: this one's `mock_kling` has no contract suite at all."""
    shadow = tmp_path / "mock_kling"
    shadow.mkdir()
    (shadow / "__init__.py").write_text('raise ImportError("the shadowing copy was imported")\n')
    command = [*MOCK_KLING, "contract", "--report", str(tmp_path / "report"), "--"]
    command += ["-q", "-p", "no:randomly", "-k", "test_bad_token_is_refused and missing"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["summary"] == {"passed": 3}
