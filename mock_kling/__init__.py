"""mock-kling: a fake of Kling's multi-image-to-video API, with fixtures and contract tests.

The public API, imported lazily so that `import mock_kling` (as the pytest plugin does) loads
no web framework:

- `create_app(config, clock=...)`: the fake as a Flask (WSGI) app;
- `build_backend(config, clock, store=..., sender=...)`: the fake's state and operations alone;
- `backend_of(app)`: the Backend behind an app (advance time, outcomes, faults, journals);
- `Config`, `ManualClock`, `SystemClock`, `KlingError`.

Test code gets a `KlingFake` handle from the pytest fixtures (`mock_kling.testing`), and the
contract suite is `mock_kling.contract`."""

from __future__ import annotations

import importlib
from typing import Any

from mock_kling.core.version import __version__

_EXPORTS = {
    "create_app": "mock_kling.http.app",
    "backend_of": "mock_kling.http.app",
    "build_backend": "mock_kling.assemble",
    "Config": "mock_kling.core.config",
    "ManualClock": "mock_kling.core.clock",
    "SystemClock": "mock_kling.core.clock",
    "KlingError": "mock_kling.core.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mock_kling' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
