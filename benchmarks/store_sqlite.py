"""The SQLite store at scale: N tasks in one account (inserted straight into the database, in
large transactions), then list and query latency through `mock-kling serve --store sqlite:///...`
and the server's RSS; and the store's own page() latency for the middle and the very last page
(the API reaches only pages 1..1000). Prints one JSON line of figures.

    python benchmarks/store_sqlite.py --tasks 10000000 --db /work/tmp/bench.db
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from mock_kling.core.images import ImageInfo
from mock_kling.core.outcomes import Outcome, Timings
from mock_kling.core.tasks import Task, TaskRequest
from mock_kling.store import codec
from mock_kling.store.sqlite import SqliteStore

KEY = "sk-bench"
PATH = "/v1/videos/multi-image2video"
_CHUNK = 1_000_000  # rows per transaction


def fill(path: str, count: int) -> float:
    """Insert `count` tasks of the account KEY, oldest first; seconds taken."""
    store = SqliteStore(path)  # creates the schema
    db = store._db.connection()
    request = TaskRequest("PROMPT", (ImageInfo("url"),), "kling-v1-6", "std", "5", "16:9")
    asked = _template(codec.request_json(request), {'"PROMPT"': '"p{n}"'})
    timeline = Outcome().timeline(0, Timings())
    template = Task("", KEY, request, 0, "", timeline, Outcome())
    plan = _template(codec.plan_json(template), {f"[{s.at_ms},": "[{}," for s in
                                                 timeline})  # fmt: skip
    start = 1_767_225_600_000
    started = time.perf_counter()
    for low in range(0, count, _CHUNK):  # each task its own prompt and times: none decode alike
        high = min(low + _CHUNK, count)
        rows = [
            (str(10**17 + n), KEY, n, str(5 * 10**17 + n), start + n, asked.format(n=n),
             plan.format(*(start + n + s.at_ms for s in timeline)))
            for n in range(low + 1, high + 1)
        ]  # fmt: skip
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO tasks (task_id, account, ordinal, external_id, video_id, created_at,"
            " request, plan) VALUES (?, ?, ?, NULL, ?, ?, ?, ?)",
            rows,
        )
        db.execute("INSERT INTO accounts (account, tasks) VALUES (?, ?) ON CONFLICT (account) "
                   "DO UPDATE SET tasks = excluded.tasks", (KEY, high))  # fmt: skip
        db.execute("COMMIT")
    store.close()
    return time.perf_counter() - started


def _template(data: dict[str, Any], fields: dict[str, str]) -> str:
    """The JSON text of `data` as a str.format template: each key of `fields` becomes its value."""
    text = codec.dumps(data).replace("{", "{{").replace("}", "}}")
    for literal, field in fields.items():
        text = text.replace(literal, field)
    return text


def p50_ms(call: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def store_pages(path: str, count: int, repeat: int) -> dict[str, float]:
    store = SqliteStore(path)
    pages = {"page_1": 1, "page_middle": max(1, count // 60), "page_last": max(1, -(-count // 30))}
    return {
        f"store_{name}_p50_ms": p50_ms(lambda n=n: store.page(KEY, n, 30), repeat)
        for name, n in pages.items()
    }


def serve_figures(path: str, count: int, repeat: int) -> dict[str, float]:
    command = [sys.executable, "-m", "mock_kling", "serve", "--port", "0", "--api-key", KEY,
               "--store", f"sqlite:///{Path(path).resolve()}"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = re.search(r"listening on (\S+)", server.stdout.readline()).group(1)  # type: ignore[union-attr]
        session = requests.Session()
        headers = {"Authorization": f"Bearer {KEY}"}

        def get(query: str) -> None:
            answer = session.get(url + PATH + query, headers=headers, timeout=30)
            assert answer.status_code == 200, answer.text

        last = min(1000, -(-count // 30))
        figures = {
            f"http_list_{name}_p50_ms": p50_ms(lambda q=q: get(q), repeat)
            for name, q in (("page_1", "?pageNum=1&pageSize=30"),
                            ("page_middle", f"?pageNum={max(1, last // 2)}&pageSize=30"),
                            ("page_last", f"?pageNum={last}&pageSize=30"))
        }  # fmt: skip
        figures["http_get_task_p50_ms"] = p50_ms(lambda: get(f"/{10**17 + count // 2}"), repeat)
        figures["server_rss_mb"] = _rss_kb(server.pid) / 1024
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--db", help="database file (default: a temporary one, removed after)")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--reuse", action="store_true", help="keep the tasks already in --db")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = args.db or str(Path(scratch) / "bench.db")
        info: dict[str, Any] = {"tasks": args.tasks}
        if not args.reuse:
            info["insert_seconds"] = fill(path, args.tasks)
        info["db_mb"] = Path(path).stat().st_size / 2**20
        info.update(store_pages(path, args.tasks, args.repeat))
        info.update(serve_figures(path, args.tasks, args.repeat))
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in info.items()}))


if __name__ == "__main__":
    main()
