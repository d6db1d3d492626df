"""Where a benchmark's figures come from: the commit under test, the machine, the versions.
(tools/soak.py uses `source_state` too: this module imports nothing of the benchmarks.)"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine(server: str) -> dict[str, Any]:
    from load import ensure_wrk  # (wrk is a benchmark's tool, not the soak's)

    wrk = subprocess.run([ensure_wrk(), "--version"], capture_output=True, text=True)
    return {
        "source": source_state(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "server": f"{server} {_version(server)}",  # the bare app's
        "serve_server": f"uvicorn {_version('uvicorn')} (uvloop {_version('uvloop')}, "
        f"httptools {_version('httptools')})",
        "flask": _version("flask"),
        "mock_kling": _version("mock-kling"),
        "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "",
    }


def source_state() -> str:
    """The commit of the tree under test, and whether mock_kling/ has uncommitted changes
    (read-only git commands; "unknown" outside a git checkout)."""
    root = ROOT
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
