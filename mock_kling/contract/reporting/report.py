"""The suite's report: first the numbered differences from Kling's documented contract (one line
each; endpoints the target lacks first), then check results (passed, failed, skipped for the
budget, not run for a missing endpoint), observations on what Kling's documentation leaves open
and the fake-vs-target drift table, gathered from test reports and written as JSON and
Markdown."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mock_kling.contract.reporting.findings import line, merge
from mock_kling.contract.scenarios.questions import QUESTIONS

if TYPE_CHECKING:  # the report reads pytest's reports; it needs no pytest to run
    import pytest

OBSERVATION, DRIFT, FINDING = "kling_observation", "kling_drift", "kling_finding"
NOT_RUN = "not run"  # the outcome of a check whose skip reason starts with it (routes.NotRun)
OPEN_QUESTIONS = (
    "Open questions: what Kling's API reference (Multi-Image to Video; General Information) "
    "leaves open"
)


class Recorder:
    """What a test observed; kept in its report's user_properties so it survives xdist."""

    def __init__(self, properties: list[tuple[str, object]] | None = None) -> None:
        self.properties: list[tuple[str, object]] = properties if properties is not None else []

    def observe(self, question: str, probe: str, target: str, fake: str | None = None) -> None:
        entry = {"question": question, "probe": probe, "target": target, "fake": fake}
        self.properties.append((OBSERVATION, entry))

    def drift(self, probe: str, equal: bool, target: Any, fake: Any) -> None:
        entry = {"probe": probe, "equal": equal, "target": target, "fake": fake}
        self.properties.append((DRIFT, entry))

    def entries(self, kind: str) -> list[dict[str, Any]]:
        return [value for key, value in self.properties if key == kind and isinstance(value, dict)]


@dataclass
class Report:
    """Collects reports during the session; written at its end."""

    meta: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    observations: list[dict[str, Any]] = field(default_factory=list)
    drift: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    wire: list[dict[str, Any]] = field(default_factory=list)  # seen by the meter, set at the end

    def differences(self) -> list[dict[str, Any]]:
        """The distinct differences: what the wire showed first, then what the round trip of one
        create showed, then the other checks' findings."""
        found = sorted(self.findings, key=lambda entry: "round_trip" not in entry.get("check", ""))
        merged = merge([*self.wire, *found])
        return sorted(merged, key=lambda entry: not str(entry["key"]).startswith("endpoint:"))

    def not_run(self) -> list[dict[str, Any]]:
        return [check for check in self.checks.values() if check["outcome"] == NOT_RUN]

    def difference_lines(self) -> list[str]:
        return [f"{number}. {line(entry)}" for number, entry in enumerate(self.differences(), 1)]

    def add(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.outcome != "passed":
            previous = self.checks.get(report.nodeid)
            if previous is None or previous["outcome"] == "passed":
                self.checks[report.nodeid] = _check(report)
        if report.when != "teardown":
            return  # the teardown report carries every property the test recorded
        for key, entry in report.user_properties:
            if key == OBSERVATION and isinstance(entry, dict):
                self.observations.append(dict(entry))
            elif key == DRIFT and isinstance(entry, dict):
                self.drift.append(dict(entry))
            elif key == FINDING and isinstance(entry, dict):
                self.findings.append({**entry, "check": _check_name(report.nodeid)})

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        document = self.document()
        text = json.dumps(document, indent=2, ensure_ascii=False, default=str)
        (folder / "report.json").write_text(text + "\n", encoding="utf-8")
        (folder / "report.md").write_text(markdown(document), encoding="utf-8")

    def document(self) -> dict[str, Any]:
        checks = sorted(self.checks.values(), key=lambda c: c["check"])
        counts: dict[str, int] = {}
        for check in checks:
            counts[check["outcome"]] = counts.get(check["outcome"], 0) + 1
        return {
            "differences": [entry["text"] for entry in self.differences()],
            "difference_lines": self.difference_lines(),
            "meta": {**self.meta, "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
            "summary": counts,
            "checks": checks,
            "open_questions": _by_question(self.observations),
            "drift": self.drift,
        }


def _check(report: pytest.TestReport) -> dict[str, Any]:
    outcome: str = (
        report.outcome if report.when == "call" or report.outcome == "skipped" else "error"
    )
    message = _message(report)
    if outcome == "skipped" and message.startswith(NOT_RUN + ":"):
        outcome = NOT_RUN
    return {
        "check": _check_name(report.nodeid),
        "outcome": outcome,
        "message": message,
        "seconds": round(report.duration, 3),
    }


def _check_name(nodeid: str) -> str:
    """The node id from the test file's name on ("test_auth.py::test_x[...]"), wherever the
    suite's folder is (a checkout's contract_tests/, a wheel's mock_kling/contract/suite/)."""
    path, separator, rest = nodeid.partition("::")
    return path.rpartition("/")[2] + separator + rest


def _message(report: pytest.TestReport) -> str:
    if report.passed:
        return ""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(longrepr)
    return text.strip().splitlines()[0] if text.strip() else ""


def _by_question(observations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for number, question in QUESTIONS.items():
        seen = [o for o in observations if o["question"] == number]
        rows.append({"question": number, "text": question, "observed": seen})
    return rows


def markdown(document: dict[str, Any]) -> str:
    meta = document["meta"]
    lines = ["# Kling contract report", ""]
    count = len(document["differences"])
    lines += [f"## {count} differences from Kling's documented contract", ""]
    lines += document["difference_lines"] or ["None seen."]
    lines += ["", "## Run", ""]
    lines += [f"- **{key}**: {value}" for key, value in meta.items()]
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(document["summary"].items()))
    lines += ["", f"Checks: {summary}.", "", "## Checks", "", "| Check | Result | Message |"]
    lines += ["| --- | --- | --- |"]
    lines += [
        f"| `{c['check']}` | {c['outcome']} | {_cell(c['message'])} |" for c in document["checks"]
    ]
    lines += ["", f"## {OPEN_QUESTIONS}", ""]
    lines += ["| Q | Question | Probe | Target | Fake |", "| --- | --- | --- | --- | --- |"]
    for row in document["open_questions"]:
        for seen in row["observed"] or [{"probe": "", "target": "not observed", "fake": ""}]:
            lines.append(
                f"| {row['question']} | {_cell(row['text'])} | {seen['probe']} | "
                f"{_cell(seen['target'])} | {_cell(seen.get('fake') or '')} |"
            )
    differing = sum(not row["equal"] for row in document["drift"])
    lines += [
        "",
        f"## Drift: {differing} of {len(document['drift'])} probes answer unlike the fake",
        "",
    ]
    lines += ["Masked: ids, timestamps, request ids, URLs, error messages.", ""]
    lines += ["| Probe | Same | Target | Fake |", "| --- | --- | --- | --- |"]
    for row in document["drift"]:
        same = "equal" if row["equal"] else "**different**"
        lines.append(
            f"| {row['probe']} | {same} | {_cell(_compact(row['target']))} | "
            f"{_cell(_compact(row['fake']))} |"
        )
    return "\n".join(lines) + "\n"


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _cell(text: Any, limit: int = 300) -> str:
    text = str(text).replace("|", "\\|").replace("\n", " ")
    return str(text) if len(text) <= limit else text[: limit - 3] + "..."
