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
        """Keep the interaction, appending it to the file at once (a kill loses nothing)."""
        with self._lock:
            self._interactions.append(interaction)
            if self.path is None:
                return
            if len(self._interactions) == 1:
                self.path.write_text(f"version: {VERSION}\ninteractions:\n", encoding="utf-8")
            with self.path.open("a", encoding="utf-8") as file:
                file.write(_yaml([interaction.to_vcr()]))

    @classmethod
    def load(cls, path: Path) -> Cassette:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"{path}: not a version {VERSION} VCR cassette")
        items = data.get("interactions") or []
        return cls(None, (Interaction.from_vcr(item, i) for i, item in enumerate(items)))


def dump(interactions: Iterable[Interaction]) -> str:
    """A whole cassette as YAML."""
    return _yaml({"version": VERSION, "interactions": [i.to_vcr() for i in interactions]})


def _yaml(data: Any) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's when built with it
    text: str = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
    return text


def masked_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """End-to-end headers, lower-cased, with credentials masked."""
    kept = ((k.lower(), v) for k, v in headers if k.lower() not in HOP_HEADERS)
    return {k: MASK if k in SECRET_HEADERS else v for k, v in kept}


def described_body(raw: bytes) -> str | None:
    """A request body as a cassette keeps it: as sent, but images described, never stored."""
    if not raw:
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        return f"<{len(raw)} bytes, not JSON>"
    if isinstance(body, dict) and "image_list" in body:
        body = {**body, "image_list": summarize(body, _infos(body))["image_list"]}
    return json.dumps(body, ensure_ascii=False)


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
