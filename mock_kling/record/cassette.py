"""Cassettes in VCR.py's YAML format (version 1): interactions with secrets masked, images
described, callbacks marked and each interaction's time kept."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mock_kling.core.images import ImageInfo, ImageRuleError, inspect_image
from mock_kling.core.journal import summarize

VERSION = 1  # VCR.py's cassette format version
CALLBACK_HEADER = "x-mock-kling-callback"  # marks a callback the upstream sent
MASK = "<masked>"
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "cookie", "set-cookie"})
HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}
    | {"content-length", "proxy-authorization", "proxy-authenticate"}
)


@dataclass(frozen=True)
class Interaction:
    """One recorded exchange; `at_ms` is when the request arrived (wall clock)."""

    method: str
    uri: str
    request_body: str | None
    status: int
    response_body: str
    at_ms: int
    request_headers: Mapping[str, str] = field(default_factory=dict)
    response_headers: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""

    @property
    def is_callback(self) -> bool:
        return CALLBACK_HEADER in self.request_headers

    def request_json(self) -> Any:
        return _json(self.request_body)

    def response_json(self) -> Any:
        return _json(self.response_body)

    def to_vcr(self) -> dict[str, Any]:
        return {
            "request": {
                "method": self.method,
                "uri": self.uri,
                "body": self.request_body,
                "headers": {k: [v] for k, v in self.request_headers.items()},
            },
            "response": {
                "status": {"code": self.status, "message": self.reason},
                "headers": {k: [v] for k, v in self.response_headers.items()},
                "body": {"string": self.response_body},
            },
            "recorded_at_ms": self.at_ms,
        }

    @classmethod
    def from_vcr(cls, data: Mapping[str, Any], index: int) -> Interaction:
        request, response = data["request"], data["response"]
        return cls(
            method=str(request["method"]).upper(),
            uri=str(request["uri"]),
            request_body=_text(request.get("body")),
            status=int(response["status"]["code"]),
            response_body=_text(response.get("body", {}).get("string")) or "",
            at_ms=int(data.get("recorded_at_ms", index)),
            request_headers=_headers(request.get("headers")),
            response_headers=_headers(response.get("headers")),
            reason=str(response["status"].get("message", "")),
        )


class Cassette:
    """Interactions in arrival order, appended from several threads, saved whole each time."""

    def __init__(self, path: Path | None = None, interactions: Iterable[Interaction] = ()) -> None:
        self.path = path
        self._interactions = list(interactions)
        self._lock = threading.Lock()

    @property
    def interactions(self) -> list[Interaction]:
        with self._lock:
            return list(self._interactions)

    def add(self, interaction: Interaction) -> None:
        with self._lock:
            self._interactions.append(interaction)
            if self.path is not None:
                self.path.write_text(dump(self._interactions), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Cassette:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"{path}: not a version {VERSION} VCR cassette")
        items = data.get("interactions") or []
        return cls(None, (Interaction.from_vcr(item, i) for i, item in enumerate(items)))


def dump(interactions: Iterable[Interaction]) -> str:
    data = {"interactions": [i.to_vcr() for i in interactions], "version": VERSION}
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return text


def masked_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """End-to-end headers, lower-cased, with credentials masked."""
    kept = ((k.lower(), v) for k, v in headers if k.lower() not in HOP_HEADERS)
    return {k: MASK if k in SECRET_HEADERS else v for k, v in kept}


def described_body(raw: bytes) -> str | None:
    """A request body as a cassette keeps it: JSON with images described, never stored."""
    if not raw:
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        return f"<{len(raw)} bytes, not JSON>"
    return json.dumps(summarize(body, _infos(body)), ensure_ascii=False)


def _infos(body: Any) -> list[ImageInfo]:
    """Each image described, or none when one breaks a rule (then only lengths are kept)."""
    items = body.get("image_list") if isinstance(body, dict) else None
    try:
        return [inspect_image(item["image"]) for item in items or []]
    except (ImageRuleError, TypeError, KeyError, AttributeError):
        return []


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return json.dumps(value)


def _headers(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k).lower(): str(v[0] if isinstance(v, list) and v else v) for k, v in value.items()}
