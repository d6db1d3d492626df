"""Section `list`: 100,000 tasks in one account: list and GET latency at one connection,
memory per stored task, and the submit cost as running tasks pile up."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import bodies as b
from clients import answer, submit, submit_many
from harness import API_KEY, API_PATH, HERE, Server, json_from, median, start_baseline, start_fake
from load import WrkResult, run_wrk
from report import Report, Settings, ms, rate, say, table

TASK_BYTES_TARGET = 1024  # issue 12: < 1 KB a stored task


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
            "--server",
            s.server,
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
        bodies = {"get": answer(server.url + newest, big_key)}
        bodies["list"] = answer(server.url + page_1, big_key)
        bodies_file = tmp / "baseline_list.json"
        bodies_file.write_text(json.dumps({k: v.decode() for k, v in bodies.items()}))
        seconds = max(1.0, s.duration / 2)
        results: dict[str, list[WrkResult]] = {}
        with start_baseline(bodies_file, s.threads, s.server) as baseline:
            cells += [
                (f"bare {s.server}: the same list answer", page_1, big_key, baseline),
                (f"bare {s.server}: the same task answer", newest, big_key, baseline),
            ]
            for round_index in range(s.rounds):
                order = cells if round_index % 2 == 0 else cells[::-1]
                for name, path, key, target in order:
                    run_wrk(target.url + path, 1, s.warmup, f"Bearer {key}")
                    result = run_wrk(target.url + path, 1, seconds, f"Bearer {key}")
                    results.setdefault(name, []).append(result)
        memory = server.memory()
    scaling = json_from(
        [sys.executable, str(HERE / "inprocess.py"), "--scaling", str(s.scaling_tasks)],
        timeout=600,
    )["submit_scaling"]
    rows = []
    for name, *_ in cells:
        runs = results[name]
        bad = sum(r.errors for r in runs)
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
        f"by the same app on {s.server}"
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
        f"< {TASK_BYTES_TARGET:,} bytes (1 KiB)",
        per_task < TASK_BYTES_TARGET,
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
            submit(server.url, small_key, b.SMALL_BODY)
        before = server.memory()
        started = time.perf_counter()
        ids = submit_many(server.url, API_KEY, s.list_tasks, b.SMALL_BODY, workers=8, limit_s=1800)
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
