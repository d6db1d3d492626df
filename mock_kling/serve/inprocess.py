"""Reach a fake with no sockets: a `requests` transport adapter and `httpx` transports (sync and
async) that call the WSGI app directly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from flask import Flask
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from werkzeug.test import Client

INPROCESS_URL = "http://kling.test"


class WSGIAdapter(BaseAdapter):
    """A requests adapter that answers from a WSGI app; mount it on a Session for a base URL."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self._client = Client(app)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        answer = self._client.open(
            request.url or "",
            method=request.method or "GET",
            headers=list(request.headers.items()),
            data=request.body,
        )
        body = answer.get_data()
        promised = answer.headers.get("Content-Length")
        if promised is not None and int(promised) != len(body):  # an injected dropped connection
            raise requests.exceptions.ConnectionError(
                "connection dropped by the fake", request=request
            )
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response._content = body
        response.url = request.url or ""
        response.request = request
        response.reason = answer.status.partition(" ")[2]
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def requests_session(app: Flask, base_url: str = INPROCESS_URL) -> requests.Session:
    """A Session whose requests to `base_url` go to `app` in-process."""
    session = requests.Session()
    session.mount(base_url, WSGIAdapter(app))
    return session


def httpx_transport(app: Flask) -> Any:
    """An `httpx.WSGITransport` for `app` (needs the httpx extra)."""
    return _httpx().WSGITransport(app=app)


def async_httpx_transport(app: Flask) -> Any:
    """An `httpx.AsyncBaseTransport` for `httpx.AsyncClient` that calls `app` in a worker thread
    (the event loop never blocks on the fake, not even on an injected latency)."""
    httpx = _httpx()
    import anyio.to_thread  # an httpx dependency

    class AsyncWSGITransport(httpx.AsyncBaseTransport):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self._sync = httpx.WSGITransport(app=app)

        async def handle_async_request(self, request: Any) -> Any:
            body = await request.aread()
            copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            answer = await anyio.to_thread.run_sync(self._answer, copy)
            return httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )

        def _answer(self, request: Any) -> Any:
            answer = self._sync.handle_request(request)
            answer.read()
            return answer

    return AsyncWSGITransport()


def _httpx() -> Any:
    try:
        import httpx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("httpx is not installed: pip install 'mock-kling[httpx]'") from exc
    return httpx
