"""The `http` section's tables and summary rows: medians, spread and ratios per cell."""

from __future__ import annotations

from typing import Any

from harness import median
from load import WrkResult
from report import Report, Settings, ms, ms_spread, rate, rate_spread, ratio, say, table

PRISM_GET_RPS = 1300.0  # issue 7: Stoplight Prism, GET one task, 64 connections
NAMES = {
    "fake": "fake",
    "bare": "bare",
    "wiremock": "WireMock",
    "wm-kling": "WireMock for Kling",  # body checked by the create schema, ids/times templated
}
Results = dict[tuple[str, int, str], list[WrkResult]]


def _rps(results: Results, endpoint: str, connections: int, server: str) -> float:
    return median([r.rps for r in results.get((endpoint, connections, server), [])])


def _cells(results: Results) -> list[tuple[str, int]]:
    return list(dict.fromkeys((endpoint, conn) for endpoint, conn, _ in results))


def report_http(
    s: Settings, report: Report, results: Results, answers: dict[str, bytes], with_wm: bool
) -> None:
    ran = {name for _, _, name in results}
    servers = ["fake", "bare", *(n for n in ("wiremock", "wm-kling") if with_wm and n in ran)]
    speed, cost, data = [], [], []
    for endpoint, conn in _cells(results):
        runs = {name: results.get((endpoint, conn, name), []) for name in servers}
        fake = median([r.rps for r in runs["fake"]])
        speed.append(
            [endpoint, str(conn)]
            + [rate_spread([r.rps for r in runs[n]]) if runs[n] else "-" for n in servers]
            + [_ratio_text(fake, runs, n) for n in servers[1:]]
        )
        cost.append(
            [endpoint, str(conn)]
            + [ms_spread([r.p99_ms for r in runs[n]]) if runs[n] else "-" for n in servers]
            + ["/".join(str(sum(r.errors for r in runs[n])) if runs[n] else "-" for n in servers)]
            + [" / ".join(_cpu(runs[n]) for n in servers)]
        )
        data.append({"endpoint": endpoint, "connections": conn, **_cell_json(runs)})
    report.data["http"] = {
        "cells": data,
        "duration_s": s.duration,
        "rounds": s.rounds,
        "server": s.server,
    }
    say()
    say(
        f"HTTP (wrk -t1 --latency, {s.duration:g} s a cell after a {s.warmup:g} s warm-up; "
        f"median (min..max) of {s.rounds} round(s), server order rotated; fake and bare app on "
        f"{s.server}, {s.threads} threads; answers {len(answers['get'])} / "
        f"{len(answers['list'])} / {len(answers['post'])} bytes)"
    )
    heads = [NAMES[n] for n in servers]
    say(
        table(
            ["cell", "conn", *(f"{h} req/s" for h in heads), *(f"fake/{h}" for h in heads[1:])],
            speed,
        )
    )
    say()
    say(
        table(
            [
                "cell",
                "conn",
                *(f"{h} p99" for h in heads),
                "errors " + "/".join(heads),
                "CPU us/req " + " / ".join(heads),
            ],
            cost,
        )
    )
    _summary(report, results, with_wm)


def _ratio_text(fake: float, runs: dict[str, list[WrkResult]], name: str) -> str:
    if not runs[name] or not runs["fake"]:
        return "-"
    return f"{ratio(fake, median([r.rps for r in runs[name]])):.2f}"


def _cpu(runs: list[WrkResult]) -> str:
    return f"{median([r.cpu_us_per_request for r in runs]):.0f}" if runs else "-"


def _cell_json(runs: dict[str, list[WrkResult]]) -> dict[str, Any]:
    return {
        name: {
            "rps": median([r.rps for r in rounds]),
            "p99_ms": median([r.p99_ms for r in rounds]),
            "cpu_us_per_request": median([r.cpu_us_per_request for r in rounds]),
            "errors": sum(r.errors for r in rounds),
            "rounds": [r.to_json() for r in rounds],
        }
        for name, rounds in runs.items()
        if rounds
    }


