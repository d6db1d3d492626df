"""Issue 7's benchmark suite: `python benchmarks/run.py [--quick] [--only NAME ...] [--json OUT]`
measures `mock-kling serve` side by side with a bare-WSGI baseline and prints tables."""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import harness
from harness import (
    API_KEY,
    API_PATH,
    HERE,
    SMALL_BODY,
    Client,
    Server,
    WrkResult,
    median,
    request,
    request_json,
    run_wrk,
    start_baseline,
    start_fake,
    start_receiver,
    submit_body,
)

SECTIONS = ("http", "startup", "inprocess", "big", "list", "callbacks")
PRISM_GET_RPS = 1300.0  # issue 7: Stoplight Prism, GET one task, 64 connections
BARE_WAITRESS_COLD_S = 0.08  # issue 7: waitress + bare WSGI, cold start to first 200
JWT_ACCESS_KEY = "bench-access-key"
JWT_SECRET_KEY = "bench-secret-key-0123456789abcdef"
BIG_IMAGE_BYTES = 9_900_000
AUTH = f"Bearer {API_KEY}"
STUCK_BODY = json.dumps(
    {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "a cat walks mock:stuck"}
).encode()


@dataclass
class Settings:
    """How long and how often; --quick shortens everything but keeps every measurement."""

    quick: bool = False
    duration: float = 5.0
    warmup: float = 1.0
    rounds: int = 3
    threads: int = 8
    cold_runs: int = 7
    big_rounds: int = 5
    list_tasks: int = 100_000
    list_via: str = "http"  # quick: "inprocess"
    scaling_tasks: int = 3000
    callback_tasks: int = 1000
    hang_rounds: int = 3
    feed_rate: float = 20.0
    resets: int = 1000
    lifecycles: int = 50
    pytest_runs: int = 3

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        settings = cls()
        if args.quick:
            settings = cls(
                quick=True,
                duration=2.0,
                rounds=1,
                cold_runs=3,
                big_rounds=3,
                hang_rounds=3,  # one round's p99 at 64 connections is mostly noise here
                pytest_runs=1,
                list_via="inprocess",
            )
        for name in ("duration", "rounds", "threads", "list_tasks", "list_via"):
            value = getattr(args, name)
            if value is not None:
                setattr(settings, name, value)
        return settings


@dataclass
class Row:
    """One line of the summary: a figure and, when the issue sets one, its target."""

    section: str
    name: str
    figure: str
    target: str = ""
    met: bool | None = None  # None: context, no target


@dataclass
class Report:
    settings: Settings
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def add(
        self, section: str, name: str, figure: str, target: str = "", met: bool | None = None
    ) -> None:
        self.rows.append(Row(section, name, figure, target, met))


# --- printing ----------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def say(text: str = "") -> None:
    print(text, flush=True)


def ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"


def rate(value: float) -> str:
    return f"{value:,.0f}"


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


# --- 1. HTTP throughput ------------------------------------------------------------------------


