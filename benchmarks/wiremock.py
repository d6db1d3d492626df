"""WireMock (the standalone jar of npm's `wiremock` package, on Java) serving the fake's own
answers as static stubs: installed on first use, started on 127.0.0.1 on a free port."""

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


def start(root: Path, bodies: dict[str, bytes], cache: Path = CACHE) -> Server:
    """WireMock with the stubs of `bodies`, 127.0.0.1, a free port, no request journal."""
    java, jar = ensure_jar(cache)
    write_stubs(root, bodies)
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
