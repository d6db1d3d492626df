"""A value added to a contract alone (a `mode` in create_request.json, not in the fake's MODES)
is found at start: `serve` exits 2 with one line naming the value and the table before its
banner, and the fixtures fail with that line, instead of every submit answering 500/5000."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mock_kling.apispec import bundle

ROOT = Path(__file__).resolve().parent.parent


def _with_ultra(tmp_path: Path) -> Path:
    """A copy of the package whose create_request.json lists mode "ultra"; the core is as is."""
    copy = tmp_path / "site"
    shutil.copytree(
        ROOT / "mock_kling", copy / "mock_kling", ignore=shutil.ignore_patterns("__pycache__")
    )
    schemas = Path(str(bundle.schema_dir()))
    shutil.copytree(schemas, copy / "mock_kling" / "schemas", dirs_exist_ok=True)
    path = copy / "mock_kling" / "schemas" / "create_request.json"
    contract = json.loads(path.read_text())
    contract["properties"]["mode"]["enum"].append("ultra")
    path.write_text(json.dumps(contract))
    return copy


def _env(site: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(site)}


def test_the_bundled_contracts_agree_with_the_tables() -> None:
    assert bundle.disagreement() is None


@pytest.mark.slow
def test_serve_refuses_to_start_with_one_line(tmp_path: Path) -> None:
    site = _with_ultra(tmp_path)
    command = [sys.executable, "-m", "mock_kling", "serve", "--port", "0", "--clock", "manual"]
    try:
        run = subprocess.run(
            command, cwd=tmp_path, env=_env(site), capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:  # it started and served
        pytest.fail("serve started with a mode the fake cannot render")
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout == ""  # no banner
    (line,) = run.stderr.splitlines()
    assert "'ultra' is in create_request.json" in line
    assert "mock_kling.core.tasks.MODES" in line


@pytest.mark.slow
def test_the_fixtures_refuse_to_start(
    tmp_path: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _with_ultra(tmp_path)
    pytester.makepyfile(
        """
        def test_served(kling_fake):
            pass

        def test_in_process(kling_inprocess):
            pass
        """
    )
    monkeypatch.setenv("PYTHONPATH", str(site))  # the subprocess imports the copy
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        ["*cannot start the fake: *'ultra' is in create_request.json*MODES*"]
    )
