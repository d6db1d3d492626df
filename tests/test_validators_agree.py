"""jsonschema stays the judge: over generated valid and invalid create bodies of every vendor
profile, jsonschema-rs (the fast path of derived.FastContract) gives jsonschema's verdict."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_kling.apispec import derived
from mock_kling.contract.generate.mutations import mutations
from mock_kling.contract.generate.schema_strategy import from_schema
from mock_kling.core.profiles import PROFILES

# Characters where regex dialects and string models part: line ends Python's `$` accepts,
# whitespace only some engines call \s, a non-BMP letter (one code point, two UTF-16 units).
_TRICKY = "\n\r\t \x0b\x0c\x1c\x1f\x7f\x85\xa0\u2028\u3000\U0001f600aA:/.#?"
_tricky_text = st.text(st.sampled_from(_TRICKY) | st.characters(codec="utf-8"), max_size=12)
_near_miss_strings = st.one_of(
    _tricky_text,
    st.builds(lambda a, b: f"http{a}://{b}", st.sampled_from(["", "s", "S"]), _tricky_text),
    st.builds(
        lambda a, b: f"{a}:{b}", st.sampled_from(["data", "DATA", "dAtA", "dat"]), _tricky_text
    ),
)
_any_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _near_miss_strings,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_tricky_text, inner, max_size=3),
    max_leaves=6,
)


def _mutated(profile: str) -> st.SearchStrategy[Any]:
    """A valid body with one documented rule broken (mutations.py), as JSON parses it."""
    broken = [m for m in mutations(profile) if m.name != "body-not-json"]

    def apply(body: dict[str, Any], index: int) -> Any:
        return json.loads(broken[index].breaks(body).data)

    return st.builds(apply, _valid(profile), st.integers(0, len(broken) - 1))


def _valid(profile: str) -> st.SearchStrategy[dict[str, Any]]:
    return from_schema(derived.schema(profile, "create_request"))


def _field_changed(profile: str) -> st.SearchStrategy[Any]:
    """A valid body with one field (or one image) replaced, or dropped."""
    names = sorted(derived.schema(profile, "create_request")["properties"])

    def change(body: dict[str, Any], name: str, value: Any, drop: bool, in_image: bool) -> Any:
        body = dict(body)
        if in_image and body.get("image_list"):
            body["image_list"] = [{"image": value}, *body["image_list"][1:]]
        elif drop:
            body.pop(name, None)
        else:
            body[name] = value
        return body

    return st.builds(
        change, _valid(profile), st.sampled_from(names), _any_json, st.booleans(), st.booleans()
    )


def _bodies(profile: str) -> st.SearchStrategy[Any]:
    return st.one_of(_valid(profile), _mutated(profile), _field_changed(profile), _any_json)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_jsonschema_rs_and_jsonschema_agree_on_create_bodies(profile: str) -> None:
    schema = derived.schema(profile, "create_request")
    judge = jsonschema.Draft7Validator(schema)
    fast = jsonschema_rs.Draft7Validator(schema, validate_formats=False)
    contract = derived.create_contract(profile)
    verdicts: set[bool] = set()

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(_bodies(profile))
    def agree(body: Any) -> None:
        expected = judge.is_valid(body)
        verdicts.add(expected)
        assert contract.is_valid(body) == expected, body
        try:
            rust = bool(fast.is_valid(body))
        except ValueError:  # an integer beyond 64 bits: FastContract asks jsonschema
            return
        assert rust == expected, body

    agree()
    assert verdicts == {True, False}  # both kinds of body were drawn
