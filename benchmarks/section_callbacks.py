"""Section `callbacks`: a burst of deliveries, and the API's p99 while a receiver hangs."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import bodies as b
from clients import Client, request_json, submit, submit_many
from harness import API_KEY, API_PATH, AUTH, median, start_fake, start_receiver
from load import run_wrk
from report import Report, Settings, ms, rate, ratio, say, table


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
        body = b.submit_body(["https://example.com/a.png"], callback_url=receiver.url + "/cb")
        started = time.perf_counter()
        made = submit_many(fake.url, API_KEY, s.callback_tasks, body, workers=8, limit_s=300)
        submit_seconds = time.perf_counter() - started
        last_transition_ms = max(created for created, _ in made) + 1000
        stats: dict[str, Any] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            stats = request_json(receiver.url + "/stats")
            if stats["count"] >= expected:
                break
            time.sleep(0.05)
        journal = request_json(fake.url + "/__mock__/callbacks")
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
                target = submit(fake.url, API_KEY, b.SMALL_BODY)["data"]["task_id"]
                body = b.submit_body(
                    ["https://example.com/a.png"], callback_url=receiver.url + "/cb"
                )
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
                stats = request_json(receiver.url + "/stats")
            results[mode].append(
                {
                    **result.to_json(),
                    "fed": sum(fed),
                    "arrived": stats["count"],
                    "errors": result.errors,
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
