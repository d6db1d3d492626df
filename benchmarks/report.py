"""The run's settings, its summary rows and collected data, and the printing helpers."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness import median, spread


@dataclass
class Settings:
    """How long and how often; --quick shortens everything but keeps every measurement."""

    quick: bool = False
    duration: float = 5.0
    warmup: float = 1.0
    rounds: int = 3
    threads: int = 8
    server: str = "granian"
    cold_runs: int = 7
    big_rounds: int = 5
    list_tasks: int = 100_000
    list_via: str = "http"  # quick: "inprocess"
    scaling_tasks: int = 3000
    callback_tasks: int = 1000
    hang_rounds: int = 3
    feed_rate: float = 20.0
    resets: int = 1000
    lifecycles: int = 50
    pytest_runs: int = 3

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        settings = cls()
        if args.quick:
            settings = cls(
                quick=True,
                duration=2.0,
                rounds=1,
                cold_runs=3,
                big_rounds=3,
                hang_rounds=3,  # one round's p99 at 64 connections is mostly noise here
                pytest_runs=1,
                list_via="inprocess",
            )
        for name in ("duration", "rounds", "threads", "server", "list_tasks", "list_via"):
            value = getattr(args, name)
            if value is not None:
                setattr(settings, name, value)
        return settings


@dataclass
class Row:
    """One line of the summary: a figure and, when the issue sets one, its target."""

    section: str
    name: str
    figure: str
    target: str = ""
    met: bool | None = None  # None: context, no target


@dataclass
class Report:
    settings: Settings
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def add(
        self, section: str, name: str, figure: str, target: str = "", met: bool | None = None
    ) -> None:
        self.rows.append(Row(section, name, figure, target, met))


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def say(text: str = "") -> None:
    print(text, flush=True)


def ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"


def rate(value: float) -> str:
    return f"{value:,.0f}"


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def rate_spread(values: Sequence[float]) -> str:
    """`median (min..max)` of req/s rounds; the median alone for one round."""
    if len(values) < 2:
        return rate(median(values))
    low, high = spread(values)
    return f"{rate(median(values))} ({rate(low)}..{rate(high)})"


def ms_spread(values: Sequence[float]) -> str:
    """`median (min..max)` of millisecond rounds; the median alone for one round."""
    if len(values) < 2:
        return ms(median(values))
    low, high = spread(values)
    return f"{ms(median(values))} ({low:.1f}..{high:.1f})"
