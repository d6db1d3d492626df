"""A WSGI fast path for the calls clients repeat most (GET one task, GET a list page) when no
fault, limit or error is in play; every other request, and every refusal, goes to Flask."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from mock_kling.contracts.rules import parse_paging
from mock_kling.core import wire
from mock_kling.core.backend import Backend
from mock_kling.core.journal import RequestRecord
from mock_kling.core.profiles import ROUTE

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_DEFAULT_PORTS = {"http": "80", "https": "443"}


class FastPath:
    """Wraps the Flask app's WSGI callable; answers exactly as Flask would, byte for byte."""

    def __init__(self, app: WSGIApp, backend: Backend) -> None:
        self.app = app
        self.backend = backend

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        answer = self._answer(environ) if environ.get("REQUEST_METHOD") == "GET" else None
        if answer is None:
            return self.app(environ, start_response)
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]
        )
        return [answer]

    def _answer(self, environ: dict[str, Any]) -> bytes | None:
        path: str = environ.get("PATH_INFO", "")
        rest = self._route_rest(path)
        header = environ.get("HTTP_AUTHORIZATION")
        if rest is None or not header or "," in header or not path.isascii():
            return None
        backend = self.backend
        try:
            account = backend.authenticate(header)
            if not backend.plain_sailing(account):
                return None
            data = self._data(account, rest, environ)
        except Exception:  # a refusal, or a bug: Flask repeats the work and renders it as
            return None  # Kling does (and records the bug for the test that caused it)
        request_id = backend.request_id()
        body = json.dumps(wire.envelope(data, request_id), separators=(",", ":")) + "\n"
        query = environ.get("QUERY_STRING", "")
        record = RequestRecord(
            backend.now_ms(), "GET", f"{path}?{query}".rstrip("?"), account.account_id,
            None, 200, 0, request_id,
        )  # fmt: skip
        backend.journal_request(record)
        return body.encode()

    def _route_rest(self, path: str) -> str | None:
        """What follows `<prefix>/videos/multi-image2video` for a prefix the profile serves."""
        for prefix in self.backend.profile.prefixes:
            route = prefix + ROUTE
            if path.startswith(route):
                rest = path[len(route) :]
                return rest if rest == "" or (rest.startswith("/") and len(rest) > 1) else None
        return None

    def _data(self, account: Any, rest: str, environ: dict[str, Any]) -> Any:
        backend, media_url = self.backend, self._media_url(environ)
        if rest:
            task = backend.find_task(account, rest[1:])
            return wire.task_object(task, task.step_at(backend.now_ms()), media_url)
        args = dict(reversed(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)))
        tasks = backend.list_tasks(account, *parse_paging(args))
        now = backend.now_ms()
        return [wire.task_object(task, task.step_at(now), media_url) for task in tasks]

    def _media_url(self, environ: dict[str, Any]) -> str:
        """As Flask's `request.host_url` (without the slash), unless a public URL is set."""
        if self.backend.config.public_url:
            return self.backend.config.public_url
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '')}"
        )
        name, _, port = host.rpartition(":") if ":" in host.rsplit("]", 1)[-1] else (host, "", "")
        if port == _DEFAULT_PORTS.get(scheme):
            host = name
        return f"{scheme}://{host}"
