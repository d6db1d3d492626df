"""Runs the fake's ASGI edge on uvicorn (its public API: Config, Server.run with a socket we bound)
until SIGTERM or SIGINT, then stops gracefully: no new connections, in-flight requests finished,
then the caller's shutdown work.

Why uvicorn (with uvloop and httptools): it serves on a socket bound by us (port 0, exclusive,
shared by forked workers by inheritance) and drains on a stop, all through its public API;
granian's public API binds its own socket. Measured side by side with the same ASGI edge
(`python benchmarks/servers.py --seconds 4 --only uvicorn,granian-asgi`, 64 connections, memory
store, 2 shared cores): CPU per request GET 44 us on uvicorn vs 43-49 us on granian, submit
128-139 us vs 177-189 us; req/s GET 7,300 vs 10,600-15,600 (granian parses on a second core),
submit 2,900-4,700 vs 3,600-4,900."""

from __future__ import annotations

import errno
import resource
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

import uvicorn

GRACE_SECONDS = 5  # how long a stop waits for requests under way
BACKLOG = 2048  # pending connections the kernel queues before the server accepts them
KEEP_ALIVE_SECONDS = 75  # an idle keep-alive connection is closed after this
MAX_CONNECTIONS = 65536


class PortInUse(Exception):
    """The port is taken (by any process: the socket is bound without SO_REUSEPORT)."""


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port, bound exclusively (SO_REUSEADDR only lets a port in
    TIME_WAIT be reused; Linux still refuses a port another socket listens on). PortInUse if
    taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(f"{host}:{port}") from None
        raise
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server; its drain begins by closing the listening socket, then says so, and
    ends by closing what the app holds on the loop (`aclose`, when the app has one)."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:  # what uvicorn's shutdown does first (again: harmless)
            server.close()
        for sock in sockets or []:
            sock.close()
        # one write, so that the request log's writer thread cannot split the line
        sys.stdout.write("mock-kling stopping: no new connections; finishing in-flight requests\n")
        sys.stdout.flush()
        await super().shutdown(sockets)
        close = getattr(self.config.app, "aclose", None)
        if close is not None:
            await close()


class GracefulServer:
    """uvicorn serving the ASGI app on `sock` from this process (one event loop: the backend
    and its state live here), driven so that a stop drains instead of dropping."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        self._sock = sock
        config = uvicorn.Config(
            app,
            loop="auto",  # uvloop (installed with the package where it builds)
            http="auto",  # httptools (installed with the package)
            ws="none",
            lifespan="off",
            interface="asgi3",
            log_config=None,
            access_log=False,  # the fake has its own request log
            proxy_headers=False,
            server_header=False,
            backlog=BACKLOG,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=GRACE_SECONDS,
        )
        self._server = _Server(config)
        self._installed = False

    @property
    def port(self) -> int:
        """The bound port (the one the OS picked for port 0)."""
        port: int = self._sock.getsockname()[1]
        return port

    def stop(self) -> None:
        """Ask the server to stop (safe from a signal handler or another thread)."""
        self._server.handle_exit(signal.SIGTERM, None)

    def install_signals(self) -> None:
        """From the main thread: SIGTERM and SIGINT stop the server from now on (also before
        it serves)."""
        if not self._installed:
            self._installed = True
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self._server.handle_exit)

    def serve(self) -> None:
        """Serve until stop(), SIGTERM or SIGINT; then drain for at most GRACE_SECONDS."""
        self.install_signals()
        if not self._server.should_exit:
            self._server.run(sockets=[self._sock])


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
