"""`serve`'s app loads Flask only when a request needs it (or `warm()` asks): the CLI and the
fast path (plain GETs and submits, the health report) start and answer without it (and the CLI
imports no Werkzeug either)."""

from __future__ import annotations

import json
import subprocess
import sys

_SCRIPT = """
import io, json, sys
import mock_kling.cli  # what `mock-kling serve` imports before it answers
from mock_kling.assemble import build_backend
from mock_kling.core.config import Config
from mock_kling.http.lazy import LazyApp

def call(app, method, path, headers=None):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(b""), "SERVER_PROTOCOL": "HTTP/1.1", **(headers or {})}
    seen = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: seen.append(status)))
    return seen[0], body

app = LazyApp(build_backend(Config(seed=1, api_keys=["sk-lazy"])))
steps = {"imported": "flask" in sys.modules, "werkzeug": "werkzeug" in sys.modules}
auth = {"HTTP_AUTHORIZATION": "Bearer sk-lazy"}
steps["list"] = call(app, "GET", "/v1/videos/multi-image2video", auth)[0]
steps["health"] = call(app, "GET", "/__mock__/health")[0]
steps["after_fast_path"] = "flask" in sys.modules
steps["refused"] = call(app, "GET", "/v1/videos/multi-image2video")[0]  # no key: Flask renders it
steps["after_refusal"] = "flask" in sys.modules
print(json.dumps(steps))
"""


def test_flask_loads_only_when_a_request_needs_it():
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout) == {
        "imported": False,
        "werkzeug": False,
        "list": "200 OK",
        "health": "200 OK",
        "after_fast_path": False,
        "refused": "401 UNAUTHORIZED",
        "after_refusal": True,
    }
