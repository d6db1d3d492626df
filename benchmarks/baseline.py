"""The bare-WSGI baseline: waitress serving fixed JSON bodies (sized like the fake's answers)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from waitress.server import create_server

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
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    texts: dict[str, str] = {"get": "{}", "list": "{}", "post": "{}"}
    if args.bodies:
        texts.update(json.loads(args.bodies.read_text()))
    bodies = {name: text.encode() for name, text in texts.items()}
    server = create_server(
        make_app(bodies), host="127.0.0.1", port=args.port, threads=args.threads, ident="baseline"
    )
    port = getattr(server, "effective_port")  # noqa: B009
    print(f"baseline listening on http://127.0.0.1:{port}", flush=True)
    server.run()


if __name__ == "__main__":
    main()
