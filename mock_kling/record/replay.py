"""Replay: a WSGI app that answers a cassette's exchanges exactly and in order; a request that
matches none gets Kling's 404/1203 naming the nearest recorded request."""

from __future__ import annotations

import difflib
import json
import threading
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from werkzeug.wrappers import Request, Response

from mock_kling.record.cassette import Interaction
from mock_kling.record.observe import label

MISS_STATUS, MISS_CODE = 404, 1203  # Kling's "the requested resource does not exist"


def request_key(method: str, uri: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """What a request must share with a recorded one: method, path and query (any order)."""
    parts = urlsplit(uri)
    return method.upper(), parts.path, tuple(sorted(parse_qsl(parts.query)))


class Replay:
    """Answers each request with the first unused recorded exchange of the same key."""

    def __init__(self, interactions: Sequence[Interaction]) -> None:
        self._recorded = [i for i in interactions if not i.is_callback]
        self._used = [False] * len(self._recorded)
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        query = request.query_string.decode("latin-1")
        uri = request.path + (f"?{query}" if query else "")
        return self.answer(request.method, uri)(environ, start_response)

    def answer(self, method: str, uri: str) -> Response:
        key = request_key(method, uri)
        with self._lock:
            for index, item in enumerate(self._recorded):
                if not self._used[index] and request_key(item.method, item.uri) == key:
                    self._used[index] = True
                    return _recorded(item)
        return self._miss(f"{method.upper()} {uri}")

    def unused(self) -> list[Interaction]:
        with self._lock:
            return [item for item, used in zip(self._recorded, self._used, strict=True) if not used]

    def _miss(self, wanted: str) -> Response:
        labels = [label(item) for item in self._recorded]
        nearest = difflib.get_close_matches(wanted, labels, n=1, cutoff=0.0)
        hint = (
            f"; nearest recorded request: {nearest[0]}" if nearest else " (the cassette is empty)"
        )
        exhausted = " (all its recorded answers were used)" if wanted in labels else ""
        body = {
            "code": MISS_CODE,
            "message": f"no recorded exchange matches {wanted}{exhausted}{hint}",
            "request_id": str(uuid.uuid4()),
        }
        return Response(json.dumps(body), MISS_STATUS, mimetype="application/json")


def _recorded(item: Interaction) -> Response:
    headers = [(k, v) for k, v in item.response_headers.items() if k != "content-encoding"]
    return Response(item.response_body.encode("utf-8"), item.status, headers=headers)
