"""Load the bundled JSON-Schema contracts of the Kling multi-image2video API."""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
import posixpath
import sys
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from mock_kling.apispec import tables

if TYPE_CHECKING:  # jsonschema loads on first use, not at start-up
    import jsonschema


__all__ = [
    "CONTROL_SCHEMA_NAMES",
    "SCHEMA_NAMES",
    "disagreement",
    "exit_on_disagreement",
    "schema",
    "schema_dir",
    "validator",
]

# The control API's request bodies, in schemas/control/.
CONTROL_SCHEMA_NAMES: tuple[str, ...] = tuple(
    f"control/{name}"
    for name in (
        "clock_advance",
        "outcome",
        "next_outcome",
        "fault_rule",
        "limits",
        "callback_fault",
    )
)
SCHEMA_NAMES: tuple[str, ...] = (
    "common",
    "create_request",
    "task",
    "create_response",
    "query_response",
    "list_response",
    "error_response",
    "callback",
    "list_request",
    *CONTROL_SCHEMA_NAMES,
)

# A file present in every valid schema folder: it tells our folder apart from an
# unrelated "schemas" directory (for example one in site-packages).
_MARKER = "common.json"
# Keys whose values are instance data, not subschemas: a "$ref" inside them is data.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})
# Keys dropped from a whole file when it is inlined into another one.
_ROOT_ONLY_KEYWORDS = ("$schema", "$id", "definitions")


def schema_dir() -> Traversable | Path:
    """Return the folder holding the schema files.

    The package copy (``mock_kling/schemas``, put there by the wheel's force-include) wins;
    a source checkout or editable install falls back to ``<repo>/schemas``.
    """
    try:
        packaged: Traversable | None = importlib.resources.files("mock_kling") / "schemas"
    except (ModuleNotFoundError, TypeError, ValueError, NotImplementedError):
        packaged = None
    if packaged is not None and packaged.is_dir() and (packaged / _MARKER).is_file():
        return packaged
    repo = Path(__file__).resolve().parents[2] / "schemas"
    if (repo / _MARKER).is_file():
        return repo
    where = f"{packaged!s} (package data)" if packaged is not None else "mock_kling/schemas"
    raise FileNotFoundError(
        f"mock_kling schema files not found: looked in {where} and {repo} (source checkout)"
    )


def _check_name(name: str) -> None:
    if name not in SCHEMA_NAMES:
        raise KeyError(f"unknown schema {name!r}; known schemas: {', '.join(SCHEMA_NAMES)}")


@functools.cache
def _raw(name: str) -> dict[str, Any]:
    """Parse one schema file as written (with its "$ref"s). Private: never mutate."""
    _check_name(name)
    folder = schema_dir()
    *subfolders, file_name = f"{name}.json".split("/")
    for subfolder in subfolders:
        folder = folder / subfolder
    text = (folder / file_name).read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"schema file {name}.json does not hold a JSON object")
    return data


def _pointer(doc: Any, fragment: str, ref: str) -> Any:
    """Resolve a JSON-Pointer fragment ("" or "/a/b") inside ``doc``."""
    if fragment == "":
        return doc
    if not fragment.startswith("/"):
        raise ValueError(f"unsupported $ref {ref!r}: only JSON-Pointer fragments are allowed")
    node = doc
    for raw_token in fragment[1:].split("/"):
        token = unquote(raw_token).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise ValueError(f"$ref {ref!r} points at nothing")
    return node


def _target(ref: str, current: str) -> tuple[str, str]:
    """Split a "$ref" into (schema name, fragment); its file part is relative to the folder of
    the file ``current`` ("outcome.json", "../common.json")."""
    file_part, _, fragment = ref.partition("#")
    if file_part == "":
        return current, fragment
    if ":" in file_part or file_part.startswith("/") or not file_part.endswith(".json"):
        raise ValueError(
            f"unsupported $ref {ref!r} in {current}.json: use a relative file name of the "
            "schemas folder"
        )
    name = posixpath.normpath(posixpath.join(posixpath.dirname(current), file_part))
    name = name[: -len(".json")]
    if name not in SCHEMA_NAMES:
        raise ValueError(f"$ref {ref!r} in {current}.json names an unknown schema file")
    return name, fragment


def _inline(node: Any, current: str, stack: tuple[tuple[str, str], ...]) -> Any:
    """Return a copy of ``node`` (a part of file ``current``) with every "$ref" replaced."""
    if isinstance(node, list):
        return [_inline(item, current, stack) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if len(node) != 1:
            others = sorted(key for key in node if key != "$ref")
            raise ValueError(
                f"$ref {ref!r} in {current}.json has sibling keywords {others}, which "
                "draft-07 ignores; wrap the $ref in allOf"
            )
        name, fragment = _target(ref, current)
        key = (name, fragment)
        if key in stack:
            raise ValueError(f"recursive $ref {ref!r} in {current}.json; schemas must not recurse")
        target = _pointer(_raw(name), fragment, ref)
        resolved = _inline(target, name, (*stack, key))
        if fragment == "" and isinstance(resolved, dict):
            # A whole file inlined as a subschema: its root-only keywords do not belong there.
            for keyword in _ROOT_ONLY_KEYWORDS:
                resolved.pop(keyword, None)
        return resolved
    return {
        key: copy.deepcopy(value) if key in _DATA_KEYWORDS else _inline(value, current, stack)
        for key, value in node.items()
    }


@functools.cache
def _bundled(name: str) -> dict[str, Any]:
    """The bundled schema shared by ``validator``. Private: never mutate or hand out."""
    _check_name(name)
    result = _inline(_raw(name), name, ((name, ""),))
    assert isinstance(result, dict)
    tables.check(name, result)
    return result


def schema(name: str) -> dict[str, Any]:
    """Return schema ``name`` bundled: every "$ref" (cross-file and internal) is inlined.

    The bundle is built once and cached; each call returns a fresh deep copy, so the caller
    may mutate it freely. Raises ``KeyError`` for a name not in ``SCHEMA_NAMES``.
    """
    _check_name(name)
    return copy.deepcopy(_bundled(name))


@functools.cache
def _validator(name: str) -> jsonschema.Draft7Validator:
    import jsonschema

    bundled = _bundled(name)
    jsonschema.Draft7Validator.check_schema(bundled)
    return jsonschema.Draft7Validator(bundled)


def validator(name: str) -> jsonschema.Draft7Validator:
    """Return a cached draft-07 validator for the bundled schema ``name``.

    Raises ``KeyError`` for a name not in ``SCHEMA_NAMES``.
    """
    _check_name(name)
    return _validator(name)


def disagreement() -> str | None:
    """Every contract loaded now, as a request would load it: the first problem (a value the
    contracts and the fake's tables do not share, a broken file or "$ref") as one line, or None.
    """
    for name in SCHEMA_NAMES:
        try:
            _bundled(name)
        except (ValueError, OSError) as exc:
            return " ".join(str(exc).split())
    return None


def exit_on_disagreement() -> None:
    """At start, before the banner: the disagreement on stderr and exit status 2, so that a
    server never starts to answer every request with 500 for it."""
    problem = disagreement()
    if problem is not None:
        sys.stderr.write(f"mock-kling: cannot start: {problem}\n")
        raise SystemExit(2)
