"""Serves a WSGI app built by a loader on granian or waitress, the way the benchmarks' bare app
and prefilled fake run: 127.0.0.1, a free port, `NAME listening on URL` once the app is built."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

SERVERS = ("granian", "waitress")
WsgiApp = Callable[..., Any]


def free_port() -> int:
    """A port free on 127.0.0.1 now (granian binds in each worker, so it cannot take port 0
    and tell the port; waitress is given the same kind of port for symmetry)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve(loader: Callable[[str], WsgiApp], server: str, threads: int, name: str) -> None:
    """Build the app with `loader(base_url)` in the process that serves it (granian's worker),
    print the banner, serve until SIGTERM."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if server == "waitress":
        _serve_waitress(loader(url), port, threads, name)
    elif server == "granian":
        _serve_granian(loader, port, threads, name)
    else:
        raise SystemExit(f"unknown server {server!r}: one of {', '.join(SERVERS)}")


def _serve_waitress(app: WsgiApp, port: int, threads: int, name: str) -> None:
    from waitress.server import create_server

    server: Any = create_server(app, host="127.0.0.1", port=port, threads=threads, ident=name)
    print(f"{name} listening on http://127.0.0.1:{server.effective_port}", flush=True)
    server.run()


def _serve_granian(loader: Callable[[str], WsgiApp], port: int, threads: int, name: str) -> None:
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    url = f"http://127.0.0.1:{port}"

    def load(_target: str) -> WsgiApp:
        app = loader(url)  # in the worker process
        print(f"{name} listening on {url}", flush=True)
        return app

    server = Server(
        name,
        address="127.0.0.1",
        port=port,
        interface=Interfaces.WSGI,
        workers=1,
        blocking_threads=threads,
        log_level=LogLevels.warning,
    )
    server.serve(target_loader=load)
