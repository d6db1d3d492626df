"""Profiles the fake's own request path in process (no server: the WSGI app is called with
prepared environs) and prints µs per request per case, then, with `--profile`, the top frames:
`python benchmarks/profile_app.py [--cases post get-key ...] [--profile] [--memory]`."""

from __future__ import annotations

import argparse
import base64
import cProfile
import gc
import io
import json
import pstats
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from bodies import photo_png, submit_body
from harness import API_PATH
from werkzeug.test import EnvironBuilder

from mock_kling.core.auth import make_token
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import DEV_ACCESS_KEY, DEV_SECRET_KEY, Config
from mock_kling.http.app import create_app

KEY = "sk-profile"
Environ = dict[str, Any]


def _wsgi() -> Callable[[Environ], bytes]:
    app = create_app(Config(seed=1, api_keys=[KEY]), clock=ManualClock())

    def call(environ: Environ) -> bytes:
        statuses: list[str] = []
        body = b"".join(app(environ, lambda status, headers, exc=None: statuses.append(status)))
        if not statuses[0].startswith("200"):
            raise SystemExit(f"{environ['PATH_INFO']}: {statuses[0]} {body[:300]!r}")
        return body

    return call


def _environ(method: str, path: str, auth: str, body: bytes | None = None) -> Environ:
    builder = EnvironBuilder(
        path=path,
        method=method,
        headers={"Authorization": auth},
        data=body,
        content_type="application/json" if body is not None else None,
    )
    return builder.get_environ()


def _cases() -> dict[str, tuple[Callable[[], Environ], int]]:
    """Name -> (a fresh environ per call, default count)."""
    call = _wsgi()
    key = f"Bearer {KEY}"
    jwt = f"Bearer {make_token(DEV_ACCESS_KEY, DEV_SECRET_KEY, ManualClock().now_ms() / 1000)}"
    small = submit_body(["https://example.com/a.png", "https://example.com/b.png"])
    png = base64.b64encode(photo_png(400, 400)).decode()
    big = submit_body([png, png])
    task_ids = [
        json.loads(call(_environ("POST", API_PATH, key, small)))["data"]["task_id"]
        for _ in range(40)
    ]

    def post(body: bytes) -> Callable[[], Environ]:
        template = _environ("POST", API_PATH, key, body)

        def make() -> Environ:
            return {**template, "wsgi.input": io.BytesIO(body)}

        return make

    def get(path: str, auth: str) -> Callable[[], Environ]:
        template = _environ("GET", path, auth)
        return lambda: dict(template)

    jwt_task = json.loads(call(_environ("POST", API_PATH, jwt, small)))["data"]["task_id"]
    cases = {
        "post-small": (post(small), 2000),
        "post-2png": (post(big), 200),
        "get-key": (get(f"{API_PATH}/{task_ids[0]}", key), 5000),
        "get-jwt": (get(f"{API_PATH}/{jwt_task}", jwt), 5000),
        "list-30": (get(f"{API_PATH}?pageNum=1&pageSize=30", key), 1000),
    }
    return {name: (_calling(call, make), n) for name, (make, n) in cases.items()}


def _calling(call: Callable[[Environ], bytes], make: Callable[[], Environ]) -> Callable[[], Any]:
    return lambda: call(make())


def measure(run: Callable[[], Any], count: int) -> tuple[float, float]:
    """(wall µs, CPU µs) per call, after a short warm-up."""
    for _ in range(min(count // 10, 50)):
        run()
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        run()
    return (
        (time.perf_counter() - wall) / count * 1e6,
        (time.process_time() - cpu) / count * 1e6,
    )


def profile(run: Callable[[], Any], count: int, top: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        run()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)


def memory_per_task(count: int, ended: bool) -> float:
    """Bytes tracemalloc sees per task created in process (no request journal: it is bounded);
    with `ended`, after the clock moved past every task's end."""
    from mock_kling.assemble import build_backend
    from mock_kling.core.auth import Account

    backend = build_backend(Config(seed=1, api_keys=[KEY]), ManualClock())
    account = Account(KEY, api_key=KEY)
    raw = submit_body(["https://example.com/a.png", "https://example.com/b.png"])
    for _ in range(200):  # warm caches before counting
        backend.create_task(account, json.loads(raw))
    backend.advance(3600)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(count):
        backend.create_task(account, json.loads(raw))
    if ended:
        backend.advance(3600)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", nargs="*", help="case names (default: all)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every case's count")
    parser.add_argument("--rounds", type=int, default=3, help="report the best of N rounds")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top frames")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--memory", type=int, default=0, help="bytes per task over N tasks")
    args = parser.parse_args()
    cases = _cases()
    names = args.cases or list(cases)
    print(f"{'case':<12} {'wall µs':>9} {'cpu µs':>9}")
    for name in names:
        run, count = cases[name]
        count = max(1, int(count * args.scale))
        best = min(measure(run, count) for _ in range(args.rounds))
        print(f"{name:<12} {best[0]:>9.1f} {best[1]:>9.1f}", flush=True)
    if args.memory:
        for ended in (False, True):
            state = "ended" if ended else "running"
            per_task = memory_per_task(args.memory, ended)
            print(f"memory per stored task ({state}): {per_task:.0f} bytes", flush=True)
    if args.profile:
        for name in names:
            run, count = cases[name]
            print(f"\n=== {name} ===")
            profile(run, max(1, int(count * args.scale)), args.top)


if __name__ == "__main__":
    main()
