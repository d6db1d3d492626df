"""A WSGI fast path for the calls clients repeat most (submit a task, GET one task, GET a list
page) when no fault or limit is in play; every other request, and every refusal, goes to Flask.
It counts what it answered and, by reason, what it handed on."""

from __future__ import annotations

import logging
import sys
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from mock_kling.apispec.rules import parse_paging
from mock_kling.core import wire
from mock_kling.core.auth import Account
from mock_kling.core.backend import Backend
from mock_kling.core.errors import KlingError
from mock_kling.core.journal import summarize
from mock_kling.core.requests import parse_json
from mock_kling.core.store import LoopReads, StoreError
from mock_kling.core.tasks import Task
from mock_kling.http import health, record, routes
from mock_kling.http.body import Line, Renderer, read_body

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_log = logging.getLogger("mock_kling")

# Why a request went to Flask: the keys of `counts()["fell_back"]`.
NOT_GET = "not_get"  # neither a GET nor a POST (the name predates submits on the fast path)
NOT_ITS_ROUTE = "not_its_route"
NO_AUTH_HEADER = "no_auth_header"
FAULTS_OR_LIMITS = "faults_or_limits"  # the account has faults or limits in play
REFUSED = "refused"  # a KlingError (or Werkzeug's 4xx): Flask renders it
UNEXPECTED = "unexpected_exception"  # a bug: recorded with backend.record_error and logged
BODY_NOT_PLAIN = "body_not_plain"  # a submit not sent as application/json with a Content-Length
# up to BODY_LIMIT
REASONS = (
    NOT_GET,
    NOT_ITS_ROUTE,
    NO_AUTH_HEADER,
    FAULTS_OR_LIMITS,
    REFUSED,
    UNEXPECTED,
    BODY_NOT_PLAIN,
)
_PAGING_LIMIT = 256  # query strings whose paging is kept
# Larger submits go to Flask: a refused one would otherwise be read twice, and held twice.
BODY_LIMIT = 4 * 1024 * 1024


