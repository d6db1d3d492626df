"""The terminal's request log of `serve`: one line per API request, as text or as JSON."""

from __future__ import annotations

import functools
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TextIO

from mock_kling.core.backend import Backend
from mock_kling.core.events import Event, RequestJournaled
from mock_kling.core.journal import RequestRecord

FORMATS = ("text", "json")
_BATCH_SECONDS = 0.05  # a terminal shows a line at most this late
_MAX_PENDING = 100_000  # unwritten lines kept while the output is blocked
_CLOSE_SECONDS = 5.0


def text_line(record: RequestRecord) -> str:
    """`12:00:01.250 GET /v1/... mock-access-key 200 0 1.4ms` (`-` for no account or code)."""
    return (
        f"{_clock(record.at_ms // 1000)}.{record.at_ms % 1000:03d} {record.method} {record.path} "
        f"{record.account or '-'} {record.http_status} "
        f"{'-' if record.code is None else record.code} {record.duration_ms:.1f}ms"
    )


@functools.lru_cache(maxsize=4)
def _clock(second: int) -> str:
    """`12:00:01`, local time (one per second: most lines of a busy second share it)."""
    return time.strftime("%H:%M:%S", time.localtime(second))


def json_line(record: RequestRecord) -> str:
    """The record as one JSON object (the body summary left out: the journal keeps it)."""
    fields = record.to_json()
    del fields["body"]
    return json.dumps(fields, separators=(",", ":"))


def attach(
    backend: Backend, log_format: str = "text", out: TextIO | None = None
) -> Callable[[], None]:
    """Print every journaled request of `backend` to `out` (stdout) from a writer thread, in
    batches, so that a slow terminal or pipe never holds up a request; returns the detach call,
    which prints what is still pending. Times are the fake's clock (with `--clock manual`, the
    time it shows)."""
    writer = _Writer(json_line if log_format == "json" else text_line, out)

    def on_event(event: Event) -> None:
        if isinstance(event, RequestJournaled):
            writer.add(event.record)

    unsubscribe = backend.subscribe(on_event)

    def detach() -> None:
        unsubscribe()
        writer.close()

    return detach


class _Writer:
    """Lines queued by request threads (an append, no lock, no I/O) and written by one thread
    every `_BATCH_SECONDS` at most; beyond `_MAX_PENDING` unwritten lines, lines are counted
    and left out rather than held in memory."""

    def __init__(self, render: Callable[[RequestRecord], str], out: TextIO | None) -> None:
        self._render, self._out = render, out
        self._pending: deque[RequestRecord] = deque()
        self._left_out = 0
        self._left_out_lock = threading.Lock()  # taken only once the output fell behind
        self._wake, self._closing = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="mock-kling-log", daemon=True)
        self._thread.start()

    def add(self, record: RequestRecord) -> None:
        if len(self._pending) >= _MAX_PENDING:
            with self._left_out_lock:
                self._left_out += 1
            return
        self._pending.append(record)
        if not self._wake.is_set():
            self._wake.set()

    def close(self) -> None:
        self._closing.set()
        self._wake.set()
        self._thread.join(_CLOSE_SECONDS)

    def _run(self) -> None:
        while not self._closing.is_set():
            self._wake.wait()
            self._wake.clear()
            self._write()
            self._closing.wait(_BATCH_SECONDS)  # lines that come meanwhile make one batch
        self._write()

    def _write(self) -> None:
        lines = []
        while self._pending:
            lines.append(self._render(self._pending.popleft()))
        with self._left_out_lock:
            left_out, self._left_out = self._left_out, 0
        if left_out:
            lines.append(
                f"... {left_out} request lines left out: the output is slower than the requests"
            )
        if not lines:
            return
        stream = self._out or sys.stdout
        try:
            stream.write("\n".join(lines) + "\n")
            stream.flush()
        except (OSError, ValueError):  # the terminal or pipe is gone: the fake goes on unlogged
            self._closing.set()
