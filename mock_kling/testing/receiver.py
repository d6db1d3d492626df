"""A callback receiver on 127.0.0.1 for tests: it collects deliveries and can be told to answer
an error status or to hang."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mock_kling.contract.local_server import parse_body

_MAX_BODY = 16 * 1024 * 1024


@dataclass(frozen=True)
class Delivery:
    """One request the receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it was not JSON
    answered: int  # the status it was given (0: it hung until released or timed out)


class CallbackReceiver:
    """An HTTP server on a free loopback port; use as a context manager or start()/stop()."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._changed = threading.Condition()
        self._deliveries: list[Delivery] = []
        self._answers: deque[int] = deque()
        self._hang_all = False
        self._arrivals = 0  # requests that came in (answered or still hanging)
        self._releases = 0  # bumped by release(): hanging requests go on
        self.hang_seconds = 30.0

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/callback"

    def start(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> CallbackReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, *statuses: int) -> None:
        """Answer the next requests with these statuses (0 = hang), then 200 again."""
        with self._changed:
            self._answers.extend(statuses)

    def hang(self) -> None:
        """Every request from now on waits (up to hang_seconds) until release()."""
        with self._changed:
            self._hang_all = True

    def release(self) -> None:
        """Let every hanging request go on, and stop hanging new ones."""
        with self._changed:
            self._hang_all = False
            self._releases += 1
            self._changed.notify_all()

    @property
    def deliveries(self) -> list[Delivery]:
        with self._changed:
            return list(self._deliveries)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        """Block until at least `count` deliveries arrived (or raise TimeoutError)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._deliveries) >= count, timeout):
                raise TimeoutError(
                    f"{len(self._deliveries)} of {count} callbacks within {timeout} s"
                )
            return list(self._deliveries)

    def wait_for_arrivals(self, count: int, timeout: float = 10.0) -> bool:
        """Block until `count` requests came in, even if they are still hanging."""
        with self._changed:
            return self._changed.wait_for(lambda: self._arrivals >= count, timeout)

    def _next_answer(self) -> int:
        with self._changed:
            self._arrivals += 1
            self._changed.notify_all()
            return self._answers.popleft() if self._answers else 200

    def _record(self, delivery: Delivery) -> None:
        with self._changed:
            self._deliveries.append(delivery)
            self._changed.notify_all()

    def _hang(self, always: bool) -> None:
        """Wait up to hang_seconds (for a `0` answer, or in hang() mode) until release()."""
        with self._changed:
            if not (always or self._hang_all):
                return
            releases = self._releases
            self._changed.wait_for(lambda: self._releases != releases, self.hang_seconds)


def _handler_for(receiver: CallbackReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), _MAX_BODY)
            raw = self.rfile.read(length)
            status = receiver._next_answer()
            receiver._hang(always=status == 0)
            receiver._record(
                Delivery("POST", self.path, dict(self.headers), parse_body(raw), status)
            )
            if status == 0:
                self.close_connection = True
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
