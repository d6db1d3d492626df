"""The layers are checked by a machine: import-linter keeps the contracts in pyproject.toml, and
breaks when the core imports Flask or another layer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(lint), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=120
    )


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "mock_kling", tmp_path / "mock_kling", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_package_keeps_its_layers(tmp_path: Path):
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("line", "broken"),
    [
        ("import flask", "mock_kling.core is not allowed to import flask"),
        (
            "from mock_kling.http import app",
            "mock_kling.core is not allowed to import mock_kling.http",
        ),
        ("import pathlib", "mock_kling.core is not allowed to import pathlib"),
        ("import concurrent.futures", "mock_kling.core is not allowed to import concurrent"),
        ("import asyncio", "mock_kling.core is not allowed to import asyncio"),
    ],
)
def test_a_forbidden_import_in_the_core_breaks_the_contracts(
    tmp_path: Path, line: str, broken: str
):
    tree = _copy(tmp_path)
    clock = tree / "mock_kling" / "core" / "clock.py"
    clock.write_text(clock.read_text() + f"\n{line}  # noqa\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert broken in result.stdout


def test_the_core_keeps_threading_for_locks_only():
    """The core may hold locks; threads are started by adapters (mock_kling.callbacks.runner)."""
    for module in (ROOT / "mock_kling" / "core").glob("*.py"):
        text = module.read_text()
        for name in ("threading.Thread", "threading.Timer", "Thread(", "Timer("):
            assert name not in text, f"{module.name} starts a thread ({name})"
