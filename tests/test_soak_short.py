"""A short run of tools/soak.py (16 clients, 5 s): everything it checks must hold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SOAK = Path(__file__).resolve().parent.parent / "tools" / "soak.py"


def test_short_soak_passes():
    result = subprocess.run(
        [sys.executable, str(SOAK), "--seconds", "5", "--clients", "16", "--json"],
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
