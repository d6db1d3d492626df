"""Shared fixtures: a fake on a manual clock, a test client that checks every body against the
contracts, and tokens. `MOCK_KLING_TEST_STORE=sqlite` (or `redis`, `redis-cluster`) keeps that
fake's state in a SQLite file (or a namespace of the test redis-server, of the test Redis
Cluster) instead of memory, so the same tests check every store (scripts/check runs the API,
lifecycle, callback and limit tests so)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mock_kling import apispec
from mock_kling.assemble import build_backend
from mock_kling.core.auth import make_token
from mock_kling.core.backend import Backend
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import DEV_ACCESS_KEY, DEV_SECRET_KEY, Config
from mock_kling.core.store import Store
from mock_kling.http.app import create_app
from mock_kling.store import open_store, sqlite_url

from .images import png_b64

pytest_plugins = ["pytester", "tests.redis_server"]

API_PATH = "/v1/videos/multi-image2video"
RESELLER_PATH = "/kling/v1/videos/multi-image2video"
API_KEY = "sk-test-reseller-key"
STORE = os.environ.get("MOCK_KLING_TEST_STORE", "memory")
_TASK_PATH = re.compile(r"^/(kling/)?v1/videos/multi-image2video(/.+)?$")


def contract_for(method: str, path: str, status: int) -> str | None:
    """The contract a response to (method, path) must follow, or None for non-API routes."""
    if path.startswith("/__mock__/media/") and status == 200:
        return None
    if status >= 400:
        return "error_response"
    match = _TASK_PATH.match(path)
    if match is None:
        return None
    if method == "POST":
        return "create_response"
    return "query_response" if match.group(2) else "list_response"


def assert_conforms(method: str, path: str, status: int, body: Any) -> None:
    name = contract_for(method, path, status)
    if name is None:
        return
    errors = [e.message for e in apispec.validator(name).iter_errors(body)]
    assert not errors, f"{method} {path} -> {status} breaks {name}: {errors}"


class ContractClient(FlaskClient):
    """A Flask test client that validates every answer against the contracts."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        request = response.request
        if response.mimetype == "application/json" or response.status_code >= 400:
            assert response.mimetype == "application/json", response.data[:200]
            body = response.get_json()
            assert_conforms(request.method, request.path, response.status_code, body)
        return response


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def config() -> Config:
    return Config(
        key_pairs={
            DEV_ACCESS_KEY: DEV_SECRET_KEY,
            "other-access": "other-secret-key-0123456789abcdef",
        },
        api_keys=[API_KEY],
        seed=1234,
        submitted_seconds=2,
        processing_seconds=8,
    )


@pytest.fixture
def app_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store | None]:
    """Where the `app` fixture's fake keeps its state (None: memory), by MOCK_KLING_TEST_STORE."""
    if STORE == "memory":
        yield None
        return
    if STORE == "sqlite":
        opened = open_store(sqlite_url(str(tmp_path / "fake.db")))
    elif STORE in ("redis", "redis-cluster"):
        from .redis_server import fresh_store  # a plugin of this conftest: loaded by now

        server = "redis_url" if STORE == "redis" else "redis_cluster_url"
        opened = fresh_store(request.getfixturevalue(server))
    else:
        raise pytest.UsageError(
            f"MOCK_KLING_TEST_STORE must be memory, sqlite, redis or redis-cluster: {STORE!r}"
        )
    yield opened
    opened.reset()
    opened.close()  # type: ignore[attr-defined]


@pytest.fixture
def app(config: Config, clock: ManualClock, app_store: Store | None) -> Flask:
    app = create_app(backend=build_backend(config, clock, store=app_store))
    app.test_client_class = ContractClient
    return app


@pytest.fixture
def backend(app: Flask) -> Backend:
    backend: Backend = app.extensions["mock_kling"]
    return backend


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


@pytest.fixture
def token(clock: ManualClock) -> str:
    return make_token(DEV_ACCESS_KEY, DEV_SECRET_KEY, clock.now_ms() / 1000)


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def other_auth(clock: ManualClock) -> dict[str, str]:
    other = make_token("other-access", "other-secret-key-0123456789abcdef", clock.now_ms() / 1000)
    return {"Authorization": f"Bearer {other}"}


@pytest.fixture
def key_auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}


def valid_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model_name": "kling-v1-6",
        "image_list": [{"image": png_b64()}, {"image": "https://example.com/cat.png"}],
        "prompt": "a cat walks across the room",
    }
    body.update(overrides)
    return body
