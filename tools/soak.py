#!/usr/bin/env python3
"""Soak test: many concurrent clients against `mock-kling serve` for a while, then a full audit.

Starts `mock-kling serve` on 127.0.0.1 and a free port (system clock, short task timings, a seeded
fault rule that answers 1% of queries with 503 / 5001), runs `--clients` threads for `--seconds`
that mix submit (40%), poll one of their tasks (40%) and list (20%), samples the server's RSS every
second, then checks that nothing was lost:

- every answer is 2xx, except the injected faults (counted apart);
- every accepted task is found by its task_id and by its external_task_id, with the right owner,
  and reaches its terminal state (succeed, or failed for the 10% submitted with `mock:fail`);
- no task id was handed out twice, and the server holds no task a client was not told about;
- memory is flat after warm-up: what it grows by is explained by the tasks it keeps.

Prints a summary; exits 1 on any violation, 2 when the server cannot be started.
Only loopback; every loop is bounded in time and count.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import queue
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))  # provenance

from provenance import source_state

from mock_kling.core.auth import make_token

API = "/v1/videos/multi-image2video"
TERMINAL = {"succeed", "failed"}
MAX_CLIENTS = 256
MAX_SECONDS = 3600
REQUEST_TIMEOUT = 10.0
KEYS = {f"soak-access-{n}": f"soak-secret-{n}-0123456789abcdefghijkl" for n in range(4)}
WARM_UP = 0.2  # share of the run (at least 2 s) before RSS counts as settled
BYTES_PER_TASK = 16 * 1024  # what one kept task (+ its journal share) may cost, generously
RSS_SLACK_MB = 48.0  # allocator and thread-stack noise on top of that


@dataclass
class Task:
    task_id: str
    external_task_id: str
    account: str
    expect: str  # the terminal status it must reach
    at: float  # when it was accepted (monotonic)


@dataclass
class Tally:
    """One client's counts; merged at the end (no shared counters on the hot path)."""

    requests: Counter[str] = field(default_factory=Counter)
    injected: int = 0
    unexpected: list[str] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


