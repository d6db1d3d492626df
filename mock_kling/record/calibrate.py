"""Derives from a cassette what the fake should do to behave like the recorded API: timings,
failures, answers to the open questions and field shapes (`mock-kling calibrate`)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from mock_kling.core.tasks import FAILED
from mock_kling.record.cassette import Interaction
from mock_kling.record.observe import CALLBACK, CREATE, LIST, QUERY, Trace, kind, label, traces
from mock_kling.record.shapes import shape_of, to_json

ALL = "*"  # the key of every task's timings; others are `mode/duration`
_AUTH_CODES = range(1000, 1100)  # 1000-1099: authentication failures, not answers about ids


def calibrate(interactions: Sequence[Interaction]) -> dict[str, Any]:
    """The calibration JSON (`Calibration.from_json` reads its timings and failures)."""
    found = list(traces(interactions).values())
    ends = [end for end in (t.end() for t in found) if end is not None]
    failed = [end for end in ends if end.status == FAILED]
    return {
        "version": 1,
        "tasks": len(found),
        "timings": timings(found),
        "failure_rate": round(len(failed) / len(ends), 4) if ends else 0.0,
        "failure_messages": dict(Counter(end.message for end in failed).most_common()),
        "outcomes": dict(Counter(end.status for end in ends)),
        "questions": questions(interactions),
        "fields": fields(interactions),
    }


def timings(found: Sequence[Trace]) -> dict[str, dict[str, Any]]:
    """Seconds in submitted and processing, of all tasks (`*`) and by `mode/duration`."""
    groups: dict[str, list[Trace]] = defaultdict(list)
    for trace in found:
        groups[ALL].append(trace)
        if trace.mode:
            groups[f"{trace.mode}/{trace.duration}"].append(trace)
    result = {}
    for name, members in groups.items():
        pairs = [t.durations() for t in members]
        submitted = [s for s, _ in pairs if s is not None]
        processing = [p for _, p in pairs if p is not None]
        result[name] = {
            "submitted_seconds": submitted,
            "processing_seconds": processing,
            "median_submitted_seconds": _median(submitted),
            "median_processing_seconds": _median(processing),
        }
    return result


def questions(interactions: Sequence[Interaction]) -> dict[str, Any]:
    """Observed answers to the spec's open questions (spec 12), where the recording shows them."""
    answers: dict[str, Any] = {}
    externals: set[str] = set()
    for item in interactions:
        body, sort = item.response_json(), kind(item)
        code = body.get("code") if isinstance(body, dict) else None
        if sort == QUERY and (item.status >= 400 or code) and code not in _AUTH_CODES:
            answers.setdefault("q1_unknown_id", _answer(item))
        if sort == CREATE:
            request = item.request_json()
            external = request.get("external_task_id") if isinstance(request, dict) else None
            if external in externals:
                answers.setdefault("q3_duplicate_external_id", _answer(item))
            elif isinstance(external, str):
                externals.add(external)
        if sort == LIST and isinstance(body, dict) and isinstance(body.get("data"), list):
            order = _order([t.get("created_at") for t in body["data"] if isinstance(t, dict)])
            if order is not None:
                answers.setdefault("q14_list_order", order)
        if item.status >= 400 or (code not in (None, 0)):
            errors = answers.setdefault("errors", {})
            errors.setdefault(f"{item.status}/{code}", _answer(item))
    return answers


def fields(interactions: Sequence[Interaction]) -> dict[str, dict[str, list[str]]]:
    """The answers' field shapes by kind of exchange and HTTP status."""
    groups: dict[str, list[Any]] = defaultdict(list)
    for item in interactions:
        sort = kind(item)
        value = item.request_json() if sort == CALLBACK else item.response_json()
        if value is not None:
            groups[f"{sort} {item.status}"].append(value)
    return {name: to_json(shape_of(values)) for name, values in sorted(groups.items())}


def _answer(item: Interaction) -> dict[str, Any]:
    body = item.response_json()
    body = body if isinstance(body, dict) else {}
    return {
        "request": label(item),
        "http_status": item.status,
        "code": body.get("code"),
        "message": body.get("message"),
    }


def _order(created: list[Any]) -> str | None:
    times = [t for t in created if isinstance(t, int)]
    if len(set(times)) < 2:
        return None
    if times == sorted(times, reverse=True):
        return "newest first"
    return "oldest first" if times == sorted(times) else "unordered"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
