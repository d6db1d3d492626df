"""`pip install .` gives a working fake: the wheel carries the contracts and finds them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*command, "-w", str(out), str(ROOT)], check=True, timeout=300)
    (built,) = out.glob("mock_kling-*.whl")
    return built


def test_wheel_carries_schemas_typing_marker_and_command(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    schemas = {
        p.relative_to(ROOT / "schemas").as_posix() for p in (ROOT / "schemas").rglob("*.json")
    }
    assert "control/fault_rule.json" in schemas
    assert {f"mock_kling/schemas/{name}" for name in schemas} <= names
    assert "mock_kling/py.typed" in names
    ui = {p.name for p in (ROOT / "mock_kling" / "http" / "ui").iterdir()}
    assert {"index.html", "app.js", "app.css"} <= ui
    assert {f"mock_kling/http/ui/{name}" for name in ui} <= names  # the dashboard's page
    lua = {p.name for p in (ROOT / "mock_kling" / "store" / "redis" / "lua").glob("*.lua")}
    assert "commit.lua" in lua
    assert {f"mock_kling/store/redis/lua/{name}" for name in lua} <= names  # the Redis scripts
    suite = {n.removeprefix("mock_kling/contract/suite/") for n in names if "/suite/" in n}
    tests = {p.name for p in (ROOT / "contract_tests").glob("test_*.py")}
    assert tests <= suite  # `mock-kling contract` runs them; its library is mock_kling.contract
    assert {n for n in suite if not n.startswith("test_")} == {"__init__.py", "conftest.py"}
    assert not any(n.startswith("mock_kling/contract_tests/") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "mock-kling = mock_kling.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_package_loads_contracts_from_inside_itself(wheel: Path, tmp_path: Path):
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    script = (
        "from mock_kling import apispec; "
        "print(apispec.schema_dir()); "
        "print(sorted(apispec.schema('create_request')['required']))"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    location, required = result.stdout.splitlines()
    assert Path(location) == tmp_path / "site" / "mock_kling" / "schemas"
    assert required == "['image_list', 'prompt']"


@pytest.mark.slow
def test_mock_kling_contract_runs_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    """Installed without the checkout (pip install --target): the packaged suite runs through
    the plugin against the in-process fake and writes its report."""
    site = tmp_path / "site"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q"]
    subprocess.run([*command, "--target", str(site), str(wheel)], check=True, timeout=300)
    report = tmp_path / "report"
    contract = [sys.executable, "-m", "mock_kling", "contract", "--report", str(report)]
    result = subprocess.run(
        [*contract, "--", "-W", "error", "--hypothesis-profile", "mock-kling-dev"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "site/mock_kling/contract/suite/test_auth.py ." in result.stdout  # the packaged copy
    document = json.loads((report / "report.json").read_text())
    assert any(c["check"].startswith("test_auth.py::") for c in document["checks"])
    summary = document["summary"]
    assert summary["passed"] > 50
    assert "failed" not in summary
    assert " passed in " in result.stdout.splitlines()[-1]  # and no warning
    assert not (site / "mock_kling" / "contract" / "suite" / ".pytest_cache").exists()
