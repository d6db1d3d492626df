"""The drift report (`mock-kling drift`): how a recording differs from the contracts and from
the fake's behaviour, differences first."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mock_kling.apispec import derived
from mock_kling.contract.reporting.masking import mask
from mock_kling.core.config import Config
from mock_kling.core.tasks import FAILED, PROCESSING, SUBMITTED, SUCCEED
from mock_kling.record.cassette import Interaction
from mock_kling.record.fakerun import FakeRun, run_fake, submitted_and_processing
from mock_kling.record.ks import ks_2samp
from mock_kling.record.observe import CALLBACK, CREATE, LIST, QUERY, kind, label, traces
from mock_kling.record.shapes import paths

ALPHA = 0.05  # a timing distribution differs when the KS p-value is below this
LIFECYCLE = frozenset(
    {(SUBMITTED, PROCESSING), (PROCESSING, SUCCEED), (PROCESSING, FAILED), (SUBMITTED, FAILED)}
)
_SCHEMAS = {CREATE: "create_response", QUERY: "query_response", LIST: "list_response"}
_UNSTABLE = frozenset({"task_status", "task_status_msg", "duration"})  # vary task to task


@dataclass
class Report:
    """Numbered differences, then notes (what matched, what could not be compared)."""

    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"{len(self.differences)} differences between the recording and the fake:"]
        lines += [f"  {n}. {text}" for n, text in enumerate(self.differences, 1)]
        return "\n".join([*lines, *self.notes])


def drift(interactions: Sequence[Interaction], config: Config) -> Report:
    report = Report()
    run = run_fake(interactions, config)
    _contracts(interactions, config.profile, report)
    _answers(interactions, run, report)
    _shapes(interactions, run, report)
    _sequences(interactions, report)
    _timings(interactions, run, report)
    return report


def _contracts(interactions: Sequence[Interaction], profile: str, report: Report) -> None:
    """Each recorded body against the profile's contract; one line per distinct violation."""
    found: dict[str, list[int]] = defaultdict(list)
    checked = 0
    for n, item in enumerate(interactions, 1):
        sort, body = kind(item), item.response_json()
        schema = _SCHEMAS.get(sort) if item.status == 200 else "error_response"
        if sort == CALLBACK:
            schema, body = "callback", item.request_json()
        if schema is None or body is None:
            continue
        checked += 1
        for error in derived.validator(profile, schema).iter_errors(body):
            where = "/".join(str(p) for p in error.absolute_path) or "the body"
            found[f"contract {schema}: at {where}: {error.message}"].append(n)
    for text, numbers in found.items():
        first = interactions[numbers[0] - 1]
        report.differences.append(
            f"{text} ({len(numbers)} answers, first #{numbers[0]} {label(first)})"
        )
    report.notes.append(f"contracts: {checked} recorded bodies checked ({profile} profile)")


def _answers(interactions: Sequence[Interaction], run: FakeRun, report: Report) -> None:
    for n, (item, mine) in enumerate(zip(interactions, run.answers, strict=True), 1):
        if mine is None:
            continue
        recorded = (item.status, _code(item.response_json()))
        if recorded != (mine[0], _code(mine[1])):
            report.differences.append(
                f"answer #{n} {label(item)}: the recording has HTTP {recorded[0]} code "
                f"{recorded[1]}, the fake answers HTTP {mine[0]} code {_code(mine[1])}"
            )


def _shapes(interactions: Sequence[Interaction], run: FakeRun, report: Report) -> None:
    theirs = _fields(
        (kind(i), i.status, i.response_json()) for i in interactions if kind(i) != CALLBACK
    )
    ours = _fields(
        [
            *((kind(i), a[0], a[1]) for i, a in zip(interactions, run.answers, strict=True) if a),
            *((QUERY, 200, body) for body in run.final),
        ]
    )
    for group in sorted(theirs.keys() & ours.keys()):
        recorded, fake = theirs[group], ours[group]
        for path in sorted(recorded.keys() | fake.keys()):
            text = _field_difference(recorded.get(path), fake.get(path))
            if text:
                report.differences.append(f"field {path} ({group}): {text}")
    only = sorted(theirs.keys() - ours.keys())
    if only:
        report.notes.append(f"fields: not compared (the fake showed none): {', '.join(only)}")


