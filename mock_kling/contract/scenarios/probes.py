"""Probes of what Kling's documentation leaves open (questions.py): a few requests each, whose
answers are summarised for the report and compared between the fake and the target (drift)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_kling.contract.client.api import send_create, send_list, send_probe, send_query, submit
from mock_kling.contract.client.polling import follow_to_end
from mock_kling.contract.client.transport import Answer
from mock_kling.contract.generate.strategies import BENIGN_PROMPTS, external_id, minimal_body
from mock_kling.contract.kit import Kit
from mock_kling.contract.scenarios.history import TaskHistory


@dataclass(frozen=True)
class Exchange:
    """One request of a probe and its answer; `endpoint` is create, query, list or other."""

    label: str
    endpoint: str
    answer: Answer

    def view(self) -> dict[str, Any]:
        answer = self.answer
        body = answer.body if answer.body is not None else answer.raw[:200].decode(errors="replace")
        return {
            "request": self.label,
            "status": answer.status,
            "type": answer.mimetype,
            "body": body,
        }


Run = Callable[[Kit], list[Exchange]]


@dataclass(frozen=True)
class Probe:
    """`cost`: accepted submits it may spend on a real API (skipped when the budget is short)."""

    name: str
    question: str
    cost: int
    run: Run
    needs: tuple[str, ...] = ()  # what of the target it needs (routes.ENDPOINTS)


def valid_body(**extra: Any) -> dict[str, Any]:
    return minimal_body(**{"prompt": BENIGN_PROMPTS[2], **extra})


def summary(exchanges: list[Exchange]) -> str:
    """ "label: HTTP s code c (message); ..." for every exchange."""
    return "; ".join(f"{e.label}: {_brief(e.answer)}" for e in exchanges)


def _brief(answer: Answer) -> str:
    body = answer.body
    if not isinstance(body, dict):
        return f"HTTP {answer.status} {answer.mimetype or 'no content type'} (not a JSON object)"
    data = body.get("data", "absent")
    shape = f"data {_shape(data)}" if "data" in body else "no data"
    return f"HTTP {answer.status} code {body.get('code')!r} {body.get('message')!r}, {shape}"


def _shape(data: Any) -> str:
    if isinstance(data, list):
        return f"list of {len(data)}"
    if isinstance(data, dict):
        return "{" + ", ".join(sorted(data)) + "}"
    return repr(data)


def _get(label: str, endpoint: str, answer: Answer) -> Exchange:
    return Exchange(label, endpoint, answer)


def unknown_task_id(kit: Kit) -> list[Exchange]:
    return [_get("GET unknown task_id", "query", send_query(kit.target, "999999999999999990"))]


def unknown_external_id(kit: Kit) -> list[Exchange]:
    ref = "ct-probe-never-created"
    return [_get("GET unknown external id", "query", send_query(kit.target, ref))]


def out_of_range_paging(kit: Kit) -> list[Exchange]:
    cases = [(0, 10), (1001, 10), (1, 0), (1, 501)]
    return [
        _get(f"list pageNum={n} pageSize={s}", "list", send_list(kit.target, n, s))
        for n, s in cases
    ]


def page_past_the_end(kit: Kit) -> list[Exchange]:
    return [_get("list pageNum=1000 pageSize=500", "list", send_list(kit.target, 1000, 500))]


def wrong_method_and_path(kit: Kit) -> list[Exchange]:
    target = kit.target
    put = target.request("PUT", target.api_path(), json={})
    unknown = target.request("GET", f"{target.prefix}/videos/no-such-endpoint")
    malformed = send_probe(target, data=b"{", headers={"Content-Type": "application/json"})
    return [
        _get("PUT create path", "other", put),
        _get("GET unknown path", "other", unknown),
        _get("POST malformed JSON", "create", malformed),
    ]


def _create(label: str, body: dict[str, Any]) -> Run:
    return lambda kit: [_get(label, "create", send_create(kit.target, body))]


def _probe(label: str, body: dict[str, Any]) -> Run:
    """A create meant to be refused (a probe: under its own cap on a paid target)."""
    return lambda kit: [_get(label, "create", send_probe(kit.target, body))]


def duplicate_external_id(kit: Kit) -> list[Exchange]:
    ext = external_id()
    first = send_create(kit.target, valid_body(external_task_id=ext))
    second = send_create(kit.target, valid_body(external_task_id=ext))
    return [
        _get("create with a new external id", "create", first),
        _get("create again", "create", second),
    ]


def list_order(kit: Kit) -> list[Exchange]:
    older = submit(kit.target, valid_body(), "probe list-order: first")
    newer = submit(kit.target, valid_body(), "probe list-order: second")
    answer = send_list(kit.target, 1, 2)
    ids = (
        [t.get("task_id") for t in answer.body.get("data") or []]
        if isinstance(answer.body, dict)
        else []
    )
    order = {
        (newer["task_id"], older["task_id"]): "newest first",
        (older["task_id"], newer["task_id"]): "oldest first",
    }
    return [
        _get(
            f"list pageNum=1 pageSize=2 after two creates: {order.get(tuple(ids), 'other')}",
            "list",
            answer,
        )
    ]


def finished_task(kit: Kit) -> list[Exchange]:
    created = submit(kit.target, valid_body(), "probe finished-task")
    task = TaskHistory.from_created(created, None)
    follow_to_end(kit, [task], "probe finished-task", step_s=5.0)
    final = send_query(kit.target, task.task_id)
    return [_get(f"query the task at {task.status} (watermark off)", "query", final)]


PROBES: tuple[Probe, ...] = (
    Probe("unknown-task-id", "q1", 0, unknown_task_id, ("query",)),
    Probe("unknown-external-id", "q2", 0, unknown_external_id, ("query_external",)),
    Probe("out-of-range-paging", "q14", 0, out_of_range_paging, ("list",)),
    Probe("page-past-the-end", "q14", 0, page_past_the_end, ("list",)),
    Probe("wrong-method-path-json", "q4", 0, wrong_method_and_path),
    Probe(
        "unknown-model",
        "q7",
        0,
        _probe("model_name kling-v0-probe", valid_body(model_name="kling-v0-probe")),
    ),
    Probe("numeric-duration", "q7", 1, _create("duration 5 (a number)", valid_body(duration=5))),
    Probe(
        "unknown-fields",
        "q9",
        1,
        _create("cfg_scale and static_mask added", valid_body(cfg_scale=0.5, static_mask="")),
    ),
    Probe(
        "legacy-model-field",
        "q9",
        1,
        _create("model instead of model_name", valid_body(model="kling-v1-6")),
    ),
    Probe("create-response", "q10", 1, _create("a plain valid create", valid_body())),
    Probe("duplicate-external-id", "q3", 2, duplicate_external_id),
    Probe("list-order", "q14", 2, list_order, ("list",)),
    Probe("finished-task", "q13", 1, finished_task, ("query", "time")),
)


def facts(exchanges: list[Exchange]) -> dict[str, str]:
    """Answers to the cross-cutting questions that any probe's answers tell (by question)."""
    bodies = [(e, e.answer.body) for e in exchanges if isinstance(e.answer.body, dict)]
    found: dict[str, str] = {}
    successes = sorted({repr(b.get("message")) for _, b in bodies if b.get("code") == 0})
    if successes:
        found["q11"] = "success message " + ", ".join(successes)
    errors = sorted({_data_of(b) for _, b in bodies if b.get("code") not in (0, None)})
    if errors:
        found["q17"] = "error bodies: " + ", ".join(errors)
    created = [b for e, b in bodies if e.endpoint == "create" and b.get("code") == 0]
    if created:
        data = created[0].get("data") or {}
        info = f"present: {data['task_info']!r}" if "task_info" in data else "absent"
        request_id = "present" if created[0].get("request_id") else "absent"
        found["q10"] = f"task_info {info}; request_id {request_id}"
    tasks = [
        b["data"] for e, b in bodies if e.endpoint == "query" and isinstance(b.get("data"), dict)
    ]
    for task in tasks:
        found.update(_task_facts(task))
    return found


def _data_of(body: dict[str, Any]) -> str:
    return "data absent" if "data" not in body else f"data {body['data']!r}"


def _task_facts(task: dict[str, Any]) -> dict[str, str]:
    status = task.get("task_status")
    videos = (task.get("task_result") or {}).get("videos") or [{}]
    watermark = videos[0].get("watermark_url", "absent")
    shown = "absent" if watermark == "absent" else ("a URL" if watermark else repr(watermark))
    deduction = task.get("final_unit_deduction", "absent")
    return {
        "q12": f"at {status} with watermark off: watermark_url {shown}, "
        f"watermark_info {task.get('watermark_info', 'absent')!r}",
        "q13": f"at {status}: final_unit_deduction {deduction!r} ({type(deduction).__name__})",
    }
