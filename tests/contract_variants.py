"""Deliberately broken variants of the fake, for proving that the contract suite bites: WSGI
middleware that corrupts answers or lets bad requests through, and a backend whose callbacks
have the wrong shape. Each factory takes no argument (usable as `--kling-app module:factory`)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jwt
from flask import Flask
from werkzeug.wrappers import Request, Response

from mock_kling.assemble import build_backend
from mock_kling.callbacks.sender import http_post
from mock_kling.contract.client.credentials import Credentials
from mock_kling.contract.client.options import fake_app
from mock_kling.core.clock import ManualClock, SystemClock
from mock_kling.core.config import DEV_ACCESS_KEY, DEV_SECRET_KEY, Config
from mock_kling.http.app import backend_of, create_app

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
API = ("/v1/", "/kling/v1/")


class Broken:
    """Middleware around a fake: `before(request body, environ)` may rewrite the request,
    `after(environ, response)` may rewrite the answer. Closing closes the fake."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.before(environ)
        response = Response.from_app(self.app, environ)
        return self.after(environ, response)(environ, start_response)

    def before(self, environ: dict[str, Any]) -> None:
        pass

    def after(self, environ: dict[str, Any], response: Response) -> Response:
        return response

    def close(self) -> None:
        backend_of(self.app).close()


def _fake() -> Flask:
    return fake_app(Credentials(DEV_ACCESS_KEY, DEV_SECRET_KEY))


def _is_api(environ: dict[str, Any]) -> bool:
    return str(environ.get("PATH_INFO", "")).startswith(API)


def _rewrite_json(response: Response, change: Callable[[Any], Any]) -> Response:
    if response.mimetype != "application/json":
        return response
    response.set_data(json.dumps(change(json.loads(response.get_data()))))
    return response


def _set_body(environ: dict[str, Any], body: bytes) -> None:
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


class NumericDuration(Broken):
    """Result videos say `duration: 5.0` (a number) instead of "5"."""

    def after(self, environ: dict[str, Any], response: Response) -> Response:
        def change(body: Any) -> Any:
            tasks = body.get("data") if isinstance(body, dict) else None
            for task in tasks if isinstance(tasks, list) else [tasks]:
                if isinstance(task, dict):
                    for video in task.get("task_result", {}).get("videos", []):
                        video["duration"] = float(video["duration"])
            return body

        return _rewrite_json(response, change) if _is_api(environ) else response


class NoRequestId(Broken):
    """Every API answer lacks request_id."""

    def after(self, environ: dict[str, Any], response: Response) -> Response:
        if not _is_api(environ):
            return response
        return _rewrite_json(
            response, lambda body: {k: v for k, v in body.items() if k != "request_id"}
        )


class StatusGoesBackwards(Broken):
    """A task already seen at succeed is reported as processing again."""

    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        self.seen: set[str] = set()

    def after(self, environ: dict[str, Any], response: Response) -> Response:
        if environ.get("PATH_INFO") == "/__mock__/reset":
            self.seen.clear()
        if not _is_api(environ) or environ["REQUEST_METHOD"] != "GET":
            return response
        return _rewrite_json(response, self._change)

    def _change(self, body: Any) -> Any:
        data = body.get("data")
        for task in data if isinstance(data, list) else [data]:
            if isinstance(task, dict) and task.get("task_status") == "succeed":
                if task["task_id"] in self.seen:
                    task.update(task_status="processing", task_result={})
                    task.pop("final_unit_deduction", None)
                self.seen.add(task["task_id"])
        return body


class AcceptsNumericDuration(Broken):
    """Validation lets `duration: 5` (a JSON number) in, by reading it as "5"."""

    def before(self, environ: dict[str, Any]) -> None:
        if environ["REQUEST_METHOD"] != "POST" or not _is_api(environ):
            return
        raw = Request(environ).get_data()
        try:
            body = json.loads(raw)
        except ValueError:
            _set_body(environ, raw)
            return
        if isinstance(body, dict) and isinstance(body.get("duration"), int | float):
            body["duration"] = str(int(body["duration"]))
        _set_body(environ, json.dumps(body).encode() if isinstance(body, dict) else raw)


class FailsOnPro(Broken):
    """A create with mode "pro" crashes: HTTP 500 with an HTML page."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["REQUEST_METHOD"] == "POST" and _is_api(environ):
            raw = Request(environ).get_data()
            _set_body(environ, raw)
            if b'"mode": "pro"' in raw or b'"mode":"pro"' in raw:
                page = Response("<h1>Internal Server Error</h1>", 500, mimetype="text/html")
                return page(environ, start_response)
        return super().__call__(environ, start_response)


class LetsExpiredTokensIn(Broken):
    """Auth that ignores exp: an expired token is re-signed as fresh before the fake sees it."""

    def before(self, environ: dict[str, Any]) -> None:
        header = str(environ.get("HTTP_AUTHORIZATION", ""))
        token = header.removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return
        now = backend_of(self.app).now_ms() // 1000
        if isinstance(claims.get("exp"), int) and claims["exp"] <= now:
            claims.update(exp=now + 1800, nbf=now - 5)
            environ["HTTP_AUTHORIZATION"] = "Bearer " + jwt.encode(claims, DEV_SECRET_KEY)


def wrong_callback_shape() -> Flask:
    """A fake whose callbacks wrap the task in the {code, message, data} envelope."""

    def wrapped(url: str, body: bytes, timeout: float) -> tuple[int | None, str | None]:
        envelope = {"code": 0, "message": "SUCCEED", "request_id": "r", "data": json.loads(body)}
        return http_post(url, json.dumps(envelope).encode(), timeout)

    backend = build_backend(Config(seed=7), ManualClock(), sender=wrapped)
    return create_app(backend=backend)


def numeric_duration() -> Broken:
    return NumericDuration(_fake())


def no_request_id() -> Broken:
    return NoRequestId(_fake())


def status_goes_backwards() -> Broken:
    return StatusGoesBackwards(_fake())


def accepts_numeric_duration() -> Broken:
    return AcceptsNumericDuration(_fake())


def fails_on_pro() -> Broken:
    return FailsOnPro(_fake())


def lets_expired_tokens_in() -> Broken:
    return LetsExpiredTokensIn(_fake())


class NotAFake(Broken):
    """The fake seen as a real API: no control API (so no clock to move, a submit cap of 0 by
    default) and a clock at wall time, as tokens minted from the wall clock expect."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if str(environ.get("PATH_INFO", "")).startswith("/__mock__/"):
            return Response("not found", 404, mimetype="text/plain")(environ, start_response)
        return super().__call__(environ, start_response)


