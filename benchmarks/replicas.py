"""Issue 13's figures for shared stores and replicas: `mock-kling serve` on the memory, SQLite
and Redis stores with one and two workers under wrk (req/s, CPU per request of the server's
processes and of redis-server), and two Redis replicas delivering 1,000 tasks' callbacks while
one of them is killed halfway (delivered, duplicates, takeovers, lateness). Prints tables and
one `BENCH_JSON` line.

    python benchmarks/replicas.py            # 3 rounds of 5 s cells, then the kill (~5 minutes)
    python benchmarks/replicas.py --quick    # 1 round of 2 s cells, then the kill (~1.5 minutes)
    python benchmarks/replicas.py --only kill --lease 5 --tasks 1000
    python benchmarks/replicas.py --json docs/results/replicas.json   # the figures the docs show
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bodies as b
from clients import submit
from harness import API_KEY, API_PATH, AUTH, Server, median, rotated, start_fake
from load import WrkResult, ensure_wrk, run_wrk
from provenance import machine
from replicas_kill import KillSettings, kill_run, report_kill
from report import rate, rate_spread, ratio, say, table

CONNECTIONS = 64
ENDPOINTS = ("GET one task", "POST submit, 2 image URLs")


@dataclass(frozen=True)
class Config:
    """One server under test: a store and a number of worker processes."""

    name: str
    store: str  # memory, sqlite or redis
    workers: int


CONFIGS = (
    Config("memory", "memory", 1),
    Config("sqlite w1", "sqlite", 1),
    Config("sqlite w2", "sqlite", 2),
    Config("redis w1", "redis", 1),
    Config("redis w2", "redis", 2),
)
Results = dict[tuple[str, str], list[WrkResult]]


def store_options(config: Config, folder: Path, redis_url: str) -> list[str]:
    """serve's options for `config`: its own SQLite file or Redis namespace."""
    if config.store == "sqlite":
        store = f"sqlite:///{folder / f'w{config.workers}.db'}"  # folder is absolute: ////
    elif config.store == "redis":
        store = f"{redis_url}?namespace=bench-w{config.workers}"
    else:
        store = "memory"
    return ["--store", store, "--workers", str(config.workers)]


def start_servers(
    stack: ExitStack, folder: Path, redis_url: str, request_log: bool
) -> dict[str, tuple[Server, str]]:
    """Every configuration's server (stopped by `stack`) and the path of the task it polls:
    system clock, 0 s timings (submits end at once), one task in processing for good."""
    timings = ["--submitted-seconds", "0", "--processing-seconds", "0"]
    quiet = [] if request_log else ["--quiet"]
    servers = {}
    for config in CONFIGS:
        options = store_options(config, folder, redis_url)
        server = stack.enter_context(start_fake(*timings, *quiet, *options))
        task_id = submit(server.url, API_KEY, b.STUCK_BODY)["data"]["task_id"]
        servers[config.name] = (server, f"{API_PATH}/{task_id}")
        say(f"  {config.name:<10} {' '.join(options)} on {server.url}")
    return servers


def run_cells(
    servers: dict[str, tuple[Server, str]], body_file: Path, args: argparse.Namespace,
    redis_pid: int,
) -> Results:  # fmt: skip
    """GET one task and POST submit on every server, in rounds; round k starts elsewhere."""
    results: Results = {}
    for round_index in range(args.rounds):
        for cell_index, endpoint in enumerate(ENDPOINTS):
            for name in rotated(tuple(servers), round_index * len(ENDPOINTS) + cell_index):
                server, task_path = servers[name]
                is_get = endpoint.startswith("GET")
                url = server.url + (task_path if is_get else API_PATH)
                body = None if is_get else body_file
                run_wrk(url, CONNECTIONS, args.warmup, AUTH, body)
                found = run_wrk(
                    url, CONNECTIONS, args.duration, AUTH, body, server_pid=server.pid,
                    side_pids=(redis_pid,) if name.startswith("redis") else (),
                )  # fmt: skip
                results.setdefault((endpoint, name), []).append(found)
                say(
                    f"  round {round_index + 1}/{args.rounds} {endpoint:<26} {name:<10} "
                    f"{rate(found.rps):>7} req/s {found.cpu_us_per_request:6.0f} us CPU/req "
                    f"redis {found.side_cpu_us_per_request:4.0f} us  errors {found.errors}"
                )
    return results


def _cores(result: WrkResult) -> float:
    """Cores kept busy during the run: the server's processes, redis-server and wrk."""
    busy = result.server_cpu_s + result.side_cpu_s + result.wrk_cpu_s
    return busy / result.seconds if result.seconds else float("nan")


