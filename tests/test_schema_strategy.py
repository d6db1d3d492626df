"""The contract generator (mock_kling.contract.generate.schema_strategy): it knows every keyword the
bundled contracts use, every value it draws validates, and each choice a contract offers is
reached."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from mock_kling.apispec import bundle, derived
from mock_kling.contract.generate.schema_strategy import (
    ANNOTATIONS,
    SUPPORTED,
    from_schema,
    keywords,
)
from mock_kling.core.profiles import PROFILES

# Every schema the suite or the fake may generate from: the bundle, and each vendor's variants.
_DERIVED = ("create_request", "create_response", "query_response", "list_response")
SCHEMAS: dict[str, dict[str, Any]] = {name: bundle.schema(name) for name in bundle.SCHEMA_NAMES}
SCHEMAS.update(
    {
        f"{p}:{name}": derived.schema(p, name)
        for p in PROFILES
        for name in _DERIVED
        if p != "official"
    }
)
_FAST = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_every_keyword_of_the_contracts_is_supported() -> None:
    used: dict[str, set[str]] = {}
    for name, schema in SCHEMAS.items():
        for keyword in keywords(schema):
            used.setdefault(keyword, set()).add(name)
    unsupported = {
        k: sorted(names) for k, names in used.items() if k not in SUPPORTED | ANNOTATIONS
    }
    assert unsupported == {}, f"keywords the generator does not know: {unsupported}"
    # the walk finds nested keywords, not only the top level
    assert {"if", "then", "else", "not", "anyOf", "pattern", "items", "const"} <= set(used)


@pytest.mark.parametrize("keyword", ["multipleOf", "$ref", "patternProperties", "oneOf", "format"])
def test_a_keyword_it_does_not_know_is_an_error_when_built(keyword: str) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", keyword: "x"}}}
    with pytest.raises(ValueError, match=keyword.replace("$", r"\$")):
        from_schema(schema)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_generated_value_validates(name: str) -> None:
    schema = SCHEMAS[name]
    validator = jsonschema.Draft7Validator(schema)

    @_FAST
    @given(from_schema(schema))
    def check(value: Any) -> None:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]
        assert errors == [], value

    check()


def _reach(schema: dict[str, Any], condition: Any, tries: int = 200) -> Any:
    """A drawn value meeting `condition` (generation only: no shrinking), or fail."""
    seen: list[Any] = []

    @settings(max_examples=tries, database=None, deadline=None, phases=[Phase.generate])
    @given(from_schema(schema))
    def look(value: Any) -> None:
        if not seen and condition(value):
            seen.append(value)

    look()
    assert seen, f"no value in {tries} met the condition"
    return seen[0]


def _videos(value: dict[str, Any]) -> list[Any]:
    return list(value.get("task_result", {}).get("videos", []))


def test_both_branches_of_if_then_else_are_drawn() -> None:
    callback = SCHEMAS["callback"]
    assert _videos(_reach(callback, lambda v: v["task_status"] == "succeed"))
    assert _reach(callback, lambda v: v["task_status"] != "succeed" and "task_result" in v)


def test_each_branch_of_any_of_is_drawn() -> None:
    rule = SCHEMAS["control/fault_rule"]
    assert _reach(rule, lambda v: isinstance(v.get("code"), int))["code"] in range(1000, 6000)
    assert isinstance(
        _reach(rule, lambda v: isinstance(v.get("latency_ms"), list))["latency_ms"], list
    )
    assert _reach(rule, lambda v: v.get("drop") is True and "code" not in v)


def test_optional_and_extra_properties_are_drawn_and_left_out() -> None:
    request = SCHEMAS["create_request"]
    assert _reach(request, lambda v: set(v) == {"image_list", "prompt"})
    assert _reach(request, lambda v: set(v) - set(request["properties"]))  # additionalProperties
    closed = {"type": "object", "additionalProperties": False, "properties": {"a": {}}}
    values = st.lists(from_schema(closed), min_size=1, max_size=30)
    assert all(set(v) <= {"a"} for v in find(values, lambda vs: len(vs) >= 30))


def test_limits_are_met_at_their_edges() -> None:
    request = SCHEMAS["create_request"]
    assert len(_reach(request, lambda v: len(v["image_list"]) == 4)["image_list"]) == 4
    low = SCHEMAS["callback"]["properties"]["created_at"]["minimum"]
    assert _reach(SCHEMAS["callback"], lambda v: v["created_at"] == low)["created_at"] == low


@_FAST
@given(from_schema({"type": "string", "pattern": "^a+$", "not": {"pattern": "aaa"}}))
def test_not_rejects_what_it_matches(text: str) -> None:
    assert text.startswith("a")
    assert "aaa" not in text


def test_the_lowest_hypothesis_checked_is_the_one_the_extras_allow() -> None:
    root = Path(__file__).resolve().parent.parent
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    lowest = re.search(r"^HYPOTHESIS_LOWEST=(\S+)$", (root / "scripts/check").read_text(), re.M)
    assert lowest is not None
    wanted = f"hypothesis>={lowest.group(1).removesuffix('.0')}"
    assert wanted in extras["contract"]
    assert not any("hypothesis-jsonschema" in spec for specs in extras.values() for spec in specs)


@_FAST
@given(
    from_schema(
        {
            "allOf": [
                {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}},
                    "additionalProperties": False,
                },
                {"properties": {"b": {"type": "string"}}, "required": ["a"]},
            ]
        }
    )
)
def test_all_of_keeps_what_each_part_forbids(value: dict[str, Any]) -> None:
    assert set(value) == {"a"}
    assert isinstance(value["a"], int)
