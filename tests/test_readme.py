"""The README's facts: its length, its two commands, and its Python snippets (and the docs' ones
they used to carry) run as written, against a live fake where they need one.

Every code block of README.md and docs/ also runs in tests/test_docs_examples.py; the tests here
keep the README's particular promises."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from .test_serve import Server

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = "".join(
    path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "docs").rglob("*.md"))
    if "drafts" not in path.parts
)
SNIPPETS = re.findall(r"```python\n(.*?)```", README + DOCS, flags=re.S)


def test_the_readme_is_short_and_has_a_table_of_contents():
    lines = README.splitlines()
    assert len(lines) <= 250
    contents = README[README.index("## Contents") : README.index("## Two commands")]
    listed = re.findall(r"\]\(#([a-z0-9-]+)\)", contents)
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line[3:].lower()).replace(" ", "-")
        for line in lines
        if line.startswith("## ")
    }
    assert listed, "no table of contents"
    assert set(listed) <= headings


def test_the_readme_test_command_is_the_one_ci_runs():
    """.ci/run runs the README's test command word for word."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    (command,) = re.findall(r"^pip install -e \S+ && scripts/check$", ci, flags=re.M)
    assert f"```sh\n{command}\n```" in README
    assert "```sh\npip install . && mock-kling serve\n```" in README


def test_the_readme_links_into_the_site():
    links = set(re.findall(r"\]\((docs/[^)#]+)", README))
    assert {"docs/getting-started.md", "docs/dev-backend.md", "docs/pytest-plugin.md"} <= links
    assert {"docs/contract-suite.md", "docs/team-server.md"} <= links
    for link in links:
        assert (ROOT / link).is_file(), link


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
    (snippet,) = {s for s in SNIPPETS if "BASE = " in s}  # the README and the dev backend page
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
    """The snippet validates its own body (a valid query answer) and raises on a broken one."""
    (snippet,) = [
        s for s in SNIPPETS if '.validator("query_response")' in s
    ]  # the schema bundle's example
    namespace = _run(snippet)
    assert namespace["body"]["data"]["task_status"] == "processing"
    with pytest.raises(jsonschema.ValidationError, match="'done'"):
        _run(snippet.replace('"task_status": "processing"', '"task_status": "done"'))
