"""Section `big`: a submit of 4 x 9.9 MB images to a fresh server: latency and peak memory."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import bodies as b
import procs
from clients import request, wait_healthy
from harness import API_PATH, AUTH, HEALTH_PATH, median, start_baseline, start_fake
from report import Report, Settings, ms, say, table

BIG_IMAGE_BYTES = 9_900_000


def section_big(s: Settings, report: Report, tmp: Path) -> None:
    png = b.padded_png(BIG_IMAGE_BYTES)
    image = base64.b64encode(png).decode()
    body = b.submit_body([image] * 4)
    del image
    bodies_file = tmp / "baseline_big.json"
    bodies_file.write_text(json.dumps({"get": "{}", "list": "{}", "post": "{}"}))
    results: dict[str, list[dict[str, float]]] = {"fake": [], "bare": []}
    for index in range(s.big_rounds):
        for kind in ["fake", "bare"] if index % 2 == 0 else ["bare", "fake"]:
            server = (
                start_fake() if kind == "fake" else start_baseline(bodies_file, s.threads, s.server)
            )
            with server:
                results[kind].append(_one_submit(server.url, server.pid, body, kind))
    size = len(body)
    rows = []
    for kind, label in (("fake", "mock-kling serve"), ("bare", f"bare WSGI on {s.server}")):
        runs = results[kind]
        peak = median([r["peak_extra_bytes"] for r in runs])
        rows.append(
            [
                label,
                ms(median([r["seconds"] for r in runs]) * 1000),
                f"{peak / 2**20:.1f} MiB",
                f"{peak / size:.2f}x",
                f"{median([r['retained_bytes'] for r in runs]) / 2**20:.1f} MiB",
            ]
        )
    say()
    say(
        f"Big submit: 4 x {BIG_IMAGE_BYTES:,}-byte PNG (2000x2000 header), body {size:,} bytes; "
        f"a fresh server per round, median of {s.big_rounds}; memory of the server's process tree"
    )
    say(table(["server", "latency", "peak extra RSS", "peak / body", "retained RSS"], rows))
    fake_latency = median([r["seconds"] for r in results["fake"]])
    fake_peak = median([r["peak_extra_bytes"] for r in results["fake"]])
    report.data["big"] = {"body_bytes": size, "runs": results}
    report.add(
        "big", "submit 4 x 9.9 MB: latency", ms(fake_latency * 1000), "< 1000 ms", fake_latency < 1
    )
    report.add(
        "big",
        "submit 4 x 9.9 MB: peak extra RSS / body",
        f"{fake_peak / size:.2f}x ({fake_peak / 2**20:.0f} MiB for {size / 2**20:.0f} MiB)",
        "< 4x",
        fake_peak / size < 4,
    )


def _one_submit(url: str, pid: int, body: bytes, kind: str) -> dict[str, float]:
    """POST the big body once; latency, peak extra and retained RSS of the server's tree."""
    wait_healthy(url + HEALTH_PATH)
    time.sleep(0.2)
    reset_peak = procs.reset_peak(pid)
    before = procs.memory_kb(pid)
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    started = time.perf_counter()
    status, answer = request(url + API_PATH, "POST", body, headers, timeout=120)
    seconds = time.perf_counter() - started
    if status != 200 or (kind == "fake" and json.loads(answer)["code"] != 0):
        raise RuntimeError(f"big submit to {kind} answered {status}: {answer[:300]!r}")
    time.sleep(0.2)
    after = procs.memory_kb(pid)
    peak_base = before["rss_kb"] if reset_peak else before["hwm_kb"]
    return {
        "seconds": seconds,
        "peak_extra_bytes": max(0, after["hwm_kb"] - peak_base) * 1024,
        "retained_bytes": (after["rss_kb"] - before["rss_kb"]) * 1024,
        "rss_before_kb": before["rss_kb"],
        "hwm_before_kb": before["hwm_kb"],
        "hwm_after_kb": after["hwm_kb"],
        "peak_reset": reset_peak,
    }