def _summary(report: Report, results: Results, with_wm: bool) -> None:
    def rps(endpoint: str, server: str) -> float:
        return _rps(results, endpoint, 64, server)

    def cpu(endpoint: str, server: str) -> str:
        return _cpu(results.get((endpoint, 64, server), []))

    get_f, get_b = rps("GET one task", "fake"), rps("GET one task", "bare")
    report.add(
        "http",
        "GET one task, 64 conn: req/s vs Prism 1.3k",
        f"{rate(get_f)} req/s = {get_f / PRISM_GET_RPS:.2f}x Prism",
        ">= 2x (2,600 req/s)",
        get_f >= 2 * PRISM_GET_RPS,
    )
    report.add(
        "http",
        "GET one task, 64 conn: fake / bare app",
        f"{ratio(get_f, get_b):.2f} ({rate(get_f)} / {rate(get_b)} req/s; CPU "
        f"{cpu('GET one task', 'fake')} / {cpu('GET one task', 'bare')} us/req)",
        ">= 0.50",
        ratio(get_f, get_b) >= 0.5,
    )
    _vs(
        report,
        results,
        "GET one task, 64 conn: fake / WireMock",
        ("GET one task", "GET one task"),
        1.5,
        with_wm,
    )
    _vs(
        report,
        results,
        "POST 2 image URLs, 64 conn: fake / WireMock",
        ("POST submit, 2 image URLs", "POST submit, 2 image URLs"),
        0.5,
        with_wm,
    )
    post_f, post_b = rps("POST submit 2x400x400", "fake"), rps("POST submit 2x400x400", "bare")
    report.add(
        "http",
        "POST 2x400x400 PNG, 64 conn: fake / bare app",
        f"{ratio(post_f, post_b):.2f} ({rate(post_f)} / {rate(post_b)} req/s; CPU "
        f"{cpu('POST submit 2x400x400', 'fake')} / {cpu('POST submit 2x400x400', 'bare')} us/req)",
        ">= 0.50",
        ratio(post_f, post_b) >= 0.5,
    )
    _vs(
        report,
        results,
        "GET list (30), 64 conn: fake / WireMock's GET one task",
        ("GET list (30)", "GET one task"),
        1.0,
        with_wm,
    )
    kling = with_wm and any(name == "wm-kling" for _, _, name in results)
    for endpoint, target in (
        ("GET one task", 0.9),
        ("POST submit, 2 image URLs", 0.5),
        ("GET list (30)", 1.0),
    ):
        _vs(
            report,
            results,
            f"{endpoint}, 64 conn: fake / WireMock built for Kling",
            (endpoint, endpoint),
            target,
            kling,
            "wm-kling",
        )
    p99 = [r.p99_ms for r in results[("GET one task", 64, "fake")]]
    report.add(
        "http",
        "GET one task, 64 conn: p99",
        f"{ms(median(p99))} (rounds: {', '.join(f'{x:.1f}' for x in p99)} ms; bare "
        f"{ms(median([r.p99_ms for r in results[('GET one task', 64, 'bare')]]))})",
        "< 25 ms",
        median(p99) < 25,
    )
    bad = sum(r.errors for (_, _, name), runs in results.items() if name == "fake" for r in runs)
    report.add("http", "non-2xx + socket errors (fake, all cells)", str(bad), "0", bad == 0)


def _vs(
    report: Report,
    results: Results,
    name: str,
    endpoints: tuple[str, str],
    target: float,
    with_wm: bool,
    server: str = "wiremock",
) -> None:
    """A summary row: the fake's req/s on endpoints[0] / `server`'s (a WireMock) on
    endpoints[1], 64 conn."""
    if not with_wm:
        report.add(
            "http",
            name,
            "skipped: " + report.skipped.get(server, "no WireMock"),
            f">= {target:.2f}",
            None,
        )
        return
    fake = _rps(results, endpoints[0], 64, "fake")
    wm = _rps(results, endpoints[1], 64, server)
    cpu_f = _cpu(results.get((endpoints[0], 64, "fake"), []))
    cpu_w = _cpu(results.get((endpoints[1], 64, server), []))
    report.add(
        "http",
        name,
        f"{ratio(fake, wm):.2f} ({rate(fake)} / {rate(wm)} req/s; CPU {cpu_f} / {cpu_w} us/req)",
        f">= {target:.2f}",
        ratio(fake, wm) >= target,
    )
