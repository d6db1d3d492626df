"""Examples per second from each bundled contract: the suite's generator (schema_strategy) and,
side by side in the same run when it is importable, hypothesis-jsonschema (it needs
hypothesis<6.170.10: `pip install "hypothesis<6.170.10" hypothesis-jsonschema` in a scratch venv).

    python benchmarks/generation.py [--examples 200]

Prints one row per schema: seconds for N examples and how many of them the schema refuses."""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_kling.apispec import bundle
from mock_kling.contract.generate.schema_strategy import from_schema

Generator = Callable[[dict[str, Any]], st.SearchStrategy[Any]]


def _generators() -> dict[str, Generator]:
    found: dict[str, Generator] = {"schema_strategy": from_schema}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from hypothesis_jsonschema import from_schema as other  # type: ignore[import-not-found]
    except ImportError:
        print("hypothesis-jsonschema not installed: its column is left out")
    else:
        found["hypothesis-jsonschema"] = other
    return found


def _measure(generate: Generator, schema: dict[str, Any], examples: int) -> tuple[float, int]:
    validator = jsonschema.Draft7Validator(schema)
    refused = [0]

    @settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(generate(schema))
    def draw(value: Any) -> None:
        refused[0] += not validator.is_valid(value)

    start = time.perf_counter()
    draw()
    return time.perf_counter() - start, refused[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    examples = parser.parse_args().examples
    generators = _generators()
    totals = dict.fromkeys(generators, 0.0)
    print(f"{'schema':<24}" + "".join(f"{name:>34}" for name in generators))
    for name in bundle.SCHEMA_NAMES:
        cells = []
        for label, generate in generators.items():
            seconds, refused = _measure(generate, bundle.schema(name), examples)
            totals[label] += seconds
            cells.append(f"{seconds:8.2f} s, {refused} refused")
        print(f"{name:<24}" + "".join(f"{cell:>34}" for cell in cells))
    print(f"{'total':<24}" + "".join(f"{totals[label]:>31.2f} s" for label in generators))


if __name__ == "__main__":
    main()
