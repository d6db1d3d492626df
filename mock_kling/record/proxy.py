"""The recording proxy: forwards each request to the upstream, answers with the upstream's
answer and records both; rewrites callback URLs to itself to record and forward callbacks."""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from mock_kling.record.cassette import (
    CALLBACK_HEADER,
    HOP_HEADERS,
    Cassette,
    Interaction,
    described_body,
    masked_headers,
)

CALLBACK_PATH = "/__record__/callback/"
_TIMEOUT = 30.0


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as received."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


def forward(
    method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes, timeout: float
) -> Answer:
    """One HTTP exchange; a connection failure is a 502 answer, not an exception."""
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.netloc, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # identity bodies only: the cassette stores readable text, never gzip bytes
    sent = {k: v for k, v in headers if k.lower() not in HOP_HEADERS | {"accept-encoding"}}
    try:
        connection.request(method, path, body=body or None, headers=sent)
        answer = connection.getresponse()
        return Answer(answer.status, answer.reason, answer.getheaders(), answer.read())
    except OSError as exc:
        text = json.dumps({"code": 5000, "message": f"upstream {url} unreachable: {exc}"})
        return Answer(502, "Bad Gateway", [("Content-Type", "application/json")], text.encode())
    finally:
        connection.close()


class RecordingProxy:
    """A WSGI app in front of `upstream`; `public_url` is where the upstream can reach it."""

    def __init__(
        self,
        upstream: str,
        cassette: Cassette,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        timeout: float = _TIMEOUT,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.cassette = cassette
        self.public_url = ""  # set once the server is bound
        self._clock_ms = clock_ms
        self._timeout = timeout
        self._callbacks: dict[str, str] = {}  # receiver token -> the client's callback_url
        self._tokens = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path.startswith(CALLBACK_PATH):
            response = self._callback(request, request.path.removeprefix(CALLBACK_PATH))
        else:
            response = self._forward(request)
        return response(environ, start_response)

    def _forward(self, request: Request) -> Response:
        at_ms, raw = self._clock_ms(), request.get_data()
        sent = self._rewrite_callback(raw)
        query = request.query_string.decode("latin-1")
        uri = self.upstream + request.path + (f"?{query}" if query else "")
        answer = forward(request.method, uri, request.headers.items(), sent, self._timeout)
        self._record(
            request.method, uri, described_body(raw), request.headers.items(), answer, at_ms
        )
        return _response(answer)

    def _callback(self, request: Request, token: str) -> Response:
        at_ms, raw = self._clock_ms(), request.get_data()
        with self._lock:
            url = self._callbacks.get(token)
        if url is None:
            return Response(b'{"error":"unknown callback"}', 404, mimetype="application/json")
        answer = forward("POST", url, request.headers.items(), raw, self._timeout)
        headers = [*request.headers.items(), (CALLBACK_HEADER, "1")]
        self._record("POST", url, described_body(raw), headers, answer, at_ms)
        return _response(answer)

    def _rewrite_callback(self, raw: bytes) -> bytes:
        """The body to send: its callback_url points here (the cassette keeps the original)."""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return raw
        if not isinstance(body, dict) or not self.public_url:
            return raw
        url = body.get("callback_url")
        if not isinstance(url, str) or not url:
            return raw
        with self._lock:
            token = str(next(self._tokens))
            self._callbacks[token] = url
        body["callback_url"] = f"{self.public_url}{CALLBACK_PATH}{token}"
        return json.dumps(body).encode()

    def _record(
        self,
        method: str,
        uri: str,
        body: str | None,
        headers: Iterable[tuple[str, str]],
        answer: Answer,
        at_ms: int,
    ) -> None:
        self.cassette.add(
            Interaction(
                method=method,
                uri=uri,
                request_body=body,
                status=answer.status,
                response_body=answer.body.decode("utf-8", errors="replace"),
                at_ms=at_ms,
                request_headers=masked_headers(headers),
                response_headers=masked_headers(answer.headers),
                reason=answer.reason,
            )
        )


def _response(answer: Answer) -> Response:
    headers = [(k, v) for k, v in answer.headers if k.lower() not in HOP_HEADERS]
    return Response(answer.body, answer.status, headers=headers)
