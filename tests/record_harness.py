"""An "upstream" for the record tests: a fake with other timings and failure messages on a
manual clock, optionally behind a drifting proxy, and a client that talks through a recorder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from mock_kling.assemble import build_backend
from mock_kling.core.backend import Backend
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import Config
from mock_kling.core.outcomes import Outcome
from mock_kling.core.rules import NextOutcome
from mock_kling.http.app import create_app
from mock_kling.record.cassette import Cassette
from mock_kling.record.proxy import RecordingProxy
from mock_kling.record.server import LoopbackServer

from .images import png_b64

UPSTREAM_KEY = "sk-upstream"
ROUTE = "/v1/videos/multi-image2video"
MESSAGES = ("upstream: prompt refused by policy", "upstream: GPU timeout")
# (submitted, processing) seconds and the failure message ("" succeeds) of each planted task
PLAN = [(3.0, 12.0 + 2 * (i % 8), MESSAGES[i // 4 % 2] if i % 4 == 3 else "") for i in range(20)]


def drifting(app: Any) -> Any:
    """A WSGI proxy that plants three differences: no request_id, task_status_msg renamed to
    task_status_message, and 400 instead of 404."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return lambda data: None

        body = b"".join(app(environ, capture))
        status = captured["status"].replace("404 NOT FOUND", "400 BAD REQUEST")
        if environ["PATH_INFO"].startswith("/v1/"):
            body = json.dumps(_drift(json.loads(body))).encode()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    return wsgi


def _drift(value: Any) -> Any:
    if isinstance(value, dict):
        renamed = {"task_status_msg": "task_status_message"}
        return {renamed.get(k, k): _drift(v) for k, v in value.items() if k != "request_id"}
    return [_drift(v) for v in value] if isinstance(value, list) else value


@dataclass
class Rig:
    upstream: Backend
    proxy: RecordingProxy
    base: str  # the recorder's URL: the client's base URL
    session: requests.Session

    @property
    def cassette(self) -> Cassette:
        return self.proxy.cassette

    def create(self, **fields: Any) -> dict[str, Any]:
        body = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "wave"}
        answer = self.session.post(self.base + ROUTE, json={**body, **fields}, timeout=10)
        return dict(answer.json())

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.base + path, timeout=10)


@contextmanager
def rig(tmp_path: Path, *, drift: bool = False) -> Iterator[Rig]:
    """An upstream fake (submitted 3 s, processing 12-26 s, its own failure messages) on a
    manual clock, and a recording proxy in front of it."""
    config = Config(seed=7, api_keys=[UPSTREAM_KEY], submitted_seconds=3, processing_seconds=20)
    upstream = build_backend(config, ManualClock())
    app: Any = create_app(backend=upstream)
    with LoopbackServer(drifting(app) if drift else app) as real:
        upstream.serve_at(real.url)
        proxy = RecordingProxy(real.url, Cassette(tmp_path / "kling.yaml"))
        with LoopbackServer(proxy) as recorder, requests.Session() as session:
            proxy.public_url = recorder.url
            session.headers["Authorization"] = f"Bearer {UPSTREAM_KEY}"
            yield Rig(upstream, proxy, recorder.url, session)
    upstream.close()


def plant(backend: Backend) -> None:
    """Queue the planned outcomes of the next tasks, in order."""
    for submitted, processing, message in PLAN:
        result = "fail" if message else "succeed"
        backend.add_next_outcome(NextOutcome(Outcome(result, message, submitted, processing)))


def record_session(r: Rig, callback_url: str) -> list[str]:
    """The planted tasks created (one with a PNG, two with callbacks), polled while running and
    once ended; returns their ids."""
    plant(r.upstream)
    ids = []
    for i in range(len(PLAN)):
        extra: dict[str, Any] = {"external_task_id": f"order-{i}"}
        if i == 0:
            extra["image_list"] = [{"image": png_b64(400, 400)}]
        if i in (1, 2):
            extra["callback_url"] = callback_url
        ids.append(r.create(**extra)["data"]["task_id"])
        r.upstream.advance(0.1)  # distinct created_at: the list's order shows
    r.upstream.advance(5)  # every task is processing
    r.get(ROUTE + "?pageNum=1&pageSize=50")
    r.get(f"{ROUTE}/{ids[0]}")
    r.upstream.advance(60)  # every task has ended
    r.get(ROUTE + "?pageNum=1&pageSize=50")
    for task_id in ids[:3]:
        r.get(f"{ROUTE}/{task_id}")
    r.get(f"{ROUTE}/no-such-task")
    r.create(external_task_id="order-0")  # a duplicate external id
    return ids
