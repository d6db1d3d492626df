"""Finds the Backend of the app that is serving the current request."""

from __future__ import annotations

from flask import current_app

from mock_kling.core.backend import Backend

EXTENSION = "mock_kling"
FAST_PATH = "mock_kling.fast_path"  # the FastPath wrapping the app, when it has one


def current_backend() -> Backend:
    backend: Backend = current_app.extensions[EXTENSION]
    return backend
