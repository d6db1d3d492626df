"""The README's Python snippets run as written (against a live fake where they need one)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


def test_dev_backend_snippet_runs_as_written(live: Server):
    """After `pip install .`: only the standard library and mock-kling's own dependencies, its
    own images, a fresh external id on every run, and it prints what it got."""
    (snippet,) = [s for s in SNIPPETS if "BASE = " in s]
    assert _imports(snippet) <= set(sys.stdlib_module_names) | {"jwt"}
    env = {**os.environ, "KLING_BASE_URL": live.url}
    for _ in range(2):  # a second run is not refused for a used external_task_id
        run = subprocess.run(
            [sys.executable, "-c", snippet], env=env, capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0, run.stderr
        created, task = run.stdout.splitlines()
        assert re.fullmatch(r"created: \d{18} submitted", created)
        assert re.fullmatch(r"task: \d{18} \w+ \{'external_task_id': 'order-[0-9a-f]{8}'\}", task)


def _imports(code: str) -> set[str]:
    """The top-level modules `code` imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.partition(".")[0])
    return names


def test_in_process_snippet():
    (snippet,) = [s for s in SNIPPETS if "create_app(" in s]
    namespace = _run(snippet)
    assert namespace["task"]["task_status"] == "succeed"
    assert namespace["app"].test_client().get("/__mock__/health").status_code == 200


def test_contracts_snippet():
    (snippet,) = [s for s in SNIPPETS if "apispec.validator" in s]
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
