"""Each vendor profile's contracts: the base contracts plus that vendor's documented differences."""

from __future__ import annotations

import copy
import functools
from typing import TYPE_CHECKING, Any

from mock_kling.contracts import bundle as contracts
from mock_kling.contracts import tables
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
