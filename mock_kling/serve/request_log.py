"""The terminal's request log of `serve`: one line per API request, as text or as JSON."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from mock_kling.core.backend import Backend
from mock_kling.core.events import Event, RequestJournaled
from mock_kling.core.journal import RequestRecord

FORMATS = ("text", "json")


def text_line(record: RequestRecord) -> str:
    """`12:00:01.250 GET /v1/... mock-access-key 200 0 1.4ms` (`-` for no account or code)."""
    clock = time.strftime("%H:%M:%S", time.localtime(record.at_ms / 1000))
    return (
        f"{clock}.{record.at_ms % 1000:03d} {record.method} {record.path} "
        f"{record.account or '-'} {record.http_status} "
        f"{'-' if record.code is None else record.code} {record.duration_ms:.1f}ms"
    )


def json_line(record: RequestRecord) -> str:
    """The record as one JSON object (the body summary left out: the journal keeps it)."""
    fields = record.to_json()
    del fields["body"]
    return json.dumps(fields, separators=(",", ":"))


def attach(
    backend: Backend, log_format: str = "text", out: TextIO | None = None
) -> Callable[[], None]:
    """Print every journaled request of `backend` to `out` (stdout); returns the detach call.
    Times are the fake's clock (with `--clock manual`, the time it shows)."""
    render = json_line if log_format == "json" else text_line
    lock = threading.Lock()  # whole lines, even from several request threads

    def on_event(event: Event) -> None:
        if isinstance(event, RequestJournaled):
            line = render(event.record)
            with lock:
                stream = out or sys.stdout
                stream.write(line + "\n")
                stream.flush()

    return backend.subscribe(on_event)
