"""Section `inprocess`: the pytest plugin timed in a fresh interpreter (benchmarks/inprocess.py)
and in a tiny pytest run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import HERE, json_from, median
from report import Report, Settings, ms, say, table


def section_inprocess(s: Settings, report: Report, tmp: Path) -> None:
    command = [
        sys.executable,
        str(HERE / "inprocess.py"),
        "--starts",
        "5",
        "--resets",
        str(s.resets),
        "--lifecycles",
        str(s.lifecycles),
    ]
    data = json_from(command, timeout=600)
    starts, resets, life = data["starts"], data["resets"], data["lifecycle"]
    pytest_runs = [_pytest_durations(tmp) for _ in range(s.pytest_runs)]
    first_setup = median([run["first_setup_s"] for run in pytest_runs]) * 1000
    later_setup = median([run["later_setup_s"] for run in pytest_runs]) * 1000
    pytest_wall = median([run["wall_s"] for run in pytest_runs]) * 1000
    rows = [
        [
            "KlingServer() in a fresh interpreter (Flask import included)",
            ms(starts["first_start_ms"]),
        ],
        ["KlingServer() again in the same process (median)", ms(starts["warm_start"]["median_ms"])],
        ["KlingServer.stop() (median)", ms(starts["stop"]["median_ms"])],
        [
            "import mock_kling.testing.plugin (pytest already imported)",
            ms(starts["plugin_import_ms"]),
        ],
        [
            f"pytest: first test's setup (session start), median of {s.pytest_runs}",
            ms(first_setup),
        ],
        ["pytest: later tests' setup (reset)", ms(later_setup)],
        ["pytest subprocess wall time, 3 tiny tests, only this plugin", ms(pytest_wall)],
        [
            f"backend.reconfigure(config), median of {s.resets}",
            f"{resets['reconfigure']['median_ms'] * 1000:.1f} us "
            f"(p99 {resets['reconfigure']['p99_ms'] * 1000:.0f} us)",
        ],
        [
            "kling_fake setup: _config + reconfigure + KlingFake (median)",
            f"{resets['fixture_setup']['median_ms'] * 1000:.1f} us",
        ],
        [
            f"lifecycle test body, median of {s.lifecycles}",
            f"{ms(life['body']['median_ms'])} (first {ms(life['first_body_ms'])}, "
            f"p99 {ms(life['body']['p99_ms'])})",
        ],
        [
            "lifecycle test with kling_receiver + kling_fake setup/teardown",
            ms(life["with_fixtures"]["median_ms"]),
        ],
    ]
    say()
    say("pytest plugin, in process (benchmarks/inprocess.py in a subprocess; a temp pytest file)")
    say(table(["measurement", "figure"], rows))
    report.data["inprocess"] = {**data, "pytest": pytest_runs}
    report.add(
        "inprocess",
        "fixture session start (KlingServer(), fresh)",
        f"{ms(starts['first_start_ms'])} (pytest setup {ms(first_setup)}; warm "
        f"{ms(starts['warm_start']['median_ms'])})",
        "< 200 ms",
        starts["first_start_ms"] < 200,
    )
    report.add(
        "inprocess",
        "per-test reset (reconfigure)",
        f"{resets['reconfigure']['median_ms']:.3f} ms",
        "< 5 ms",
        resets["reconfigure"]["median_ms"] < 5,
    )
    report.add(
        "inprocess",
        "lifecycle test wall time (body)",
        f"{ms(life['body']['median_ms'])} (with fixtures {ms(life['with_fixtures']['median_ms'])})",
        "< 50 ms",
        life["body"]["median_ms"] < 50,
    )


_TINY_TESTS = """
import requests


def test_health(kling_fake):
    assert requests.get(kling_fake.base_url + "/__mock__/health", timeout=10).status_code == 200


def test_submit(kling_fake):
    body = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "p"}
    answer = requests.post(kling_fake.api_url, json=body, headers=kling_fake.headers(), timeout=10)
    assert answer.status_code == 200


def test_reset_between_tests(kling_fake):
    assert kling_fake.tasks == []
"""
_TINY_CONFTEST = """
import json
import os


def pytest_runtest_logreport(report):
    # pytest --durations rounds to 10 ms: write each phase's exact duration instead.
    with open(os.environ["BENCH_DURATIONS_FILE"], "a") as out:
        out.write(json.dumps([report.nodeid, report.when, report.duration]) + "\\n")
"""


def _pytest_durations(tmp: Path) -> dict[str, Any]:
    folder = tmp / "pytest_tiny"
    folder.mkdir(exist_ok=True)
    (folder / "test_tiny.py").write_text(_TINY_TESTS)
    (folder / "conftest.py").write_text(_TINY_CONFTEST)
    durations_file = folder / "durations.jsonl"
    durations_file.write_text("")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "mock_kling.testing.plugin",
        "test_tiny.py",
    ]
    # Only this plugin: other pytest plugins installed here (hypothesis ...) would add seconds.
    env = {
        **os.environ,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "BENCH_DURATIONS_FILE": str(durations_file),
    }
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"the tiny pytest run failed:\n{done.stdout}\n{done.stderr}")
    setups: dict[str, float] = {}
    for line in durations_file.read_text().splitlines():
        nodeid, when, seconds = json.loads(line)
        if when == "setup":
            setups[nodeid] = seconds
    first = setups.get("test_tiny.py::test_health", 0.0)
    later = [v for k, v in setups.items() if k != "test_tiny.py::test_health"]
    return {
        "first_setup_s": first,
        "later_setup_s": median(later) if later else 0.0,
        "wall_s": wall,
        "setups_s": setups,
    }
