"""The callback receiver on 127.0.0.1 that the pytest plugin, the contract suite and the
benchmarks share: it keeps deliveries, answers scripted statuses or hangs, counts arrivals
(`GET /stats`) and serves files put on it."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 16 * 1024 * 1024  # bytes of a delivery read; the rest is left unread
STATS_PATH = "/stats"
_HOLD_POLL_SECONDS = 0.2  # how often a hanging answer looks whether its client went away


@dataclass(frozen=True)
class Delivery:
    """One request the receiver got (a POST or PUT)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the text when it was not JSON
    answered: int  # the status it was given (0: it hung until released, abandoned or timed out)
    at: float  # time.monotonic() on arrival

    @property
    def key(self) -> str:
        """The last path segment (the contract suite gives each task its own)."""
        return self.path.rpartition("/")[2]


class Receiver:
    """An HTTP server on a loopback port (0: a free one); a context manager, or start()/stop().
    With `keep=False` it only counts (for floods of callbacks in benchmarks)."""

    def __init__(self, port: int = 0, *, keep: bool = True, hang_seconds: float = 30.0) -> None:
        self._server = _Server(("127.0.0.1", port), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._changed = threading.Condition()
        self._deliveries: list[Delivery] = []
        self._answers: deque[int] = deque()
        self._files: dict[str, tuple[bytes, str]] = {}
        self._hang_prefix: str | None = None  # hang(): hold the requests whose path starts so
        self._releases = 0  # bumped by release(): hanging requests go on
        self._stats = {"count": 0, "first_ms": 0.0, "last_ms": 0.0, "hanging": 0}
        self.keep = keep
        self.hang_seconds = hang_seconds

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """A callback_url for it."""
        return f"{self.base_url}/callback"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what it answers ---------------------------------------------------------------------

    def answer(self, *statuses: int) -> None:
        """Answer the next len(statuses) requests with these statuses, one each in order, then
        200 again. 0 means hang: that request waits unanswered until release(), until its
        client goes away or for hang_seconds. `answer(500, 0)`: the next request gets 500, the
        one after hangs, every later one gets 200. Calls add up: `answer(500); answer(503)`
        is `answer(500, 503)`."""
        with self._changed:
            self._answers.extend(statuses)

    def hang(self, path_prefix: str = "") -> None:
        """Every request from now on (whose path starts with `path_prefix`) waits, unanswered,
        until release(), until its client goes away or for hang_seconds."""
        with self._changed:
            self._hang_prefix = path_prefix

    def release(self) -> None:
        """Let every hanging request go on, and stop hanging new ones."""
        with self._changed:
            self._hang_prefix = None
            self._releases += 1
            self._changed.notify_all()

    def put_file(self, path: str, data: bytes, content_type: str) -> str:
        """Serve `data` on GET `path`; its URL."""
        with self._changed:
            self._files[path] = (data, content_type)
        return self.base_url + path

    # --- what it got -------------------------------------------------------------------------

    @property
    def deliveries(self) -> list[Delivery]:
        with self._changed:
            return list(self._deliveries)

    def stats(self) -> dict[str, Any]:
        """`count` of arrivals, `first_ms` / `last_ms` (Unix ms), `hanging` now."""
        with self._changed:
            return dict(self._stats)

    def wait_until(self, done: Callable[[list[Delivery]], bool], timeout: float) -> bool:
        """Block until `done(deliveries)` holds (True) or `timeout` seconds pass (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: done(self._deliveries), timeout)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        """Block until at least `count` deliveries arrived (or raise TimeoutError)."""
        if not self.wait_until(lambda got: len(got) >= count, timeout):
            got = len(self.deliveries)
            raise TimeoutError(f"{got} of {count} callbacks within {timeout} s")
        return self.deliveries

    def wait_for_arrivals(self, count: int, timeout: float = 10.0) -> bool:
        """Block until `count` requests came in, even if they are still hanging."""
        with self._changed:
            return self._changed.wait_for(lambda: self._stats["count"] >= count, timeout)

    # --- the handler's side ------------------------------------------------------------------

    def _arrived(self, path: str) -> tuple[int, bool]:
        """The status to answer, and whether to hold the answer first."""
        now = time.time() * 1000
        with self._changed:
            stats = self._stats
            stats["count"] += 1
            stats["first_ms"] = stats["first_ms"] or now
            stats["last_ms"] = now
            self._changed.notify_all()
            status = self._answers.popleft() if self._answers else 200
            prefix = self._hang_prefix
            return status, status == 0 or (prefix is not None and path.startswith(prefix))

    def _record(self, delivery: Delivery) -> None:
        if self.keep:
            with self._changed:
                self._deliveries.append(delivery)
                self._changed.notify_all()

    def _hold(self, connection: socket.socket) -> bool:
        """Say nothing until release(), the client closing (True), or hang_seconds."""
        deadline = time.monotonic() + self.hang_seconds
        with self._changed:
            releases = self._releases
            self._stats["hanging"] += 1
            self._changed.notify_all()
        try:
            while time.monotonic() < deadline:
                if _closed(connection):
                    return True
                with self._changed:
                    if self._changed.wait_for(
                        lambda: self._releases != releases, _HOLD_POLL_SECONDS
                    ):
                        return False
            return False
        finally:
            with self._changed:
                self._stats["hanging"] -= 1

    def _file(self, path: str) -> tuple[bytes, str] | None:
        if path == STATS_PATH:
            return json.dumps(self.stats()).encode(), "application/json"
        with self._changed:
            return self._files.get(path)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # bursts of callbacks open many connections at once


def _closed(connection: socket.socket) -> bool:
    """Whether the client closed its end (or the connection broke)."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and not connection.recv(1, socket.MSG_PEEK)
    except OSError:
        return True


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            found = receiver._file(self.path.partition("?")[0])
            self._answer(200, *found) if found else self._answer(404, b"", "text/plain")

        def do_POST(self) -> None:
            arrived = time.monotonic()
            length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
            raw = self.rfile.read(length)
            status, hold = receiver._arrived(self.path)
            gone = receiver._hold(self.connection) if hold else False
            body = parse_body(raw) if receiver.keep else None
            headers = dict(self.headers.items())
            receiver._record(Delivery(self.command, self.path, headers, body, status, arrived))
            if status == 0 or gone:
                self.close_connection = True
                return
            self._answer(status, b"", "text/plain")

        do_PUT = do_POST

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def parse_body(raw: bytes) -> Any:
    """A delivery's body: parsed JSON, or the text when it is not JSON."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")
