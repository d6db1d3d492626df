"""Kling's JSON shapes: the {code, message, request_id, data} envelope and the task object."""

from __future__ import annotations

import json
from typing import Any

import orjson

from mock_kling.core.errors import KlingError
from mock_kling.core.tasks import SUCCEED, TERMINAL, Step, Task

SUCCESS_MESSAGE = "SUCCEED"
MEDIA_PATH = "/__mock__/media"


def envelope(data: Any, request_id: str) -> dict[str, Any]:
    return {"code": 0, "message": SUCCESS_MESSAGE, "request_id": request_id, "data": data}


def json_bytes(value: Any) -> bytes:
    """`value` (dicts, lists, str, int, bool, None: no floats) as compact JSON exactly as
    `json.dumps(value, separators=(",", ":"))` writes it (non-ASCII and DEL escaped): orjson's
    output when it is the same, json's otherwise."""
    try:
        fast = orjson.dumps(value)
    except TypeError:  # an int beyond 64 bits, a lone surrogate
        fast = b"\x7f"
    if fast.isascii() and b"\x7f" not in fast:
        return fast
    return json.dumps(value, separators=(",", ":")).encode()


# `{"code":0,"message":...,"request_id":"`: what precedes a request id in every success answer
_ENVELOPE_HEAD = json_bytes(envelope(None, "RID")).split(b"RID")[0]


def envelope_json(data: bytes, request_id: str) -> bytes:
    """`envelope(data, request_id)` as Flask answers it (compact JSON and a newline), around
    `data` that is JSON already."""
    if request_id.isascii() and request_id.replace("-", "").isalnum():  # ours: nothing to escape
        return b"".join((_ENVELOPE_HEAD, request_id.encode(), b'","data":', data, b"}\n"))
    head = json_bytes(envelope(None, request_id))  # ...,"data":null}: data is the last key
    return head[: -len(b"null}")] + data + b"}\n"


def error_body(error: KlingError, request_id: str) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "request_id": request_id}


def created(task: Task, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    """`data` of the create response: the task as it is at creation (only `keys`, if given)."""
    data = {
        "task_id": task.task_id,
        "task_status": task.timeline[0].status,
        "task_info": _task_info(task),
        "created_at": task.created_at,
        "updated_at": task.timeline[0].at_ms,
    }
    return data if keys is None else {key: data[key] for key in keys}


def task_object(task: Task, step: Step, media_url: str) -> dict[str, Any]:
    """The task object of query, list and callback bodies, as it is at `step`."""
    body: dict[str, Any] = {
        "task_id": task.task_id,
        "task_status": step.status,
        "task_status_msg": step.status_msg,
        "task_info": _task_info(task),
        "task_result": _task_result(task, step.status, media_url),
        "watermark_info": {"enabled": task.request.watermark_enabled},
        "created_at": task.created_at,
        "updated_at": step.at_ms,
    }
    if step.status in TERMINAL:
        body["final_unit_deduction"] = task.request.unit_cost if step.status == SUCCEED else "0"
    return body


def video_path(video_id: str, watermark: bool = False) -> str:
    return f"{MEDIA_PATH}/{video_id}{'-watermark' if watermark else ''}.mp4"


def _task_info(task: Task) -> dict[str, Any]:
    external = task.request.external_task_id
    return {} if external is None else {"external_task_id": external}


def _task_result(task: Task, status: str, media_url: str) -> dict[str, Any]:
    if status != SUCCEED:
        return {}
    video = {
        "id": task.video_id,
        "url": media_url + video_path(task.video_id),
        "watermark_url": media_url + video_path(task.video_id, watermark=True),
        "duration": task.request.duration,
    }
    return {"videos": [video]}
