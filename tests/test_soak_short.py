"""A short run of tools/soak.py (16 clients, 5 s): everything it checks must hold."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SOAK = Path(__file__).resolve().parent.parent / "tools" / "soak.py"


def test_short_soak_passes(tmp_path: Path):
    out = tmp_path / "soak.json"
    result = subprocess.run(
        [
            sys.executable,
            str(SOAK),
            "--seconds",
            "5",
            "--clients",
            "16",
            "--json",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["problems"] == []
    assert summary["unexpected_errors"] == 0
    assert summary["tasks_accepted"] > 0
    assert summary["requests"] > summary["tasks_accepted"]
    assert set(summary["by_kind"]) == {"submit", "poll", "list"}
    # the file the docs' reliability page renders: the same summary, dated, with its commit
    assert json.loads(out.read_text()) == summary
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", summary["date"])
    assert summary["source"].startswith("commit ") or summary["source"] == "unknown"
