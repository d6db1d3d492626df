"""Stoplight Prism, an off-the-shelf OpenAPI mock server (not code of ours), serving an OpenAPI
document on a loopback port for the tests. scripts/check installs it with npm into the tools
cache when it is missing; a test that finds neither it nor npm fails, never skips."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

PACKAGE = "@stoplight/prism-cli@5"
TOOLS = Path(os.environ.get("MOCK_KLING_TOOLS") or Path.home() / ".cache" / "mock-kling")
HOME = TOOLS / "prism"
BINARY = HOME / "node_modules" / ".bin" / "prism"
_LISTENING = re.compile(r"Prism is listening on (http://127\.0\.0\.1:\d+)")
_START_SECONDS = 60.0
_START_LINES = 200


def prism_binary() -> Path:
    """Prism in the tools cache, installed there from the npm registry when missing."""
    if BINARY.is_file():
        return BINARY
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm not found: scripts/check installs Prism (needs node and npm)")
    HOME.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [npm, "install", "--prefix", str(HOME), "--no-audit", "--no-fund", PACKAGE],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0 or not BINARY.is_file():
        pytest.fail(f"npm install {PACKAGE} failed: {result.stderr[-2000:]}")
    return BINARY


class Prism:
    """`prism mock` of one document on 127.0.0.1 (a port it chooses); `stop` ends it."""

    def __init__(self, document: Path) -> None:
        command = [str(prism_binary()), "mock", "-h", "127.0.0.1", "-p", "0", str(document)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self.url = self._wait_for_url()
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()

    def _wait_for_url(self) -> str:
        """The URL from Prism's "listening" line; a watchdog kills a Prism that never says it."""
        assert self.process.stdout is not None
        watchdog = threading.Timer(_START_SECONDS, self.process.kill)
        watchdog.start()
        try:
            for _ in range(_START_LINES):
                line = self.process.stdout.readline()
                if not line:
                    break
                self.lines.append(line)
                found = _LISTENING.search(line)
                if found:
                    return found.group(1)
        finally:
            watchdog.cancel()
        self.stop()
        pytest.fail("Prism did not start:\n" + "".join(self.lines[-20:]))

    def _read_rest(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        drain = getattr(self, "_drain", None)
        if drain is not None:
            drain.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
