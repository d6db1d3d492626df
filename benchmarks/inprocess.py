"""In-process timings of the pytest plugin: session server start, per-test reset, and a full
lifecycle test (submit, advance, callback, query, download); prints one JSON object."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest  # noqa: F401  (imported by pytest before any plugin: not timed)

_started = time.perf_counter()
from mock_kling.testing.plugin import KlingServer  # noqa: E402  (its import is timed)

_PLUGIN_IMPORT_S = time.perf_counter() - _started


def fixture_config(options: dict[str, Any]) -> Any:
    """The Config the kling_fake fixture builds for a test's options."""
    from mock_kling.testing import plugin as pytest_plugin

    build: Callable[[dict[str, Any]], Any] | None = getattr(pytest_plugin, "_config", None)
    if build is not None:
        return build(options)
    from mock_kling.core.config import DEV_ACCESS_KEY, DEV_SECRET_KEY, Config

    return Config(
        key_pairs={DEV_ACCESS_KEY: DEV_SECRET_KEY},
        api_keys=[pytest_plugin.API_KEY],
        seed=0,
        callback_timeout_seconds=2.0,
        **options,
    )


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "min_ms": ordered[0] * 1000,
        "max_ms": ordered[-1] * 1000,
        "n": len(ordered),
    }


def measure_starts(count: int) -> dict[str, Any]:
    started = time.perf_counter()
    first = KlingServer()
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    first.stop()
    stops = [time.perf_counter() - started]
    warm = []
    for _ in range(count):
        started = time.perf_counter()
        server = KlingServer()
        warm.append(time.perf_counter() - started)
        started = time.perf_counter()
        server.stop()
        stops.append(time.perf_counter() - started)
    return {
        "plugin_import_ms": _PLUGIN_IMPORT_S * 1000,
        "first_start_ms": first_s * 1000,
        "warm_start": summary(warm),
        "stop": summary(stops),
    }


def measure_resets(server: KlingServer, count: int) -> dict[str, Any]:
    from mock_kling.testing.fake import KlingFake

    config = fixture_config({})
    reconfigure = []
    for _ in range(count):
        started = time.perf_counter()
        server.backend.reconfigure(config)
        reconfigure.append(time.perf_counter() - started)
    fixture = []  # what kling_fake does per test: build the config, reconfigure, a handle
    for _ in range(count):
        started = time.perf_counter()
        server.backend.reconfigure(fixture_config({}))
        KlingFake(server.backend, server.url, server.app)
        fixture.append(time.perf_counter() - started)
    return {"reconfigure": summary(reconfigure), "fixture_setup": summary(fixture)}


def lifecycle_body(fake: Any, receiver: Any) -> None:
    """The README's lifecycle test, word for word in effect."""
    import requests

    body = {
        "image_list": [{"image": "https://example.com/a.png"}],
        "prompt": "a cat walks",
        "callback_url": receiver.url,
    }
    created = requests.post(fake.api_url, json=body, headers=fake.headers(), timeout=10).json()
    task_id = created["data"]["task_id"]
    fake.advance(10)
    fake.wait_for_callback(task_id, "succeed")
    statuses = [d.body["task_status"] for d in receiver.deliveries]
    if statuses != ["submitted", "processing", "succeed"]:
        raise AssertionError(f"deliveries: {statuses}")
    task = requests.get(f"{fake.api_url}/{task_id}", headers=fake.headers(), timeout=10).json()
    video = requests.get(task["data"]["task_result"]["videos"][0]["url"], timeout=30)
    if video.headers["Content-Type"] != "video/mp4" or not video.content:
        raise AssertionError("no MP4")


def measure_lifecycles(server: KlingServer, count: int) -> dict[str, Any]:
    from mock_kling.testing.fake import KlingFake
    from mock_kling.testing.receiver import CallbackReceiver

    bodies, whole = [], []
    for _ in range(count):
        started = time.perf_counter()
        receiver = CallbackReceiver().start()  # kling_receiver
        server.backend.reconfigure(fixture_config({}))  # kling_fake
        fake = KlingFake(server.backend, server.url, server.app)
        body_started = time.perf_counter()
        try:
            lifecycle_body(fake, receiver)
            bodies.append(time.perf_counter() - body_started)
        finally:
            receiver.stop()
        if server.backend.errors:
            raise AssertionError(f"the fake raised: {server.backend.errors[0]!r}")
        whole.append(time.perf_counter() - started)
    return {
        "body": summary(bodies),
        "first_body_ms": bodies[0] * 1000,
        "with_fixtures": summary(whole),
    }


def measure_submit_scaling(count: int, window: int = 500) -> dict[str, Any]:
    """Backend.create_task cost with `count` tasks created before it: with a manual clock that
    stands still every task keeps running; with a system clock and 0 s timings none does."""
    import json as json_module

    from mock_kling.assemble import build_backend
    from mock_kling.core.clock import ManualClock
    from mock_kling.core.config import Config

    body = json_module.loads(
        '{"image_list": [{"image": "https://example.com/a.png"}], "prompt": "p"}'
    )
    result: dict[str, Any] = {"tasks": count, "window": window}
    setups = (
        ("manual", ManualClock(), 2.0, 8.0),  # the clock stands still: every task keeps running
        ("system_0s", None, 0.0, 0.0),  # every task has ended by the next submit
    )
    for name, clock, submitted, processing in setups:
        config = Config(
            key_pairs={},
            api_keys=["sk"],
            seed=1,
            submitted_seconds=submitted,
            processing_seconds=processing,
        )
        backend = build_backend(config, clock)
        account = backend.authenticate("Bearer sk")
        times = []
        for _ in range(count):
            started = time.perf_counter()
            backend.create_task(account, dict(body))
            times.append(time.perf_counter() - started)
        backend.close()
        first = statistics.median(times[:window]) * 1e6
        last = statistics.median(times[-window:]) * 1e6
        result[name] = {"first_us": first, "last_us": last, "ratio": last / first}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--resets", type=int, default=1000)
    parser.add_argument("--lifecycles", type=int, default=50)
    parser.add_argument("--scaling", type=int, default=0, help="Only the submit-scaling probe.")
    args = parser.parse_args()
    if args.scaling:
        result: dict[str, Any] = {"submit_scaling": measure_submit_scaling(args.scaling)}
        print("BENCH_JSON " + json.dumps(result), flush=True)
        return
    result = {"starts": measure_starts(args.starts)}
    server = KlingServer()
    try:
        result["resets"] = measure_resets(server, args.resets)
        result["lifecycle"] = measure_lifecycles(server, args.lifecycles)
    finally:
        server.stop()
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
