"""Hypothesis strategies for the values a bundled draft-07 contract accepts.

Why our own generator: hypothesis-jsonschema (the generator used before) had its last release,
0.23.1, in February 2024; it calls Hypothesis' private `many.more`, removed in Hypothesis
6.170.10, so it pinned every user of `mock-kling[contract]` to an old Hypothesis. The candidates
measured (issue 21; figures in docs/contract-suite.md):

- a maintained fork on PyPI: none found (the one near name, hypothesis-jsonschema-unfit, has one
  release from 2020);
- Schemathesis' generator (`schemathesis.generation.jsonschema`): maintained, but not part of its
  public API, it imports Hypothesis internals itself (`hypothesis.strategies._internal`), and
  Schemathesis brings a dozen packages (rich, anyio, werkzeug, ...) into the small `contract`
  extra;
- this module: the contracts are draft-07, bundled (no `$ref` left, see
  `mock_kling.apispec.bundle`), not recursive, and use 20 keywords. A generator for exactly
  those keywords, on Hypothesis' public strategies only, is about 250 lines and works from
  Hypothesis 6.100 to the newest. A keyword it does not know is an error when the strategy is
  built (never a value the contract refuses), and the tests walk every bundled schema for one.

How: `allOf` is merged into its parent (types intersected, bounds tightened, required joined,
properties merged); `anyOf` and `if`/`then`/`else` become a choice among branches, each merged
into the rest (the `else` branch keeps only values the `if` refuses); `not` and a second
`pattern` reject the values they match. Strings come from `st.from_regex` for a pattern, else
`st.text`; objects hold their required properties, any of the optional ones, and (when
`additionalProperties` allows) a few extra keys."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema
from hypothesis import strategies as st

__all__ = ["ANNOTATIONS", "SUPPORTED", "from_schema", "keywords"]

# The validation keywords the generator honours.
SUPPORTED = frozenset(
    {
        "type", "enum", "const",
        "properties", "required", "additionalProperties",
        "items", "minItems", "maxItems",
        "minLength", "maxLength", "pattern",
        "minimum", "maximum",
        "allOf", "anyOf", "not", "if", "then", "else",
    }
)  # fmt: skip
# Keywords that constrain nothing ("definitions": a bundled schema has inlined every "$ref").
ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "default", "examples", "definitions"}
)
_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
_SUBSCHEMA = ("items", "additionalProperties", "not", "if", "then", "else")
_SUBSCHEMA_LISTS = ("allOf", "anyOf")
_MAX_EXTRA_KEYS = 2
# Text a JSON document can carry (no lone surrogates).
_CHARS = st.characters(codec="utf-8")
# The values of an empty schema (any JSON value), small.
_ANY_JSON: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(_CHARS, max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(_CHARS, max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)

Schema = dict[str, Any]


def keywords(schema: Any) -> set[str]:
    """Every keyword used in `schema` and its subschemas (values of `enum`/`const`/`default`/
    `examples` are data, not schemas)."""
    found: set[str] = set()
    _walk(schema, found)
    return found


def _walk(schema: Any, found: set[str]) -> None:
    if not isinstance(schema, Mapping):
        return
    found.update(schema)
    for name in _SUBSCHEMA:
        _walk(schema.get(name), found)
    for name in _SUBSCHEMA_LISTS:
        for part in schema.get(name, ()):
            _walk(part, found)
    for name in ("properties", "definitions"):
        for part in schema.get(name, {}).values():
            _walk(part, found)


def from_schema(schema: Mapping[str, Any] | bool) -> st.SearchStrategy[Any]:
    """Values `schema` accepts. Raises ValueError for a keyword outside SUPPORTED|ANNOTATIONS."""
    return _strategy(_normal(schema))


# --- normal form: one flat dict; the parts that need a choice or a rejection kept apart --------


def _normal(schema: Mapping[str, Any] | bool) -> Schema:
    """`schema` with allOf merged in, const as a one-value enum, annotations dropped, and
    `_not` / `_patterns` / `_choices` lists for what cannot be merged."""
    if schema is True:
        return {}
    if schema is False:
        return {"enum": []}
    unknown = set(schema) - SUPPORTED - ANNOTATIONS
    if unknown:
        raise ValueError(f"the contract generator does not support {sorted(unknown)}")
    out: Schema = {}
    for key, value in schema.items():
        if key in ANNOTATIONS:
            continue
        if key == "const":
            out = _merge(out, {"enum": [value]})
        elif key == "pattern":
            out = _merge(out, {"_patterns": [value]})
        elif key == "not":
            out = _merge(out, {"_not": [copy.deepcopy(value)]})
        elif key == "allOf":
            for part in value:
                out = _merge(out, _normal(part))
        elif key == "anyOf":
            out = _merge(out, {"_choices": [[("any", _normal(part)) for part in value]]})
        elif key == "if":
            choice = [
                ("then", _merge(_normal(value), _normal(schema.get("then", True)))),
                ("else", _merge(_normal(schema.get("else", True)), {"_not": [value]})),
            ]
            out = _merge(out, {"_choices": [choice]})
        elif key in ("then", "else"):
            continue  # with "if" (alone they constrain nothing)
        elif key == "type":
            out = _merge(out, {"type": [value] if isinstance(value, str) else list(value)})
        elif key == "properties":
            out = _merge(out, {"properties": {k: _normal(v) for k, v in value.items()}})
        elif key in ("items", "additionalProperties"):
            out = _merge(out, {key: _normal(value)})
        else:
            out = _merge(out, {key: copy.deepcopy(value)})
    return out


def _merge(a: Schema, b: Schema) -> Schema:
    """The conjunction of two schemas in normal form."""
    out = dict(a)
    for key, value in b.items():
        if key not in out:
            out[key] = value
            continue
        mine = out[key]
        if key == "type":
            out[key] = _common_types(mine, value)
        elif key in ("minimum", "minLength", "minItems"):
            out[key] = max(mine, value)
        elif key in ("maximum", "maxLength", "maxItems"):
            out[key] = min(mine, value)
        elif key == "enum":
            out[key] = [v for v in mine if any(_same(v, w) for w in value)]
        elif key == "required":
            out[key] = [*mine, *(name for name in value if name not in mine)]
        elif key == "properties":
            # a property one side lacks meets that side's additionalProperties
            others_a, others_b = (
                a.get("additionalProperties", {}),
                b.get("additionalProperties", {}),
            )
            out[key] = {
                name: _merge(mine.get(name, others_a), value.get(name, others_b))
                for name in {**mine, **value}
            }
        elif key in ("items", "additionalProperties"):
            out[key] = _merge(mine, value)
        elif key in ("_not", "_patterns", "_choices"):
            out[key] = [*mine, *value]
        else:  # pragma: no cover - _normal admits only the keys above
            raise ValueError(f"cannot merge {key!r}")
    return out


def _common_types(a: list[str], b: list[str]) -> list[str]:
    """The JSON types both lists allow ("integer" is a kind of "number")."""
    both = [t for t in a if t in b]
    if "integer" not in both and (
        ("integer" in a and "number" in b) or ("number" in a and "integer" in b)
    ):
        both.append("integer")
    return both


def _same(a: Any, b: Any) -> bool:
    """JSON equality (True is not 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


# --- strategies ----------------------------------------------------------------------------------


def _strategy(schema: Schema) -> st.SearchStrategy[Any]:
    if not schema:
        return _ANY_JSON
    choices = schema.get("_choices")
    if choices:
        rest = {**schema, "_choices": choices[1:]}
        return st.one_of(*(_strategy(_merge(rest, branch)) for _, branch in choices[0]))
    types = [t for t in schema.get("type", _TYPES) if t in _TYPES]
    if "integer" in types and "number" in types:
        types.remove("integer")  # number covers the integers
    if "enum" in schema:
        values = [v for v in schema["enum"] if _json_type(v) in types or _is_int_number(v, types)]
        values = [v for v in values if _scalar_fits(v, schema)]
        base: st.SearchStrategy[Any] = st.sampled_from(values) if values else st.nothing()
    else:
        base = st.one_of(*(_BY_TYPE[t](schema) for t in types)) if types else st.nothing()
    rejects = [_validator(part) for part in schema.get("_not", ())]
    if rejects:
        base = base.filter(lambda value: not any(v.is_valid(value) for v in rejects))
    return base


def _validator(schema: Any) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(schema)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _is_int_number(value: Any, types: list[str]) -> bool:
    return _json_type(value) == "integer" and "number" in types


def _scalar_fits(value: Any, schema: Schema) -> bool:
    """An enum value kept by the schema's other scalar rules (lengths, bounds, patterns)."""
    if isinstance(value, str):
        return (
            schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", math.inf)
            and all(re.search(p, value) for p in schema.get("_patterns", ()))
        )  # fmt: skip
    if isinstance(value, int | float) and not isinstance(value, bool):
        return bool(schema.get("minimum", -math.inf) <= value <= schema.get("maximum", math.inf))
    return True


def _null(schema: Schema) -> st.SearchStrategy[Any]:
    return st.none()


def _boolean(schema: Schema) -> st.SearchStrategy[Any]:
    return st.booleans()


def _integer(schema: Schema) -> st.SearchStrategy[Any]:
    low, high = schema.get("minimum"), schema.get("maximum")
    low = None if low is None else math.ceil(low)
    high = None if high is None else math.floor(high)
    if low is not None and high is not None and low > high:
        return st.nothing()
    return st.integers(low, high)


def _number(schema: Schema) -> st.SearchStrategy[Any]:
    floats = st.floats(
        schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False
    )
    return st.one_of(_integer(schema), floats)


def _string(schema: Schema) -> st.SearchStrategy[Any]:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    patterns = list(schema.get("_patterns", ()))
    if not patterns:
        return st.text(_CHARS, min_size=low, max_size=high)
    first, others = patterns[0], [re.compile(p) for p in patterns[1:]]
    texts = st.from_regex(first, alphabet=_CHARS)

    def fits(text: str) -> bool:
        return low <= len(text) <= (high if high is not None else math.inf) and all(
            p.search(text) for p in others
        )

    return texts.filter(fits)


def _array(schema: Schema) -> st.SearchStrategy[Any]:
    low, high = schema.get("minItems", 0), schema.get("maxItems")
    if high is not None and low > high:
        return st.nothing()
    items = _strategy(schema.get("items", {}))
    return st.lists(items, min_size=low, max_size=high if high is not None else low + 3)


def _object(schema: Schema) -> st.SearchStrategy[Any]:
    properties: dict[str, Schema] = schema.get("properties", {})
    extra: Schema = schema.get("additionalProperties", {})
    closed = extra.get("enum") == []  # additionalProperties: false
    required = list(schema.get("required", ()))
    if closed and any(name not in properties for name in required):
        return st.nothing()
    fixed = {name: _strategy(properties.get(name, extra)) for name in required}
    optional = {
        name: _strategy(rule)
        for name, rule in properties.items()
        if name not in fixed and rule.get("enum") != []  # a property no value may take
    }
    objects = st.fixed_dictionaries(fixed, optional=optional)
    if closed:
        return objects
    known = set(properties) | set(required)
    keys = st.text(_CHARS, min_size=1, max_size=12).filter(lambda key: key not in known)
    extras = st.dictionaries(keys, _strategy(extra), max_size=_MAX_EXTRA_KEYS)
    return st.builds(_joined, objects, extras)


def _joined(fixed: dict[str, Any], extras: dict[str, Any]) -> dict[str, Any]:
    return {**extras, **fixed}


_BY_TYPE: dict[str, Callable[[Schema], st.SearchStrategy[Any]]] = {
    "null": _null,
    "boolean": _boolean,
    "integer": _integer,
    "number": _number,
    "string": _string,
    "array": _array,
    "object": _object,
}
