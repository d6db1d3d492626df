"""Extras by use: the fixtures' extra holds what the fixtures import, the contract extra what
the suite imports, and the downgrade check of scripts/extras_resolve.py reads pip's report."""

from __future__ import annotations

import ast
import importlib.util
import sys
import tomllib
from pathlib import Path
from types import ModuleType

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = PROJECT["optional-dependencies"]
# import name -> distribution name, where they differ
_DISTRIBUTION = {
    "PIL": "pillow",
    "jwt": "pyjwt",
    "yaml": "pyyaml",
    "jsonschema_rs": "jsonschema-rs",
}


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "extras_resolve", ROOT / "scripts/extras_resolve.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _core() -> set[str]:
    """The core's distributions, and werkzeug, which Flask brings."""
    return _names(PROJECT["dependencies"]) | {"werkzeug"}


def _names(specs: list[str]) -> set[str]:
    return {Requirement(spec).name.lower() for spec in specs}


def _third_party_imports(*folders: Path) -> set[str]:
    names: set[str] = set()
    for folder in folders:
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names |= {alias.name.partition(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.partition(".")[0])
    names -= set(sys.stdlib_module_names) | {"mock_kling", "_pytest"}
    return {_DISTRIBUTION.get(name, name).lower() for name in names}


def test_the_fixtures_extra_is_what_the_fixtures_import() -> None:
    core = _core()
    used = _third_party_imports(ROOT / "mock_kling/testing") - core
    # requests and httpx: the clients the fixtures hand out (imported when asked for)
    assert _names(EXTRAS["test"]) == used | {"requests", "httpx"}


def test_the_contract_extra_is_what_the_suite_imports() -> None:
    core = _core()
    used = _third_party_imports(ROOT / "mock_kling/contract", ROOT / "contract_tests") - core
    assert _names(EXTRAS["contract"]) == used


def test_the_project_test_stack_is_in_dev_only() -> None:
    users = set().union(
        *(_names(EXTRAS[e]) for e in ("test", "contract", "requests", "httpx", "redis"))
    )
    assert not users & {"selenium", "schemathesis", "pytest-xdist", "hypothesis-jsonschema"}
    assert {"selenium", "schemathesis", "pytest-xdist"} <= _names(EXTRAS["dev"])


def test_a_downgrade_in_pips_report_is_named() -> None:
    installed = {"jsonschema-rs": "0.61.2", "pytest": "9.2.0"}
    report = {
        "install": [
            {"metadata": {"name": "jsonschema_rs", "version": "0.60.3"}},
            {"metadata": {"name": "pytest", "version": "9.2.0"}},
            {"metadata": {"name": "mock-kling", "version": "1.0"}},
        ]
    }
    assert _script().downgrades(installed, report) == ["jsonschema-rs: 0.61.2 -> 0.60.3"]


def test_the_newest_of_each_extra_dependency_is_asked_for() -> None:
    wanted = _script().newest_requirements(PROJECT, ["contract", "redis"])
    assert {"hypothesis", "redis"} <= set(wanted)  # by name: the newest release
    assert any(spec.startswith("uvicorn") and "<" in spec for spec in wanted)  # core: as written
