"""The ASGI edge of `mock-kling serve` (memory store, plain API key `bench-key`, seed 1) as an
app factory, so that another ASGI server (granian's public CLI) can run the very same app that
`serve` runs on uvicorn: `granian --interface asgi --factory edge_app:build` (from benchmarks/)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from mock_kling.assemble import build_backend, make_clock
from mock_kling.core.config import Config
from mock_kling.http.edge import Edge
from mock_kling.http.lazy import LazyApp
from mock_kling.store import open_store

API_KEY = "bench-key"


def build() -> Edge:
    """A fresh fake behind the edge, as `serve --api-key bench-key --seed 1` builds it."""
    config = Config(api_keys=[API_KEY], seed=1)
    store = open_store("memory", config.journal_limit)
    backend = build_backend(config, make_clock("system", store), store=store)
    app = LazyApp(backend)
    app.warm()
    return Edge(app, ThreadPoolExecutor(8), config.max_body_bytes)
