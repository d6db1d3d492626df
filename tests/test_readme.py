"""The README's Python snippets run as written (against a live fake where they need one)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .images import png_b64
from .test_serve import Server

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
SNIPPETS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.fixture(scope="module")
def live() -> Iterator[Server]:
    server = Server("--seed", "11")
    yield server
    server.stop()


def _run(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace


def test_dev_backend_snippet(live: Server):
    (snippet,) = [s for s in SNIPPETS if "BASE = " in s]
    code = snippet.replace("http://127.0.0.1:8000", live.url)
    code = code.replace("<raw base64 PNG/JPEG>", png_b64())
    namespace = _run(code)
    assert namespace["created"]["code"] == 0
    assert namespace["task"]["data"]["task_info"] == {"external_task_id": "order-42"}


def test_in_process_snippet():
    (snippet,) = [s for s in SNIPPETS if "create_app(" in s]
    namespace = _run(snippet)
    assert namespace["task"]["task_status"] == "succeed"
    assert namespace["app"].test_client().get("/__mock__/health").status_code == 200


def test_contracts_snippet():
    (snippet,) = [s for s in SNIPPETS if "contracts.validator" in s]
    body = {
        "code": 0,
        "message": "SUCCEED",
        "request_id": "9984d27b-a408-4073-ae28-17ca6a13622d",
        "data": {
            "task_id": "861309198188019719",
            "task_status": "processing",
            "task_info": {},
            "task_result": {},
            "created_at": 1722769557708,
            "updated_at": 1722769557708,
        },
    }
    _run("body = " + repr(body) + "\n" + snippet)
