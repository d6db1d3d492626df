"""The dashboard: a page at /__mock__/ui/ that reads and drives the fake through the control API,
and GET / sending a browser there."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Blueprint, Response, redirect
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound

from mock_kling.core import profiles
from mock_kling.http.routes import UI

ASSETS = Path(__file__).with_name("ui")  # hand-written HTML, CSS and JS: no build step, no CDN
FILES = frozenset({"index.html", "app.js", "app.css"})
# The page loads nothing from elsewhere and runs no inline script.
_POLICY = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"

blueprint = Blueprint("dashboard", __name__)


def root_is_free(prefixes: tuple[str, ...] = profiles.PREFIXES) -> bool:
    """GET / may open the dashboard: no vendor profile serves its API at the root."""
    return all(prefix.strip("/") for prefix in prefixes)


@blueprint.get(UI)
def page() -> ResponseReturnValue:
    """The dashboard page (HTML): tasks, timelines, callbacks, requests, controls."""
    return asset("index.html")


@blueprint.get(f"{UI}<name>")
def asset(name: str) -> ResponseReturnValue:
    """A file of the dashboard page (its script and style sheet)."""
    if name not in FILES:
        raise NotFound()
    response = Response((ASSETS / name).read_bytes(), mimetype=mimetypes.guess_type(name)[0])
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = _POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


if root_is_free():

    @blueprint.get("/")
    def root() -> ResponseReturnValue:
        """Redirect to the dashboard page."""
        return redirect(UI)
