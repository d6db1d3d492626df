"""Install each user extra beside the newest versions of its dependencies; fail on a downgrade.

A fresh venv gets the newest release of every dependency of the user extras (the core's own
dependencies within their specifiers), then `pip install --dry-run --report` resolves
`mock-kling[EXTRA]` from the local wheel for each extra: a package that resolution would move
to an older version than the one installed is a downgrade, printed, and the exit status is 1.
Needs the package index pip is configured with (scripts/check runs it; the tests do not)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
USER_EXTRAS = ("test", "contract", "requests", "httpx", "redis")


def downgrades(installed: Mapping[str, str], report: Mapping[str, Any]) -> list[str]:
    """'name: installed -> resolved' for each package `report` (pip's installation report)
    would install at a version older than `installed` holds."""
    found = []
    for item in report.get("install", ()):
        metadata = item["metadata"]
        name = canonicalize_name(metadata["name"])
        if name in installed and Version(metadata["version"]) < Version(installed[name]):
            found.append(f"{name}: {installed[name]} -> {metadata['version']}")
    return found


def newest_requirements(project: Mapping[str, Any], extras: Iterable[str]) -> list[str]:
    """The core's requirements as written, and every extra's dependencies by name alone."""
    wanted = list(project["dependencies"])
    optional = project["optional-dependencies"]
    for extra in extras:
        for spec in optional[extra]:
            name = Requirement(spec).name
            if canonicalize_name(name) != "mock-kling" and name not in wanted:
                wanted.append(name)
    return wanted


def _run(*command: str | Path) -> str:
    return subprocess.run(
        [str(part) for part in command], check=True, capture_output=True, text=True
    ).stdout


def main() -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    with tempfile.TemporaryDirectory() as folder:
        where = Path(folder)
        _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
             "-w", where, ROOT)  # fmt: skip
        (wheel,) = where.glob("mock_kling-*.whl")
        _run(sys.executable, "-m", "venv", where / "venv")
        python = where / "venv" / "bin" / "python"
        _run(python, "-m", "pip", "install", "-q", "--upgrade", "pip")
        _run(python, "-m", "pip", "install", "-q", "--upgrade",
             *newest_requirements(project, USER_EXTRAS))  # fmt: skip
        listed = json.loads(_run(python, "-m", "pip", "list", "--format", "json"))
        installed = {canonicalize_name(p["name"]): p["version"] for p in listed}
        failed = False
        for extra in USER_EXTRAS:
            report_file = where / f"{extra}.json"
            _run(python, "-m", "pip", "install", "-q", "--dry-run", "--report", report_file,
                 f"mock-kling[{extra}] @ {wheel.as_uri()}")  # fmt: skip
            found = downgrades(installed, json.loads(report_file.read_text()))
            print(f"mock-kling[{extra}]: " + ("; ".join(found) or "nothing downgraded"))
            failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
