"""MkDocs hook: renders the generated parts of the site at build time, from the code itself.

A page asks for one with a line of its own, `<!-- generated: NAME -->`; NAME is one of
`RENDERERS`. Nothing generated is committed, so nothing generated can go stale.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results"
MARKER = "<!-- generated: "


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Each marker line replaced by what it names; an unknown name fails the build."""
    lines = []
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith(MARKER) and stripped.endswith("-->"):
            name = stripped[len(MARKER) : -3].strip()
            if name not in RENDERERS:
                raise ValueError(f"unknown generated section {name!r} (known: {sorted(RENDERERS)})")
            lines.append(RENDERERS[name]())
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


# --- the command line ----------------------------------------------------------------------------


def cli_reference() -> str:
    """Every command of `mock-kling`: its help, then a table of its options with their defaults
    and environment variables, as click holds them."""
    from mock_kling.cli import main

    out = []
    context = click.Context(main, info_name="mock-kling")
    group: click.Group = main
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        sub = click.Context(command, info_name=name, parent=context)
        out.append(f"## mock-kling {name}\n")
        out.append(_escape(inspect.cleandoc(command.help or "")) + "\n")
        out.append(f"```text\n{sub.get_usage()}\n```\n")
        rows = ["| Option | Default | Environment | Meaning |", "| --- | --- | --- | --- |"]
        for param in command.get_params(sub):
            if not isinstance(param, click.Option) or param.hidden:
                continue
            names = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
            if param.metavar or not param.is_flag:
                names += f" {_escape(param.make_metavar(sub))}"
            default = _default(param, sub)
            env = f"`{param.envvar}`" if isinstance(param.envvar, str) else ""
            meaning = _escape(" ".join((param.help or "").split()))
            if param.multiple:
                meaning += " Repeatable."
            rows.append(f"| {names} | {default} | {env} | {meaning} |")
        out.append("\n".join(rows) + "\n")
    return "\n".join(out)


def _default(param: click.Option, context: click.Context) -> str:
    """The default click shows in --help ("" when there is none)."""
    if "--help" in param.opts:
        return ""
    if isinstance(param.show_default, str):
        return f"`{param.show_default}`"
    value = param.get_default(context, call=False)
    if callable(value) or value in (None, "", (), []) or type(value).__name__ == "Sentinel":
        return ""
    if param.is_flag:
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        value = " ".join(str(item) for item in value)
    return f"`{value}`"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;")


# --- the control API ------------------------------------------------------------------------------


def control_api_reference() -> str:
    """The routes of the OpenAPI document the fake serves at /__mock__/openapi.json (the official
    profile), with their summaries and request bodies."""
    from mock_kling import Config, create_app

    app = create_app(Config(seed=0))
    document = app.test_client().get("/__mock__/openapi.json").get_json()
    out = [
        f"OpenAPI {document['openapi']}, *{_escape(document['info']['title'])}* "
        f"version {document['info']['version']}: "
        f"{len(document['paths'])} paths, served by the fake at `GET /__mock__/openapi.json`.\n",
        "| Method | Path | What it does | Request body |",
        "| --- | --- | --- | --- |",
    ]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "delete", "patch"}:
                continue
            summary = operation.get("summary") or operation.get("description") or ""
            body = operation.get("requestBody", {}).get("content", {})
            schema = next(iter(body.values()), {}).get("schema", {}) if body else {}
            ref = schema.get("$ref", "").rsplit("/", 1)[-1] if schema else ""
            shape = f"`{ref}`" if ref else ("JSON" if body else "")
            text = _escape(" ".join(summary.split()))
            out.append(f"| `{method.upper()}` | `{path}` | {text} | {shape} |")
    return "\n".join(out) + "\n"


# --- the service codes ----------------------------------------------------------------------------


def error_codes() -> str:
    """mock_kling.core.errors.SERVICE_CODES, the one table every refusal takes its status from."""
    from mock_kling.core.errors import SERVICE_CODES

    rows = ["| Code | HTTP status | Meaning (Kling's table) |", "| --- | --- | --- |"]
    rows += [
        f"| {row.code} | {row.http_status} | {_escape(row.meaning)} |"
        for row in SERVICE_CODES.values()
    ]
    return "\n".join(rows) + "\n"


# --- the layers -----------------------------------------------------------------------------------


def layers() -> str:
    """The import-linter contracts of pyproject.toml: the layers, top to bottom, each module's
    one-line job from its docstring, then the forbidden-import contracts."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    out = []
    for contract in contracts:
        if contract["type"] == "layers":
            out.append(
                f"**{_escape(contract['name'])}** (a layer imports only the layers below it):\n"
            )
            out.append("| Layer | Module | Its job |")
            out.append("| --- | --- | --- |")
            for number, layer in enumerate(contract["layers"], start=1):
                for module in (part.strip() for part in layer.split("|")):
                    doc = _docstring(module)
                    first = " ".join(doc.split("\n\n")[0].split())
                    out.append(f"| {number} | `{module}` | {_escape(first)} |")
            out.append("")
    out.append("Forbidden imports:\n")
    for contract in contracts:
        if contract["type"] == "forbidden":
            sources = ", ".join(f"`{m}`" for m in contract["source_modules"])
            banned = ", ".join(f"`{m}`" for m in contract["forbidden_modules"])
            out.append(f"- **{_escape(contract['name'])}**: {sources} may not import {banned}.")
    return "\n".join(out) + "\n"


def _docstring(module: str) -> str:
    """A module's docstring, read from its source (importing `__main__` would run it)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ValueError(f"no source for {module}")
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    return (ast.get_docstring(tree) or "").strip()


# --- result files ---------------------------------------------------------------------------------


def benchmark_results() -> str:
    """docs/results/benchmarks.json, written by `python benchmarks/run.py --json`."""
    path = RESULTS / "benchmarks.json"
    command = "python benchmarks/run.py --json docs/results/benchmarks.json"
    if not path.exists():
        return (
            '!!! warning "No benchmark result for the current code"\n'
            "    Earlier figures predate the current server and were removed. Run\n"
            f"    `{command}` (about 11 minutes) and commit the file: this page renders it.\n"
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    machine = data["machine"]
    out = [
        f"Run of {machine['date']}, {machine['source']}, {machine['cpus']} CPUs "
        f"(load {' '.join(f'{x:.2f}' for x in machine['load_average'])} at the start), "
        f"Python {machine['python']}, bare app on {machine['server']}; "
        f"{'quick' if data['settings'].get('quick') else 'full'} run, "
        f"{data['wall_seconds']:.0f} s. Source: `docs/results/benchmarks.json` (`{command}`).\n",
        "| Section | Measurement | Figure | Target | Met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in data["summary"]:
        met = {True: "yes", False: "**no**", None: ""}[row.get("met")]
        out.append(
            f"| {row['section']} | {_escape(row['name'])} | {_escape(row['figure'])} "
            f"| {_escape(row.get('target', ''))} | {met} |"
        )
    if data.get("errors"):
        out.append(f"\nSections that failed in that run: {', '.join(sorted(data['errors']))}.")
    return "\n".join(out) + "\n"


def soak_results() -> str:
    """docs/results/soak.json, written by `python tools/soak.py --out docs/results/soak.json`."""
    path = RESULTS / "soak.json"
    if not path.exists():
        return (
            "No soak result committed: run `python tools/soak.py --out docs/results/soak.json`.\n"
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    rss = data["rss_mb"]
    p50, p99, worst = data["latency_ms_p50_p99_max"]
    rows = [
        ("run", f"{data['date']}, {data['source']}, {data['cpus']} CPUs"),
        ("command", f"`{data['command']}`"),
        ("clients, seconds", f"{data['clients']}, {data['seconds']} s"),
        ("requests", f"{data['requests']:,} ({data['requests_per_second']:,}/s): "
         + ", ".join(f"{k} {v:,}" for k, v in sorted(data["by_kind"].items()))),
        ("unexpected errors", f"{data['unexpected_errors']} "
         f"({data['injected_faults']} injected 503s counted apart)"),
        ("tasks accepted", f"{data['tasks_accepted']:,}; every one audited"),
        ("latency p50 / p99 / max", f"{p50} / {p99} / {worst} ms"),
        ("RSS first / after warm-up / last / peak",
         f"{rss['first']} / {rss['after_warm_up']} / {rss['last']} / {rss['peak']} MB"),
        ("RSS growth after warm-up", f"{rss['growth_after_warm_up']} MB "
         f"(the kept tasks explain {rss['growth_allowed']} MB)"),
        ("violations", str(data["violations"]) + (
            ": " + "; ".join(data["problems"]) if data["problems"] else "")),
    ]  # fmt: skip
    table = ["| | |", "| --- | --- |", *(f"| {k} | {_escape(v)} |" for k, v in rows)]
    return "\n".join(table) + "\n"


def replicas_results() -> str:
    """docs/results/replicas.json, written by `python benchmarks/replicas.py --json`."""
    path = RESULTS / "replicas.json"
    command = "python benchmarks/replicas.py --json docs/results/replicas.json"
    if not path.exists():
        return f"No replica benchmark committed: run `{command}` (about 6 minutes).\n"
    data = json.loads(path.read_text(encoding="utf-8"))
    machine, cells = data["machine"], data["cells"]
    headers, rows = cells["table"]["headers"], cells["table"]["rows"]
    out = [
        f"Run of {machine['date']}, {machine['source']}, {machine['cpus']} CPUs (load "
        f"{' '.join(f'{x:.2f}' for x in machine['load_average'])} at the start), serve on "
        f"{machine['serve_server']}; {data['rounds']} rounds of {data['duration_seconds']:g} s "
        f"cells at {data['connections']} connections, wrk and redis-server on the same machine. "
        f"Source: `docs/results/replicas.json` (`{command}`).\n",
        "| " + " | ".join(headers) + " |",
        "|" + " --- |" * len(headers),
        *("| " + " | ".join(_escape(cell) for cell in row) + " |" for row in rows),
        "",
        "| Ratio (medians) | Figure | Target | Met |",
        "| --- | --- | --- | --- |",
    ]
    met = {"met": "yes", "NOT MET": "**no**", "-": ""}
    for row in cells["ratios"]:
        out.append(
            f"| {_escape(row['ratio'])} | {row['figure']} | {_escape(row['target'])} "
            f"| {met[row['verdict']]} |"
        )
    kill = data.get("kill")
    if kill is not None:
        late = max(kill["worst_late_before_ms"], kill["worst_late_after_ms"]) / 1000
        out.append(
            f"\nKill run: {kill['tasks']:,} tasks on two replicas, one SIGKILLed halfway, "
            f"lease {kill['lease_seconds']:g} s: {kill['delivered']:,} of {kill['expected']:,} "
            f"callbacks delivered, {kill['duplicates']} duplicates, {kill['takeover_entries']} "
            f"takeover entries; the latest callback came {late:.2f} s after its due time "
            f"(target: lease + 1 s = {kill['lease_seconds'] + 1:g} s)."
        )
    return "\n".join(out) + "\n"


RENDERERS: dict[str, Callable[[], str]] = {
    "cli": cli_reference,
    "control-api": control_api_reference,
    "errors": error_codes,
    "layers": layers,
    "benchmarks": benchmark_results,
    "soak": soak_results,
    "replicas": replicas_results,
}