def section_http(s: Settings, report: Report, tmp: Path) -> None:
    from mock_kling.core.auth import make_token

    png = harness.photo_png(400, 400)
    image = base64.b64encode(png).decode()
    post_file = tmp / "post_2x400.json"
    post_file.write_bytes(submit_body([image, image]))
    say(
        f"POST body: 2 x 400x400 PNG ({len(png):,} bytes each, {len(image):,} base64 chars), "
        f"{post_file.stat().st_size:,} bytes"
    )
    # System clock, 0 s timings: every submitted task has ended by the next submit, so the
    # submit cells do not slow down as running tasks pile up (measured apart, in `list`).
    fake_options = ["--submitted-seconds", "0", "--processing-seconds", "0"]
    with start_fake(*fake_options, *_jwt_options(), threads=s.threads) as fake:
        start_memory = fake.memory()
        for _ in range(29):  # the list page: 29 tasks that have succeeded ...
            _post(fake.url, API_KEY, SMALL_BODY)
        # ... and the polled task, in processing for good (the prompt marker mock:stuck)
        target = _post(fake.url, API_KEY, STUCK_BODY)["data"]["task_id"]
        task_path = f"{API_PATH}/{target}"
        list_path = f"{API_PATH}?pageNum=1&pageSize=30"
        bodies = {
            "get": _answer(fake.url + task_path),
            "list": _answer(fake.url + list_path),
            "post": _answer(fake.url + API_PATH, body=post_file.read_bytes()),
        }
        bodies_file = tmp / "baseline_bodies.json"
        bodies_file.write_text(json.dumps({k: v.decode() for k, v in bodies.items()}))
        token = make_token(JWT_ACCESS_KEY, JWT_SECRET_KEY, time.time(), 7200)
        jwt_task = _post(fake.url, token, STUCK_BODY)["data"]["task_id"]  # the JWT account's
        endpoints: dict[str, tuple[str, str, Path | None]] = {
            "GET one task": (task_path, AUTH, None),
            "GET one task (JWT)": (f"{API_PATH}/{jwt_task}", f"Bearer {token}", None),
            "GET list (30)": (list_path, AUTH, None),
            "POST submit 2x400x400": (API_PATH, AUTH, post_file),
        }
        cells = [
            ("GET one task", 8),
            ("GET one task", 64),
            ("GET one task (JWT)", 64),
            ("GET list (30)", 8),
            ("GET list (30)", 64),
            ("POST submit 2x400x400", 8),
            ("POST submit 2x400x400", 64),
        ]
        results: dict[tuple[str, int, str], list[WrkResult]] = {}
        with start_baseline(bodies_file, s.threads) as baseline:
            servers = [("fake", fake), ("baseline", baseline)]
            for round_index in range(s.rounds):
                for cell_index, (endpoint, connections) in enumerate(cells):
                    path, auth, body_file = endpoints[endpoint]
                    order = servers if (round_index + cell_index) % 2 == 0 else servers[::-1]
                    for name, server in order:
                        url = server.url + path
                        run_wrk(url, connections, s.warmup, auth, body_file)
                        result = run_wrk(
                            url, connections, s.duration, auth, body_file, server_pid=server.pid
                        )
                        results.setdefault((endpoint, connections, name), []).append(result)
                        _progress(
                            f"{round_index + 1}/{s.rounds}", endpoint, connections, name, result
                        )
            fake_memory, base_memory = fake.memory(), baseline.memory()
        tasks = request_json(fake.url + "/__mock__/health", key=False)["tasks"]
    _report_http(s, report, cells, results, bodies)
    say(
        f"server memory after the cells: fake RSS {fake_memory['rss_kb'] / 1024:.1f} MiB "
        f"(peak {fake_memory['hwm_kb'] / 1024:.1f} MiB; at start "
        f"{start_memory['rss_kb'] / 1024:.1f} MiB; {tasks:,} tasks stored), baseline RSS "
        f"{base_memory['rss_kb'] / 1024:.1f} MiB (peak {base_memory['hwm_kb'] / 1024:.1f} MiB)"
    )
    report.data["http"]["memory"] = {
        "fake_start": start_memory,
        "fake_end": fake_memory,
        "baseline_end": base_memory,
        "fake_tasks_stored": tasks,
        "post_body_bytes": post_file.stat().st_size,
        "answer_bytes": {k: len(v) for k, v in bodies.items()},
    }
    report.add(
        "http",
        "fake RSS after all cells",
        f"{fake_memory['rss_kb'] / 1024:.1f} MiB, peak {fake_memory['hwm_kb'] / 1024:.1f} MiB "
        f"({tasks:,} tasks); baseline {base_memory['rss_kb'] / 1024:.1f} MiB",
    )


def _progress(step: str, endpoint: str, connections: int, name: str, result: WrkResult) -> None:
    say(
        f"  round {step} {endpoint:<22} c={connections:<3} {name:<9} {rate(result.rps):>7} req/s"
        f"  p50 {ms(result.p50_ms):>9}  p99 {ms(result.p99_ms):>9}  non-2xx {result.non_2xx}"
    )


def _jwt_options() -> list[str]:
    return ["--access-key", JWT_ACCESS_KEY, "--secret-key", JWT_SECRET_KEY]


