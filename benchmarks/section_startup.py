"""Section `startup`: process start to first 200 for `mock-kling serve` and the bare app."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from clients import wait_healthy
from harness import HEALTH_PATH, median, mock_kling_command, start_baseline, start_fake
from report import Report, Settings, ms, ratio, say, table

BARE_WAITRESS_COLD_S = 0.08  # issue 7: waitress + bare WSGI, cold start to first 200
TARGET_S = 0.3  # issue 12


def section_startup(s: Settings, report: Report, tmp: Path) -> None:
    bodies_file = tmp / "baseline_small.json"
    bodies_file.write_text(json.dumps({"get": "{}", "list": "{}", "post": "{}"}))
    starts: dict[str, list[float]] = {"fake": [], "bare": []}
    banners: dict[str, list[float]] = {"fake": [], "bare": []}
    for index in range(s.cold_runs):
        for kind in ["fake", "bare"] if index % 2 == 0 else ["bare", "fake"]:
            server = (
                start_fake() if kind == "fake" else start_baseline(bodies_file, s.threads, s.server)
            )
            with server:
                wait_healthy(server.url + HEALTH_PATH)
                starts[kind].append(time.perf_counter() - server.started)
                banners[kind].append(server.banner_seconds)
    interpreter = []
    for _ in range(s.cold_runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
        interpreter.append(time.perf_counter() - started)
    fake_s, base_s = median(starts["fake"]), median(starts["bare"])
    rows = [
        [label, ms(median(banners[kind]) * 1000), ms(median(starts[kind]) * 1000),
         ms(min(starts[kind]) * 1000), ms(max(starts[kind]) * 1000)]
        for kind, label in (("fake", "mock-kling serve"), ("bare", f"bare WSGI on {s.server}"))
    ]  # fmt: skip
    rows.append(["python -c pass", "-", ms(median(interpreter) * 1000), "-", "-"])
    say()
    say(f"Cold start: process start to first 200 on {HEALTH_PATH} (median of {s.cold_runs})")
    say(table(["server", "banner", "first 200", "min", "max"], rows))
    report.data["startup"] = {
        "fake_s": starts["fake"],
        "bare_s": starts["bare"],
        "fake_banner_s": banners["fake"],
        "bare_banner_s": banners["bare"],
        "python_c_pass_s": interpreter,
        "command": mock_kling_command(),
        "server": s.server,
    }
    report.add(
        "startup",
        "mock-kling serve: start to first 200",
        f"{ms(fake_s * 1000)} ({ratio(fake_s, base_s):.1f}x bare {s.server} "
        f"{ms(base_s * 1000)}; issue 7's bare waitress ~{BARE_WAITRESS_COLD_S * 1000:.0f} ms)",
        f"< {TARGET_S * 1000:.0f} ms",
        fake_s < TARGET_S,
    )
