"""An HTTP server on 127.0.0.1 for the suite: it serves generated images (for URL inputs) and
records callback deliveries, each task on its own path."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Delivery:
    """One request to a callback path."""

    key: str  # the last path segment: which task's callback_url it was
    method: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the text when it was not JSON
    at: float  # time.monotonic() on arrival


class LocalServer:
    """Start with start(), stop with stop() (or use as a context manager). `public_url`, when
    given, is the address the target must use to reach this server (a tunnel to it)."""

    def __init__(self, port: int = 0, public_url: str | None = None) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._images: dict[str, tuple[bytes, str]] = {}
        self._deliveries: list[Delivery] = []
        self._changed = threading.Condition()
        self.public_url = public_url.rstrip("/") if public_url else None

    @property
    def local_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        return self.public_url or self.local_url

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- images --------------------------------------------------------------------------------

    def image_url(self, data: bytes, kind: str) -> str:
        """Serve `data` and return its URL."""
        name = hashlib.sha256(data).hexdigest()[:16] + (".png" if kind == "png" else ".jpg")
        content_type = "image/png" if kind == "png" else "image/jpeg"
        with self._changed:
            self._images[name] = (data, content_type)
        return f"{self.url}/images/{name}"

    def image(self, name: str) -> tuple[bytes, str] | None:
        with self._changed:
            return self._images.get(name)

    # --- callbacks -----------------------------------------------------------------------------

    def callback_url(self, key: str) -> str:
        return f"{self.url}/callback/{key}"

    def deliveries(self, key: str | None = None) -> list[Delivery]:
        with self._changed:
            return [d for d in self._deliveries if key is None or d.key == key]

    def wait_for(self, key: str, done: Any, timeout: float) -> list[Delivery]:
        """Wait until `done(deliveries of key)` is true or `timeout` seconds pass; return them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done(self._for(key)):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return self._for(key)

    def _for(self, key: str) -> list[Delivery]:
        return [d for d in self._deliveries if d.key == key]

    def record(self, delivery: Delivery) -> None:
        with self._changed:
            self._deliveries.append(delivery)
            self._changed.notify_all()


def _handler_for(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = server.image(self.path.rpartition("/")[2])
            if not self.path.startswith("/images/") or found is None:
                self._answer(404, b"", "text/plain")
                return
            self._answer(200, *found)

        def do_POST(self) -> None:
            self._callback()

        def do_PUT(self) -> None:
            self._callback()

        def _callback(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), _MAX_BODY)
            raw = self.rfile.read(length)
            if self.path.startswith("/callback/"):
                key = self.path.rpartition("/")[2]
                headers = dict(self.headers.items())
                body = parse_body(raw)
                server.record(Delivery(key, self.command, headers, body, time.monotonic()))
            self._answer(200, b"", "text/plain")

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
