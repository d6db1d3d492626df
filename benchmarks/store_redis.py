"""GET one task and submit one, in process through the WSGI app, on the memory store and on the
Redis store side by side (one worker each); prints µs per request and the Redis/memory speed
ratio (issue 13's target for GET: >= 0.5). Starts its own redis-server on a loopback port (and
a unix socket) without persistence unless --redis URL is given.

    python benchmarks/store_redis.py [--gets 3000] [--submits 300] [--rounds 3] [--redis URL]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import redis

from mock_kling.assemble import build_backend
from mock_kling.core.auth import make_token
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import DEV_ACCESS_KEY, DEV_SECRET_KEY, Config
from mock_kling.core.store import Store
from mock_kling.http.app import create_app
from mock_kling.store.memory import MemoryStore
from mock_kling.store.redis import open_redis

PATH = "/v1/videos/multi-image2video"


class RedisProcess(NamedTuple):
    """A running redis-server: its TCP URL, its unix socket URL and its process id."""

    tcp: str
    unix: str
    pid: int


@contextmanager
def redis_server(start_seconds: float = 10.0) -> Iterator[RedisProcess]:
    """A fresh redis-server on a free loopback port (and a unix socket) without persistence,
    stopped afterwards; exits with a message naming the package when redis-server is missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit(
            "redis-server not found: install it (Debian/Ubuntu: apt-get install redis-server; "
            "macOS: brew install redis) and run again"
        )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    directory = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    sock = directory / "redis.sock"
    command = [
        binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
        "--dir", str(directory), "--unixsocket", str(sock),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        _wait_ready(process, port, start_seconds)
        yield RedisProcess(f"redis://127.0.0.1:{port}/0", f"unix://{sock}?db=0", process.pid)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


def _wait_ready(process: subprocess.Popen[bytes], port: int, seconds: float) -> None:
    client = redis.Redis(port=port, socket_connect_timeout=0.5, socket_timeout=0.5)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {process.returncode}")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.01)
        raise RuntimeError(f"redis-server did not answer within {seconds} s")
    finally:
        client.close()


def _client(store: Store) -> tuple[Any, dict[str, str]]:
    clock = ManualClock()
    config = Config(key_pairs={DEV_ACCESS_KEY: DEV_SECRET_KEY}, seed=1)
    app = create_app(backend=build_backend(config, clock, store=store))
    token = make_token(DEV_ACCESS_KEY, DEV_SECRET_KEY, clock.now_ms() / 1000)
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def _body() -> dict[str, Any]:
    return {
        "model_name": "kling-v1-6",
        "image_list": [{"image": "https://example.com/cat.png"}],
        "prompt": "a cat",
    }


def _per_call_us(call: Callable[[], Any], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        call()
    return (time.perf_counter() - started) / count * 1e6


def measure(stores: dict[str, Store], gets: int, submits: int, rounds: int) -> dict[str, Any]:
    clients = {name: _client(store) for name, store in stores.items()}
    paths = {}
    for name, (client, auth) in clients.items():
        answer = client.post(PATH, json=_body(), headers=auth).get_json()
        assert answer["code"] == 0, answer
        paths[name] = f"{PATH}/{answer['data']['task_id']}"
        assert client.get(paths[name], headers=auth).get_json()["code"] == 0
    cells: dict[str, dict[str, list[float]]] = {n: {"get": [], "submit": []} for n in stores}
    for _ in range(rounds):  # interleaved: each round measures every store
        for name, (client, auth) in clients.items():
            path = paths[name]
            get = _per_call_us(lambda c=client, a=auth, p=path: c.get(p, headers=a), gets)
            post = _per_call_us(
                lambda c=client, a=auth: c.post(PATH, json=_body(), headers=a), submits
            )
            cells[name]["get"].append(get)
            cells[name]["submit"].append(post)
    return {n: {k: min(v) for k, v in c.items()} for n, c in cells.items()}  # best round: the
    # machine is shared, and other load only ever adds time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gets", type=int, default=3000)
    parser.add_argument("--submits", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis", help="a running Redis (default: start one)")
    args = parser.parse_args()
    with redis_server() as server:
        urls = {"redis-tcp": args.redis or server.tcp, "redis-unix": server.unix}
        stores: dict[str, Store] = {"memory": MemoryStore()}
        for name, url in urls.items():  # a namespace each: one seed draws the same ids
            stores[name] = open_redis(f"{url}{'&' if '?' in url else '?'}namespace=bench-{name}")
        for store in stores.values():
            store.reset()
        figures = measure(stores, args.gets, args.submits, args.rounds)
    memory = figures["memory"]
    print(f"{'store':12} {'GET µs':>8} {'submit µs':>10} {'GET speed vs memory':>20}")
    for name, cell in figures.items():
        ratio = memory["get"] / cell["get"]
        print(f"{name:12} {cell['get']:8.0f} {cell['submit']:10.0f} {ratio:19.2f}x")
    hiredis = "yes" if _has_hiredis() else "no"
    print(json.dumps({"hiredis": hiredis, "redis_py": redis.__version__, "figures": figures}))


def _has_hiredis() -> bool:
    try:
        import hiredis  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
