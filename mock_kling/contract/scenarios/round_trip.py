"""What one accepted create tells: a new task_id, a request_id, created_at near the submit, the
task queryable by its id, and its status moving on. Each difference is a finding; the check
fails once, naming them all."""

from __future__ import annotations

import time
from typing import Any

from mock_kling.contract.client.api import send_create, send_list, send_query
from mock_kling.contract.client.transport import Answer
from mock_kling.contract.generate.strategies import BENIGN_PROMPTS, external_id, minimal_body
from mock_kling.contract.kit import Kit
from mock_kling.contract.reporting.findings import Finding, age
from mock_kling.contract.scenarios.checks import ContractViolation, check_accepted, schema_findings

CLOCK_SKEW_S = 600.0  # created_at further than this from the submit's time is a finding
FAKE_STEP_S = 30.0


def check_round_trip(kit: Kit) -> None:
    """Submit one task and check what its answers tell; a ContractViolation with every finding."""
    found = round_trip(kit)
    if found:
        raise ContractViolation("round_trip", "; ".join(f.text for f in found), found)


def round_trip(kit: Kit) -> list[Finding]:
    target = kit.target
    before = _listed(send_list(target, 1, 500))
    submitted_s = target.now_s() if target.can_advance else time.time()
    answer = send_create(
        target, minimal_body(prompt=BENIGN_PROMPTS[0], external_task_id=external_id())
    )
    data = answer.body.get("data") if isinstance(answer.body, dict) else None
    if (
        answer.status != 200
        or answer.code != 0
        or not isinstance(data, dict)
        or "task_id" not in data
    ):
        check_accepted(answer, "round trip: a valid create", target.profile)
        raise ContractViolation("accepted", f"round trip: no task_id in {answer.describe()}")
    task_id = str(data["task_id"])
    found = schema_findings(answer.body, "create_response", target.profile)
    if any(str(task.get("task_id")) == task_id for task in before):
        found.append(
            Finding(
                "create:task_id_not_new",
                f"create returned task_id {task_id}, already listed before the submit",
            )
        )
    found += _timestamps(data, submitted_s)
    queried = send_query(target, task_id)
    queryable = _task(queried) is not None
    if not queryable and target.routes.lacks("query") is None:
        found.append(
            Finding(
                "query:lost",
                f"task accepted at submit cannot be queried back (GET {task_id}: "
                f"{queried.describe()})",
            )
        )
    found += _progress(kit, task_id, queryable, str(data.get("task_status")))
    return found


def _timestamps(data: dict[str, Any], submitted_s: float) -> list[Finding]:
    created = data.get("created_at")
    if not isinstance(created, int) or isinstance(created, bool):
        return []
    delta = created / 1000 - submitted_s
    if abs(delta) <= CLOCK_SKEW_S:
        return []
    side = "before" if delta < 0 else "after"
    return [Finding("created_at:off", f"created_at is {age(delta)} {side} the submit")]


def _progress(kit: Kit, task_id: str, queryable: bool, status: str) -> list[Finding]:
    """Watch the task (by query, else in the list) until it leaves submitted or time is up; not
    at all where time does not pass (a manual-clock fake the suite may not move)."""
    target, started = kit.target, time.monotonic()
    if not target.time_passes:
        return []
    if not queryable and target.routes.lacks("list") is not None:
        return [_unseen(task_id)]
    waited, limit = 0.0, 3600.0 if target.can_advance else kit.poll_budget_s
    while status in ("submitted", "None") and waited < limit:
        if target.can_advance:
            target.advance(FAKE_STEP_S)
            waited += FAKE_STEP_S
        else:
            kit.pass_time(kit.poll_interval_s)
            waited = time.monotonic() - started
            kit.progress(f"task {task_id}: {status} for {waited:.0f} s")
        status = _status(kit, task_id, queryable)
    if status == "None":
        return [_unseen(task_id)]
    if status == "submitted":
        return [Finding("progress:stuck", f"tasks never leave submitted in {limit:.0f} s")]
    return []


def _unseen(task_id: str) -> Finding:
    return Finding(
        "progress:unseen",
        f"tasks are never seen to progress: task {task_id} is neither queryable nor listed",
    )


def _status(kit: Kit, task_id: str, queryable: bool) -> str:
    if queryable:
        task = _task(send_query(kit.target, task_id))
        return str(task.get("task_status")) if task else "None"
    for task in _listed(send_list(kit.target, 1, 500)):
        if str(task.get("task_id")) == task_id:
            return str(task.get("task_status"))
    return "None"


def _task(answer: Answer) -> dict[str, Any] | None:
    data = answer.body.get("data") if isinstance(answer.body, dict) else None
    ok = answer.status == 200 and answer.code == 0 and isinstance(data, dict)
    return data if ok else None


def _listed(answer: Answer) -> list[dict[str, Any]]:
    data = answer.body.get("data") if isinstance(answer.body, dict) else None
    return [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []
