"""The site's generated parts (docs_hooks/generated.py) cover what the code has: every command and
option, every route of the served OpenAPI document, every service code, every layer. They are
rendered at build time, so they cannot go stale; these tests make sure they stay complete."""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path
from types import ModuleType

import click

from mock_kling import Config, create_app
from mock_kling.cli import main
from mock_kling.core.errors import SERVICE_CODES

ROOT = Path(__file__).resolve().parent.parent


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generated", ROOT / "docs_hooks" / "generated.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATED = _hook()


def test_the_cli_reference_has_every_command_and_option_with_its_default():
    text = GENERATED.cli_reference()
    context = click.Context(main)
    for name in main.list_commands(context):
        command = main.get_command(context, name)
        assert command is not None
        assert f"## mock-kling {name}\n" in text
        for param in command.params:
            if isinstance(param, click.Option):
                assert f"`{param.opts[0]}`" in text, (name, param.opts)
    serve = text[text.index("## mock-kling serve") : text.index("## mock-kling token")]
    assert "| `--workers` INTEGER RANGE | `1` | `MOCK_KLING_WORKERS` |" in serve
    assert "| `--submitted-seconds` FLOAT RANGE | `2.0` |" in serve


def test_the_control_api_reference_has_every_served_route():
    document = create_app(Config(seed=0)).test_client().get("/__mock__/openapi.json").get_json()
    text = GENERATED.control_api_reference()
    for path, item in document["paths"].items():
        for method in item:
            if method in {"get", "post", "delete", "put", "patch"}:
                assert f"| `{method.upper()}` | `{path}` |" in text


def test_the_error_table_is_the_code_table():
    rows = re.findall(r"^\| (\d+) \| (\d+) \|", GENERATED.error_codes(), flags=re.M)
    assert [(int(c), int(s)) for c, s in rows] == [
        (row.code, row.http_status) for row in SERVICE_CODES.values()
    ]


def test_the_layers_are_pyprojects():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    text = GENERATED.layers()
    for number, layer in enumerate(layers["layers"], start=1):
        for module in layer.split("|"):
            assert f"| {number} | `{module.strip()}` |" in text


def test_result_pages_render_the_committed_files():
    soak = json.loads((ROOT / "docs" / "results" / "soak.json").read_text(encoding="utf-8"))
    text = GENERATED.soak_results()
    assert soak["date"] in text
    assert soak["source"] in text
    assert f"{soak['requests']:,}" in text
    bench = GENERATED.benchmark_results()
    assert ("benchmarks/run.py --json docs/results/benchmarks.json") in bench
    replicas = json.loads((ROOT / "docs" / "results" / "replicas.json").read_text("utf-8"))
    text = GENERATED.replicas_results()
    assert "benchmarks/replicas.py --json docs/results/replicas.json" in text
    assert replicas["machine"]["source"] in text
    for row in replicas["cells"]["table"]["rows"]:
        assert " | ".join(row) in text
    for ratio in replicas["cells"]["ratios"]:
        assert f"| {ratio['ratio']} | {ratio['figure']} |" in text


def test_the_readmes_team_server_figures_are_those_of_the_committed_run():
    replicas = json.loads((ROOT / "docs" / "results" / "replicas.json").read_text("utf-8"))
    ratios = {row["ratio"]: float(row["figure"].rstrip("x")) for row in replicas["cells"]["ratios"]}
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    get = ratios["GET one task: redis w1 / memory"]
    sqlite = ratios["POST submit, 2 image URLs: sqlite w2 / w1"]
    redis = ratios["POST submit, 2 image URLs: redis w2 / w1"]
    assert f"on Redis runs at {get:.1f}x the memory store's rate" in readme
    assert f"adds {round((sqlite - 1) * 100)}% to the submits on SQLite" in readme
    assert f"and {round((redis - 1) * 100)}% on Redis" in readme


def test_pages_ask_only_for_known_sections():
    for page in (ROOT / "docs").rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        for name in re.findall(r"^<!-- generated: (\S+) -->$", text, flags=re.M):
            assert name in GENERATED.RENDERERS, (page, name)
