"""Which HTTP server for `mock-kling serve`: the same fake app on each candidate, side by side in
one run, over loopback with wrk: GET one task and POST submit (req/s, p99, server CPU per request,
all the server's processes counted), and whether a GET is answered while idle connections are
held open.

    python benchmarks/servers.py                 # about 1 minute
    python benchmarks/servers.py --seconds 10 --only uvicorn,granian-asgi

Candidates: uvicorn as `serve` runs it (the ASGI edge, uvloop + httptools, on a socket bound by
us), the same ASGI edge on granian's public Server (one worker process, the app built there),
the WSGI app on granian's public Server, on waitress and on gunicorn with gthread (one worker
process). Flask (and, for the WSGI ones, every request) runs on 8 Python threads. The fake is
built as `serve` builds it (system clock, one API key, seed 7); `--serve KIND` is the child
process each candidate runs in.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bodies  # noqa: E402
import clients  # noqa: E402
import harness  # noqa: E402
import load  # noqa: E402
import procs  # noqa: E402

KINDS = ("uvicorn", "granian-asgi", "granian-wsgi", "waitress", "gunicorn")
THREADS = 8


def build_app() -> Any:
    """The fake's WSGI app, as `mock-kling serve --api-key ... --seed 7` builds it."""
    from mock_kling.assemble import build_backend
    from mock_kling.core.clock import SystemClock
    from mock_kling.core.config import Config
    from mock_kling.http.app import create_app

    config = Config(key_pairs={}, api_keys=[harness.API_KEY], seed=harness.SEED)
    return create_app(backend=build_backend(config, SystemClock()))


def build_edge() -> Any:
    """The fake's ASGI edge, as `mock-kling serve --api-key ... --seed 7` builds it."""
    from concurrent.futures import ThreadPoolExecutor

    from mock_kling.assemble import build_backend
    from mock_kling.core.clock import SystemClock
    from mock_kling.core.config import Config
    from mock_kling.http.edge import Edge
    from mock_kling.http.lazy import LazyApp

    config = Config(key_pairs={}, api_keys=[harness.API_KEY], seed=harness.SEED)
    app = LazyApp(build_backend(config, SystemClock()))
    app.warm()
    return Edge(app, ThreadPoolExecutor(THREADS), config.max_body_bytes)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _announce(kind: str, port: int) -> None:
    print(f"{kind} listening on http://127.0.0.1:{port}", flush=True)


def serve(kind: str) -> None:
    """Run the fake under `kind` until terminated (the child process of a candidate)."""
    if kind == "uvicorn":
        from mock_kling.serve.server import GracefulServer, bind

        sock = bind("127.0.0.1", 0)
        server = GracefulServer(build_edge(), sock)
        _announce(kind, server.port)
        server.serve()
    elif kind in ("granian-asgi", "granian-wsgi"):
        from granian.constants import Interfaces
        from granian.server import Server

        port = _free_port()
        asgi = kind == "granian-asgi"
        runner = Server(
            "fake",
            "127.0.0.1",
            port,
            interface=Interfaces.ASGI if asgi else Interfaces.WSGI,
            workers=1,
            blocking_threads=1 if asgi else THREADS,
            log_enabled=False,
        )
        runner.on_startup(lambda: _announce(kind, port))
        runner.serve(target_loader=lambda *_: build_edge() if asgi else build_app())
    elif kind == "waitress":
        from waitress.server import create_server

        waitress: Any = create_server(build_app(), host="127.0.0.1", port=0, threads=THREADS)
        _announce(kind, waitress.effective_port)
        waitress.run()
    elif kind == "gunicorn":
        _serve_gunicorn(kind)


