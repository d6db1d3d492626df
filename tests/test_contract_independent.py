"""The suite against an independent target: CometAPI's own OpenAPI document (tests/targets/),
served by Stoplight Prism, an off-the-shelf OpenAPI mock server, reached through a relay that
counts create requests on the wire. The target has only the create route: the suite tests it
anyway, names what it lacks first in the report, reports the checks that need it as not run, and
never sends more creates than the caps allow."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .contract_variants import run_against
from .prism_server import Prism
from .test_serve import MOCK_KLING
from .wire_relay import WireRelay

DOCUMENT = Path(__file__).resolve().parent / "targets" / "cometapi-openapi.yaml"
CREATE_PATH = "/kling/v1/videos/multi-image2video"
OPTIONS = ("--kling-api-key", "a-cometapi-key", "--kling-profile", "cometapi")


@pytest.fixture(scope="module")
def prism() -> Iterator[Prism]:
    server = Prism(DOCUMENT)
    yield server
    server.stop()


@pytest.fixture
def relay(prism: Prism) -> Iterator[WireRelay]:
    wire = WireRelay(prism.url, CREATE_PATH)
    yield wire
    wire.stop()


def _first_screen(report_dir: Path) -> str:
    return (report_dir / "report.md").read_text().partition("## Run")[0]


def _not_run(report: dict[str, Any]) -> dict[str, str]:
    return {c["check"]: c["message"] for c in report["checks"] if c["outcome"] == "not run"}


@pytest.mark.slow
def test_cap_0_sends_no_create_and_names_the_missing_routes(
    relay: WireRelay, tmp_path: Path
) -> None:
    result, report = run_against(relay.url, tmp_path, *OPTIONS, "--kling-max-submits", "0")
    assert report is not None, result.stdout[-3000:] + result.stderr[-3000:]
    assert relay.creates == 0
    assert relay.requests > 0
    assert not relay.unparsed
    assert report["meta"]["create_requests_sent"] == 0
    lines = report["difference_lines"]
    assert lines[0].startswith("1. no list route: GET /kling/v1/videos/multi-image2video?")
    assert "answered HTTP 405 (application/problem+json)" in lines[0]
    assert lines[1].startswith("2. no query route by task_id:")
    assert lines[2].startswith("3. no query route by external_task_id:")
    assert any("errors are application/problem+json" in line for line in lines)
    not_run = _not_run(report)
    assert not_run["test_lifecycle.py::test_lifecycle"].startswith("not run: needs the list route")
    listed = "test_responses.py::test_list_with_default_paging_conforms"
    assert "answered HTTP 405" in not_run[listed]
    passed = {c["check"] for c in report["checks"] if c["outcome"] == "passed"}
    assert not passed & set(not_run)


@pytest.mark.slow
def test_cap_3_holds_on_the_wire(relay: WireRelay, tmp_path: Path) -> None:
    result, report = run_against(relay.url, tmp_path, *OPTIONS, "--kling-max-submits", "3")
    assert report is not None, result.stdout[-3000:] + result.stderr[-3000:]
    assert 0 < relay.creates <= 3
    assert report["meta"]["create_requests_sent"] == relay.creates
    assert report["meta"]["accepted_submits"] <= relay.creates
    first_screen = _first_screen(tmp_path)
    assert "tasks are never seen to progress" in first_screen


@pytest.mark.slow
def test_the_report_opens_with_the_differences(relay: WireRelay, tmp_path: Path) -> None:
    options = ("--kling-max-submits", "3", "--kling-allow-billable-probes", "40")
    result, report = run_against(relay.url, tmp_path, *OPTIONS, *options)
    assert report is not None, result.stdout[-3000:] + result.stderr[-3000:]
    assert relay.creates <= 3 + 40
    assert report["meta"]["create_requests_sent"] == relay.creates
    first_screen = _first_screen(tmp_path)
    count = len(report["differences"])
    assert first_screen.startswith(
        f"# Kling contract report\n\n## {count} differences from Kling's documented contract"
    )
    named = [
        "no list route",
        "no query route by task_id",
        "no query route by external_task_id",
        "errors are application/problem+json",
        "an invalid request gets HTTP 422, not 400",
        "tasks are never seen to progress",
    ]
    missing = [text for text in named if text not in first_screen]
    assert not missing, first_screen
    assert f"{count} differences from Kling's documented contract" in result.stdout


@pytest.mark.slow
def test_a_wrong_prefix_names_the_commands_own_option(relay: WireRelay, tmp_path: Path) -> None:
    """Under /v1 every path is a bare 404: the one usage error, naming `mock-kling contract`'s
    own --prefix and the prefix that answers (its create route answers GET with 405)."""
    command = [*MOCK_KLING, "contract", "--base-url", relay.url, "--api-key", "a-key"]
    command += ["--prefix", "/v1", "--report", str(tmp_path)]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in (result.stdout + result.stderr).splitlines() if "ERROR" in line]
    assert len(errors) == 1, result.stdout + result.stderr
    assert "wrong prefix /v1 (--prefix, or --profile for a reseller)" in errors[0]
    assert errors[0].endswith("/kling/v1 answers: give --prefix /kling/v1")
    assert "--kling-" not in errors[0]
    assert relay.creates == 0
    assert not (tmp_path / "report.json").exists()
