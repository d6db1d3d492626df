"""The three Kling calls on a target, each answer checked against its contract."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from mock_kling.contract.client.target import Target
from mock_kling.contract.client.transport import Answer
from mock_kling.contract.scenarios.checks import ContractViolation, check_accepted, check_answer


def send_create(
    target: Target,
    body: Any = None,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """POST a create request as is (no checks); the target's meter counts it and may refuse to
    send it (a skip) when the cap is reached."""
    return target.request("POST", target.api_path(), headers=headers, json=body, data=data)


def send_probe(
    target: Target,
    body: Any = None,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """POST a create request meant to be refused: a probe, under its own cap on a paid target
    (a target looser than the docs may accept, and bill, it)."""
    with target.meter.probing():
        return send_create(target, body, data=data, headers=headers)


def submit(target: Target, body: dict[str, Any], where: str) -> dict[str, Any]:
    """Create a task that must be accepted (one paid submit on a real API); its `data`."""
    target.budget.require(1)
    answer = send_create(target, body)
    check_accepted(answer, where, target.profile)
    data: dict[str, Any] = answer.body["data"]
    return data


def send_query(target: Target, ref: str) -> Answer:
    return target.request("GET", target.api_path("/" + quote(ref, safe="")))


def send_list(target: Target, page_num: int | str | None, page_size: int | str | None) -> Answer:
    params = [f"{name}={value}" for name, value in (("pageNum", page_num), ("pageSize", page_size))]
    chosen = [p for p, v in zip(params, (page_num, page_size), strict=True) if v is not None]
    query = "?" + "&".join(chosen) if chosen else ""
    return target.request("GET", target.api_path() + query)


def query_task(target: Target, ref: str, where: str) -> dict[str, Any]:
    """One task by task_id or external_task_id; the answer must be a conforming 200."""
    answer = send_query(target, ref)
    check_ok(answer, "query", where, target.profile)
    data: dict[str, Any] = answer.body["data"]
    return data


def list_tasks(target: Target, page_num: int, page_size: int, where: str) -> list[dict[str, Any]]:
    answer = send_list(target, page_num, page_size)
    check_ok(answer, "list", where, target.profile)
    data: list[dict[str, Any]] = answer.body["data"]
    return data


def check_ok(answer: Answer, endpoint: str, where: str, profile: str = "official") -> None:
    check_answer(answer, endpoint, where, profile)
    if answer.status != 200:
        raise ContractViolation(
            f"{endpoint}_ok", f"{where}: expected HTTP 200 code 0, got {answer.describe()}"
        )