def not_a_fake() -> NotAFake:
    config = Config(key_pairs={DEV_ACCESS_KEY: DEV_SECRET_KEY}, seed=3, submitted_seconds=0)
    config.processing_seconds = 0
    return NotAFake(create_app(config, clock=SystemClock()))


def run_suite(
    variant: str, report_dir: Path, *options: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run the whole contract suite through pytest against `variant` (a factory of this module),
    writing its report to `report_dir`; the finished process and the parsed report.json."""
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "pytest", str(root / "contract_tests")]
    command += ["--kling-app", f"tests.contract_variants:{variant}"]
    command += ["--kling-report", str(report_dir), "-p", "no:cacheprovider", "-q", *options]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    return result, json.loads((report_dir / "report.json").read_text())


# --- a loose target: an independent server speaking a loose version of the reseller API --------

LOOSE_TASK_ID = "861302221119913984"
LOOSE_AGE_DAYS = 263


class LooseTarget:
    """An http.server on 127.0.0.1:0 answering static examples: any bearer accepted, no
    request_id in the create answer, one fixed task_id, tasks that cannot be queried and never
    leave submitted, timestamps 263 days old, errors as problem+json with 422 and 415. It counts
    the create requests it gets and those it accepts (each a paid task on a real API)."""

    def __init__(self) -> None:
        import threading
        import time
        from http.server import ThreadingHTTPServer

        self.creates = 0
        self.accepted = 0
        self.stamp = int((time.time() - LOOSE_AGE_DAYS * 86400) * 1000)
        self._lock = threading.Lock()
        handler = _loose_handler(self)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def task(self) -> dict[str, Any]:
        return {
            "task_id": LOOSE_TASK_ID,
            "task_status": "submitted",
            "task_info": {},
            "created_at": self.stamp,
            "updated_at": self.stamp,
        }

    def answer(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, str, Any]:
        """(status, content type, JSON body) for one request."""
        route, _, query = path.partition("?")
        if route.startswith("/__mock__/"):
            return 404, "text/plain", "not found"
        if not str(headers.get("Authorization", "")).startswith("Bearer"):
            return _problem(401, "Unauthorized", "missing bearer token")
        base = "/v1/videos/multi-image2video"
        if route.rstrip("/") == base and method == "POST":
            return self._create(headers, body)
        if route == base and method == "GET":
            return self._list(query)
        if route.startswith(base + "/") and method == "GET":
            return _problem(404, "Not Found", "no such task")
        return _problem(404, "Not Found", "no such route")

    def _create(self, headers: Any, body: bytes) -> tuple[int, str, Any]:
        with self._lock:
            self.creates += 1
        if not str(headers.get("Content-Type", "")).startswith("application/json"):
            return _problem(415, "Unsupported Media Type", "send JSON")
        try:
            parsed = json.loads(body)
        except ValueError:
            return _problem(400, "Bad Request", "malformed JSON")
        images = parsed.get("image_list") if isinstance(parsed, dict) else None
        if not isinstance(images, list) or not images:
            return _problem(422, "Unprocessable Entity", "image_list is required")
        with self._lock:
            self.accepted += 1
        return 200, "application/json", {"code": 0, "message": "SUCCEED", "data": self.task()}

    def _list(self, query: str) -> tuple[int, str, Any]:
        from urllib.parse import parse_qs

        params = parse_qs(query)
        for name, high in (("pageNum", 1000), ("pageSize", 500)):
            raw = params.get(name, ["1"])[0]
            if not raw.isdigit() or not 1 <= int(raw) <= high:
                return _problem(422, "Unprocessable Entity", f"{name} out of range")
        body = {"code": 0, "message": "SUCCEED", "request_id": "static", "data": [self.task()]}
        return 200, "application/json", body

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def _problem(status: int, title: str, detail: str) -> tuple[int, str, Any]:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return status, "application/problem+json", body


def _loose_handler(target: LooseTarget) -> Any:
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, kind, answer = target.answer(self.command, self.path, self.headers, body)
            raw = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def run_against(
    url: str, report_dir: Path, *options: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    """The whole contract suite through pytest against a base URL (short polls); the finished
    process and the parsed report.json (None when none was written)."""
    root = Path(__file__).resolve().parent.parent
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(root / "contract_tests"),
        "-p",
        "no:cacheprovider",
    ]
    command += ["--kling-base-url", url, "--kling-report", str(report_dir), "-q"]
    command += ["--kling-poll-budget", "1", "--kling-poll-interval", "0.05", *options]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    report = report_dir / "report.json"
    return result, json.loads(report.read_text()) if report.is_file() else None
