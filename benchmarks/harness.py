"""Shared helpers of the benchmark scripts: server subprocesses, /proc memory, wrk, PNG bodies."""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import shutil
import statistics
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk.lua"
API_KEY = "sk-bench-mock-kling"
SEED = 7
API_PATH = "/v1/videos/multi-image2video"
_LISTENING = re.compile(r"listening on (http://\S+)")


def mock_kling_command() -> list[str]:
    """The installed console script next to this interpreter (as users run it), else -m."""
    script = shutil.which("mock-kling", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "mock_kling"]


class Server:
    """A server subprocess that prints `listening on http://HOST:PORT`; stopped on exit."""

    def __init__(self, command: Sequence[str], name: str, start_timeout: float = 30.0) -> None:
        self.name = name
        self.command = list(command)
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
        self.url = self._wait_for_banner(start_timeout)
        self.banner_seconds = time.perf_counter() - self.started
        parts = urlsplit(self.url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read_output(self) -> None:
        stream = self.process.stdout
        if stream is None:
            return
        for line in stream:
            self.lines.put(line)

    def _wait_for_banner(self, timeout: float) -> str:
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
            found = _LISTENING.search(line)
            if found:
                return found.group(1)
        self.stop()
        raise RuntimeError(
            f"{self.name} did not start (within {timeout} s): {''.join(self.output)}"
        )

    def memory(self) -> dict[str, int]:
        return memory_kb(self.pid)

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


def start_fake(*options: str, threads: int = 8) -> Server:
    """`mock-kling serve` on 127.0.0.1, a free port, one plain API key, a fixed seed."""
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
        "--threads",
        str(threads),
        *options,
    ]
    return Server(command, "mock-kling serve")


def start_baseline(bodies_file: Path, threads: int = 8) -> Server:
    """The bare WSGI callable of benchmarks/baseline.py on waitress, same thread count."""
    command = [
        sys.executable,
        str(HERE / "baseline.py"),
        "--bodies",
        str(bodies_file),
        "--threads",
        str(threads),
    ]
    return Server(command, "baseline")


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


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB, from /proc/PID/status."""
    values = {"rss_kb": 0, "hwm_kb": 0}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return values
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            values["rss_kb"] = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            values["hwm_kb"] = int(line.split()[1])
    return values


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, bytes]:
    """One HTTP request on a fresh connection; (status, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def request_json(url: str, method: str = "GET", payload: Any = None, key: bool = True) -> Any:
    """A JSON request (with the benchmark's API key when `key`); the decoded answer, or raise."""
    headers = {"Authorization": f"Bearer {API_KEY}"} if key else {}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    status, raw = request(url, method, body, headers)
    if not 200 <= status < 300:
        raise RuntimeError(f"{method} {url} answered {status}: {raw[:300]!r}")
    return json.loads(raw)


class Client:
    """A keep-alive HTTP/1.1 connection for one thread (re-opened after an error)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        self.host, self.port, self.timeout = parts.hostname or "", parts.port, timeout
        self.connection: http.client.HTTPConnection | None = None

    def send(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def wait_healthy(url: str, timeout: float = 30.0) -> float:
    """Poll GET url every 2 ms until it answers 200; seconds waited (raise after `timeout`)."""
    started = time.perf_counter()
    for _ in range(100_000):
        if time.perf_counter() - started > timeout:
            break
        try:
            status, _ = request(url, timeout=2.0)
            if status == 200:
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.002)
    raise RuntimeError(f"{url} did not answer 200 within {timeout} s")


# --- wrk ----------------------------------------------------------------------------------------


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
    server_cpu_s: float = 0.0  # CPU time the server used during the run, when measured

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s / self.requests * 1e6 if self.requests else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "cpu_us_per_request": self.cpu_us_per_request}


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
    threads: int = 1,
    timeout_s: float = 10.0,
    server_pid: int | None = None,
) -> WrkResult:
    """wrk --latency with benchmarks/wrk.lua: GET, or POST `body_file` as application/json;
    with `server_pid`, also the CPU time that process used meanwhile."""
    command = [
        ensure_wrk(),
        f"-t{min(threads, connections)}",
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
    cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=seconds + timeout_s + 60
    )
    cpu = cpu_seconds(server_pid) - cpu_before if server_pid else 0.0
    line = next(
        (x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")),
        None,
    )
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
    )


# --- images and bodies -------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _ihdr(width: int, height: int) -> bytes:
    return _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))


def photo_png(width: int, height: int, seed: int = SEED) -> bytes:
    """A real, decodable RGB PNG (zlib): a gradient with one bit of seeded noise, so it
    compresses about as badly as a small photo does (~160 KB at 400x400)."""
    import random

    rng = random.Random(seed)
    rows = []
    for y in range(height):
        base = bytes((x + y) & 0xFE for x in range(width * 3))
        noise = rng.randbytes(width * 3)
        rows.append(b"\x00" + bytes(a | (b & 1) for a, b in zip(base, noise, strict=True)))
    idat = zlib.compress(b"".join(rows), 6)
    return (
        b"\x89PNG\r\n\x1a\n" + _ihdr(width, height) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def padded_png(total_bytes: int, width: int = 2000, height: int = 2000, seed: int = SEED) -> bytes:
    """A PNG file of exactly `total_bytes`: a valid signature, IHDR and IEND around one large
    IDAT of seeded random bytes (the fake reads only the header)."""
    import random

    head = b"\x89PNG\r\n\x1a\n" + _ihdr(width, height)
    tail = _chunk(b"IEND", b"")
    payload = total_bytes - len(head) - len(tail) - 12
    if payload < 0:
        raise ValueError(f"{total_bytes} bytes is too small for a PNG")
    return head + _chunk(b"IDAT", random.Random(seed).randbytes(payload)) + tail


def submit_body(images_b64: Iterable[str], callback_url: str | None = None) -> bytes:
    body: dict[str, Any] = {
        "model_name": "kling-v1-6",
        "image_list": [{"image": image} for image in images_b64],
        "prompt": "two friends wave at the camera",
        "mode": "std",
        "duration": "5",
        "aspect_ratio": "16:9",
    }
    if callback_url:
        body["callback_url"] = callback_url
    return json.dumps(body).encode()


SMALL_BODY = submit_body(["https://example.com/a.png"])


# --- statistics --------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]
