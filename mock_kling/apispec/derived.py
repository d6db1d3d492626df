"""Each vendor profile's contracts: the base contracts plus that vendor's documented differences."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mock_kling.apispec import bundle as contracts
from mock_kling.apispec import tables
from mock_kling.core.profiles import Profile, get

if TYPE_CHECKING:  # jsonschema loads on first use, not at start-up
    import jsonschema


@functools.cache
def _derived(profile_name: str, schema_name: str) -> dict[str, Any]:
    profile, schema = get(profile_name), contracts.schema(schema_name)
    if schema_name == "create_request":
        _request_rules(profile, schema)
    if schema_name in ("create_response", "query_response", "list_response"):
        _answer_rules(profile, schema_name, schema)
    tables.check(schema_name, schema)
    return schema


def schema(profile_name: str, schema_name: str) -> dict[str, Any]:
    """Contract `schema_name` as vendor `profile_name` documents it (a fresh copy)."""
    return copy.deepcopy(_derived(profile_name, schema_name))


@functools.cache
def validator(profile_name: str, schema_name: str) -> jsonschema.Draft7Validator:
    import jsonschema

    return jsonschema.Draft7Validator(_derived(profile_name, schema_name))


class FastContract:
    """A contract checked by jsonschema-rs (compiled, in Rust); jsonschema, built on the first
    refusal, finds the errors a refusal names. jsonschema stays the judge: a body both call
    invalid is refused, one jsonschema finds no error in is accepted."""

    def __init__(self, schema: dict[str, Any]) -> None:
        import jsonschema_rs

        self.schema = schema
        self._fast = jsonschema_rs.Draft7Validator(schema, validate_formats=False)
        self._full: jsonschema.Draft7Validator | None = None

    def is_valid(self, instance: Any) -> bool:
        try:
            return bool(self._fast.is_valid(instance))
        except ValueError:  # a value Rust cannot take (an int beyond 64 bits): ask jsonschema
            return not any(True for _ in self.iter_errors(instance))

    def iter_errors(self, instance: Any) -> Iterator[jsonschema.ValidationError]:
        if self._full is None:
            import jsonschema

            self._full = jsonschema.Draft7Validator(self.schema)
        return self._full.iter_errors(instance)


@functools.cache
def create_contract(profile_name: str) -> FastContract:
    """Vendor `profile_name`'s create-request contract, fast on bodies it accepts."""
    return FastContract(_derived(profile_name, "create_request"))


def _request_rules(profile: Profile, schema: dict[str, Any]) -> None:
    properties = schema["properties"]
    schema["required"] = list(profile.required)
    for alias, field_name in profile.aliases.items():
        properties[alias] = copy.deepcopy(properties[field_name])
        properties[alias]["$comment"] = f"{profile.name}: alias of {field_name}"
    if profile.require_one_of:
        schema["anyOf"] = [{"required": [name]} for name in profile.require_one_of]
    for name in profile.free_strings:
        del properties[name]["enum"]
        properties[name]["$comment"] = f"{profile.name}: documented as a free string"
    if "prompt" not in profile.required:
        del properties["prompt"]["minLength"]  # optional: "" means not set


def _answer_rules(profile: Profile, schema_name: str, schema: dict[str, Any]) -> None:
    envelope = part(schema, "envelope")
    if not profile.request_id_documented:
        envelope["required"] = [key for key in envelope["required"] if key != "request_id"]
    if schema_name == "create_response" and profile.create_data is not None:
        data = part(schema, "data")["properties"]["data"]
        data["required"] = list(profile.create_data)


def part(schema: dict[str, Any], title: str) -> dict[str, Any]:
    """The part of a response's `allOf` titled `title` ("envelope" or "data"), wherever it is."""
    found = [p for p in schema.get("allOf", ()) if isinstance(p, dict) and p.get("title") == title]
    if len(found) != 1:
        raise ValueError(f"the schema has {len(found)} allOf parts titled {title!r}, not 1")
    result: dict[str, Any] = found[0]
    return result
