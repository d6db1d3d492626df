"""A WSGI fast path for the calls clients repeat most (GET one task, GET a list page) when no
fault or limit is in play; every other request, and every refusal, goes to Flask. It counts what
it answered and, by reason, what it handed on."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

from mock_kling.contracts.rules import parse_paging
from mock_kling.core import wire
from mock_kling.core.auth import Account
from mock_kling.core.backend import Backend
from mock_kling.core.errors import KlingError
from mock_kling.core.store import StoreError
from mock_kling.http import record, routes

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_log = logging.getLogger("mock_kling")

# Why a request went to Flask: the keys of `counts()["fell_back"]`.
NOT_GET = "not_get"
NOT_ITS_ROUTE = "not_its_route"
NO_AUTH_HEADER = "no_auth_header"
FAULTS_OR_LIMITS = "faults_or_limits"  # the account has faults or limits in play
REFUSED = "refused"  # a KlingError (or Werkzeug's 4xx): Flask renders it
UNEXPECTED = "unexpected_exception"  # a bug: recorded with backend.record_error and logged
REASONS = (NOT_GET, NOT_ITS_ROUTE, NO_AUTH_HEADER, FAULTS_OR_LIMITS, REFUSED, UNEXPECTED)


class FastPath:
    """Wraps the Flask app's WSGI callable; answers exactly as Flask would, byte for byte."""

    def __init__(self, app: WSGIApp, backend: Backend) -> None:
        self.app = app
        self.backend = backend
        self._lock = threading.Lock()
        self._answered = 0
        self._fell_back: Counter[str] = Counter()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        record.mark_start(environ)
        answer = self._answer(environ)
        with self._lock:
            if isinstance(answer, str):
                self._fell_back[answer] += 1
            else:
                self._answered += 1
        if isinstance(answer, str):
            return self.app(environ, start_response)
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]
        )
        return [answer]

    def counts(self) -> dict[str, Any]:
        """How many requests it answered, and how many it handed to Flask by reason."""
        with self._lock:
            fell_back = {reason: self._fell_back[reason] for reason in REASONS}
            return {"answered": self._answered, "fell_back": fell_back}

    def _answer(self, environ: dict[str, Any]) -> bytes | str:
        """The body of the answer, or the reason to hand the request to Flask."""
        if environ.get("REQUEST_METHOD") != "GET":
            return NOT_GET
        request = Request(environ, populate_request=False, shallow=True)
        ref = routes.task_ref(request.path, self.backend.profile.prefixes)
        if ref is None:
            return NOT_ITS_ROUTE
        try:
            return self._respond(request, ref)
        except (KlingError, HTTPException, StoreError):
            return REFUSED  # Flask repeats the work and renders the refusal as Kling does
        except Exception as exc:  # a bug: fail the test that caused it, Flask answers the client
            _log.exception("mock-kling's fast path failed on GET %s", request.path)
            self.backend.record_error(exc, "fast path")
            return UNEXPECTED

    def _respond(self, request: Request, ref: str) -> bytes | str:
        header = routes.authorization(request)
        if header is None:
            return NO_AUTH_HEADER
        backend = self.backend
        account = backend.authenticate(header)
        if not backend.plain_sailing(account):
            return FAULTS_OR_LIMITS
        data = self._data(account, ref, request)
        request_id = backend.request_id()
        body = json.dumps(wire.envelope(data, request_id), separators=(",", ":")) + "\n"
        record.journal(backend, request, account, (200, 0), request_id)
        return body.encode()

    def _data(self, account: Account, ref: str, request: Request) -> Any:
        backend, media_url = self.backend, routes.media_url(self.backend, request)
        if ref:
            task = backend.find_task(account, ref)
            return wire.task_object(task, task.step_at(backend.now_ms()), media_url)
        tasks = backend.list_tasks(account, *parse_paging(routes.query_args(request)))
        now = backend.now_ms()
        return [wire.task_object(task, task.step_at(now), media_url) for task in tasks]
