"""Runs a fake on 127.0.0.1 in a background thread, for test fixtures: started with a timeout,
stopped cleanly."""

from __future__ import annotations

import threading
from http.client import HTTPConnection

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class ServerThread:
    """A threaded WSGI server on a free loopback port."""

    def __init__(self, app: Flask, host: str = "127.0.0.1") -> None:
        self._server: BaseWSGIServer = make_server(
            host, 0, app, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="mock-kling-server",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        """Start serving and wait (at most `timeout` s) until it answers its health check."""
        self._thread.start()
        connection = HTTPConnection(self._server.host, self._server.port, timeout=timeout)
        try:
            connection.request("GET", "/__mock__/health")
            status = connection.getresponse().status
        except OSError as exc:
            self.stop()
            raise RuntimeError(
                f"mock-kling test server at {self.url} did not answer: {exc}"
            ) from exc
        finally:
            connection.close()
        if status != 200:
            self.stop()
            raise RuntimeError(f"mock-kling test server at {self.url} answered {status} to health")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout)
