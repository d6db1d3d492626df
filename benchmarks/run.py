"""Issue 7 and 12's benchmark suite: `python benchmarks/run.py [--quick] [--only NAME ...]
[--json OUT]` measures `mock-kling serve` side by side with a bare WSGI app on the same server
software and with WireMock, and prints tables, then a summary with each target."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import wsgi_host
from harness import default_server
from provenance import machine
from report import Report, Settings, say, table
from section_big import section_big
from section_callbacks import section_callbacks
from section_http import section_http
from section_inprocess import section_inprocess
from section_list import section_list
from section_startup import section_startup

RUNNERS: dict[str, Callable[[Settings, Report, Path], None]] = {
    "http": section_http,
    "startup": section_startup,
    "inprocess": section_inprocess,
    "big": section_big,
    "list": section_list,
    "callbacks": section_callbacks,
}
SECTIONS = tuple(RUNNERS)


def print_summary(report: Report) -> None:
    rows = []
    for row in report.rows:
        verdict = "-" if row.met is None else ("met" if row.met else "NOT MET")
        if row.met is None and row.figure.startswith("skipped"):
            verdict = "SKIPPED"
        rows.append([row.section, row.name, row.figure, row.target or "-", verdict])
    for section, error in report.errors.items():
        rows.append([section, "error", error.splitlines()[-1][:90], "-", "ERROR"])
    say()
    say("Summary")
    say(table(["section", "measurement", "figure", "target", "verdict"], rows))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmarks of mock-kling (issues 7, 12). Sections: " + ", ".join(SECTIONS)
    )
    parser.add_argument("--quick", action="store_true", help="~2 s cells, 1 round: a quick look.")
    parser.add_argument(
        "--only", nargs="+", action="extend", choices=SECTIONS, metavar="NAME",
        help=f"Run only these sections ({', '.join(SECTIONS)}).",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, metavar="OUT", help="Also write the results here.")
    parser.add_argument("--duration", type=float, help="Seconds per wrk cell (default 5; quick 2).")
    parser.add_argument("--rounds", type=int, help="Rounds per cell (default 3; quick 1).")
    parser.add_argument("--threads", type=int, help="Threads of the fake and the bare app (8).")
    parser.add_argument(
        "--server", choices=wsgi_host.SERVERS,
        help=f"Server software of the bare app (default: serve's, now {default_server()}).",
    )  # fmt: skip
    parser.add_argument("--list-tasks", type=int, help="Tasks in the big account (100000).")
    parser.add_argument(
        "--list-via", choices=["inprocess", "http"],
        help="POST the list tasks over HTTP to mock-kling serve (default; ~2 min for 100k) or "
        "create them in-process with Backend.create_task (--quick's default; ~20 s).",
    )  # fmt: skip
    return parser.parse_args(argv)


def run_sections(names: list[str], settings: Settings, report: Report) -> None:
    """Each section in turn; one that fails is reported and the others still run."""
    with tempfile.TemporaryDirectory(prefix="mock-kling-bench-") as folder:
        for name in names:
            say()
            say(f"== {name} ==")
            started = time.perf_counter()
            try:
                RUNNERS[name](settings, report, Path(folder))
            except Exception:
                report.errors[name] = traceback.format_exc()
                say(report.errors[name])
            say(f"({name}: {time.perf_counter() - started:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.server is None:
        args.server = default_server()
    settings = Settings.from_args(args)
    report = Report(settings)
    wall_started = time.perf_counter()
    report.data["machine"] = info = machine(settings.server)
    say(
        f"mock-kling benchmarks, {info['date']}: {info['cpus']} CPUs, load "
        f"{' '.join(f'{x:.2f}' for x in info['load_average'])}, Python {info['python']}, "
        f"serve on {info['serve_server']}, bare app on {info['server']}, "
        f"{info['wrk'].split(' Copyright')[0]}; "
        f"{'quick' if settings.quick else 'full'} run of {info['source']}"
    )
    run_sections([n for n in SECTIONS if not args.only or n in args.only], settings, report)
    wall = time.perf_counter() - wall_started
    info["load_average_end"] = os.getloadavg()
    print_summary(report)
    load = " ".join(f"{x:.2f}" for x in info["load_average_end"])
    say(f"\nWall time of the run: {wall:.1f} s (started {info['date']}; load at the end {load})")
    if args.json:
        output = {
            "settings": asdict(settings),
            "machine": info,
            "wall_seconds": wall,
            "summary": [asdict(row) for row in report.rows],
            "errors": report.errors,
            "skipped": report.skipped,
            "results": {k: v for k, v in report.data.items() if k != "machine"},
        }
        args.json.write_text(json.dumps(output, indent=2, default=str))
        say(f"JSON written to {args.json}")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