def _sequences(interactions: Sequence[Interaction], report: Report) -> None:
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for trace in traces(interactions).values():
        statuses = trace.statuses()
        for pair in itertools.pairwise(statuses):
            seen[pair] += 1
    for (before, after), count in sorted(seen.items()):
        if (before, after) not in LIFECYCLE:
            report.differences.append(
                f"status sequence {before} -> {after} ({count} tasks): the fake never does this"
            )


def _timings(interactions: Sequence[Interaction], run: FakeRun, report: Report) -> None:
    recorded = [t.durations() for t in traces(interactions).values()]
    fake = [submitted_and_processing(task) for task in run.tasks]
    for index, state in enumerate(("submitted", "processing")):
        theirs = _present(d[index] for d in recorded)
        ours = _present(d[index] for d in fake)
        if not theirs or not ours:
            report.notes.append(f"timing {state}: not compared (no samples on one side)")
            continue
        result = ks_2samp(theirs, ours)
        text = (
            f"timing {state}: median {_median(theirs)} s recorded (n={len(theirs)}), "
            f"{_median(ours)} s in the fake (n={len(ours)}); "
            f"KS statistic {result.statistic:.3f}, p-value {result.p_value:.3g}"
        )
        (report.differences if result.p_value < ALPHA else report.notes).append(text)


def _fields(answers: Iterable[tuple[str, int, Any]]) -> dict[str, dict[str, dict[str, set[Any]]]]:
    """By group ("query 200 envelope", "task succeed"): path -> {"types", "values"}."""
    groups: dict[str, dict[str, dict[str, set[Any]]]] = defaultdict(dict)
    for sort, status, body in answers:
        if not isinstance(body, dict):
            continue
        data = body.get("data")
        tasks = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        tasks = [t for t in tasks if isinstance(t, dict) and "task_status" in t]
        envelope = {k: v for k, v in body.items() if k != "data" or not tasks}
        _add(groups[f"{sort} {status}"], envelope, "")
        for task in tasks:
            _add(groups[f"task {task['task_status']}"], task, "task")
    return groups


def _add(group: dict[str, dict[str, set[Any]]], value: Any, prefix: str) -> None:
    masked = mask(value)
    for path, sort in paths(masked, prefix):
        entry = group.setdefault(path, {"types": set(), "values": set()})
        entry["types"].add(sort)
    for path, leaf in _leaves(masked, prefix):
        group[path]["values"].add(leaf)


def _leaves(value: Any, prefix: str) -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in _UNSTABLE:
                yield from _leaves(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, f"{prefix}[]")
    else:
        yield prefix, value


def _field_difference(
    recorded: dict[str, set[Any]] | None, fake: dict[str, set[Any]] | None
) -> str:
    if recorded is None:
        return "in the fake's answers, missing from the recording"
    if fake is None:
        return "in the recording, not in the fake's answers"
    if recorded["types"] != fake["types"]:
        theirs, ours = "/".join(sorted(recorded["types"])), "/".join(sorted(fake["types"]))
        return f"type {theirs} recorded, {ours} in the fake"
    values, mine = recorded["values"], fake["values"]
    if len(values) == 1 and len(mine) == 1 and values != mine:
        return f"value {next(iter(values))!r} recorded, {next(iter(mine))!r} in the fake"
    return ""


def _present(values: Iterable[float | None]) -> list[float]:
    return [value for value in values if value is not None]


def _code(body: Any) -> Any:
    return body.get("code") if isinstance(body, dict) else None


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
