"""Differences from Kling's documented contract, one line each, keyed so that the same difference
seen by many checks is listed once: from schema complaints, refusals, the wire (the meter) and
the round trip of one accepted create."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError

from mock_kling.contract.client.transport import Answer, Meter

ENVELOPE = "application/json {code, message, request_id}"
ANSWER_OF = {
    "create_response": "create answer",
    "query_response": "query answer",
    "list_response": "list answer",
    "error_response": "error answer",
    "callback": "callback body",
}


@dataclass(frozen=True)
class Finding:
    """One difference: `key` merges sightings of the same difference, `text` says it."""

    key: str
    text: str
    example: str = ""  # where it was seen, when the text is shared by many sightings

    def entry(self) -> dict[str, str]:
        return {"key": self.key, "text": self.text, "example": self.example}


def schema_finding(contract: str, error: ValidationError, path: str) -> Finding:
    """ "create answer has no request_id", "query answer data.task_status: 'x' is not one of"."""
    what = ANSWER_OF.get(contract, contract)
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else error.message
        field = missing if path == "(root)" else f"{path}.{missing}"
        return Finding(f"{contract}:required:{field}", f"{what} has no {field}")
    text = f"{what} {path}: {error.message}"
    return Finding(f"{contract}:{error.validator}:{path}", text[:160])


def media_finding(answer: Answer) -> Finding:
    """An answer that is not application/json: what it is instead."""
    kind = answer.mimetype or "no content type"
    if answer.status >= 400:
        fields = sorted(answer.body) if isinstance(answer.body, dict) else None
        shown = f" (fields {', '.join(fields)})" if fields else ""
        return Finding(f"media:error:{kind}", f"errors are {kind}{shown}, not {ENVELOPE}")
    return Finding(f"media:{answer.status}:{kind}", f"HTTP {answer.status} answers are {kind}")


def status_finding(answer: Answer, what: str, status: int, codes: str) -> Finding:
    return Finding(
        f"status:{answer.status}:{status}",
        f"{what} gets HTTP {answer.status}, not {status} with code {codes}",
    )


def wire_findings(meter: Meter) -> list[Finding]:
    """What the answers already on the wire tell, at no cost."""
    found = [media_finding(answer) for answer in meter.error_types.values()]
    found = [f for f in found if not f.key.startswith("media:error:application/json")]
    if meter.without_request_id:
        found.append(
            Finding("create_response:required:request_id", "create answer has no request_id")
        )
    if meter.accepted >= 2 and len(meter.task_ids) == 1:
        (task_id,) = meter.task_ids
        found.append(
            Finding(
                "create:same_task_id",
                f"every create returns task_id {task_id} ({meter.accepted} accepted creates)",
            )
        )
    return found


def age(delta_s: float) -> str:
    """'263 days', '5 minutes', '40 s'."""
    delta_s = abs(delta_s)
    if delta_s >= 86400:
        return f"{delta_s / 86400:.0f} days"
    if delta_s >= 3600:
        return f"{delta_s / 3600:.0f} hours"
    return f"{delta_s / 60:.0f} minutes" if delta_s >= 120 else f"{delta_s:.0f} s"


def merge(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sightings merged by key, in the order first seen, each with how often it was seen and
    the distinct places it was seen at."""
    merged: dict[str, dict[str, Any]] = {}
    for entry in entries:
        seen = merged.setdefault(entry["key"], {**entry, "seen": 0, "examples": []})
        seen["seen"] += 1
        example = entry.get("example")
        if example and example not in seen["examples"]:
            seen["examples"].append(example)
    return list(merged.values())


def line(entry: dict[str, Any], shown: int = 5) -> str:
    """'text: a, b, c ... (12 of them)' or 'text (seen 3 times)'."""
    examples = entry.get("examples") or []
    if examples:
        more = f" ... ({len(examples)} of them)" if len(examples) > shown else ""
        return f"{entry['text']}: {', '.join(examples[:shown])}{more}"
    return str(entry["text"]) + (f" (seen {entry['seen']} times)" if entry["seen"] > 1 else "")
