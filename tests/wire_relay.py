"""A byte-counting HTTP relay on 127.0.0.1 for the tests: forwards every connection to an upstream
server and counts, on the wire, the bytes each way and the create requests (POST to the create
path) that went through, whoever sent them."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from typing import Any
from urllib.parse import urlsplit

_HEAD_LIMIT = 64 * 1024


class WireRelay:
    """`url` reaches `upstream` through the relay; `creates` counts create requests forwarded."""

    def __init__(self, upstream: str, create_path: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.create_path = create_path
        self.creates = 0
        self.requests = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self.unparsed: list[str] = []  # requests the relay could not frame (chunked bodies)
        self._lock = threading.Lock()
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def saw(self, head: bytes, sent: int) -> None:
        """Count one request (its head parsed) of `sent` bytes."""
        method, _, rest = head.partition(b" ")
        path = rest.partition(b" ")[0].decode("latin-1").partition("?")[0].rstrip("/")
        with self._lock:
            self.requests += 1
            self.bytes_up += sent
            self.creates += method == b"POST" and path == self.create_path

    def received(self, count: int) -> None:
        with self._lock:
            self.bytes_down += count

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def _read_head(client: socket.socket, buffer: bytes) -> tuple[bytes, bytes] | None:
    """One request head (up to the blank line) and the bytes after it; None at end of stream."""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > _HEAD_LIMIT:
            return None
        chunk = client.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
        if name.strip().lower() == b"transfer-encoding":
            return None
    return 0


def _handler(relay: WireRelay) -> Any:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            client: socket.socket = self.request
            upstream = socket.create_connection(relay.upstream, timeout=60)
            back = threading.Thread(target=self._pump_back, args=(upstream, client), daemon=True)
            back.start()
            try:
                self._pump_requests(client, upstream)
            finally:
                upstream.close()
                back.join(timeout=5)

        def _pump_requests(self, client: socket.socket, upstream: socket.socket) -> None:
            buffer = b""
            while True:
                framed = _read_head(client, buffer)
                if framed is None:
                    return
                head, buffer = framed
                length = _content_length(head)
                if length is None:
                    relay.unparsed.append(head.decode("latin-1").splitlines()[0])
                    return
                while len(buffer) < length:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                body, buffer = buffer[:length], buffer[length:]
                relay.saw(head, len(head) + len(body))
                upstream.sendall(head + body)

        def _pump_back(self, upstream: socket.socket, client: socket.socket) -> None:
            try:
                while True:
                    chunk = upstream.recv(65536)
                    if not chunk:
                        break
                    relay.received(len(chunk))
                    client.sendall(chunk)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    client.shutdown(socket.SHUT_WR)

    return Handler
