"""A callback receiver for the benchmarks: `ok` answers 200 at once, `hang` never answers;
GET /stats gives the count and the arrival time (Unix ms) of the last delivery."""

from __future__ import annotations

import argparse
import json
import select
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_MAX_BODY = 16 * 1024 * 1024
_HANG_POLL_SECONDS = 0.2


class Stats:
    """What arrived: thread-safe counters."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.first_ms = 0.0
        self.last_ms = 0.0
        self.hanging = 0

    def arrived(self) -> None:
        now = time.time() * 1000
        with self.lock:
            self.count += 1
            self.first_ms = self.first_ms or now
            self.last_ms = now

    def to_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "count": self.count,
                "first_ms": self.first_ms,
                "last_ms": self.last_ms,
                "hanging": self.hanging,
            }


def handler_for(mode: str, stats: Stats, hold_seconds: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), _MAX_BODY)
            self.rfile.read(length)
            stats.arrived()
            if mode == "hang":
                self._hold()
                self.close_connection = True
                return
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            body = json.dumps(stats.to_json()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _hold(self) -> None:
            """Say nothing until the client gives up (closes) or `hold_seconds` pass."""
            with stats.lock:
                stats.hanging += 1
            try:
                deadline = time.monotonic() + hold_seconds
                while time.monotonic() < deadline:
                    readable, _, _ = select.select([self.connection], [], [], _HANG_POLL_SECONDS)
                    if readable and not self.connection.recv(4096):
                        return  # the client closed its end
            except OSError:
                return
            finally:
                with stats.lock:
                    stats.hanging -= 1

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # bursts of callbacks open many connections at once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=["ok", "hang"], default="ok")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--hold-seconds", type=float, default=30.0)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="Stop after this.")
    args = parser.parse_args()
    stats = Stats()
    server = _Server(("127.0.0.1", args.port), handler_for(args.mode, stats, args.hold_seconds))
    timer = threading.Timer(args.max_seconds, server.shutdown)
    timer.daemon = True
    timer.start()
    print(f"receiver listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        timer.cancel()
        server.server_close()


if __name__ == "__main__":
    main()