class Served:
    """`mock-kling serve` in a subprocess: its URL, PID and output."""

    def __init__(self, threads: int, seed: int) -> None:
        keys = [arg for ak, sk in KEYS.items() for arg in ("--access-key", ak, "--secret-key", sk)]
        command = [sys.executable, "-m", "mock_kling", "serve", "--port", "0", "--seed", str(seed)]
        command += ["--submitted-seconds", "0.5", "--processing-seconds", "1.0"]
        command += ["--threads", str(threads), *keys]
        root = str(Path(__file__).resolve().parent.parent)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
        }
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()
        self.url = self._wait_for_url()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + 30
        seen = ""
        while time.monotonic() < deadline:
            try:
                seen += self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            match = re.search(r"listening on (http://\S+)", seen)
            if match:
                return match.group(1)
        self.stop()
        raise RuntimeError(f"mock-kling serve did not start: {seen!r}")

    def output(self) -> str:
        lines = []
        while not self.lines.empty():
            lines.append(self.lines.get_nowait())
        return "".join(lines)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            code = self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=15)
        self._pump.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            match = re.search(r"^VmRSS:\s+(\d+) kB", status.read(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) / 1024 if match else None


def sample_rss(pid: int, stop: threading.Event, samples: list[tuple[float, float]]) -> None:
    started = time.monotonic()
    while not stop.wait(1.0 if samples else 0.0):
        value = rss_mb(pid)
        if value is not None:
            samples.append((time.monotonic() - started, value))


def slope_mb_per_minute(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / len(samples)
    mean_m = sum(m for _, m in samples) / len(samples)
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if spread == 0:
        return 0.0
    return 60 * sum((t - mean_t) * (m - mean_m) for t, m in samples) / spread


def classify(response: requests.Response, tally: Tally, what: str) -> Any:
    """The answer's data for a 2xx; counts an injected fault or an unexpected answer otherwise."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if 200 <= response.status_code < 300 and isinstance(body, dict) and body.get("code") == 0:
        return body.get("data")
    message = body.get("message", "") if isinstance(body, dict) else response.text[:100]
    if response.status_code == 503 and str(message).startswith("injected fault"):
        tally.injected += 1
    else:
        tally.unexpected.append(f"{what}: HTTP {response.status_code} {str(message)[:120]}")
    return None


def client(index: int, base: str, deadline: float, seed: int, tally: Tally, cap: int) -> None:
    rng = random.Random(f"{seed}:{index}")
    account = list(KEYS)[index % len(KEYS)]
    headers = {"Authorization": f"Bearer {make_token(account, KEYS[account], time.time())}"}
    with requests.Session() as session:
        for number in range(cap):
            if time.monotonic() >= deadline:
                return
            roll = rng.random()
            started = time.perf_counter()
            try:
                if roll < 0.4 or not tally.tasks:
                    kind = "submit"
                    fail = rng.random() < 0.1
                    external = f"soak-{index}-{number}"
                    body = {
                        "image_list": [{"image": "https://example.com/soak.png"}],
                        "prompt": "soak mock:fail" if fail else "soak",
                        "external_task_id": external,
                    }
                    response = session.post(
                        base + API, json=body, headers=headers, timeout=REQUEST_TIMEOUT
                    )
                    data = classify(response, tally, kind)
                    if data is not None:
                        expect = "failed" if fail else "succeed"
                        accepted = Task(
                            data["task_id"], external, account, expect, time.monotonic()
                        )
                        tally.tasks.append(accepted)
                elif roll < 0.8:
                    kind = "poll"
                    task = rng.choice(tally.tasks)
                    ref = task.task_id if rng.random() < 0.5 else task.external_task_id
                    response = session.get(
                        f"{base}{API}/{ref}", headers=headers, timeout=REQUEST_TIMEOUT
                    )
                    data = classify(response, tally, kind)
                    if data is not None and data["task_id"] != task.task_id:
                        tally.unexpected.append(f"poll {ref}: got task {data['task_id']}")
                else:
                    kind = "list"
                    page = rng.randint(1, 3)
                    response = session.get(
                        f"{base}{API}?pageNum={page}&pageSize=30",
                        headers=headers,
                        timeout=REQUEST_TIMEOUT,
                    )
                    classify(response, tally, kind)
            except requests.RequestException as exc:
                tally.unexpected.append(f"{kind}: {type(exc).__name__}: {exc}"[:200])
            tally.requests[kind] += 1
            tally.latencies.append(time.perf_counter() - started)


def audit(base: str, tasks: list[Task], settle_seconds: float) -> list[str]:
    """Every accepted task found (by task_id and by external_task_id), terminal and as expected;
    no duplicates; nothing the clients were not told about."""
    problems: list[str] = []
    ids = [task.task_id for task in tasks]
    duplicates = [task_id for task_id, n in Counter(ids).items() if n > 1]
    if duplicates:
        problems.append(f"{len(duplicates)} task ids handed out twice, e.g. {duplicates[:3]}")
    tokens = {ak: make_token(ak, sk, time.time()) for ak, sk in KEYS.items()}
    local = threading.local()

    def status_of(task: Task, ref: str) -> str:
        """The task's status looked up by `ref`, or a problem starting with '!'."""
        if not hasattr(local, "session"):
            local.session = requests.Session()
            sessions.append(local.session)
        headers = {"Authorization": f"Bearer {tokens[task.account]}"}
        response = local.session.get(f"{base}{API}/{ref}", headers=headers, timeout=10)
        if response.status_code != 200:
            return f"!task {task.task_id} lost: {ref} answered HTTP {response.status_code}"
        data = response.json()["data"]
        if data["task_id"] != task.task_id:
            return f"!{ref} answered task {data['task_id']} instead of {task.task_id}"
        status: str = data["task_status"]
        if status in TERMINAL and status != task.expect:
            return f"!task {task.task_id} ended {status}, not {task.expect}"
        return status

    sessions: list[requests.Session] = []
    requests.delete(f"{base}/__mock__/faults", timeout=REQUEST_TIMEOUT)  # no more injections
    with ThreadPoolExecutor(max_workers=16) as pool:
        by_external = pool.map(lambda task: status_of(task, task.external_task_id), tasks)
        problems += [status[1:] for status in by_external if status.startswith("!")]
        pending = list(tasks)
        deadline = time.monotonic() + settle_seconds
        for _ in range(1000):  # rounds over what has not ended yet; bounded by the deadline too
            statuses = list(pool.map(lambda task: status_of(task, task.task_id), pending))
            problems += [status[1:] for status in statuses if status.startswith("!")]
            pending = [
                task
                for task, status in zip(pending, statuses, strict=True)
                if status not in TERMINAL and not status.startswith("!")
            ]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    for session in sessions:
        session.close()
    problems += [f"task {task.task_id} never ended" for task in pending[:10]]
    if len(pending) > 10:
        problems.append(f"... and {len(pending) - 10} more tasks never ended")
    held = requests.get(f"{base}/__mock__/tasks", timeout=60).json()
    held_ids = [view["task"]["task_id"] for view in held]
    if len(held_ids) != len(set(held_ids)):
        problems.append("the server holds a task id twice")
    extra = set(held_ids) - set(ids)
    if extra:
        problems.append(f"{len(extra)} tasks on the server that no client was told about")
    owners = {task.task_id: task.account for task in tasks}
    wrong = [
        view for view in held if owners.get(view["task"]["task_id"]) not in (None, view["account"])
    ]
    if wrong:
        problems.append(f"{len(wrong)} tasks with the wrong owner")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long clients run")
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients (threads)")
    parser.add_argument("--threads", type=int, default=8, help="the server's waitress threads")
    parser.add_argument("--seed", type=int, default=1, help="seeds the server and the clients")
    parser.add_argument("--fault-rate", type=float, default=0.01, help="queries answered 503")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--out", type=Path, metavar="FILE", help="also write the summary as JSON here (dated)"
    )
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= MAX_SECONDS or not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--seconds in (0, {MAX_SECONDS}], --clients in [1, {MAX_CLIENTS}]")

    try:
        server = Served(args.threads, args.seed)
    except (OSError, RuntimeError) as exc:
        print(f"soak: cannot start the server: {exc}", file=sys.stderr)
        return 2
    samples: list[tuple[float, float]] = []
    stop_sampling = threading.Event()
    sampler = threading.Thread(
        target=sample_rss, args=(server.process.pid, stop_sampling, samples), daemon=True
    )
    tallies = [Tally() for _ in range(args.clients)]
    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = time.monotonic()
    try:
        if args.fault_rate > 0:
            rule = {"endpoint": "query", "code": 5001, "probability": args.fault_rate}
            response = requests.post(f"{server.url}/__mock__/faults", json=rule, timeout=10)
            response.raise_for_status()
        sampler.start()
        deadline = time.monotonic() + args.seconds
        cap = int(args.seconds * 2000) + 100  # requests per client, a bound never reached
        threads = [
            threading.Thread(
                target=client, args=(i, server.url, deadline, args.seed, tallies[i], cap)
            )
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 4 * REQUEST_TIMEOUT)
        hung = sum(thread.is_alive() for thread in threads)
        run_seconds = time.monotonic() - started
        tasks = [task for tally in tallies for task in tally.tasks]
        problems = audit(server.url, tasks, settle_seconds=30)
        if hung:
            problems.append(f"{hung} clients did not finish")
        if server.process.poll() is not None:
            problems.append(f"the server exited with {server.process.returncode}")
    finally:
        stop_sampling.set()
        if sampler.is_alive():
            sampler.join(timeout=5)
        exit_code = server.stop()
    output = server.output()
    if exit_code != 0:
        problems.append(f"the server exited with {exit_code} on SIGTERM")
    if "Traceback" in output:
        problems.append("the server printed a traceback")

    requests_by_kind: Counter[str] = Counter()
    for tally in tallies:
        requests_by_kind.update(tally.requests)
    unexpected = [line for tally in tallies for line in tally.unexpected]
    injected = sum(tally.injected for tally in tallies)
    latencies = sorted(x for tally in tallies for x in tally.latencies)
    total = sum(requests_by_kind.values())
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected answers, e.g. {unexpected[:3]}")

    warm = max(2.0, WARM_UP * args.seconds)
    settled = [(t, m) for t, m in samples if warm <= t <= args.seconds]
    rss = [m for _, m in samples]
    growth = settled[-1][1] - settled[0][1] if len(settled) >= 2 else 0.0
    after_warm = sum(1 for task in tasks if task.at - started >= warm)
    allowed = RSS_SLACK_MB + after_warm * BYTES_PER_TASK / 2**20
    if growth > allowed:
        problems.append(f"RSS grew {growth:.0f} MB after warm-up; the tasks explain {allowed:.0f}")
    summary = {
        "tool": "tools/soak.py",
        "date": started_at,
        "source": source_state(),
        "command": "python tools/soak.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "cpus": os.cpu_count(),
        "seconds": round(run_seconds, 1),
        "clients": args.clients,
        "requests": total,
        "requests_per_second": round(total / max(run_seconds, 1e-9)),
        "by_kind": dict(requests_by_kind),
        "injected_faults": injected,
        "unexpected_errors": len(unexpected),
        "tasks_accepted": len(tasks),
        "violations": len(problems),
        "latency_ms_p50_p99_max": [
            round(1000 * latencies[int(q * (len(latencies) - 1))], 1) for q in (0.5, 0.99, 1.0)
        ]
        if latencies
        else [],
        "rss_mb": {
            "first": round(rss[0], 1) if rss else None,
            "after_warm_up": round(settled[0][1], 1) if settled else None,
            "last": round(rss[-1], 1) if rss else None,
            "peak": round(max(rss), 1) if rss else None,
            "slope_mb_per_minute_after_warm_up": round(slope_mb_per_minute(settled), 1),
            "growth_after_warm_up": round(growth, 1),
            "bytes_per_task_after_warm_up": round(growth * 2**20 / after_warm)
            if after_warm
            else None,
            "growth_allowed": round(allowed, 1),
            "samples": len(rss),
        },
        "problems": problems,
    }
    if args.out is not None:
        args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key:>24}: {value}")
        print("soak: OK" if not problems else "soak: FAILED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
