"""A fake prefilled in-process with many tasks (Backend.create_task, as the API calls it), then
served on the same server software as `mock-kling serve`; prints the memory per task, then its
URL. The tasks are created in the process that serves them (granian's worker)."""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from pathlib import Path
from typing import Any

import wsgi_host

from mock_kling.assemble import build_backend
from mock_kling.core.backend import Backend
from mock_kling.core.config import Config
from mock_kling.http.app import create_app

BIG_KEY = "sk-bench-big-account"
SMALL_KEY = "sk-bench-small-account"
_BODY = {
    "model_name": "kling-v1-6",
    "image_list": [{"image": "https://example.com/a.png"}],
    "prompt": "two friends wave at the camera",
    "mode": "std",
    "duration": "5",
    "aspect_ratio": "16:9",
}


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fill(backend: Backend, key: str, count: int) -> list[str]:
    """Create `count` tasks in the account of `key`; their task ids, oldest first."""
    account = backend.authenticate(f"Bearer {key}")
    return [backend.create_task(account, dict(_BODY)).task_id for _ in range(count)]


def build(url: str, tasks: int, small_tasks: int, seed: int) -> Any:
    """The app of a fake holding `small_tasks` + `tasks` tasks; prints BENCH_JSON about them."""
    # System clock, tasks end at once: as `serve --submitted-seconds 0 --processing-seconds 0`.
    config = Config(
        key_pairs={},
        api_keys=[BIG_KEY, SMALL_KEY],
        seed=seed,
        submitted_seconds=0,
        processing_seconds=0,
    )
    backend = build_backend(config)
    app = create_app(backend=backend)
    fill(backend, SMALL_KEY, small_tasks)
    gc.collect()
    before = rss_kb()
    started = time.perf_counter()
    ids = fill(backend, BIG_KEY, tasks)
    seconds = time.perf_counter() - started
    gc.collect()
    after = rss_kb()
    info: dict[str, Any] = {
        "tasks": tasks,
        "create_seconds": seconds,
        "create_us_per_task": seconds / max(1, tasks) * 1e6,
        "rss_before_kb": before,
        "rss_after_kb": after,
        "bytes_per_task": (after - before) * 1024 / max(1, tasks),
        "oldest_task_id": ids[0] if ids else None,
        "newest_task_id": ids[-1] if ids else None,
        "pid": os.getpid(),
    }
    backend.serve_at(url)
    print("BENCH_JSON " + json.dumps(info), flush=True)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--small-tasks", type=int, default=30)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--server", choices=wsgi_host.SERVERS, default="granian")
    args = parser.parse_args()
    wsgi_host.serve(
        lambda url: build(url, args.tasks, args.small_tasks, args.seed),
        args.server,
        args.threads,
        "prefilled fake",
    )


if __name__ == "__main__":
    main()
