"""How requests reach a target: a WSGI app in process, or a base URL over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from werkzeug.test import Client


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, content type, the body parsed as JSON (None if it is not)."""

    status: int
    content_type: str
    body: Any
    raw: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> Any:
        """The service code of a JSON object body, or None."""
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def mimetype(self) -> str:
        return self.content_type.partition(";")[0].strip().lower()

    def describe(self) -> str:
        return f"HTTP {self.status} code {self.code!r} ({self.mimetype or 'no content type'})"


class Transport(Protocol):
    """Sends one request; the path is absolute on the target (e.g. "/v1/videos/...")."""

    def send(
        self, method: str, path: str, headers: dict[str, str], data: bytes | None
    ) -> Answer: ...

    def close(self) -> None: ...


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


class WsgiTransport:
    """Calls a WSGI app directly (no socket): the in-process fake, or any WSGI app."""

    def __init__(self, app: Any, on_close: Callable[[], None] | None = None) -> None:
        self.app = app
        self._client = Client(app)
        self._on_close = on_close

    def send(self, method: str, path: str, headers: dict[str, str], data: bytes | None) -> Answer:
        response = self._client.open(path, method=method, headers=headers, data=data)
        raw = response.get_data()
        response.close()
        content_type = response.headers.get("Content-Type", "")
        answer_headers = dict(response.headers.items())
        return Answer(response.status_code, content_type, parse_json(raw), raw, answer_headers)

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()


class HttpTransport:
    """A requests.Session against a base URL, with a timeout on every call."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def send(self, method: str, path: str, headers: dict[str, str], data: bytes | None) -> Answer:
        response = self._session.request(
            method, self.base_url + path, headers=headers, data=data, timeout=self.timeout
        )
        with response:
            raw = response.content
        content_type = response.headers.get("Content-Type", "")
        answer_headers = dict(response.headers.items())
        return Answer(response.status_code, content_type, parse_json(raw), raw, answer_headers)

    def close(self) -> None:
        self._session.close()
