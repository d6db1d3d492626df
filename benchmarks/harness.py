"""Shared helpers of the benchmark scripts: server subprocesses (fake, bare app, receiver), the
server software under test, and statistics."""

from __future__ import annotations

import functools
import json
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import procs
import wsgi_host
from clients import wait_healthy

HERE = Path(__file__).resolve().parent
API_KEY = "sk-bench-mock-kling"
AUTH = f"Bearer {API_KEY}"
SEED = 7
API_PATH = "/v1/videos/multi-image2video"
HEALTH_PATH = "/__mock__/health"
LISTENING = re.compile(r"listening on (http://\S+)")


def default_server() -> str:
    """The server software `mock-kling serve` runs on: mock_kling.serve.SERVER_NAME when the
    package says, else granian (the server `serve` is moving to)."""
    try:
        from mock_kling import serve
    except ImportError:
        return "granian"
    name = getattr(serve, "SERVER_NAME", "granian")
    return name if name in wsgi_host.SERVERS else "granian"


def mock_kling_command() -> list[str]:
    """The installed console script next to this interpreter (as users run it), else -m."""
    script = shutil.which("mock-kling", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "mock_kling"]


class Server:
    """A server subprocess, ready once its banner matches `banner` (group 1: the URL, or made
    into one by `to_url`) and, with `ready_path`, that path answers 200; stopped on exit."""

    def __init__(
        self,
        command: Sequence[str],
        name: str,
        start_timeout: float = 30.0,
        banner: re.Pattern[str] = LISTENING,
        to_url: Callable[[str], str] = str,
        ready_path: str | None = None,
    ) -> None:
        self.name, self.command = name, list(command)
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self._pump = threading.Thread(target=self._read_output, daemon=True)
        self._pump.start()
        self.url = to_url(self._wait_for_banner(banner, start_timeout))
        self.banner_seconds = time.perf_counter() - self.started
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        if ready_path:
            try:
                wait_healthy(self.url + ready_path, timeout=start_timeout)
            except RuntimeError:
                self.stop()
                raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read_output(self) -> None:
        if self.process.stdout is not None:
            for line in self.process.stdout:
                self.lines.put(line)

    def _wait_for_banner(self, banner: re.Pattern[str], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    self._pump.join(timeout=1)  # it exited: keep what it printed, then fail
                    while not self.lines.empty():
                        self.output.append(self.lines.get())
                    break
                continue
            self.output.append(line)
            found = banner.search(line)
            if found:
                return found.group(1)
        self.stop()
        raise RuntimeError(
            f"{self.name} did not start (within {timeout} s): {''.join(self.output)}"
        )

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM of the server's process tree, KiB."""
        return procs.memory_kb(self.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._pump.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@functools.cache
def _serve_options() -> str:
    done = subprocess.run(
        [*mock_kling_command(), "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    return done.stdout


def start_fake(*options: str, threads: int = 8) -> Server:
    """`mock-kling serve` on 127.0.0.1, a free port, one plain API key, a fixed seed (and
    `--threads` while serve has that option)."""
    threading_options = ["--threads", str(threads)] if "--threads" in _serve_options() else []
    command = [
        *mock_kling_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--api-key",
        API_KEY,
        "--seed",
        str(SEED),
        *threading_options,
        *options,
    ]
    return Server(command, "mock-kling serve")


def start_baseline(bodies_file: Path, threads: int = 8, server: str = "") -> Server:
    """The bare WSGI callable of benchmarks/baseline.py on `server` (default: serve's)."""
    command = [
        sys.executable,
        str(HERE / "baseline.py"),
        "--bodies",
        str(bodies_file),
        "--threads",
        str(threads),
        "--server",
        server or default_server(),
    ]
    return Server(command, "baseline", ready_path=HEALTH_PATH)


def start_receiver(mode: str, max_seconds: float = 600.0) -> Server:
    """The callback receiver of benchmarks/receiver.py: `ok` answers 200, `hang` never answers."""
    command = [
        sys.executable,
        str(HERE / "receiver.py"),
        "--mode",
        mode,
        "--max-seconds",
        str(max_seconds),
    ]
    return Server(command, f"receiver ({mode})")


# --- statistics --------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> tuple[float, float]:
    """(min, max) of the rounds' values."""
    return (min(values), max(values)) if values else (float("nan"), float("nan"))


def rotated(names: tuple[str, ...], shift: int) -> tuple[str, ...]:
    """`names` starting at index `shift` (mod len): round k of a cell starts with another."""
    shift %= len(names)
    return names[shift:] + names[:shift]


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def json_from(command: list[str], timeout: float) -> dict[str, Any]:
    """Run a helper script; the object of its `BENCH_JSON ` line (raise if it failed)."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    data: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
    return data