def report_cells(results: Results) -> dict[str, Any]:
    """The table of the cells, the ratios, and their JSON."""
    rows, data = [], {}
    for (endpoint, name), runs in results.items():
        cpu = median([r.cpu_us_per_request for r in runs])
        redis_cpu = median([r.side_cpu_us_per_request for r in runs])
        rows.append([
            endpoint, name, rate_spread([r.rps for r in runs]), f"{cpu:.0f}",
            f"{redis_cpu:.0f}" if name.startswith("redis") else "-",
            f"{median([r.wrk_cpu_s / r.requests * 1e6 for r in runs]):.0f}",
            f"{median([_cores(r) for r in runs]):.2f}", f"{median([r.p99_ms for r in runs]):.1f}",
            str(sum(r.errors for r in runs)),
        ])  # fmt: skip
        data[f"{endpoint} | {name}"] = [r.to_json() for r in runs]
    say()
    say(
        f"wrk -t1 -c{CONNECTIONS}, median (min..max) of the rounds; CPU us per request: the "
        "server's processes (all workers), redis-server, wrk; cores busy = their CPU / wall time"
    )
    headers = ["cell", "server", "req/s", "server CPU us", "redis CPU us", "wrk CPU us",
               "cores busy", "p99 ms", "errors"]  # fmt: skip
    rows.sort(key=lambda row: (row[0], row[1]))
    say(table(headers, rows))
    ratios = _ratios(results)
    say()
    say(table(["ratio", "figure", "target", "verdict"], ratios))
    data["table"] = {"headers": headers, "rows": rows}
    data["ratios"] = [dict(zip(("ratio", "figure", "target", "verdict"), r, strict=True))
                      for r in ratios]  # fmt: skip
    return data


def _ratios(results: Results) -> list[list[str]]:
    def rps(endpoint: str, name: str) -> float:
        return median([r.rps for r in results.get((endpoint, name), [])])

    def row(name: str, figure: float, target: float | None) -> list[str]:
        if target is None:
            return [name, f"{figure:.2f}x", "-", "-"]
        return [name, f"{figure:.2f}x", f">= {target}x", "met" if figure >= target else "NOT MET"]

    get, post = ENDPOINTS
    rows = [
        row(f"{get}: redis w1 / memory", ratio(rps(get, "redis w1"), rps(get, "memory")), 0.5),
        row(f"{post}: redis w1 / memory", ratio(rps(post, "redis w1"), rps(post, "memory")), None),
    ]
    targets = {(post, "redis"): 1.5, (post, "sqlite"): 1.3}  # issue 20's
    for endpoint in ENDPOINTS:
        for store in ("sqlite", "redis"):
            scaling = ratio(rps(endpoint, f"{store} w2"), rps(endpoint, f"{store} w1"))
            rows.append(
                row(f"{endpoint}: {store} w2 / w1", scaling, targets.get((endpoint, store)))
            )
    return rows


def cells_section(args: argparse.Namespace, redis_url: str, redis_pid: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as scratch, ExitStack() as stack:
        folder = Path(scratch).resolve()
        body_file = folder / "post_2urls.json"
        body_file.write_bytes(b.ANCHOR_BODY)
        say(f"Servers (POST body: 2 image URLs, {len(b.ANCHOR_BODY)} bytes):")
        servers = start_servers(stack, folder, redis_url, args.request_log)
        results = run_cells(servers, body_file, args, redis_pid)
    return report_cells(results)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s cells.")
    parser.add_argument("--only", choices=["cells", "kill"], help="Run one part only.")
    parser.add_argument("--duration", type=float, help="Seconds per wrk cell (5; quick 2).")
    parser.add_argument("--rounds", type=int, help="Rounds of cells (3; quick 1).")
    parser.add_argument("--request-log", action="store_true", help="Keep serve's request log.")
    parser.add_argument("--tasks", type=int, default=1000, help="Tasks of the kill run (1000).")
    parser.add_argument(
        "--no-kill", action="store_true", help="Control run: both replicas live throughout."
    )
    parser.add_argument("--lease", type=float, default=5.0, help="Redis ?lease= seconds (5).")
    parser.add_argument("--json", type=Path, metavar="OUT", help="Also write the results here.")
    args = parser.parse_args(argv)
    args.duration = args.duration or (2.0 if args.quick else 5.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.warmup = 1.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ensure_wrk()
    from store_redis import redis_server  # needs redis-py (pip install -e ".[bench]")

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    say(f"replicas.py: {os.cpu_count()} CPUs, load {load}; {'quick' if args.quick else 'full'} run")
    started = time.monotonic()
    output: dict[str, Any] = {
        "machine": machine("uvicorn"),
        "command": "python benchmarks/replicas.py " + " ".join(argv or sys.argv[1:]),
        "quick": args.quick, "request_log": args.request_log, "rounds": args.rounds,
        "duration_seconds": args.duration, "connections": CONNECTIONS,
    }  # fmt: skip
    with redis_server() as redis:
        say(f"redis-server pid {redis.pid} on {redis.tcp}, no persistence")
        if args.only in (None, "cells"):
            output["cells"] = cells_section(args, redis.tcp, redis.pid)
        if args.only in (None, "kill"):
            settings = KillSettings(args.tasks, args.lease, kill=not args.no_kill)
            output["kill"] = report_kill(kill_run(redis.tcp, settings))
    output["load_average_end"] = os.getloadavg()
    output["wall_seconds"] = time.monotonic() - started
    text = json.dumps(output, default=str)
    print("BENCH_JSON " + text, flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(output, default=str, indent=1) + "\n", encoding="utf-8")
        say(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
