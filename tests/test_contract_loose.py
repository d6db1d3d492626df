"""The suite against a loose target (an independent server, not the fake: static answers, any
bearer accepted; see contract_variants.LooseTarget), which counts creates on the wire itself:
the cap holds, the report's count is the wire's, the report opens with every planted difference,
and a usage mistake is one clear error."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from .contract_variants import LOOSE_AGE_DAYS, LOOSE_TASK_ID, LooseTarget, run_against

KEY = ("--kling-api-key", "any-key-at-all")


@pytest.fixture
def loose() -> Iterator[LooseTarget]:
    server = LooseTarget()
    yield server
    server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("cap", [0, 1, 5])
def test_the_cap_holds_on_the_wire(loose: LooseTarget, tmp_path: Path, cap: int) -> None:
    result, report = run_against(loose.url, tmp_path, *KEY, "--kling-max-submits", str(cap))
    assert report is not None, result.stdout[-3000:] + result.stderr[-3000:]
    assert loose.accepted <= cap
    assert report["meta"]["accepted_submits"] == loose.accepted
    assert report["meta"]["create_requests_sent"] == loose.creates
    if cap == 0:
        assert loose.creates == 0  # no opt-in, cap 0: not one create request leaves
    skipped = [c["message"] for c in report["checks"] if c["outcome"] == "skipped"]
    assert any("--kling-allow-billable-probes allows 0 more" in m for m in skipped)


@pytest.mark.slow
def test_the_report_opens_with_every_planted_difference(loose: LooseTarget, tmp_path: Path) -> None:
    options = ("--kling-max-submits", "1", "--kling-allow-billable-probes", "60")
    result, report = run_against(loose.url, tmp_path, *KEY, *options)
    assert report is not None, result.stdout[-3000:] + result.stderr[-3000:]
    assert loose.accepted <= 1 + 60
    assert report["meta"]["accepted_submits"] == loose.accepted
    first_screen = (tmp_path / "report.md").read_text().partition("## Run")[0]
    count = len(report["differences"])
    assert f"## {count} differences from Kling's documented contract" in first_screen
    planted = [
        "create answer has no request_id",
        f"every create returns task_id {LOOSE_TASK_ID}",
        "no query route by task_id: GET /v1/videos/multi-image2video/",  # a bare 404 for any id
        "never leave submitted",
        f"created_at is {LOOSE_AGE_DAYS} days before the submit",
        "errors are application/problem+json",
        "gets HTTP 422, not 400",
        "gets HTTP 415, not 400",
    ]
    missing = [text for text in planted if text not in first_screen]
    assert not missing, first_screen
    assert "differences from Kling's documented contract" in result.stdout  # console, too
    messages = [c["message"] for c in report["checks"] if c["outcome"] == "failed"]
    assert not any("expected a JSON body" in m for m in messages)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "mistake", ["no credentials", "unreachable", "wrong prefix", "API path", "prefix in URL"]
)
def test_a_usage_mistake_is_one_clear_error(
    loose: LooseTarget, tmp_path: Path, mistake: str
) -> None:
    url, options = loose.url, KEY
    if mistake == "no credentials":
        options = ()
    elif mistake == "unreachable":
        url = f"http://127.0.0.1:{_closed_port()}"
    elif mistake == "wrong prefix":
        options = (*KEY, "--kling-prefix", "/kling/v1")
    elif mistake == "API path":  # pasted from the banner's `API:` line
        url = loose.url + "/v1/videos/multi-image2video"
    else:
        url = loose.url + "/kling/v1/"
    result, report = run_against(url, tmp_path, *options)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert report is None
    output = (result.stdout + result.stderr).strip().splitlines()
    errors = [line for line in output if line.startswith("ERROR:")]
    assert len(errors) == 1, output
    assert len(output) <= 3, output
    expected = {
        "no credentials": "is not a mock-kling fake: give credentials",
        "unreachable": "cannot reach",
        "wrong prefix": "wrong prefix /kling/v1 (--kling-prefix, or --kling-profile for a "
        "reseller); /v1 answers: give --kling-prefix /v1",
        "API path": f"contains the API path /v1/videos/multi-image2video: give the server's "
        f"root, --kling-base-url {loose.url} (",
        "prefix in URL": f"contains the path prefix /kling/v1: give the server's root, "
        f"--kling-base-url {loose.url} (",
    }[mistake]
    assert expected in errors[0]
    assert loose.creates == 0