def _serve_gunicorn(kind: str) -> None:
    from gunicorn.app.base import BaseApplication

    port = _free_port()

    class Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": f"127.0.0.1:{port}",
                "workers": 1,
                "worker_class": "gthread",
                "threads": THREADS,
                "loglevel": "warning",
                "keepalive": 75,
            }
            for name, value in options.items():
                self.cfg.set(name, value)

        def load(self) -> Any:
            return build_app()  # in the worker process

    _announce(kind, port)  # gunicorn binds before it forks; harness polls health anyway
    Gunicorn().run()


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (multi-process servers do the work there)."""
    total = procs.cpu_seconds(pid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(stat[1]) == pid:
                total += procs.cpu_seconds(int(entry.name))
    return total


def _idle_probe(url: str, idle: int) -> float:
    """Open `idle` connections that send nothing, then time one GET (s; inf if none in 5 s)."""
    host, port = url.removeprefix("http://").split(":")
    held = []
    try:
        for _ in range(idle):
            held.append(socket.create_connection((host, int(port)), timeout=5))
        started = time.perf_counter()
        try:
            clients.request(url + "/__mock__/health", timeout=5.0)
        except OSError:
            return float("inf")
        return time.perf_counter() - started
    finally:
        for connection in held:
            connection.close()


def measure(kind: str, seconds: float, connections: int, tmp: Path) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", kind]
    with harness.Server(command, kind) as server:
        clients.wait_healthy(server.url + "/__mock__/health")
        created = clients.submit(server.url, harness.API_KEY, bodies.SMALL_BODY)
        task_url = f"{server.url}{harness.API_PATH}/{created['data']['task_id']}"
        body_file = tmp / "submit.json"
        body_file.write_bytes(bodies.SMALL_BODY)
        auth = f"Bearer {harness.API_KEY}"
        results: dict[str, Any] = {}
        for name, url, body in (
            ("get", task_url, None),
            ("post", server.url + harness.API_PATH, body_file),
        ):
            load.run_wrk(url, connections, 1, auth, body)  # warm-up
            result = load.run_wrk(url, connections, seconds, auth, body, server_pid=server.pid)
            results[name] = result
        results["idle_s"] = _idle_probe(server.url, 200)
        return results


def fixture_servers(requests_count: int) -> None:
    """The pytest fixture's in-process server: werkzeug's thread server (today) against serve's
    uvicorn edge on a thread of this process; start to first answer, then sequential GETs from
    one keep-alive client."""
    import threading

    import requests
    import uvicorn

    from mock_kling.serve.server import bind
    from mock_kling.serve.thread_server import ServerThread

    rows = []
    for kind in ("werkzeug", "uvicorn", "werkzeug", "uvicorn"):
        started = time.perf_counter()
        if kind == "werkzeug":
            thread = ServerThread(build_app()).start()  # waits for its first health answer
            url, stop = thread.url, thread.stop
        else:
            sock = bind("127.0.0.1", 0)
            config = uvicorn.Config(build_edge(), loop="uvloop", http="httptools", log_config=None)
            server = uvicorn.Server(config)
            runner = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
            runner.start()
            url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            clients.wait_healthy(url + "/__mock__/health")

            def stop(server: Any = server, runner: threading.Thread = runner) -> None:
                server.should_exit = True
                runner.join(10)

        start_ms = (time.perf_counter() - started) * 1000
        with requests.Session() as session:
            headers = {"Authorization": f"Bearer {harness.API_KEY}"}
            task = session.post(
                url + harness.API_PATH,
                data=bodies.SMALL_BODY,
                headers={**headers, "Content-Type": "application/json"},
            ).json()
            task_url = f"{url}{harness.API_PATH}/{task['data']['task_id']}"
            started = time.perf_counter()
            for _ in range(requests_count):
                assert session.get(task_url, headers=headers).status_code == 200
            per_request_us = (time.perf_counter() - started) / requests_count * 1e6
        stop()
        rows.append([kind, f"{start_ms:.1f}", f"{per_request_us:.0f}"])
    print(
        f"\nFixture server, in process: start to first 200, then {requests_count} sequential "
        "GETs of one task from one requests.Session"
    )
    print(_table(["server", "start ms", "GET us each"], rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=5.0, help="wrk run per measurement")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--only", help="comma-separated subset of " + ", ".join(KINDS))
    parser.add_argument("--fixture", action="store_true", help="the fixture's server instead")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if args.fixture:
        fixture_servers(500)
        return 0
    kinds = args.only.split(",") if args.only else list(KINDS)
    rows = []
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    for kind in kinds:
        found = measure(kind, args.seconds, args.connections, tmp)
        get, post = found["get"], found["post"]
        idle = found["idle_s"]
        rows.append(
            [
                kind,
                f"{get.rps:,.0f}",
                f"{get.p99_ms:.1f}",
                f"{get.cpu_us_per_request:.0f}",
                f"{post.rps:,.0f}",
                f"{post.p99_ms:.1f}",
                f"{post.cpu_us_per_request:.0f}",
                "no answer in 5 s" if idle == float("inf") else f"{idle * 1000:.1f} ms",
                str(get.non_2xx + post.non_2xx + get.socket_errors + post.socket_errors),
            ]
        )
    print(
        f"\n{args.connections} connections, {args.seconds:g} s per run, wrk over loopback; "
        f"CPU: the server's processes, per request"
    )
    headers = [
        "server",
        "GET req/s",
        "GET p99 ms",
        "GET CPU us",
        "POST req/s",
        "POST p99 ms",
        "POST CPU us",
        "GET with 200 idle open",
        "errors",
    ]
    print(_table(headers, rows))
    return 0


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    lines = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    rule = "-+-".join("-" * width for width in widths)
    head = " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(headers))
    return "\n".join([head, rule, *lines])


if __name__ == "__main__":
    raise SystemExit(main())
