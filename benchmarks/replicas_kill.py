"""Two `mock-kling serve` replicas on one Redis namespace deliver the callbacks of N tasks; one
is SIGKILLed when about half were delivered. Counts deliveries, duplicates and takeovers, and
the lateness of each callback (arrival at the receiver - its due time in the task's plan)."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import bodies as b
from clients import Client, request_json
from harness import API_KEY, API_PATH, Server, percentile, start_fake
from report import say, table

from mock_kling.callbacks.receiver import Delivery, Receiver


@dataclass(frozen=True)
class KillSettings:
    tasks: int = 1000
    lease_seconds: float = 5.0
    submitted_seconds: float = 2.0  # callbacks per task: submitted (at once), processing, succeed
    processing_seconds: float = 3.0
    submit_spread_seconds: float = 2.0  # the submits are paced over this long
    callback_timeout: float = 2.0  # below the lease, as the README asks
    clients: int = 8
    slack_seconds: float = 1.0  # the target: every callback within due + lease + this
    kill: bool = True  # False: the control run, both replicas live throughout


@dataclass
class KillRun:
    settings: KillSettings
    namespace: str
    submits: list[tuple[int, str]] = field(default_factory=list)  # (replica, task id)
    submit_errors: int = 0
    kill_ms: float = 0.0
    delivered_at_kill: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    plans: dict[tuple[str, str], int] = field(default_factory=dict)  # (task, status) -> at_ms
    journal: list[dict[str, Any]] = field(default_factory=list)
    wait_seconds: float = 0.0
    health: dict[str, Any] = field(default_factory=dict)


def kill_run(redis_url: str, s: KillSettings) -> KillRun:
    run = KillRun(s, f"replicas-{secrets.token_hex(4)}")
    store = f"{redis_url}?namespace={run.namespace}&lease={s.lease_seconds:g}"
    options = [
        "--store", store, "--submitted-seconds", f"{s.submitted_seconds:g}",
        "--processing-seconds", f"{s.processing_seconds:g}",
        "--callback-timeout", f"{s.callback_timeout:g}", "--quiet",
    ]  # fmt: skip
    expected = 3 * s.tasks
    with Receiver(keep=True) as receiver, ExitStack() as stack:
        replicas = [
            stack.enter_context(start_fake(*options, "--seed", str(seed))) for seed in (7, 8)
        ]
        say(f"Replicas on {store}: {replicas[0].url} and {replicas[1].url}; receiver "
            f"{receiver.base_url}")  # fmt: skip
        body = b.submit_body(["https://example.com/a.png"], callback_url=receiver.url)
        feeder = threading.Thread(target=_feed, args=(run, replicas, body), daemon=True)
        feeder.start()
        feeder.join(timeout=s.submit_spread_seconds + 120)
        _kill_at_half(run, receiver, replicas[1], expected)
        started = time.monotonic()
        bound = s.lease_seconds + s.slack_seconds + s.submitted_seconds + s.processing_seconds + 60
        receiver.wait_until(lambda got: _unique(got) >= expected, bound)
        run.wait_seconds = time.monotonic() - started
        time.sleep(1.0)  # a late duplicate still counts
        survivor = replicas[0].url
        run.deliveries = receiver.deliveries
        run.journal = request_json(survivor + "/__mock__/callbacks")
        run.plans = _plans(request_json(survivor + "/__mock__/tasks"))
        run.health = request_json(survivor + "/__mock__/health")
    return run


def _feed(run: KillRun, replicas: list[Server], body: bytes) -> None:
    """Submit the tasks paced over the spread, alternately to each replica, on a few clients."""
    s, lock, counter = run.settings, threading.Lock(), [0]
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}

    def worker() -> None:
        clients = [Client(replica.url) for replica in replicas]
        try:
            while True:
                with lock:
                    index = counter[0]
                    counter[0] += 1
                if index >= s.tasks or time.monotonic() - started > s.submit_spread_seconds + 100:
                    return
                time.sleep(max(0.0, started + index * s.submit_spread_seconds / s.tasks
                               - time.monotonic()))  # fmt: skip
                replica = index % len(replicas)
                status, raw = clients[replica].send("POST", API_PATH, body, headers)
                with lock:
                    if status == 200:
                        run.submits.append((replica, _task_id(raw)))
                    else:
                        run.submit_errors += 1
        finally:
            for client in clients:
                client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(s.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=s.submit_spread_seconds + 110)


def _task_id(raw: bytes) -> str:
    task_id: str = json.loads(raw)["data"]["task_id"]
    return task_id


def _kill_at_half(run: KillRun, receiver: Receiver, victim: Server, expected: int) -> None:
    """SIGKILL `victim` once half the callbacks arrived (bounded wait), noting when (without a
    kill, only when)."""
    receiver.wait_until(lambda got: _unique(got) >= expected // 2, 120)
    if run.settings.kill:
        victim.process.kill()
    run.kill_ms = time.time() * 1000
    run.delivered_at_kill = _unique(receiver.deliveries)
    if run.settings.kill:
        victim.process.wait(timeout=10)


def _unique(deliveries: list[Delivery]) -> int:
    return len({_key(d) for d in deliveries})


def _key(delivery: Delivery) -> tuple[str, str]:
    return delivery.body["task_id"], delivery.body["task_status"]


def _plans(tasks: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """(task id, status) -> the step's time in the task's plan (`/__mock__/tasks` timeline)."""
    return {
        (task["task"]["task_id"], step["status"]): step["at_ms"]
        for task in tasks
        for step in task["timeline"]
    }


def _wall_ms(monotonic: float) -> float:
    """A time.monotonic() reading (the receiver's arrival time) as Unix ms."""
    return (time.time() - time.monotonic() + monotonic) * 1000


def report_kill(run: KillRun) -> dict[str, Any]:
    s = run.settings
    first: dict[tuple[str, str], Delivery] = {}
    for delivery in sorted(run.deliveries, key=lambda d: d.at):
        first.setdefault(_key(delivery), delivery)
    late = {key: _wall_ms(d.at) - run.plans.get(key, 0) for key, d in first.items()}
    mismatched = sum(1 for key, d in first.items() if d.body["updated_at"] != run.plans.get(key))
    before = [v for key, v in late.items() if run.plans.get(key, 0) < run.kill_ms]
    after = [v for key, v in late.items() if run.plans.get(key, 0) >= run.kill_ms]
    arrivals = sorted(_wall_ms(d.at) for d in run.deliveries)
    after_kill = [run.kill_ms] + [t for t in arrivals if t >= run.kill_ms]
    pause = max((b - a for a, b in itertools.pairwise(after_kill)), default=0.0)
    recorded = {(e["task_id"], e["status"]) for e in run.journal if e["result"] == "delivered"}
    unrecorded = sum(1 for key in first if key not in recorded)
    takeovers = sum(1 for entry in run.journal if entry.get("result") == "takeover")
    results: dict[str, int] = {}
    for entry in run.journal:
        results[entry["result"]] = results.get(entry["result"], 0) + 1
    limit_ms = (s.lease_seconds + s.slack_seconds) * 1000
    figures = {
        "lease_seconds": s.lease_seconds,
        "killed": s.kill,
        "tasks": s.tasks,
        "submitted": len(run.submits),
        "submit_errors": run.submit_errors,
        "expected": 3 * s.tasks,
        "delivered": len(first),
        "arrivals": len(run.deliveries),
        "duplicates": len(run.deliveries) - len(first),
        "takeover_entries": takeovers,
        "journal": results,
        "delivered_at_kill": run.delivered_at_kill,
        "wait_after_kill_s": run.wait_seconds,
        "due_before_kill": len(before),
        "due_after_kill": len(after),
        "worst_late_before_ms": max(before, default=float("nan")),
        "worst_late_after_ms": max(after, default=float("nan")),
        "p99_late_before_ms": percentile(before, 0.99),
        "p99_late_after_ms": percentile(after, 0.99),
        "updated_at_not_plan": mismatched,
        "longest_pause_after_kill_ms": pause,
        "rate_before_kill_per_s": _rate(arrivals, arrivals[0] if arrivals else 0, run.kill_ms),
        "rate_after_kill_per_s": _rate(arrivals, run.kill_ms, arrivals[-1] if arrivals else 0),
        "arrived_not_journaled_delivered": unrecorded,
        "survivor_errors": run.health.get("errors"),
    }
    figures["met"] = (
        figures["delivered"] == figures["expected"]
        and max(late.values(), default=float("inf")) <= limit_ms
    )
    _print_kill(figures, run, limit_ms)
    return figures


def _rate(arrivals: list[float], start_ms: float, end_ms: float) -> float:
    """Arrivals per second between two times (Unix ms)."""
    count = sum(1 for t in arrivals if start_ms <= t <= end_ms)
    return count / (end_ms - start_ms) * 1000 if end_ms > start_ms else float("nan")


def _seconds(value_ms: float) -> str:
    return f"{value_ms / 1000:.2f} s"


def _print_kill(f: dict[str, Any], run: KillRun, limit_ms: float) -> None:
    s = run.settings
    say()
    say(
        f"Two replicas on Redis namespace {run.namespace}, ?lease={s.lease_seconds:g} s, system "
        f"clock, --submitted-seconds {s.submitted_seconds:g} --processing-seconds "
        f"{s.processing_seconds:g} --callback-timeout {s.callback_timeout:g}; {s.tasks:,} tasks "
        f"submitted over ~{s.submit_spread_seconds:g} s alternately to each; replica 2 "
        f"{'SIGKILLed' if s.kill else 'NOT killed (control run), mark set'} when "
        f"{f['delivered_at_kill']:,} of {f['expected']:,} callbacks had arrived"
    )
    say(
        "Due time: the step's at_ms in the task's plan as the fake scheduled it (the survivor's "
        f"GET /__mock__/tasks timeline; the callback body's updated_at differs in "
        f"{f['updated_at_not_plan']} case(s)); arrival: the receiver's clock on 127.0.0.1"
    )
    rows = [
        ["callbacks expected / delivered", f"{f['expected']:,} / {f['delivered']:,}"],
        ["arrivals / duplicates", f"{f['arrivals']:,} / {f['duplicates']:,}"],
        ["takeover journal entries", f"{f['takeover_entries']:,} (journal: {f['journal']})"],
        ["submits answered 200 / failed", f"{f['submitted']:,} / {f['submit_errors']}"],
        [f"due before the kill ({f['due_before_kill']:,}): worst / p99 late",
         f"{_seconds(f['worst_late_before_ms'])} / {_seconds(f['p99_late_before_ms'])}"],
        [f"due after the kill ({f['due_after_kill']:,}): worst / p99 late",
         f"{_seconds(f['worst_late_after_ms'])} / {_seconds(f['p99_late_after_ms'])}"],
        ["all delivered, after the kill", f"{f['wait_after_kill_s']:.2f} s"],
        ["longest pause in arrivals after the kill",
         _seconds(f["longest_pause_after_kill_ms"])],
        ["arrivals a second, before / after the kill",
         f"{f['rate_before_kill_per_s']:.0f} / {f['rate_after_kill_per_s']:.0f}"],
        ["arrived but no 'delivered' journal entry", str(f["arrived_not_journaled_delivered"])],
        ["survivor's recorded errors", str(len(f["survivor_errors"] or []))],
        [f"target: every callback within due + lease + {s.slack_seconds:g} s "
         f"({_seconds(limit_ms)})", "met" if f["met"] else "NOT MET"],
    ]  # fmt: skip
    say(table(["measurement", "figure"], rows))
