"""The fast path's reading of a WSGI environ (path, query, body, host URL) exactly as Werkzeug
reads it, and its rendering of task objects, cached per (task, step, media URL)."""

from __future__ import annotations

import io
import threading
from typing import Any

from mock_kling.core import wire
from mock_kling.core.tasks import Step, Task

_CACHE_LIMIT = 4096  # rendered tasks (~600 bytes each) and host URLs kept
# The environ key of a body read in full before the app runs (serve's ASGI edge puts it there,
# besides `wsgi.input`): the fast path takes it as is, no second read and copy.
COMPLETE_BODY = "mock_kling.body"
# Werkzeug and Flask are imported on first use, by a request and by the app's warm-up thread:
# two threads importing Werkzeug's modules at once can each see the other's half-initialised
# module (ImportError, KeyError 'werkzeug'). Every such import holds this lock.
LAZY_IMPORTS = threading.Lock()


class Line:
    """A request's method, path and query string as Werkzeug's `Request` has them (a
    `routes.RequestLine`), read straight from the environ."""

    __slots__ = ("environ", "method", "path", "query_string")

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        self.method: str = environ.get("REQUEST_METHOD", "GET")
        raw: str = environ.get("PATH_INFO") or ""
        if not raw.isascii():  # Werkzeug's "WSGI decoding dance": Latin-1 text to UTF-8 text
            raw = raw.encode("latin1").decode(errors="replace")
        self.path = "/" + raw.lstrip("/")
        self.query_string: bytes = environ.get("QUERY_STRING", "").encode("latin1")


def read_body(environ: dict[str, Any], limit: int, max_length: int) -> bytes | None:
    """The request body when it is plain (a Content-Length up to `limit`, no Transfer-Encoding,
    exactly that many bytes sent), else None. What was read is put back as `wsgi.input`, so
    Flask (whose limit is `max_length`) reads the same bytes when the request is handed on."""
    length = environ.get("CONTENT_LENGTH") or ""
    if not (length.isascii() and length.isdigit()) or "HTTP_TRANSFER_ENCODING" in environ:
        return None
    expected = int(length)
    if expected > min(limit, max_length):
        return None
    complete: bytes | None = environ.get(COMPLETE_BODY)
    if complete is not None:
        return complete if len(complete) == expected else None
    stream = environ["wsgi.input"]
    terminated = "wsgi.input_terminated" in environ  # Werkzeug reads those to their end
    data = _read(stream, max_length + 1 if terminated else expected)
    environ["wsgi.input"] = io.BytesIO(data)
    return data if len(data) == expected else None


def _read(stream: Any, most: int) -> bytes:
    chunks, left = [], most
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class Renderer:
    """Task objects as compact JSON, each kept until its task, step or media URL changes (a
    task is an immutable value: a re-plan makes a new one), and host URLs by environ."""

    def __init__(self) -> None:
        self._tasks: dict[str, tuple[Task, Step, str, bytes]] = {}
        self._hosts: dict[tuple[Any, ...], str] = {}
        self._lock = threading.Lock()

    def task(self, task: Task, step: Step, media_url: str) -> bytes:
        """`wire.task_object(task, step, media_url)` as JSON."""
        kept = self._tasks.get(task.task_id)
        if kept is not None and kept[0] is task and kept[1] is step and kept[2] == media_url:
            return kept[3]
        rendered = wire.json_bytes(wire.task_object(task, step, media_url))
        self._keep(self._tasks, task.task_id, (task, step, media_url, rendered))
        return rendered

    def host_url(self, environ: dict[str, Any]) -> str:
        """Werkzeug's `Request.host_url` for this environ (computed once per scheme and host)."""
        key = (
            environ.get("wsgi.url_scheme"),
            environ.get("HTTP_HOST"),
            environ.get("SERVER_NAME"),
            environ.get("SERVER_PORT"),
        )
        url = self._hosts.get(key)
        if url is None:
            with LAZY_IMPORTS:
                from werkzeug.wrappers import Request  # once per host: serve starts without it

            url = Request(environ, populate_request=False, shallow=True).host_url
            self._keep(self._hosts, key, url)
        return url

    def _keep(self, cache: dict[Any, Any], key: Any, value: Any) -> None:
        with self._lock:
            if len(cache) >= _CACHE_LIMIT:
                del cache[next(iter(cache))]  # the oldest entry
            cache[key] = value
