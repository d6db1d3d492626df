"""The load generator: wrk (installed from Debian when missing), one run as a WrkResult."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import procs

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk.lua"


@dataclass
class WrkResult:
    """One wrk run, from the JSON line printed by benchmarks/wrk.lua."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    timeouts: int
    server_cpu_s: float = 0.0  # CPU time of the server's process tree during the run
    side_cpu_s: float = 0.0  # CPU time of the `side_pids` trees meanwhile (redis-server, say)
    wrk_cpu_s: float = 0.0  # CPU time of wrk itself (it shares the machine's cores)

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors + self.timeouts

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s / self.requests * 1e6 if self.requests else float("nan")

    @property
    def side_cpu_us_per_request(self) -> float:
        return self.side_cpu_s / self.requests * 1e6 if self.requests else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "cpu_us_per_request": self.cpu_us_per_request,
            "side_cpu_us_per_request": self.side_cpu_us_per_request,
        }


def ensure_wrk() -> str:
    """The path of wrk; installs Debian's package when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("wrk not found: installing Debian's package (apt-get install -y wrk)", flush=True)
        install = ["apt-get", "install", "-y", "-qq", "wrk"]
        if subprocess.run(install, capture_output=True, timeout=600).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600)
            subprocess.run(install, capture_output=True, timeout=600, check=False)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(
        "wrk is needed as the load generator: install it (Debian/Ubuntu: sudo apt-get install "
        "wrk; macOS: brew install wrk) and run again"
    )


def run_wrk(
    url: str,
    connections: int,
    seconds: float,
    auth: str | None = None,
    body_file: Path | None = None,
    timeout_s: float = 10.0,
    server_pid: int | None = None,
    side_pids: Sequence[int] = (),
) -> WrkResult:
    """wrk -t1 --latency with benchmarks/wrk.lua: GET, or POST `body_file` as application/json;
    with `server_pid`, also the CPU time that process and its children used meanwhile (and that
    of the `side_pids` trees, summed, and wrk's own)."""
    command = [
        ensure_wrk(),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_s:g}s",
        "--latency",
        "-s",
        str(WRK_SCRIPT),
        url,
    ]
    env = {
        **os.environ,
        "BENCH_AUTH": auth or "",
        "BENCH_BODY_FILE": str(body_file) if body_file else "",
    }
    cpu_before = procs.cpu_seconds(server_pid) if server_pid else 0.0
    side_before = sum(procs.cpu_seconds(pid) for pid in side_pids)
    wrk_before = _children_cpu_seconds()
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=seconds + timeout_s + 60
    )
    wrk_cpu = _children_cpu_seconds() - wrk_before
    cpu = procs.cpu_seconds(server_pid) - cpu_before if server_pid else 0.0
    side_cpu = sum(procs.cpu_seconds(pid) for pid in side_pids) - side_before
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    duration = data["duration_us"] / 1e6
    return WrkResult(
        requests=data["requests"],
        seconds=round(duration, 3),
        rps=data["requests"] / duration if duration else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        non_2xx=data["status"],
        socket_errors=data["connect"] + data["read"] + data["write"],
        timeouts=data["timeout"],
        server_cpu_s=cpu,
        side_cpu_s=side_cpu,
        wrk_cpu_s=wrk_cpu,
    )


def _children_cpu_seconds() -> float:
    """User + system time of this process's finished children (wrk, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
