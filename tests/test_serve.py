"""`mock-kling serve` over real HTTP, driven by a client written from Kling's docs alone
(requests + PyJWT), and `mock-kling token`."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from .conftest import assert_conforms
from .images import jpeg_b64, png_b64

AK, SK = "e2e-access-key", "e2e-secret-key-0123456789abcdefgh"
API_KEY = "sk-e2e-reseller"
# The installed console script when there is one (as users run it), else `python -m mock_kling`.
_SCRIPT = shutil.which("mock-kling", path=str(Path(sys.executable).parent))
MOCK_KLING = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "mock_kling"]


class Server:
    """A `mock-kling serve` subprocess on 127.0.0.1 and a port the OS picked."""

    def __init__(self, *options: str, env: dict[str, str] | None = None) -> None:
        command = [*MOCK_KLING, "serve", "--port", "0", *options]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        self.banner = self._read_banner()
        self.url = re.search(r"listening on (http://\S+)", self.banner).group(1)  # type: ignore[union-attr]

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def _read_banner(self) -> str:
        text = ""
        while "try:" not in text and "API key account" not in text:
            try:
                text += self.lines.get(timeout=20)
            except queue.Empty:
                self.stop()
                raise RuntimeError(
                    f"mock-kling serve did not start within 20 s: {text!r}"
                ) from None
        return text

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self._pump_thread.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def server() -> Iterator[Server]:
    server = Server(
        "--clock",
        "manual",
        "--seed",
        "5",
        "--access-key",
        AK,
        "--secret-key",
        SK,
        "--api-key",
        API_KEY,
    )
    yield server
    server.stop()


def docs_token(now: float) -> str:
    """Exactly the official sample: HS256, iss = AK, exp = now + 1800, nbf = now - 5."""
    headers = {"alg": "HS256", "typ": "JWT"}
    payload = {"iss": AK, "exp": int(now + 1800), "nbf": int(now - 5)}
    return jwt.encode(payload, SK, headers=headers)


def call(method: str, url: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
    response = requests.request(method, url + path, headers=headers, timeout=10, **kwargs)
    body = response.json()
    assert_conforms(method, path.split("?")[0], response.status_code, body)
    return response.status_code, body


def advance(server: Server, seconds: float) -> None:
    response = requests.post(
        f"{server.url}/__mock__/clock/advance", json={"seconds": seconds}, timeout=10
    )
    assert response.status_code == 200


@pytest.mark.slow  # a server process per case: about a second each
@pytest.mark.parametrize(
    ("prefix", "auth"),
    [("/v1", "jwt"), ("/kling/v1", "api-key")],
)
def test_client_from_the_docs(server: Server, prefix: str, auth: str, tmp_path: Path):
    now = requests.get(f"{server.url}/__mock__/clock", timeout=10).json()["now_ms"] / 1000
    token = docs_token(now) if auth == "jwt" else API_KEY
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    path = f"{prefix}/videos/multi-image2video"

    body = {
        "model_name": "kling-v1-6",
        "image_list": [{"image": png_b64(640, 360)}, {"image": "https://example.com/ref.jpg"}],
        "prompt": "two friends wave",
        "mode": "pro",
        "duration": "5",
        "aspect_ratio": "1:1",
        "external_task_id": "client-1",
    }
    status, created = call("POST", server.url, path, headers, data=json.dumps(body))
    assert (status, created["code"], created["data"]["task_status"]) == (200, 0, "submitted")
    task_id = created["data"]["task_id"]
    second = dict(body, image_list=[{"image": jpeg_b64(500, 500)}], external_task_id="client-2")
    assert call("POST", server.url, path, headers, data=json.dumps(second))[0] == 200

    statuses = []
    for _ in range(20):  # poll, as a client does; the fake's clock moves 1 s a poll
        _, by_id = call("GET", server.url, f"{path}/{task_id}", headers)
        statuses.append(by_id["data"]["task_status"])
        if statuses[-1] == "succeed":
            break
        advance(server, 1)
    assert statuses[0] == "submitted"
    assert "processing" in statuses
    assert statuses[-1] == "succeed"
    _, by_external = call("GET", server.url, f"{path}/client-1", headers)
    assert by_external["data"]["task_id"] == task_id

    _, page1 = call("GET", server.url, f"{path}?pageNum=1&pageSize=1", headers)
    _, page2 = call("GET", server.url, f"{path}?pageNum=2&pageSize=1", headers)
    assert page2["data"][0]["task_id"] == task_id
    assert page1["data"][0]["task_info"] == {"external_task_id": "client-2"}

    video = by_id["data"]["task_result"]["videos"][0]
    assert video["url"].startswith(server.url)
    download = requests.get(video["url"], timeout=10)  # no auth header, as the docs' CDN
    assert (download.status_code, download.headers["Content-Type"]) == (200, "video/mp4")
    mp4 = tmp_path / "result.mp4"
    mp4.write_bytes(download.content)
    probe = _ffprobe(mp4)
    assert (probe["streams"][0]["width"], probe["streams"][0]["height"]) == (1080, 1080)
    assert abs(float(probe["format"]["duration"]) - 5.0) < 1 / 30


def test_errors_over_http_are_kling_json(server: Server):
    status, body = call("GET", server.url, "/v1/videos/multi-image2video", {})
    assert (status, body["code"]) == (401, 1001)
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    status, body = call("POST", server.url, "/v1/videos/multi-image2video", headers, data="{oops")
    assert (status, body["code"]) == (400, 1200)
    status, body = call("PUT", server.url, "/v1/videos/multi-image2video", headers)
    assert (status, body["code"]) == (404, 1202)


@pytest.mark.slow
def test_system_clock_and_environment_options():
    env = {"MOCK_KLING_SUBMITTED_SECONDS": "0", "MOCK_KLING_PROCESSING_SECONDS": "0"}
    server = Server("--seed", "3", env=env)
    try:
        assert "clock system" in server.banner
        assert "access key 'mock-access-key'" in server.banner
        token = subprocess.run(
            [*MOCK_KLING, "token"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        path = "/v1/videos/multi-image2video"
        body = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "p"}
        _, created = call("POST", server.url, path, headers, json=body)
        _, task = call("GET", server.url, f"{path}/{created['data']['task_id']}", headers)
        assert task["data"]["task_status"] == "succeed"  # 0 s in each state
    finally:
        server.stop()


def test_token_command_builds_the_documented_claims():
    result = subprocess.run(
        [
            *MOCK_KLING,
            "token",
            "--access-key",
            AK,
            "--secret-key",
            SK,
            "--ttl",
            "60",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    claims = jwt.decode(result.stdout.strip(), SK, algorithms=["HS256"])
    assert claims["iss"] == AK
    assert claims["exp"] - claims["nbf"] == 65
    assert abs(claims["exp"] - 60 - time.time()) < 60
    assert jwt.get_unverified_header(result.stdout.strip()) == {"alg": "HS256", "typ": "JWT"}


def test_serve_refuses_unpaired_keys():
    result = subprocess.run(
        [*MOCK_KLING, "serve", "--access-key", "a"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "give one --secret-key for each --access-key" in result.stderr


def _ffprobe(path: Path) -> dict[str, Any]:
    command = [
        "ffprobe",
        "-v",
        "error",
        "-show_entries",
        "stream=width,height:format=duration",
        "-of",
        "json",
    ]
    result = subprocess.run(
        [*command, str(path)], capture_output=True, text=True, timeout=60, check=True
    )
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_serve_a_vendor_profile():
    server = Server("--profile", "chainhub", "--seed", "1")
    try:
        assert "profile chainhub" in server.banner
        assert "API key account: 'sk-mock-kling'" in server.banner
        headers = {"Authorization": "Bearer sk-mock-kling"}
        body = {
            "model_name": "kling-v1-6",
            "mode": "pro",
            "duration": "5",
            "aspect_ratio": "4:3",
            "image_list": [{"image": "https://example.com/a.png"}],
            "prompt": "p",
        }
        url = server.url + "/kling/v1/videos/multi-image2video"
        assert requests.post(url, json=body, headers=headers, timeout=10).json()["code"] == 0
        del body["mode"]
        refused = requests.post(url, json=body, headers=headers, timeout=10).json()
        assert (refused["code"], refused["message"]) == (1201, "mode is required")
    finally:
        server.stop()
