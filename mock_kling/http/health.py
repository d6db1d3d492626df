"""What GET /__mock__/health reports: the fake's size, its fast path's counts and its errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mock_kling.core.backend import Backend

if TYPE_CHECKING:
    from mock_kling.http.fastpath import FastPath


def report(backend: Backend, fast_path: FastPath | None) -> dict[str, Any]:
    """ "ok", or "degraded" once an unexpected error was recorded (listed under "errors")."""
    errors = error_records(backend)
    return {
        "status": "degraded" if errors else "ok",
        "seed": backend.seed,
        "tasks": backend.task_count(),
        "fast_path": None if fast_path is None else fast_path.counts(),
        "errors": errors,
    }


def error_records(backend: Backend) -> list[dict[str, Any]]:
    """The unexpected errors the backend recorded (in the background or a request), oldest first:
    where (request, callback job, callback driver), when (ms), type and message."""
    return [
        {
            "where": record.where,
            "at_ms": record.at_ms,
            "type": type(record.error).__name__,
            "message": str(record.error),
        }
        for record in backend.error_records()
    ]