def _answer(url: str, key: str = API_KEY, body: bytes | None = None) -> bytes:
    headers = {"Authorization": f"Bearer {key}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    status, raw = request(url, "POST" if body is not None else "GET", body, headers)
    if status != 200:
        raise RuntimeError(f"{url} answered {status}: {raw[:300]!r}")
    return raw


def _report_http(
    s: Settings,
    report: Report,
    cells: list[tuple[str, int]],
    results: dict[tuple[str, int, str], list[WrkResult]],
    bodies: dict[str, bytes],
) -> None:
    rows, data = [], []
    for endpoint, connections in cells:
        fake, base = (
            results[(endpoint, connections, "fake")],
            results[(endpoint, connections, "baseline")],
        )
        f_rps, b_rps = median([r.rps for r in fake]), median([r.rps for r in base])
        f_p50, f_p99 = median([r.p50_ms for r in fake]), median([r.p99_ms for r in fake])
        b_p50, b_p99 = median([r.p50_ms for r in base]), median([r.p99_ms for r in base])
        f_cpu = median([r.cpu_us_per_request for r in fake])
        b_cpu = median([r.cpu_us_per_request for r in base])
        f_bad = sum(r.non_2xx + r.socket_errors + r.timeouts for r in fake)
        b_bad = sum(r.non_2xx + r.socket_errors + r.timeouts for r in base)
        prism = f"{f_rps / PRISM_GET_RPS:.2f}x" if endpoint.startswith("GET one") else "-"
        rows.append(
            [
                endpoint,
                str(connections),
                rate(f_rps),
                rate(b_rps),
                f"{ratio(f_rps, b_rps):.2f}",
                ms(f_p50),
                ms(f_p99),
                ms(b_p50),
                ms(b_p99),
                f"{f_bad}/{b_bad}",
                f"{f_cpu:.0f} / {b_cpu:.0f} us",
                prism,
            ]
        )
        data.append(
            {
                "endpoint": endpoint,
                "connections": connections,
                "fake": {
                    "cpu_us_per_request": f_cpu,
                    "rps": f_rps,
                    "p50_ms": f_p50,
                    "p99_ms": f_p99,
                    "errors": f_bad,
                    "rounds": [r.to_json() for r in fake],
                },
                "baseline": {
                    "cpu_us_per_request": b_cpu,
                    "rps": b_rps,
                    "p50_ms": b_p50,
                    "p99_ms": b_p99,
                    "errors": b_bad,
                    "rounds": [r.to_json() for r in base],
                },
                "ratio_fake_baseline": ratio(f_rps, b_rps),
            }
        )
        target_cell = (endpoint, connections) == ("GET one task", 64)
        if target_cell:
            report.add(
                "http",
                "GET one task, 64 conn: req/s vs Prism 1.3k",
                f"{rate(f_rps)} req/s = {f_rps / PRISM_GET_RPS:.2f}x Prism",
                ">= 2x (2,600 req/s)",
                f_rps >= 2 * PRISM_GET_RPS,
            )
            report.add(
                "http",
                "GET one task, 64 conn: fake / bare waitress",
                f"{ratio(f_rps, b_rps):.2f} ({rate(f_rps)} / {rate(b_rps)} req/s; CPU a "
                f"request {f_cpu:.0f} / {b_cpu:.0f} us)",
                ">= 0.50",
                ratio(f_rps, b_rps) >= 0.5,
            )
            rounds_p99 = ", ".join(f"{r.p99_ms:.0f}" for r in fake)
            report.add(
                "http",
                "GET one task, 64 conn: p99",
                f"{ms(f_p99)} (rounds: {rounds_p99} ms; bare waitress {ms(b_p99)})",
                "< 50 ms",
                f_p99 < 50,
            )
        else:
            report.add(
                "http",
                f"{endpoint}, {connections} conn",
                f"{rate(f_rps)} req/s ({ratio(f_rps, b_rps):.2f}x baseline), "
                f"p50 {ms(f_p50)}, p99 {ms(f_p99)}, {f_cpu:.0f} us CPU a request",
            )
    total_bad = sum(int(row[9].split("/")[0]) for row in rows)
    report.add(
        "http", "non-2xx + socket errors (fake, all cells)", str(total_bad), "0", total_bad == 0
    )
    report.data["http"] = {"cells": data, "duration_s": s.duration, "rounds": s.rounds}
    say()
    say(
        f"HTTP throughput (wrk -t1 --latency, {s.duration:g} s a cell after a {s.warmup:g} s "
        f"warm-up, median of {s.rounds} round(s); waitress {s.threads} threads both; answers "
        f"{len(bodies['get'])} / {len(bodies['list'])} / {len(bodies['post'])} bytes)"
    )
    say(
        table(
            [
                "cell",
                "conn",
                "fake req/s",
                "base req/s",
                "fake/base",
                "fake p50",
                "fake p99",
                "base p50",
                "base p99",
                "errors f/b",
                "CPU/req f / b",
                "vs Prism",
            ],
            rows,
        )
    )


# --- 2. Cold start, fixture, reset, lifecycle --------------------------------------------------


def section_startup(s: Settings, report: Report, tmp: Path) -> None:
    bodies_file = tmp / "baseline_small.json"
    bodies_file.write_text(json.dumps({"get": "{}", "list": "{}", "post": "{}"}))
    starts: dict[str, list[float]] = {"fake": [], "baseline": []}
    banners: dict[str, list[float]] = {"fake": [], "baseline": []}
    for index in range(s.cold_runs):
        kinds = ["fake", "baseline"] if index % 2 == 0 else ["baseline", "fake"]
        for kind in kinds:
            server = start_fake() if kind == "fake" else start_baseline(bodies_file, s.threads)
            with server:
                harness.wait_healthy(server.url + "/__mock__/health")
                starts[kind].append(time.perf_counter() - server.started)
                banners[kind].append(server.banner_seconds)
    interpreter = []
    for _ in range(s.cold_runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
        interpreter.append(time.perf_counter() - started)
    fake_s, base_s = median(starts["fake"]), median(starts["baseline"])
    rows = [
        [
            "mock-kling serve",
            ms(median(banners["fake"]) * 1000),
            ms(fake_s * 1000),
            ms(min(starts["fake"]) * 1000),
            ms(max(starts["fake"]) * 1000),
        ],
        [
            "bare WSGI on waitress",
            ms(median(banners["baseline"]) * 1000),
            ms(base_s * 1000),
            ms(min(starts["baseline"]) * 1000),
            ms(max(starts["baseline"]) * 1000),
        ],
        ["python -c pass", "-", ms(median(interpreter) * 1000), "-", "-"],
    ]
    say()
    say(f"Cold start: process start to first 200 on /__mock__/health (median of {s.cold_runs})")
    say(table(["server", "banner", "first 200", "min", "max"], rows))
    report.data["startup"] = {
        "fake_s": starts["fake"],
        "baseline_s": starts["baseline"],
        "fake_banner_s": banners["fake"],
        "baseline_banner_s": banners["baseline"],
        "python_c_pass_s": interpreter,
        "command": harness.mock_kling_command(),
    }
    report.add(
        "startup",
        "mock-kling serve: start to first 200",
        f"{ms(fake_s * 1000)} ({ratio(fake_s, base_s):.1f}x bare waitress {ms(base_s * 1000)}; "
        f"issue's bare waitress ~{BARE_WAITRESS_COLD_S * 1000:.0f} ms)",
        "< 500 ms",
        fake_s < 0.5,
    )


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
    data = _json_from(command, timeout=600)
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


# --- 3. Big submit -----------------------------------------------------------------------------


def section_big(s: Settings, report: Report, tmp: Path) -> None:
    png = harness.padded_png(BIG_IMAGE_BYTES)
    image = base64.b64encode(png).decode()
    body = submit_body([image] * 4)
    del image
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    bodies_file = tmp / "baseline_big.json"
    bodies_file.write_text(json.dumps({"get": "{}", "list": "{}", "post": "{}"}))
    results: dict[str, list[dict[str, float]]] = {"fake": [], "baseline": []}
    for index in range(s.big_rounds):
        kinds = ["fake", "baseline"] if index % 2 == 0 else ["baseline", "fake"]
        for kind in kinds:
            server = start_fake() if kind == "fake" else start_baseline(bodies_file, s.threads)
            with server:
                harness.wait_healthy(server.url + "/__mock__/health")
                time.sleep(0.2)
                reset_peak = _reset_peak(server.pid)
                before = server.memory()
                started = time.perf_counter()
                status, answer = request(server.url + API_PATH, "POST", body, headers, timeout=120)
                seconds = time.perf_counter() - started
                if status != 200 or (kind == "fake" and json.loads(answer)["code"] != 0):
                    raise RuntimeError(f"big submit to {kind} answered {status}: {answer[:300]!r}")
                time.sleep(0.2)
                after = server.memory()
                peak_base = before["rss_kb"] if reset_peak else before["hwm_kb"]
                results[kind].append(
                    {
                        "seconds": seconds,
                        "peak_extra_bytes": max(0, after["hwm_kb"] - peak_base) * 1024,
                        "retained_bytes": (after["rss_kb"] - before["rss_kb"]) * 1024,
                        "rss_before_kb": before["rss_kb"],
                        "hwm_before_kb": before["hwm_kb"],
                        "hwm_after_kb": after["hwm_kb"],
                        "peak_reset": reset_peak,
                    }
                )
    size = len(body)
    rows = []
    for kind in ("fake", "baseline"):
        runs = results[kind]
        latency = median([r["seconds"] for r in runs])
        peak = median([r["peak_extra_bytes"] for r in runs])
        retained = median([r["retained_bytes"] for r in runs])
        rows.append(
            [
                "mock-kling serve" if kind == "fake" else "bare WSGI on waitress",
                ms(latency * 1000),
                f"{peak / 2**20:.1f} MiB",
                f"{peak / size:.2f}x",
                f"{retained / 2**20:.1f} MiB",
            ]
        )
    say()
    say(
        f"Big submit: 4 x {BIG_IMAGE_BYTES:,}-byte PNG (2000x2000 header), body {size:,} bytes; "
        f"a fresh server per round, median of {s.big_rounds}"
    )
    say(table(["server", "latency", "peak extra RSS", "peak / body", "retained RSS"], rows))
    fake_latency = median([r["seconds"] for r in results["fake"]])
    fake_peak = median([r["peak_extra_bytes"] for r in results["fake"]])
    report.data["big"] = {"body_bytes": size, "runs": results}
    report.add(
        "big",
        "submit 4 x 9.9 MB: latency",
        ms(fake_latency * 1000),
        "< 1000 ms",
        fake_latency < 1.0,
    )
    report.add(
        "big",
        "submit 4 x 9.9 MB: peak extra RSS / body",
        f"{fake_peak / size:.2f}x ({fake_peak / 2**20:.0f} MiB for {size / 2**20:.0f} MiB)",
        "< 4x",
        fake_peak / size < 4,
    )


def _reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (writing 5 to clear_refs, Linux >= 4.0)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- 4. List with 100,000 tasks ----------------------------------------------------------------


def section_list(s: Settings, report: Report, tmp: Path) -> None:
    if s.list_via == "http":
        server, info, big_key, small_key = _fill_over_http(s)
    else:
        command = [
            sys.executable,
            str(HERE / "prefilled.py"),
            "--tasks",
            str(s.list_tasks),
            "--threads",
            str(s.threads),
        ]
        server = Server(command, "prefilled fake", start_timeout=900)
        info = json.loads(
            next(x for x in server.output if x.startswith("BENCH_JSON ")).removeprefix(
                "BENCH_JSON "
            )
        )
        big_key, small_key = "sk-bench-big-account", "sk-bench-small-account"
    with server:
        deep = min(1000, max(1, s.list_tasks // 30))
        big = f"{info['tasks'] // 1000}k" if info["tasks"] >= 1000 else str(info["tasks"])
        page_1 = f"{API_PATH}?pageNum=1&pageSize=30"
        page_deep = f"{API_PATH}?pageNum={deep}&pageSize=30"
        newest = f"{API_PATH}/{info['newest_task_id']}"
        oldest = f"{API_PATH}/{info['oldest_task_id']}"
        cells = [
            (f"list page 1 (30), {big} account", page_1, big_key, server),
            (f"list page {deep} (30), {big} account", page_deep, big_key, server),
            ("list page 1 (30), 30-task account", page_1, small_key, server),
            (f"GET newest task, {big} account", newest, big_key, server),
            (f"GET oldest task, {big} account", oldest, big_key, server),
        ]
        bodies = {"get": _answer(server.url + newest, big_key)}
        bodies["list"] = _answer(server.url + page_1, big_key)
        bodies_file = tmp / "baseline_list.json"
        bodies_file.write_text(json.dumps({k: v.decode() for k, v in bodies.items()}))
        seconds = max(1.0, s.duration / 2)
        results: dict[str, list[WrkResult]] = {}
        with start_baseline(bodies_file, s.threads) as baseline:
            cells += [
                ("bare waitress: the same list answer", page_1, big_key, baseline),
                ("bare waitress: the same task answer", newest, big_key, baseline),
            ]
            for round_index in range(s.rounds):
                order = cells if round_index % 2 == 0 else cells[::-1]
                for name, path, key, target in order:
                    run_wrk(target.url + path, 1, s.warmup, f"Bearer {key}")
                    result = run_wrk(target.url + path, 1, seconds, f"Bearer {key}")
                    results.setdefault(name, []).append(result)
        memory = server.memory()
    scaling = _json_from(
        [sys.executable, str(HERE / "inprocess.py"), "--scaling", str(s.scaling_tasks)],
        timeout=600,
    )["submit_scaling"]
    rows = []
    for name, *_ in cells:
        runs = results[name]
        bad = sum(r.non_2xx + r.socket_errors + r.timeouts for r in runs)
        rows.append(
            [
                name,
                ms(median([r.p50_ms for r in runs])),
                ms(median([r.p99_ms for r in runs])),
                rate(median([r.rps for r in runs])),
                str(bad),
            ]
        )
    per_task = info["bytes_per_task"]
    how = (
        "POSTed over HTTP to mock-kling serve (8 keep-alive connections; the memory includes "
        "its request journal, bounded at 10,000 records)"
        if s.list_via == "http"
        else "created in-process with Backend.create_task (benchmarks/prefilled.py), then served "
        "by the same app on waitress"
    )
    say()
    say(f"List with {info['tasks']:,} tasks in one account: {how}")
    say(
        f"  created in {info['create_seconds']:.1f} s ({info['create_us_per_task']:.0f} us a "
        f"task); RSS {info['rss_before_kb'] / 1024:.1f} -> {info['rss_after_kb'] / 1024:.1f} MiB "
        f"= {per_task:,.0f} bytes a task; RSS after the reads {memory['rss_kb'] / 1024:.1f} MiB"
    )
    say(f"  wrk -c1 (latency without queueing), {seconds:g} s a cell, median of {s.rounds}")
    say(table(["request", "p50", "p99", "req/s (1 conn)", "errors"], rows))
    manual, system = scaling["manual"], scaling["system_0s"]
    say(
        f"  submit cost vs tasks already created (Backend.create_task, in-process, "
        f"{scaling['tasks']:,} tasks): manual clock (all keep running) {manual['first_us']:.0f} us "
        f"-> {manual['last_us']:.0f} us ({manual['ratio']:.1f}x); system clock, 0 s timings "
        f"(all ended) {system['first_us']:.0f} us -> {system['last_us']:.0f} us "
        f"({system['ratio']:.1f}x)"
    )
    big_p50 = median([r.p50_ms for r in results[cells[0][0]]])
    small_p50 = median([r.p50_ms for r in results[cells[2][0]]])
    deep_p50 = median([r.p50_ms for r in results[cells[1][0]]])
    report.data["list"] = {
        "fill": info,
        "via": s.list_via,
        "cells": {k: [r.to_json() for r in v] for k, v in results.items()},
        "memory_after_reads": memory,
        "submit_scaling": scaling,
    }
    report.add(
        "list",
        f"GET list page 1 of 30, {info['tasks']:,} tasks: p50",
        f"{ms(big_p50)} (deep page {ms(deep_p50)}; 30-task account {ms(small_p50)})",
        "< 5 ms",
        big_p50 < 5,
    )
    report.add(
        "list",
        "memory per stored task",
        f"{per_task:,.1f} bytes",
        "< 1,536 bytes (1.5 KiB)",
        per_task < 1536,
    )
    report.add(
        "list",
        f"submit cost after {scaling['tasks']:,} running tasks",
        f"{manual['ratio']:.1f}x the cost with none running "
        f"({manual['first_us']:.0f} -> {manual['last_us']:.0f} us)",
    )


def _fill_over_http(s: Settings) -> tuple[Server, dict[str, Any], str, str]:
    """mock-kling serve with two accounts; `list_tasks` small submits over HTTP (8 threads)."""
    small_key = "sk-bench-small-account"
    server = start_fake(
        "--submitted-seconds", "0", "--processing-seconds", "0", "--api-key", small_key,
        threads=s.threads,
    )  # fmt: skip
    try:
        for _ in range(30):
            _post(server.url, small_key, SMALL_BODY)
        before = server.memory()
        started = time.perf_counter()
        ids = _submit_many(server.url, API_KEY, s.list_tasks, SMALL_BODY, workers=8, limit_s=1800)
        seconds = time.perf_counter() - started
        after = server.memory()
    except BaseException:
        server.stop()
        raise
    info = {
        "tasks": len(ids),
        "create_seconds": seconds,
        "create_us_per_task": seconds / max(1, len(ids)) * 1e6,
        "rss_before_kb": before["rss_kb"],
        "rss_after_kb": after["rss_kb"],
        "bytes_per_task": (after["rss_kb"] - before["rss_kb"]) * 1024 / max(1, len(ids)),
        "oldest_task_id": min(ids, key=lambda x: x[0])[1],
        "newest_task_id": max(ids, key=lambda x: x[0])[1],
    }
    return server, info, API_KEY, small_key


def _post(base_url: str, key: str, body: bytes) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    status, raw = request(base_url + API_PATH, "POST", body, headers)
    if status != 200:
        raise RuntimeError(f"submit answered {status}: {raw[:300]!r}")
    answer: dict[str, Any] = json.loads(raw)
    return answer


def _submit_many(
    base_url: str, key: str, count: int, body: bytes, workers: int, limit_s: float
) -> list[tuple[int, str]]:
    """POST `count` submits on `workers` keep-alive connections; [(created_at, task_id)]."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    lock = threading.Lock()
    left = [count]
    deadline = time.monotonic() + limit_s

    def worker() -> list[tuple[int, str]]:
        client, made = Client(base_url), []
        try:
            while time.monotonic() < deadline:
                with lock:
                    if left[0] <= 0:
                        break
                    left[0] -= 1
                status, raw = client.send("POST", API_PATH, body, headers)
                if status != 200:
                    raise RuntimeError(f"submit answered {status}: {raw[:300]!r}")
                data = json.loads(raw)["data"]
                made.append((data["created_at"], data["task_id"]))
        finally:
            client.close()
        return made

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(worker) for _ in range(workers)]
        made = [item for future in futures for item in future.result()]
    if len(made) < count:
        raise RuntimeError(f"only {len(made)} of {count} submits within {limit_s} s")
    return made


# --- 5. Callbacks ------------------------------------------------------------------------------


def section_callbacks(s: Settings, report: Report, tmp: Path) -> None:
    delivery = _callback_burst(s)
    hang = _hang_rounds(s)
    report.data["callbacks"] = {"burst": delivery, "hang": hang}
    healthy_p99 = median([r["p99_ms"] for r in hang["ok"]])
    hanging_p99 = median([r["p99_ms"] for r in hang["hang"]])
    rows = []
    for mode in ("ok", "hang"):
        runs = hang[mode]
        rows.append(
            [
                "healthy (200 at once)" if mode == "ok" else "hanging (never answers)",
                rate(median([r["rps"] for r in runs])),
                ms(median([r["p50_ms"] for r in runs])),
                ms(median([r["p99_ms"] for r in runs])),
                str(sum(r["fed"] for r in runs)),
                str(sum(r["arrived"] for r in runs)),
                str(sum(r["errors"] for r in runs)),
                f"{median([r['cpu_us_per_request'] for r in runs]):.0f} us",
            ]
        )
    say()
    say(
        f"Callbacks: {delivery['tasks']:,} tasks (system clock, submitted 0 s, processing 1 s) "
        f"to benchmarks/receiver.py: submitted in {delivery['submit_seconds']:.2f} s; "
        f"{delivery['arrived']:,} of {delivery['expected']:,} deliveries arrived; the last "
        f"{delivery['after_last_transition_s']:.2f} s after the last transition; journal: "
        f"{delivery['journal']}"
    )
    say(
        f"API while tasks keep delivering (~{s.feed_rate:g} submits/s with callback_url, "
        f"--callback-timeout 5): wrk GET one task, 64 conn, {s.duration:g} s, median of "
        f"{s.hang_rounds} round(s)"
    )
    say(
        table(
            [
                "receiver",
                "req/s",
                "p50",
                "p99",
                "tasks fed",
                "callbacks arrived",
                "errors",
                "fake CPU/req",
            ],
            rows,
        )
    )
    report.add(
        "callbacks",
        f"{delivery['tasks']:,} tasks: last delivery after last transition",
        f"{delivery['after_last_transition_s']:.2f} s "
        f"({delivery['arrived']:,}/{delivery['expected']:,} delivered)",
        "< 5 s",
        delivery["after_last_transition_s"] < 5 and delivery["arrived"] >= delivery["expected"],
    )
    report.add(
        "callbacks",
        "GET p99 with hanging receiver / healthy",
        f"{ratio(hanging_p99, healthy_p99):.2f} ({ms(hanging_p99)} / {ms(healthy_p99)})",
        "<= 1.5",
        ratio(hanging_p99, healthy_p99) <= 1.5,
    )


def _callback_burst(s: Settings) -> dict[str, Any]:
    options = ["--submitted-seconds", "0", "--processing-seconds", "1"]
    expected = s.callback_tasks * 3
    with start_receiver("ok") as receiver, start_fake(*options, threads=s.threads) as fake:
        body = submit_body(["https://example.com/a.png"], callback_url=receiver.url + "/cb")
        started = time.perf_counter()
        made = _submit_many(fake.url, API_KEY, s.callback_tasks, body, workers=8, limit_s=300)
        submit_seconds = time.perf_counter() - started
        last_transition_ms = max(created for created, _ in made) + 1000
        stats: dict[str, Any] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            stats = request_json(receiver.url + "/stats", key=False)
            if stats["count"] >= expected:
                break
            time.sleep(0.05)
        journal = request_json(fake.url + "/__mock__/callbacks", key=False)
        fake_memory = fake.memory()
    results: dict[str, int] = {}
    for entry in journal:
        results[entry["result"]] = results.get(entry["result"], 0) + 1
    return {
        "tasks": s.callback_tasks,
        "expected": expected,
        "arrived": stats.get("count", 0),
        "submit_seconds": submit_seconds,
        "last_transition_ms": last_transition_ms,
        "last_arrival_ms": stats.get("last_ms", 0),
        "after_last_transition_s": (stats.get("last_ms", 0) - last_transition_ms) / 1000,
        "journal": results,
        "fake_memory": fake_memory,
    }


def _hang_rounds(s: Settings) -> dict[str, list[dict[str, Any]]]:
    options = ["--submitted-seconds", "0", "--processing-seconds", "1", "--callback-timeout", "5"]
    results: dict[str, list[dict[str, Any]]] = {"ok": [], "hang": []}
    for index in range(s.hang_rounds):
        modes = ["ok", "hang"] if index % 2 == 0 else ["hang", "ok"]
        for mode in modes:
            with start_receiver(mode) as receiver, start_fake(*options, threads=s.threads) as fake:
                target = _post(fake.url, API_KEY, SMALL_BODY)["data"]["task_id"]
                body = submit_body(["https://example.com/a.png"], callback_url=receiver.url + "/cb")
                stop = threading.Event()
                feeder_seconds = s.warmup + s.duration + 30
                fed: list[int] = []
                feeder = threading.Thread(
                    target=_feed, args=(fake.url, body, s.feed_rate, feeder_seconds, stop, fed)
                )
                feeder.start()
                try:
                    time.sleep(1.0)  # deliveries under way (or hanging) before we measure
                    url = f"{fake.url}{API_PATH}/{target}"
                    run_wrk(url, 64, s.warmup, AUTH)
                    result = run_wrk(url, 64, s.duration, AUTH, server_pid=fake.pid)
                finally:
                    stop.set()
                    feeder.join(timeout=60)
                stats = request_json(receiver.url + "/stats", key=False)
            results[mode].append(
                {
                    **result.to_json(),
                    "fed": sum(fed),
                    "arrived": stats["count"],
                    "errors": result.non_2xx + result.socket_errors + result.timeouts,
                }
            )
            say(
                f"  round {index + 1}/{s.hang_rounds} receiver {mode:<4}: {rate(result.rps)} req/s,"
                f" p99 {ms(result.p99_ms)}, {sum(fed)} tasks fed, {stats['count']} callbacks in"
            )
    return results


def _feed(
    base_url: str,
    body: bytes,
    per_second: float,
    seconds: float,
    stop: threading.Event,
    fed: list[int],
) -> None:
    """Submit tasks with a callback_url at a steady rate until `stop` (or `seconds`)."""
    client = Client(base_url, timeout=30)
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    started = time.monotonic()
    try:
        for index in range(int(per_second * seconds)):
            if stop.is_set():
                break
            pause = started + index / per_second - time.monotonic()
            if pause > 0 and stop.wait(pause):
                break
            try:
                status, _ = client.send("POST", API_PATH, body, headers)
            except OSError:
                continue
            if status == 200:
                fed.append(1)
    finally:
        client.close()


# --- running -----------------------------------------------------------------------------------


def _json_from(command: list[str], timeout: float) -> dict[str, Any]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    data: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
    return data


RUNNERS: dict[str, Callable[[Settings, Report, Path], None]] = {
    "http": section_http,
    "startup": section_startup,
    "inprocess": section_inprocess,
    "big": section_big,
    "list": section_list,
    "callbacks": section_callbacks,
}


def print_summary(report: Report) -> None:
    rows = []
    for row in report.rows:
        verdict = "-" if row.met is None else ("met" if row.met else "NOT MET")
        rows.append([row.section, row.name, row.figure, row.target or "-", verdict])
    for section, error in report.errors.items():
        rows.append([section, "error", error.splitlines()[-1][:90], "-", "ERROR"])
    say()
    say("Summary")
    say(table(["section", "measurement", "figure", "target", "verdict"], rows))


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    wrk = subprocess.run([harness.ensure_wrk(), "--version"], capture_output=True, text=True)
    return {
        "source": _source_state(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "waitress": version("waitress"),
        "flask": version("flask"),
        "mock_kling": version("mock-kling"),
        "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "",
    }


def _source_state() -> str:
    """The commit of the tree under test, and whether mock_kling/ has uncommitted changes
    (read-only git commands; "unknown" outside a git checkout)."""
    root = HERE.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "mock_kling"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    if not head:
        return "unknown"
    return f"commit {head}" + (" + uncommitted changes in mock_kling/" if dirty else "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmarks of mock-kling (issue 7). Sections: " + ", ".join(SECTIONS)
    )
    parser.add_argument("--quick", action="store_true", help="~2 s cells, 1 round: a quick look.")
    parser.add_argument(
        "--only", nargs="+", action="extend", choices=SECTIONS, metavar="NAME",
        help=f"Run only these sections ({', '.join(SECTIONS)}).",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, metavar="OUT", help="Also write the results here.")
    parser.add_argument("--duration", type=float, help="Seconds per wrk cell (default 5; quick 2).")
    parser.add_argument("--rounds", type=int, help="Rounds per cell (default 3; quick 1).")
    parser.add_argument("--threads", type=int, help="waitress threads, fake and baseline (8).")
    parser.add_argument("--list-tasks", type=int, help="Tasks in the big account (100000).")
    parser.add_argument(
        "--list-via", choices=["inprocess", "http"],
        help="POST the list tasks over HTTP to mock-kling serve (default; ~2 min for 100k) or "
        "create them in-process with Backend.create_task (--quick's default; ~20 s).",
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings.from_args(args)
    report = Report(settings)
    wall_started = time.perf_counter()
    harness.ensure_wrk()
    report.data["machine"] = machine()
    info = report.data["machine"]
    say(
        f"mock-kling benchmarks, {info['date']}: {info['cpus']} CPUs, load "
        f"{' '.join(f'{x:.2f}' for x in info['load_average'])}, Python {info['python']}, "
        f"waitress {info['waitress']}, {info['wrk'].split(' Copyright')[0]}; "
        f"{'quick' if settings.quick else 'full'} run of {info['source']}"
    )
    sections = [name for name in SECTIONS if not args.only or name in args.only]
    with tempfile.TemporaryDirectory(prefix="mock-kling-bench-") as folder:
        for name in sections:
            say()
            say(f"== {name} ==")
            started = time.perf_counter()
            try:
                RUNNERS[name](settings, report, Path(folder))
            except Exception:
                report.errors[name] = traceback.format_exc()
                say(report.errors[name])
            say(f"({name}: {time.perf_counter() - started:.1f} s)")
    wall = time.perf_counter() - wall_started
    info["load_average_end"] = os.getloadavg()
    print_summary(report)
    load = " ".join(f"{x:.2f}" for x in info["load_average_end"])
    say(f"\nWall time of the run: {wall:.1f} s (started {info['date']}; load at the end {load})")
    if args.json:
        output = {
            "settings": asdict(settings),
            "machine": info,
            "wall_seconds": wall,
            "summary": [asdict(row) for row in report.rows],
            "errors": report.errors,
            "results": {k: v for k, v in report.data.items() if k != "machine"},
        }
        args.json.write_text(json.dumps(output, indent=2, default=str))
        say(f"JSON written to {args.json}")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
