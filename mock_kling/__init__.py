"""mock-kling: a fake of Kling's multi-image-to-video API, with fixtures and contract tests."""

from __future__ import annotations

from mock_kling.core.version import __version__

__all__ = ["__version__", "create_app"]


def __getattr__(name: str) -> object:
    # Lazy, so `import mock_kling` (e.g. by the pytest plugin) does not import Flask.
    if name == "create_app":
        from mock_kling.http.app import create_app

        return create_app
    raise AttributeError(name)
