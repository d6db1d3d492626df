"""Section `http`: throughput of `mock-kling serve` side by side with the bare WSGI app on the
same server software and with WireMock serving the same answers, in rounds of rotated order."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path

import bodies as b
import http_table
import wiremock
from clients import answer, request_json, submit
from harness import (
    API_KEY,
    API_PATH,
    AUTH,
    HEALTH_PATH,
    Server,
    rotated,
    start_baseline,
    start_fake,
)
from load import WrkResult, run_wrk
from report import Report, Settings, ms, rate, say

JWT_ACCESS_KEY = "bench-access-key"
JWT_SECRET_KEY = "bench-secret-key-0123456789abcdef"
ALL = ("fake", "bare", "wiremock", "wm-kling")  # wm-kling: WireMock built for Kling
FAKE_BARE = ("fake", "bare")


@dataclass(frozen=True)
class Cell:
    """One wrk cell: an endpoint at a number of connections, and the servers that run it."""

    endpoint: str
    connections: int
    servers: tuple[str, ...] = ALL


CELLS = (
    Cell("GET one task", 8),
    Cell("GET one task", 64),
    Cell("GET one task (JWT)", 64, FAKE_BARE),
    Cell("GET list (30)", 8),
    Cell("GET list (30)", 64),
    Cell("POST submit, 2 image URLs", 8),
    Cell("POST submit, 2 image URLs", 64),
    Cell("POST submit 2x400x400", 8, FAKE_BARE),
    Cell("POST submit 2x400x400", 64, FAKE_BARE),
)
Results = dict[tuple[str, int, str], list[WrkResult]]


def section_http(s: Settings, report: Report, tmp: Path) -> None:
    from mock_kling.core.auth import make_token

    png = b.photo_png(400, 400)
    image = base64.b64encode(png).decode()
    big_file, small_file = tmp / "post_2x400.json", tmp / "post_2urls.json"
    big_file.write_bytes(b.submit_body([image, image]))
    small_file.write_bytes(b.ANCHOR_BODY)
    say(
        f"POST bodies: 2 x 400x400 PNG ({len(png):,} bytes each) in base64, "
        f"{big_file.stat().st_size:,} bytes; 2 image URLs, {len(b.ANCHOR_BODY):,} bytes"
    )
    # System clock, 0 s timings: every submitted task has ended by the next submit, so the
    # submit cells do not slow down as running tasks pile up (measured apart, in `list`).
    fake_options = ["--submitted-seconds", "0", "--processing-seconds", "0"]
    jwt = ["--access-key", JWT_ACCESS_KEY, "--secret-key", JWT_SECRET_KEY]
    with start_fake(*fake_options, *jwt, threads=s.threads) as fake:
        start_memory = fake.memory()
        for _ in range(29):  # the list page: 29 tasks that have succeeded ...
            submit(fake.url, API_KEY, b.SMALL_BODY)
        # ... and the polled task, in processing for good (the prompt marker mock:stuck)
        task_path = f"{API_PATH}/{submit(fake.url, API_KEY, b.STUCK_BODY)['data']['task_id']}"
        list_path = f"{API_PATH}?pageNum=1&pageSize=30"
        answers = {
            "get": answer(fake.url + task_path, API_KEY),
            "list": answer(fake.url + list_path, API_KEY),
            "post": answer(fake.url + API_PATH, API_KEY, b.ANCHOR_BODY),
        }
        bodies_file = tmp / "baseline_bodies.json"
        bodies_file.write_text(json.dumps({k: v.decode() for k, v in answers.items()}))
        token = make_token(JWT_ACCESS_KEY, JWT_SECRET_KEY, time.time(), 7200)
        jwt_task = submit(fake.url, token, b.STUCK_BODY)["data"]["task_id"]  # the JWT account's
        endpoints: dict[str, tuple[str, str, Path | None]] = {
            "GET one task": (task_path, AUTH, None),
            "GET one task (JWT)": (f"{API_PATH}/{jwt_task}", f"Bearer {token}", None),
            "GET list (30)": (list_path, AUTH, None),
            "POST submit, 2 image URLs": (API_PATH, AUTH, small_file),
            "POST submit 2x400x400": (API_PATH, AUTH, big_file),
        }
        with start_baseline(bodies_file, s.threads, s.server) as bare:
            servers: dict[str, Server] = {"fake": fake, "bare": bare}
            wm = _start_wiremock(report, tmp / "wiremock", answers)
            wm_kling = _start_wiremock(report, tmp / "wm-kling", answers, kling=True)
            try:
                if wm is not None:
                    servers["wiremock"] = wm
                    wm_check = answer(wm.url + task_path)
                    if wm_check != answers["get"]:
                        raise RuntimeError("WireMock's GET answer differs from the fake's")
                if wm_kling is not None:
                    servers["wm-kling"] = wm_kling
                    created = submit(wm_kling.url, API_KEY, b.ANCHOR_BODY)["data"]["task_id"]
                    if not (isinstance(created, str) and created.isdigit()):
                        raise RuntimeError(f"WireMock built for Kling made task id {created!r}")
                for java in (wm, wm_kling):
                    for path, auth, body_file in endpoints.values():  # the JVM's JIT warms up
                        if java is not None:
                            run_wrk(java.url + path, 8, max(2.0, 2 * s.warmup), auth, body_file)
                results = _run_cells(s, servers, endpoints)
                memory = {name: server.memory() for name, server in servers.items()}
            finally:
                for java in (wm, wm_kling):
                    if java is not None:
                        java.stop()
        tasks = request_json(fake.url + HEALTH_PATH)["tasks"]
    http_table.report_http(s, report, results, answers, "wiremock" in servers)
    _report_memory(report, start_memory, memory, tasks, answers)


def _start_wiremock(
    report: Report, root: Path, answers: dict[str, bytes], kling: bool = False
) -> Server | None:
    name = "wm-kling" if kling else "wiremock"
    try:
        server = wiremock.start(root, answers, kling=kling)
    except wiremock.Unavailable as why:
        report.skipped[name] = str(why)
        say(f"WireMock skipped: {why}")
        return None
    label = "WireMock built for Kling" if kling else "WireMock"
    say(f"{label} started: {server.command[2]} on {server.url}")
    return server


def _run_cells(
    s: Settings, servers: dict[str, Server], endpoints: dict[str, tuple[str, str, Path | None]]
) -> Results:
    results: Results = {}
    for round_index in range(s.rounds):
        for cell_index, cell in enumerate(CELLS):
            path, auth, body_file = endpoints[cell.endpoint]
            present = tuple(name for name in cell.servers if name in servers)
            for name in rotated(present, round_index + cell_index):
                server = servers[name]
                url = server.url + path
                run_wrk(url, cell.connections, s.warmup, auth, body_file)
                result = run_wrk(
                    url, cell.connections, s.duration, auth, body_file, server_pid=server.pid
                )
                results.setdefault((cell.endpoint, cell.connections, name), []).append(result)
                say(
                    f"  round {round_index + 1}/{s.rounds} {cell.endpoint:<26} "
                    f"c={cell.connections:<3} {name:<8} {rate(result.rps):>7} req/s  "
                    f"p99 {ms(result.p99_ms):>9}  {result.cpu_us_per_request:5.0f} us CPU/req  "
                    f"errors {result.errors}"
                )
    return results


def _report_memory(
    report: Report,
    start: dict[str, int],
    memory: dict[str, dict[str, int]],
    tasks: int,
    answers: dict[str, bytes],
) -> None:
    def mib(kb: int) -> str:
        return f"{kb / 1024:.1f} MiB"

    parts = [f"{name} {mib(m['rss_kb'])} (peak {mib(m['hwm_kb'])})" for name, m in memory.items()]
    say(
        f"RSS after the cells: {', '.join(parts)}; "
        f"fake at start {mib(start['rss_kb'])}, {tasks:,} tasks"
    )
    report.data["http"]["memory"] = {
        "fake_start": start,
        "end": memory,
        "fake_tasks_stored": tasks,
        "answer_bytes": {k: len(v) for k, v in answers.items()},
    }
    report.add("http", "RSS after all cells", f"{', '.join(parts)}; fake holds {tasks:,} tasks")
