"""The ASGI app `serve` runs: reads each request's head and body on the event loop (a stalled
body holds only its own connection), refuses bodies over the size limit (413) or slower than the
time limit (408, connection closed), answers the hot calls through the fast path and hands every
other request, with its complete body, to the Flask app on a bounded thread pool."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast
from urllib.parse import unquote_to_bytes

from mock_kling.core import wire
from mock_kling.core.errors import KlingError
from mock_kling.core.store import LoopReads, StoreError
from mock_kling.http import record
from mock_kling.http.body import COMPLETE_BODY, Line
from mock_kling.http.lazy import LazyApp

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BODY_TIMEOUT_SECONDS = 30.0  # the default of `serve --body-timeout`
# Request heads (request line and headers) up to this size reach the app; longer ones get an
# empty 431 and the connection closes (as under granian before: a 300 KB token reaches the fake).
MAX_HEAD_BYTES = 1 << 19
_JSON = [(b"content-type", b"application/json")]
_CLOSE = (b"connection", b"close")
_WSGI_FIXED: dict[str, Any] = {
    "wsgi.version": (1, 0),
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": True,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
    "wsgi.input_terminated": True,  # the body is complete: Werkzeug reads it to its end
    "SCRIPT_NAME": "",
}


_UNASKED = object()


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    pass


class Edge:
    """The fake behind an ASGI server. `pool` runs Flask, and the store's calls when the store
    is shared (`backend.store_shared`); with a memory store the hot calls run on the loop, and
    with a store that has `loop_reads` (Redis) the hot GETs' calls are made on the loop."""

    def __init__(
        self,
        app: LazyApp,
        pool: ThreadPoolExecutor,
        body_limit: int,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        self.app = app
        self.backend = app.fast_path.backend
        self._pool = pool
        self.body_limit = body_limit
        self.body_timeout = body_timeout
        self._reads: object = _UNASKED  # the store's loop reads, asked for on the loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets: the server refuses them (no handler here)
        if _head_bytes(scope) > MAX_HEAD_BYTES:
            headers = [(b"content-length", b"0"), _CLOSE]
            await send({"type": "http.response.start", "status": 431, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        environ = _environ(scope)
        record.mark_start(environ)
        try:
            body = await self._body(environ, receive)
        except _Gone:
            return
        except _TooLarge:
            limit = f"is larger than the limit of {self.body_limit} bytes"
            await self._refuse(environ, send, 413, limit)
            return
        except TimeoutError:
            late = f"not received within {self.body_timeout:g} s"
            await self._refuse(environ, send, 408, late)
            return
        environ["wsgi.input"] = io.BytesIO(body)
        environ[COMPLETE_BODY] = body
        loop = asyncio.get_running_loop()
        fast_path = self.app.fast_path
        if not self.backend.store_shared:
            answer = fast_path.answer(environ)
        elif (reads := self._loop_reads()) is not None and fast_path.on_loop(environ):
            answer = await fast_path.answer_on_loop(environ, reads)
        else:
            answer = await loop.run_in_executor(self._pool, fast_path.answer, environ)
        if answer is not None:
            length = str(len(answer)).encode()
            headers = [*_JSON, (b"content-length", length)]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": answer})
            return
        status, headers, chunks = await loop.run_in_executor(
            self._pool, _call_wsgi, self.app.flask(), environ
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"".join(chunks)})

    async def aclose(self) -> None:
        """Let go of what the edge holds on the event loop (the store's loop reads), once the
        server has drained its connections."""
        reads = self._loop_reads() if self._reads is not _UNASKED else None
        if reads is not None:
            await reads.close()

    def _loop_reads(self) -> LoopReads | None:
        if self._reads is _UNASKED:
            self._reads = self.backend.loop_reads()
        return cast("LoopReads | None", self._reads)

    async def _body(self, environ: dict[str, Any], receive: Receive) -> bytes:
        """The whole body; _TooLarge past the limit, TimeoutError past the time, _Gone when the
        client left."""
        length = environ.get("CONTENT_LENGTH")
        if length is None and "HTTP_TRANSFER_ENCODING" not in environ:
            return b""  # no body (a GET): nothing to wait for
        if length is not None and length.isdigit() and int(length) > self.body_limit:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async with asyncio.timeout(self.body_timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Gone
                chunk: bytes = message.get("body", b"")
                size += len(chunk)
                if size > self.body_limit:
                    raise _TooLarge
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _refuse(self, environ: dict[str, Any], send: Send, status: int, why: str) -> None:
        """Answer `status` with a Kling body (1200) and close the connection; journal it."""
        error = KlingError(1200, f"request body {why}")
        loop = asyncio.get_running_loop()
        if self.backend.store_shared:
            request_id = await loop.run_in_executor(self._pool, self._journal, environ, status)
        else:
            request_id = self._journal(environ, status)
        body = wire.json_bytes(wire.error_body(error, request_id)) + b"\n"
        headers = [*_JSON, (b"content-length", str(len(body)).encode()), _CLOSE]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _journal(self, environ: dict[str, Any], status: int) -> str:
        request_id = self.backend.request_id()
        with contextlib.suppress(StoreError):  # the refusal stands without its record
            made = record.made(self.backend, Line(environ), None, (status, 1200), request_id)
            self.backend.journal_request(made)
        return request_id


def _head_bytes(scope: Scope) -> int:
    size = len(scope.get("raw_path") or b"") + len(scope["query_string"])
    for name, value in scope["headers"]:
        size += len(name) + len(value)
    return size


def _environ(scope: Scope) -> dict[str, Any]:
    """The WSGI environ of an ASGI request (PEP 3333: the path percent-decoded, as Latin-1)."""
    server = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("", 0)
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    path = unquote_to_bytes(raw_path.split(b"?", 1)[0]).decode("latin1")
    environ: dict[str, Any] = {
        **_WSGI_FIXED,
        "REQUEST_METHOD": scope["method"],
        "PATH_INFO": path,
        "QUERY_STRING": scope["query_string"].decode("latin1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": "HTTP/" + scope["http_version"],
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "wsgi.url_scheme": scope["scheme"],
    }
    for name, value in scope["headers"]:
        key = name.decode("latin1").upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        text = value.decode("latin1")
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    return environ


def _call_wsgi(
    app: Callable[..., Any], environ: dict[str, Any]
) -> tuple[int, list[tuple[bytes, bytes]], list[bytes]]:
    """Run a WSGI app to the end: its status, headers and body."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: None

    result = app(environ, start_response)
    try:
        chunks = [bytes(chunk) for chunk in result]
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started
    pairs = [(k.lower().encode("latin1"), v.encode("latin1")) for k, v in headers]
    return int(status.split(" ", 1)[0]), pairs, chunks


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
