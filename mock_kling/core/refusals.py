"""Turns a JSON-Schema validation error into a Kling refusal that names the field and the rule."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from mock_kling.core.errors import KlingError

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

# Rules a pattern cannot say in words, by field.
PATTERN_RULES = {"callback_url": "must be empty or an http(s) URL"}
_MODEL_FIELDS = ("model_name", "model")  # an unknown model is 1203, as Kling answers it
_MAX_MESSAGE = 300


class Contract(Protocol):
    """What a refusal needs of a contract: a jsonschema validator, or one that answers
    `is_valid` faster and leaves the errors to jsonschema."""

    @property
    def schema(self) -> Any: ...
    def is_valid(self, instance: Any) -> bool: ...
    def iter_errors(self, instance: Any) -> Iterator[ValidationError]: ...


def check(validator: Contract, instance: Any) -> None:
    """Raise the refusal for the most relevant error of `instance` against `validator`'s schema
    (400/1201, or 404/1203 for an unknown model), if it has one."""
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(instance))
    if error is not None:
        raise refusal(error)


def refusal(error: ValidationError) -> KlingError:
    """The Kling error for one validation error."""
    error = _described_ancestor(error) or error
    field = _field_name(error.absolute_path)
    models: Any = error.validator_value
    if error.validator == "enum" and field in _MODEL_FIELDS:
        supported = ", ".join(str(model) for model in models)
        return KlingError(
            1203, f"{field} {show(error.instance)} does not exist; supported: {supported}"
        )
    return KlingError(1201, describe(error, field))


def describe(error: ValidationError, field: str) -> str:
    """`field` and the rule it breaks, in words."""
    keyword = error.validator
    expected: Any = error.validator_value
    value: Any = error.instance
    schema: Any = error.schema
    name = field or "request body"
    if field and keyword in ("anyOf", "oneOf") and "description" in schema:
        return f"{name} must be {schema['description']} (got {show(value)})"
    if keyword == "required":
        missing = next(name for name in expected if name not in value)
        return f"{_join(field, missing)} is required{_unknown_keys(value, schema)}"
    if keyword == "additionalProperties":
        unknown = sorted(set(value) - set(schema.get("properties", {})))
        return f"{name} has unknown fields: {', '.join(unknown)}"[:_MAX_MESSAGE]
    if keyword == "type":
        got = f"the {json_type(value)} {show(value)}"
        if _allowed(schema):
            return f"{name} must be{_allowed(schema)} (got {got})"
        types = expected if isinstance(expected, list) else [expected]
        return f"{name} must be {' or '.join(_a(kind) for kind in types)} (got {got})"
    if keyword in ("enum", "const"):
        return f"{name} must be{_allowed(schema) or ' ' + show(expected)} (got {show(value)})"
    if keyword in ("minimum", "maximum"):
        return f"{name} must be {_range(schema)} (got {show(value)})"
    if keyword == "minLength" and len(value) == 0:
        return f"{name} must not be empty"
    if keyword in ("minLength", "maxLength"):
        bound = "at least" if keyword == "minLength" else "at most"
        return f"{name} must be {bound} {expected} characters (got {len(value)})"
    if keyword in ("minItems", "maxItems"):
        bound = "at least" if keyword == "minItems" else "at most"
        return f"{name} must have {bound} {expected} item(s) (got {len(value)})"
    if keyword == "not" and field.endswith(".image"):
        return f"{field} must be raw base64 without a data: URI prefix"
    if keyword == "anyOf" and not field:
        names = " or ".join(next(iter(option["required"])) for option in expected)
        return f"{names} is required"
    if keyword == "pattern":
        rule = PATTERN_RULES.get(field, f"must match {expected}")
        return f"{field} {rule} (got {show(value)})"
    return f"{name} is invalid: {error.message}"[:_MAX_MESSAGE]


def _described_ancestor(error: ValidationError) -> ValidationError | None:
    """The outermost anyOf/oneOf of a field around `error` that says its rule in a `description`
    (a field's alternatives, e.g. a number or a pair): a branch's error would name one only."""
    found: ValidationError | None = None
    parent: Any = error.parent
    while parent is not None:
        schema = parent.schema
        if parent.validator in ("anyOf", "oneOf") and parent.absolute_path:
            found = parent if isinstance(schema, Mapping) and "description" in schema else found
        parent = parent.parent
    return found


def _a(kind: str) -> str:
    """A JSON type with its article: "a string", "an integer", "null"."""
    return kind if kind == "null" else ("an " if kind[0] in "aeiou" else "a ") + kind


def _unknown_keys(value: Any, schema: Mapping[str, Any]) -> str:
    """A note naming the keys `value` has that `schema` does not know (a likely misspelling)."""
    known = schema.get("properties") or {}
    unknown = [key for key in value if key not in known] if isinstance(value, dict) else []
    if not unknown or not known:
        return ""
    names = ", ".join(show(key) for key in unknown[:5])
    return (
        f" (got unknown {'key' if len(unknown) == 1 else 'keys'} {names}; unknown keys are ignored)"
    )


def _range(schema: Mapping[str, Any]) -> str:
    types = schema.get("type")
    kind = "an integer" if types == "integer" or "integer" in (types or ()) else "a number"
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is None:
        return f"{kind} <= {_number(high)}"
    if high is not None:
        return f"{kind} in [{_number(low)}, {_number(high)}]"
    return f"{kind} >= {_number(low)}"


def _number(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _allowed(schema: Mapping[str, Any] | bool) -> str:
    if isinstance(schema, Mapping) and "enum" in schema:
        return " one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    return ""


def _field_name(path: Iterable[str | int]) -> str:
    name = ""
    for part in path:
        name = f"{name}[{part}]" if isinstance(part, int) else _join(name, part)
    return name


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def show(value: Any, limit: int = 40) -> str:
    """`value` as JSON, cut to `limit` characters."""
    if isinstance(value, str):
        value = value[:limit]  # never copy a huge string just to cut it
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."
