"""Runs the fake on waitress until SIGTERM or SIGINT, then stops gracefully: no new connections,
in-flight requests finished, then the caller's shutdown work."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from waitress import wasyncore
from waitress.server import BaseWSGIServer, create_server

_POLL_SECONDS = 0.1  # how often the loop looks at the stop flag


class GracefulServer:
    """A waitress server whose loop we drive, so that a stop drains instead of dropping."""

    def __init__(self, app: Flask, host: str, port: int, threads: int, max_body_bytes: int) -> None:
        # Bodies up to twice the fake's limit reach it (and get Kling's 400/1200); waitress
        # answers anything bigger with its own 413 rather than spooling up to 1 GiB to disk.
        server: Any = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="mock-kling",
            max_request_body_size=2 * max_body_bytes,
        )
        self.server = server
        self._map: dict[int, Any] = getattr(server, "_map", None) or server.map
        self._stop = threading.Event()

    @property
    def port(self) -> int:
        """The bound port (one socket: `effective_port`; several: `effective_listen`)."""
        listen = getattr(self.server, "effective_listen", None)
        port: int = listen[0][1] if listen else self.server.effective_port
        return port

    def stop(self) -> None:
        """Ask the loop to stop (safe from a signal handler or another thread)."""
        self._stop.set()

    def serve(self, grace_seconds: float = 5.0) -> None:
        """Serve until stop(), SIGTERM or SIGINT; then drain for at most `grace_seconds`."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop())
        while not self._stop.is_set():
            self._poll()
        self._drain(grace_seconds)

    def _poll(self, timeout: float = _POLL_SECONDS) -> None:
        use_poll = self.server.adj.asyncore_use_poll
        wasyncore.loop(timeout=timeout, map=self._map, use_poll=use_poll, count=1)

    def _drain(self, grace_seconds: float) -> None:
        for listener in self._listeners():
            listener.accepting = False  # waitress stops polling the listening socket
        print("mock-kling stopping: no new connections; finishing in-flight requests", flush=True)
        deadline = time.monotonic() + grace_seconds
        while self._busy() and time.monotonic() < deadline:
            self._poll(0.02)
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        for dispatcher in list(self._map.values()):
            dispatcher.close()

    def _listeners(self) -> list[Any]:
        return [d for d in self._map.values() if isinstance(d, BaseWSGIServer)]

    def _busy(self) -> bool:
        """A connection is waiting for, or still sending, an answer."""
        return any(
            getattr(d, "requests", None) or getattr(d, "total_outbufs_len", 0)
            for d in self._map.values()
        )


def run_until_stopped(server: GracefulServer, on_stop: Callable[[], None]) -> None:
    """serve(), and always run `on_stop` afterwards (flush state, stop callbacks)."""
    try:
        server.serve()
    finally:
        on_stop()
