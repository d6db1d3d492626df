"""The bare-WSGI baseline: fixed JSON bodies (the fake's own answers) on granian or waitress."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import wsgi_host

StartResponse = Callable[..., Any]
_HEALTH = b'{"status":"ok"}'


def make_app(
    bodies: dict[str, bytes],
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """A WSGI callable: POST answers bodies["post"], a GET with a query string bodies["list"],
    /__mock__/health a tiny JSON, any other GET bodies["get"]. Request bodies are read whole."""
    prepared = {
        name: (body, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        for name, body in {**bodies, "health": _HEALTH}.items()
    }

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            environ["wsgi.input"].read(length)
            name = "post"
        elif environ.get("PATH_INFO") == "/__mock__/health":
            name = "health"
        elif environ.get("QUERY_STRING"):
            name = "list"
        else:
            name = "get"
        body, headers = prepared[name]
        start_response("200 OK", headers)
        return [body]

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bodies", type=Path, help="JSON file: {get, list, post} -> answer text")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--server", choices=wsgi_host.SERVERS, default="granian")
    args = parser.parse_args()
    texts: dict[str, str] = {"get": "{}", "list": "{}", "post": "{}"}
    if args.bodies:
        texts.update(json.loads(args.bodies.read_text()))
    bodies = {name: text.encode() for name, text in texts.items()}
    wsgi_host.serve(lambda _url: make_app(bodies), args.server, args.threads, "baseline")


if __name__ == "__main__":
    main()
