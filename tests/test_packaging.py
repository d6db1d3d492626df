"""`pip install .` gives a working fake: the wheel carries the contracts and finds them."""

from __future__ import annotations

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
    assert "mock_kling/contract_tests/conftest.py" in names  # `mock-kling contract` finds it
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "mock-kling = mock_kling.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_package_loads_contracts_from_inside_itself(wheel: Path, tmp_path: Path):
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    script = (
        "from mock_kling import contracts; "
        "print(contracts.schema_dir()); "
        "print(sorted(contracts.schema('create_request')['required']))"
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
