"""HTTP clients of the benchmarks: one-shot requests, keep-alive connections, bulk submits."""

from __future__ import annotations

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

API_PATH = "/v1/videos/multi-image2video"


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, bytes]:
    """One HTTP request on a fresh connection; (status, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def answer(url: str, key: str | None = None, body: bytes | None = None) -> bytes:
    """The raw 200 answer to a GET (or, with `body`, a JSON POST) with `key`; raise otherwise."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    status, raw = request(url, "POST" if body is not None else "GET", body, headers)
    if status != 200:
        raise RuntimeError(f"{url} answered {status}: {raw[:300]!r}")
    return raw


def request_json(url: str, key: str | None = None, payload: Any = None) -> Any:
    """A JSON GET (or POST of `payload`) with `key` when given; the decoded answer, or raise."""
    body = None if payload is None else json.dumps(payload).encode()
    return json.loads(answer(url, key, body))


def submit(base_url: str, key: str, body: bytes) -> dict[str, Any]:
    """POST one submit; the decoded answer (raise unless 200)."""
    result: dict[str, Any] = json.loads(answer(base_url + API_PATH, key, body))
    return result


class Client:
    """A keep-alive HTTP/1.1 connection for one thread (re-opened after an error)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        self.host, self.port, self.timeout = parts.hostname or "", parts.port, timeout
        self.connection: http.client.HTTPConnection | None = None

    def send(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def submit_many(
    base_url: str, key: str, count: int, body: bytes, workers: int, limit_s: float
) -> list[tuple[int, str]]:
    """POST `count` submits on `workers` keep-alive connections; [(created_at, task_id)]."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    lock = threading.Lock()
    left = [count]
    deadline = time.monotonic() + limit_s

    def worker() -> list[tuple[int, str]]:
        client, made = Client(base_url), []
        try:
            while time.monotonic() < deadline:
                with lock:
                    if left[0] <= 0:
                        break
                    left[0] -= 1
                status, raw = client.send("POST", API_PATH, body, headers)
                if status != 200:
                    raise RuntimeError(f"submit answered {status}: {raw[:300]!r}")
                data = json.loads(raw)["data"]
                made.append((data["created_at"], data["task_id"]))
        finally:
            client.close()
        return made

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(worker) for _ in range(workers)]
        made = [item for future in futures for item in future.result()]
    if len(made) < count:
        raise RuntimeError(f"only {len(made)} of {count} submits within {limit_s} s")
    return made


def wait_healthy(url: str, timeout: float = 30.0) -> float:
    """Poll GET url every 2 ms until it answers 200; seconds waited (raise after `timeout`)."""
    started = time.perf_counter()
    for _ in range(100_000):
        if time.perf_counter() - started > timeout:
            break
        try:
            status, _ = request(url, timeout=2.0)
            if status == 200:
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.002)
    raise RuntimeError(f"{url} did not answer 200 within {timeout} s")
