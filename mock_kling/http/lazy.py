"""The WSGI app `serve` runs: the fast path answers from the first request, and the Flask app
behind it (everything the fast path hands over) is imported and built on its first use or by
`warm()` in the background, so that a server answers sooner after it starts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from mock_kling.core.backend import Backend
from mock_kling.http.body import LAZY_IMPORTS
from mock_kling.http.fastpath import FastPath, WSGIApp


class LazyApp:
    """`create_app(backend=...)`'s answers, with Flask loaded only when first needed."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._flask: WSGIApp | None = None
        self._lock = threading.Lock()
        limits = {"MAX_CONTENT_LENGTH": backend.config.max_body_bytes}  # as create_app sets it
        self.fast_path = FastPath(self._fall_back, backend, limits)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        return self.fast_path(environ, start_response)

    def warm(self) -> None:
        """Build the Flask app now, on a daemon thread (a failure is recorded as an error)."""
        threading.Thread(target=self._warm, name="mock-kling-flask", daemon=True).start()

    def flask(self) -> WSGIApp:
        """The Flask app's WSGI callable, built once."""
        with self._lock:
            if self._flask is None:
                with LAZY_IMPORTS:
                    from mock_kling.http.app import create_app
                    from mock_kling.http.context import FAST_PATH

                app = create_app(backend=self._backend, fast_path=False)
                app.extensions[FAST_PATH] = self.fast_path  # for the health report's counts
                self._flask = app.wsgi_app
            return self._flask

    def _fall_back(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        return self.flask()(environ, start_response)

    def _warm(self) -> None:
        try:
            self.flask()
        except Exception as exc:  # a bug: the requests that need Flask will raise it too
            self._backend.record_error(exc, "building the Flask app")
