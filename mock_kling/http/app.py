"""The Flask app factory: the API on two prefixes, control and media routes, an error handler."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from mock_kling.assemble import build_backend
from mock_kling.core import wire
from mock_kling.core.backend import Backend
from mock_kling.core.clock import Clock
from mock_kling.core.config import Config
from mock_kling.core.errors import KlingError
from mock_kling.core.store import StoreError
from mock_kling.http import api, control, dashboard, media, record, routes
from mock_kling.http.context import EXTENSION, FAST_PATH
from mock_kling.http.fastpath import FastPath
from mock_kling.http.metrics import EXTENSION as METRICS
from mock_kling.http.metrics import Metrics

_log = logging.getLogger("mock_kling")


def create_app(
    config: Config | None = None,
    *,
    clock: Clock | None = None,
    backend: Backend | None = None,
    fast_path: bool = True,
) -> Flask:
    """A fake Kling server as a WSGI app; its state is `backend_of(app)`. With `fast_path`, plain
    GETs of tasks skip Flask's per-request machinery (same answers, byte for byte)."""
    backend = backend or build_backend(config, clock)
    app = Flask("mock_kling")
    app.config["MAX_CONTENT_LENGTH"] = backend.config.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep Kling's field order
    app.json.compact = True  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = backend
    app.before_request(_assign_request_id)
    app.after_request(_journal)
    app.after_request(_count)
    for prefix in routes.PREFIXES:  # each request is checked against the profile's prefixes
        app.register_blueprint(api.blueprint, url_prefix=prefix, name=routes.blueprint_name(prefix))
    app.register_blueprint(control.blueprint, url_prefix="/__mock__")
    app.register_blueprint(media.blueprint, url_prefix=wire.MEDIA_PATH)
    app.register_blueprint(dashboard.blueprint)
    app.register_error_handler(Exception, _render_error)
    if fast_path:
        app.extensions[FAST_PATH] = FastPath(app.wsgi_app, backend, app.config)
        app.wsgi_app = app.extensions[FAST_PATH]  # type: ignore[method-assign]
    app.extensions[METRICS] = Metrics(backend, lambda: app.extensions.get(FAST_PATH))
    return app


def backend_of(app: Flask) -> Backend:
    backend: Backend = app.extensions[EXTENSION]
    return backend


def _assign_request_id() -> None:
    record.mark_start(request.environ)
    g.request_id = backend_of(current_app).request_id()


def _journal(response: Response) -> Response:
    """Record every call to the API prefixes in the request journal."""
    if not routes.is_api_call(request.path):
        return response
    dropped = g.get("dropped", False)
    answer = (0, None) if dropped else (response.status_code, g.get("service_code"))
    backend, account = backend_of(current_app), g.get("account")
    try:
        made = record.made(backend, request, account, answer, g.request_id, g.get("body_summary"))
        backend.journal_request(made)
    except StoreError as exc:  # the answer stands (a stored task is not refused afterwards)
        _log.warning("mock-kling could not journal %s %s: %s", request.method, request.path, exc)
    return response


def _count(response: Response) -> Response:
    """Count a request that is not an API call (API calls are counted as they are journaled)."""
    if not routes.is_api_call(request.path):
        rule = request.url_rule
        route = "<unmatched>" if rule is None else rule.rule
        current_app.extensions[METRICS].count_request(route, response.status_code)
    return response


def _render_error(exc: Exception) -> ResponseReturnValue:
    error = _as_kling_error(exc)
    g.service_code = error.code
    request_id = g.get("request_id") or backend_of(current_app).request_id()
    response = current_app.json.response(wire.error_body(error, request_id))
    # a body over the limit: 413, as `serve`'s edge answers it before Flask is reached
    response.status_code = 413 if isinstance(exc, RequestEntityTooLarge) else error.http_status
    return response


def _as_kling_error(exc: Exception) -> KlingError:
    if isinstance(exc, KlingError):
        return exc
    if isinstance(exc, StoreError):  # not a bug of the fake: the store is down, locked or full
        _log.warning("mock-kling's store failed on %s %s: %s", request.method, request.path, exc)
        return KlingError(5000, exc.message)
    if isinstance(exc, NotFound):
        return KlingError(1203, f"no such resource: {request.method} {request.path}")
    if isinstance(exc, MethodNotAllowed):
        allowed = ", ".join(sorted(exc.valid_methods or []))
        return KlingError(
            1202, f"method {request.method} is not valid for {request.path}; use {allowed}"
        )
    if isinstance(exc, RequestEntityTooLarge):
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        return KlingError(1200, f"request body is larger than the limit of {limit} bytes")
    if isinstance(exc, HTTPException) and exc.code is not None and exc.code < 500:
        return KlingError(1200, f"bad request: {exc.description}")
    _log.exception("mock-kling failed on %s %s", request.method, request.path)
    backend_of(current_app).record_error(exc)
    return KlingError(5000, f"internal error in mock-kling ({type(exc).__name__}); see its log")
