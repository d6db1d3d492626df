"""Runs a WSGI app on granian's Rust HTTP server inside this process: one worker, its app calls
on a pool of Python threads; the one home of the granian internals the fake relies on."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from granian import _futures
from granian._granian import ListenerSpec, WorkerSignal, WSGIWorker
from granian.http import HTTP1Settings
from granian.wsgi import _callback_wrapper

WSGIApp = Callable[..., Any]

BACKLOG = 1024  # pending connections the kernel queues before the worker accepts them
# Request heads (request line and headers) up to this size reach the app; longer ones get
# granian's own 431. waitress's limit was 256 KiB; this keeps a 300 KB token reaching the fake.
MAX_HEAD_BYTES = 1 << 19
_RUST_THREADS = 1  # the Rust side (accept, parse, write) is not the bound: one thread
_RUST_BLOCKING_THREADS = 512  # granian's default
_IDLE_THREAD_SECONDS = 30  # an idle app thread ends after this; a new one starts on demand
# Its stub (_granian.pyi) lags the compiled class (which also takes the IPC and metrics handles).
_WORKER_CLASS: Any = WSGIWorker


_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # where to reach "any"


class Listener:
    """A listening TCP socket made by granian (so its Rust worker can take it), and its port."""

    def __init__(self, host: str, port: int) -> None:
        self.holder: Any = ListenerSpec(host, port, BACKLOG).build()
        self._probe_host = _WILDCARDS.get(host, host)
        with socket.socket(fileno=os.dup(self.holder.get_fd())) as bound:
            self.port: int = bound.getsockname()[1]

    def wait_closed(self, timeout: float) -> bool:
        """Wait (at most `timeout` s) until a connection to the port is refused: the worker
        closes its listener asynchronously after a stop. Whether it is closed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self._probe_host, self.port), timeout=0.5).close()
            except OSError:
                return True
            time.sleep(0.005)  # still listening: look again shortly
        return False


class InFlight:
    """Counts the app calls under way, so that a stop can wait for them."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def wrap(self, runner: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def counted(proto: Any, scope: Any) -> Any:
            with self._idle:
                self._count += 1
            try:
                return runner(proto, scope)  # returns once the answer is handed to granian
            finally:
                with self._idle:
                    self._count -= 1
                    self._idle.notify_all()

        return counted

    def wait_idle(self, timeout: float) -> bool:
        """Wait (at most `timeout` s) until no call is under way; whether none is."""
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


class GranianWorker:
    """granian's WSGI worker serving `app` on `listener`, from a thread of this process."""

    def __init__(
        self, app: WSGIApp, listener: Listener, threads: int, max_connections: int
    ) -> None:
        self.in_flight = InFlight()
        self._listener = listener
        self._signal: Any = WorkerSignal()
        self._loop = asyncio.new_event_loop()
        runner = self.in_flight.wrap(_callback_wrapper(app, {}, None))
        new_scheduler: Any = _futures._new_cbscheduler  # untyped in granian
        self._scheduler = new_scheduler(self._loop, runner, impl_asyncio=True)
        http1 = HTTP1Settings(max_buffer_size=MAX_HEAD_BYTES)
        no_tls: tuple[Any, ...] = (False, None, None, None, "tls1.3", None, [], False)
        no_metrics = (None, None)
        self._worker: Any = _WORKER_CLASS(
            1,
            (None, listener.holder),
            None,  # no IPC with a parent process
            _RUST_THREADS,
            _RUST_BLOCKING_THREADS,
            threads,
            _IDLE_THREAD_SECONDS,
            max_connections,  # "backpressure": granian holds one permit per open connection
            "1",  # HTTP/1.1, as Kling's clients speak it
            http1,
            None,
            None,  # no static files
            *no_tls,
            no_metrics,
        )

    def start(self) -> None:
        """Start serving (returns at once; granian's threads do the work)."""
        self._worker.serve_mtr(self._scheduler, self._loop, self._signal)

    def stop_accepting(self, timeout: float = 2.0) -> None:
        """Stop listening: when this returns, a new connection is refused (unless the worker
        took over `timeout` s to close its listener); requests under way go on."""
        self._signal.set()
        self._listener.wait_closed(timeout)

    def close(self) -> None:
        self._loop.close()