class FastPath:
    """Wraps the Flask app's WSGI callable; answers exactly as Flask would, byte for byte.
    `config` is the Flask app's (MAX_CONTENT_LENGTH)."""

    def __init__(self, app: WSGIApp, backend: Backend, config: Mapping[str, Any]) -> None:
        self.app = app
        self.backend = backend
        self._config = config
        self._lock = threading.Lock()
        self._answered = 0
        self._fell_back: Counter[str] = Counter()
        self._render = Renderer()
        self._paging: dict[bytes, tuple[int, int]] = {}

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        answer = self.answer(environ)
        if answer is None:
            return self.app(environ, start_response)
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]
        )
        return [answer]

    def answer(self, environ: dict[str, Any]) -> bytes | None:
        """The body of a 200 application/json answer to the request, or None when the request
        is for Flask (counted either way)."""
        record.mark_start(environ)
        return self._counted(self._answer(environ))

    def on_loop(self, environ: dict[str, Any]) -> bool:
        """Whether `answer_on_loop` takes the request: a GET of the API (not health)."""
        return environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") != routes.HEALTH

    async def answer_on_loop(self, environ: dict[str, Any], reads: LoopReads) -> bytes | None:
        """As `answer`, for a GET that `on_loop` takes, with the store's calls made through
        `reads` on the running event loop: two round trips (the task or page with what admits
        the call, then the journal record), each shared with other requests under way."""
        record.mark_start(environ)
        try:
            answer = await self._get_on_loop(environ, reads)
        except Exception as exc:
            answer = self._failed(exc, environ, None)
        return self._counted(answer)

    def _counted(self, answer: bytes | str) -> bytes | None:
        with self._lock:
            if isinstance(answer, str):
                self._fell_back[answer] += 1
                return None
            self._answered += 1
        return answer

    def counts(self) -> dict[str, Any]:
        """How many requests it answered, and how many it handed to Flask by reason."""
        with self._lock:
            fell_back = {reason: self._fell_back[reason] for reason in REASONS}
            return {"answered": self._answered, "fell_back": fell_back}

    def _answer(self, environ: dict[str, Any]) -> bytes | str:
        """The body of the answer, or the reason to hand the request to Flask."""
        method = environ.get("REQUEST_METHOD")
        if method != "GET" and method != "POST":
            return NOT_GET
        line = None
        try:
            if method == "GET" and environ.get("PATH_INFO") == routes.HEALTH:
                return wire.json_bytes(health.report(self.backend, self)) + b"\n"
            line = Line(environ)
            ref = routes.task_ref(line.path, self.backend.profile.prefixes)
            if ref is None or (method == "POST" and ref):
                return NOT_ITS_ROUTE
            return self._respond(environ, line, ref)
        except Exception as exc:
            return self._failed(exc, environ, line)

    def _failed(self, error: Exception, environ: dict[str, Any], line: Line | None) -> str:
        """Why a request that raised `error` goes to Flask: a refusal (a KlingError, a
        StoreError or Werkzeug's 4xx: Flask repeats the work and renders it as Kling does), or a
        bug (recorded, to fail the test that caused it; Flask answers the client)."""
        if isinstance(error, (KlingError, StoreError)) or _werkzeug_refusal(error):
            return REFUSED
        path = environ.get("PATH_INFO") if line is None else line.path
        _log.exception(
            "mock-kling's fast path failed on %s %s", environ.get("REQUEST_METHOD"), path,
            exc_info=error,
        )  # fmt: skip
        self.backend.record_error(error, "fast path")
        return UNEXPECTED

    async def _get_on_loop(self, environ: dict[str, Any], reads: LoopReads) -> bytes | str:
        line = Line(environ)
        backend = self.backend
        ref = routes.task_ref(line.path, backend.profile.prefixes)
        if ref is None:
            return NOT_ITS_ROUTE
        header = routes.single_authorization(environ.get("HTTP_AUTHORIZATION"))
        if header is None:
            return NO_AUTH_HEADER
        account = backend.authenticate(header)
        account_id = account.account_id
        admitted = reads.admission(account_id)  # both in one round trip: no await in between
        found: Awaitable[Task | list[Task] | None] = (
            reads.find_task(account_id, ref) if ref else reads.page(account_id, *self._page(line))
        )
        try:
            rules, limits = await admitted
        finally:
            result = await found
        if not backend.plain_given(rules, limits):
            return FAULTS_OR_LIMITS
        if result is None:
            return REFUSED  # no such task: Flask answers 404 / 1203
        data = self._rendered(result, environ)
        request_id = backend.request_id()
        made = record.made(backend, line, account, (200, 0), request_id)
        await reads.add_request(made)
        backend.journaled(made)
        return wire.envelope_json(data, request_id)

    def _respond(self, environ: dict[str, Any], line: Line, ref: str) -> bytes | str:
        header = routes.single_authorization(environ.get("HTTP_AUTHORIZATION"))
        if header is None:
            return NO_AUTH_HEADER
        backend = self.backend
        account = backend.authenticate(header)
        if not backend.plain_sailing(account):
            return FAULTS_OR_LIMITS
        if line.method == "POST":
            return self._submit(environ, line, account)
        data = self._data(account, ref, line, environ)
        request_id = backend.request_id()
        backend.journal_request(record.made(backend, line, account, (200, 0), request_id))
        return wire.envelope_json(data, request_id)

    def _submit(self, environ: dict[str, Any], line: Line, account: Account) -> bytes | str:
        """A create-task call: Flask's checks first (Content-Type, then the body's size)."""
        if environ.get("CONTENT_TYPE") != "application/json":
            return BODY_NOT_PLAIN
        raw = read_body(environ, BODY_LIMIT, self._config["MAX_CONTENT_LENGTH"])
        if raw is None:
            return BODY_NOT_PLAIN
        backend = self.backend
        body = parse_json(raw)
        task = backend.create_task(account, body)
        request_id = backend.request_id()
        summary = summarize(body, task.request.images)
        made = record.made(backend, line, account, (200, 0), request_id, summary)
        backend.journal_request(made)
        data = wire.json_bytes(wire.created(task, backend.profile.create_data))
        return wire.envelope_json(data, request_id)

    def _data(self, account: Account, ref: str, line: Line, environ: dict[str, Any]) -> bytes:
        backend = self.backend
        if ref:
            return self._rendered(backend.find_task(account, ref), environ)
        return self._rendered(backend.list_tasks(account, *self._page(line)), environ)

    def _rendered(self, found: Task | list[Task], environ: dict[str, Any]) -> bytes:
        """The `data` of a GET: one task, or a page of tasks, as they are now."""
        backend, render = self.backend, self._render
        media_url = routes.media_base(backend, render.host_url(environ))
        now = backend.now_ms()
        if isinstance(found, Task):
            return render.task(found, found.step_at(now), media_url)
        rendered = [render.task(task, task.step_at(now), media_url) for task in found]
        return b"[" + b",".join(rendered) + b"]"

    def _page(self, line: Line) -> tuple[int, int]:
        """(pageNum, pageSize) of the query string, as the Flask route reads them."""
        paging = self._paging.get(line.query_string)
        if paging is None:
            paging = parse_paging(routes.query_args(line))
            if len(self._paging) >= _PAGING_LIMIT:
                self._paging.clear()
            self._paging[line.query_string] = paging
        return paging


def _werkzeug_refusal(error: Exception) -> bool:
    """A Werkzeug HTTP error (e.g. a bad Host): Werkzeug loads only when a request needs it, so
    none can have been raised before it was imported."""
    exceptions = sys.modules.get("werkzeug.exceptions")
    return exceptions is not None and isinstance(error, exceptions.HTTPException)
