"""What one poll of the dashboard costs the fake with N tasks (default 1,000), in process: the
page's poll (a page of tasks, the journals after their cursors) next to reading the whole state
from the same control API; prints the median milliseconds and bytes of each."""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from mock_kling import Config, ManualClock, create_app

KEY = "sk-bench"
PATH = "/kling/v1/videos/multi-image2video"
BODY = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "bench"}


def prefilled(tasks: int) -> Any:
    """A fake with `tasks` tasks (and as many journaled requests), half of them processing."""
    app = create_app(Config(seed=1, api_keys=[KEY]), clock=ManualClock())
    client = app.test_client()
    for i in range(tasks):
        client.post(PATH, json=BODY, headers={"Authorization": f"Bearer {KEY}"})
        if i == tasks // 2:
            client.post("/__mock__/clock/advance", json={"seconds": 3})
    return client


def cursors(client: Any) -> tuple[str, str]:
    requests = client.get("/__mock__/requests?since=&limit=1000").get_json()["cursor"]
    callbacks = client.get("/__mock__/callbacks?since=&limit=5000").get_json()["cursor"]
    return requests, callbacks


def dashboard_poll(client: Any, request_cursor: str, callback_cursor: str) -> list[str]:
    """The URLs of one poll of the page once it caught up (app.js `poll`)."""
    return [
        "/__mock__/clock",
        "/__mock__/health",
        "/__mock__/tasks?limit=50",
        f"/__mock__/requests?since={request_cursor}&limit=1000",
        f"/__mock__/callbacks?since={callback_cursor}&limit=5000",
        "/__mock__/faults",
    ]


WHOLE_STATE = ["/__mock__/clock", "/__mock__/tasks", "/__mock__/requests", "/__mock__/callbacks"]


def measure(client: Any, urls: list[str], repeats: int) -> tuple[float, int]:
    """Median milliseconds of one round of `urls`, and the bytes it answers."""
    times, size = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        size = sum(len(client.get(url).data) for url in urls)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=30)
    options = parser.parse_args()
    client = prefilled(options.tasks)
    urls = dashboard_poll(client, *cursors(client))
    for name, round_urls in (("dashboard poll", urls), ("whole state", WHOLE_STATE)):
        ms, size = measure(client, round_urls, options.repeats)
        print(f"{name:15} {options.tasks} tasks: {ms:7.2f} ms, {size / 1024:8.1f} KiB per poll")


if __name__ == "__main__":
    main()
