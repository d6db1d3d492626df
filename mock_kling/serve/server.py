"""Runs the fake on granian until SIGTERM or SIGINT, then stops gracefully: no new connections,
in-flight requests finished, then the caller's shutdown work."""

from __future__ import annotations

import resource
import signal
import sys
import threading
from collections.abc import Callable

from mock_kling.serve.granian_worker import GranianWorker, Listener, WSGIApp

GRACE_SECONDS = 5.0  # how long a stop waits for requests under way
# Connections open at once (idle ones included; past it, new ones wait to be accepted). The
# open-file limit bounds them too: each connection is a file.
MAX_CONNECTIONS = 65536


class GracefulServer:
    """granian serving the app from this process (one worker: the backend, its threads and its
    state live here), driven so that a stop drains instead of dropping."""

    def __init__(
        self, app: WSGIApp, host: str, port: int, threads: int, listener: Listener | None = None
    ) -> None:
        """Serve on `listener` when given (one socket shared by forked workers), else on a new
        socket bound to `host`:`port`."""
        max_connections = min(raise_open_file_limit(), MAX_CONNECTIONS)
        self._listener = listener or Listener(host, port)
        self._worker = GranianWorker(app, self._listener, threads, max_connections)
        self._stop = threading.Event()
        self._started = False

    @property
    def port(self) -> int:
        """The bound port (the one the OS picked for port 0)."""
        return self._listener.port

    def stop(self) -> None:
        """Ask the server to stop (safe from a signal handler or another thread)."""
        self._stop.set()

    def start(self) -> None:
        """Start answering (in granian's threads; returns at once). From the main thread:
        SIGTERM and SIGINT stop the server from now on, before anyone can know its port."""
        if not self._started:
            self._started = True
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: self.stop())
            self._worker.start()

    def serve(self, grace_seconds: float = GRACE_SECONDS) -> None:
        """Serve until stop(), SIGTERM or SIGINT; then drain for at most `grace_seconds`."""
        self.start()
        while not self._stop.wait(1.0):  # a timed wait: signal handlers run in between
            pass
        self._drain(grace_seconds)

    def _drain(self, grace_seconds: float) -> None:
        self._worker.stop_accepting()
        # one write, so that the request log's writer thread cannot split the line
        sys.stdout.write("mock-kling stopping: no new connections; finishing in-flight requests\n")
        sys.stdout.flush()
        self._worker.in_flight.wait_idle(grace_seconds)
        self._worker.close()


def raise_open_file_limit() -> int:
    """Lift the soft limit on open files to the hard one (each connection is a file); the
    limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard and hard != resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return MAX_CONNECTIONS if soft == resource.RLIM_INFINITY else soft


def run_until_stopped(server: GracefulServer, on_stop: Callable[[], None]) -> None:
    """serve(), and always run `on_stop` afterwards (flush state, stop callbacks)."""
    try:
        server.serve()
    finally:
        on_stop()
