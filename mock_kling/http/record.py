"""The request-journal record of one API call, as both the Flask shell and the fast path make it."""

from __future__ import annotations

import time
from typing import Any

from mock_kling.core.auth import Account
from mock_kling.core.backend import Backend
from mock_kling.core.journal import RequestRecord
from mock_kling.http.routes import RequestLine

_STARTED = "mock_kling.started"  # the environ key of the request's arrival (perf_counter)


def mark_start(environ: dict[str, Any]) -> None:
    """Note when the request arrived; the first mark wins (the fast path's, then Flask's)."""
    environ.setdefault(_STARTED, time.perf_counter())


def elapsed_ms(environ: dict[str, Any]) -> float:
    """Milliseconds since mark_start (0 when it was never marked)."""
    started = environ.get(_STARTED)
    return 0.0 if started is None else round((time.perf_counter() - started) * 1000, 3)


def made(
    backend: Backend,
    request: RequestLine,
    account: Account | None,
    answer: tuple[int, int | None],
    request_id: str,
    body: object = None,
) -> RequestRecord:
    """The request-journal record of the call (`Backend.journal_request` adds it); `answer` is
    (HTTP status, service code), (0, None) for a dropped connection."""
    http_status, code = answer
    return RequestRecord(
        at_ms=backend.now_ms(),
        method=request.method,
        path=full_path(request),
        account=None if account is None else account.account_id,
        body=body,
        http_status=http_status,
        code=code,
        request_id=request_id,
        duration_ms=elapsed_ms(request.environ),
    )


def full_path(request: RequestLine) -> str:
    """The path and query string as sent; bytes that are not UTF-8 become U+FFFD, as in the path."""
    query = request.query_string.decode("utf-8", "replace")
    return f"{request.path}?{query}".rstrip("?")
