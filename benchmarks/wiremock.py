"""WireMock (the standalone jar of npm's `wiremock` package, on Java) serving the fake's own
answers as static stubs, or "built for Kling" (a submit's body checked against the bundled
create_request schema with `matchesJsonSchema`, ids and times made by `response-template`):
installed on first use, started on 127.0.0.1 on a free port."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from clients import API_PATH
from harness import Server

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mock-kling-bench"
_PORT = re.compile(r"^port:\s+(\d+)")
_HEALTH = "/__admin/health"


class Unavailable(Exception):
    """WireMock cannot run here; the message says why (its rows are reported as skipped)."""


def _apt_install(package: str) -> None:
    """apt-get install `package` when running as root (an update first when it fails)."""
    if not (shutil.which("apt-get") and os.geteuid() == 0):
        return
    print(f"installing Debian's {package} (apt-get install -y {package})", flush=True)
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]
    if subprocess.run(install, capture_output=True, timeout=900).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=900)
        subprocess.run(install, capture_output=True, timeout=900, check=False)


def _tool(name: str, package: str) -> str:
    if not shutil.which(name):
        _apt_install(package)
    found = shutil.which(name)
    if not found:
        how = "not running as root" if os.geteuid() != 0 else f"apt-get install {package} failed"
        raise Unavailable(f"{name} not found ({how}; apt-get install {package})")
    return found


def ensure_jar(cache: Path = CACHE) -> tuple[str, Path]:
    """(java, the standalone jar): Java and npm from Debian when missing (as root), the jar
    from npm's `wiremock` package into `cache`/wiremock; raise Unavailable with the reason."""
    java = _tool("java", "default-jre-headless")
    prefix = cache / "wiremock"
    jars = sorted(prefix.glob("node_modules/wiremock/build/wiremock-standalone-*.jar"))
    if not jars:
        npm = _tool("npm", "npm")
        prefix.mkdir(parents=True, exist_ok=True)
        print(f"installing npm's wiremock into {prefix}", flush=True)
        done = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "wiremock"],
            capture_output=True,
            text=True,
            timeout=900,
        )
        jars = sorted(prefix.glob("node_modules/wiremock/build/wiremock-standalone-*.jar"))
        if not jars:
            raise Unavailable(f"npm install wiremock failed: {(done.stderr or done.stdout)[-300:]}")
    return java, jars[-1]


def _stub(request: dict[str, object], body: bytes, priority: int) -> dict[str, object]:
    return {
        "priority": priority,
        "request": request,
        "response": {
            "status": 200,
            "body": body.decode(),
            "headers": {"Content-Type": "application/json"},
        },
    }


def write_stubs(root: Path, bodies: dict[str, bytes]) -> Path:
    """Mappings under `root`: GET one task, GET a list page (pageNum present), POST submit."""
    mappings = root / "mappings"
    mappings.mkdir(parents=True, exist_ok=True)
    stubs = {
        "list": _stub(
            {
                "method": "GET",
                "urlPath": API_PATH,
                "queryParameters": {"pageNum": {"matches": ".+"}},
            },
            bodies["list"],
            1,
        ),
        "get": _stub({"method": "GET", "urlPathPattern": f"{API_PATH}/[^/]+"}, bodies["get"], 2),
        "post": _stub({"method": "POST", "urlPath": API_PATH}, bodies["post"], 2),
    }
    for name, stub in stubs.items():
        (mappings / f"{name}.json").write_text(json.dumps(stub))
    return root


_REQUEST_ID = "{{randomValue type='UUID'}}"
_TASK_ID = "{{randomValue length=18 type='NUMERIC'}}"
_NOW_MS = "{{now format='epoch'}}"


def _templated(body: bytes, fields: dict[str, str]) -> str:
    """`body` (an envelope) with `request_id` and the `data` fields of `fields` replaced by
    WireMock Handlebars expressions (numbers unquoted)."""
    envelope = json.loads(body)
    marks: dict[str, str] = {"@request_id@": _REQUEST_ID}
    envelope["request_id"] = "@request_id@"
    for name, expression in fields.items():
        marks[f"@{name}@"] = expression
        envelope["data"][name] = f"@{name}@"
    text = json.dumps(envelope, separators=(",", ":"))
    for mark, expression in marks.items():
        quoted = expression != _NOW_MS
        # a space after an unquoted one: `}}}` would open Handlebars' triple-stash
        text = text.replace(f'"{mark}"', f'"{expression}"' if quoted else expression + " ")
    return text + "\n"


def _templated_stub(request: dict[str, object], body: str, priority: int) -> dict[str, object]:
    stub = _stub(request, b"", priority)
    response = stub["response"]
    assert isinstance(response, dict)
    response["body"] = body
    response["transformers"] = ["response-template"]
    return stub


def write_kling_stubs(root: Path, bodies: dict[str, bytes]) -> Path:
    """Mappings "built for Kling" under `root`, generated from the bundled create contract: a
    submit whose body matches the create_request schema gets a new task (id and times
    templated), any other submit a Kling 400 (1201); GETs answer with a fresh request_id."""
    from mock_kling.apispec.bundle import schema

    mappings = root / "mappings"
    mappings.mkdir(parents=True, exist_ok=True)
    refusal = json.dumps(
        {"code": 1201, "message": "invalid request parameters", "request_id": _REQUEST_ID},
        separators=(",", ":"),
    )
    create = {
        "method": "POST",
        "urlPath": API_PATH,
        "bodyPatterns": [{"matchesJsonSchema": schema("create_request"), "schemaVersion": "V7"}],
    }
    task = {"task_id": _TASK_ID, "created_at": _NOW_MS, "updated_at": _NOW_MS}
    get = {"method": "GET", "urlPathPattern": f"{API_PATH}/[^/]+"}
    stubs = {
        "list": _templated_stub(
            {
                "method": "GET",
                "urlPath": API_PATH,
                "queryParameters": {"pageNum": {"matches": ".+"}},
            },
            bodies["list"].decode().replace(_request_id(bodies["list"]), _REQUEST_ID),
            1,
        ),
        "get": _templated_stub(get, _templated(bodies["get"], {}), 2),
        "post": _templated_stub(create, _templated(bodies["post"], task), 2),
        "refused": _templated_stub({"method": "POST", "urlPath": API_PATH}, refusal, 9),
    }
    refused = stubs["refused"]["response"]
    assert isinstance(refused, dict)
    refused["status"] = 400
    for name, stub in stubs.items():
        (mappings / f"{name}.json").write_text(json.dumps(stub))
    return root


def _request_id(body: bytes) -> str:
    request_id: str = json.loads(body)["request_id"]
    return request_id


def start(root: Path, bodies: dict[str, bytes], cache: Path = CACHE, kling: bool = False) -> Server:
    """WireMock with the stubs of `bodies` (static, or built for Kling), 127.0.0.1, a free port,
    no request journal."""
    java, jar = ensure_jar(cache)
    (write_kling_stubs if kling else write_stubs)(root, bodies)
    command = [
        java,
        "-jar",
        str(jar),
        "--port",
        "0",
        "--bind-address",
        "127.0.0.1",
        "--root-dir",
        str(root),
        "--no-request-journal",
        "--disable-request-logging",
        "--disable-banner",
        "--use-chunked-encoding",
        "never",
    ]
    return Server(
        command,
        "WireMock",
        start_timeout=120,
        banner=_PORT,
        to_url=lambda port: f"http://127.0.0.1:{port}",
        ready_path=_HEALTH,
    )


def version(jar: Path) -> str:
    """The jar's version, from its file name."""
    return jar.stem.removeprefix("wiremock-standalone-")
