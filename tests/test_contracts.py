"""The JSON-Schema contracts: well-formed, bundled, and right about the spec's examples."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from mock_kling import apispec
from mock_kling.apispec import tables
from mock_kling.contract.generate.schema_strategy import from_schema

DRAFT7_URI = "http://json-schema.org/draft-07/schema#"
REQUEST_ID = "9984d27b-a408-4073-ae28-17ca6a13622d"  # spec 9.3, the official 1303 example
T0 = 1722769557708  # spec 6.2, the official timestamp example

# --- examples taken from the spec -------------------------------------------------------------

# spec 3.1 / seed 004: the official create example, verbatim.
OFFICIAL_CREATE_REQUEST: dict[str, Any] = {
    "model_name": "kling-v1-6",
    "image_list": [
        {"image": "https://p1-kling.klingai.com/kcdn/cdn-kcdn112452/kling-qa-test/dog.png"},
        {"image": "https://p1-kling.klingai.com/kcdn/cdn-kcdn112452/kling-qa-test/dog_cloth.png"},
    ],
    "prompt": (
        "A white Bichon Frise wearing a red Northeast-style floral cotton jacket, licking its paw"
    ),
    "negative_prompt": "",
    "mode": "pro",
    "duration": "5",
    "aspect_ratio": "16:9",
    "callback_url": "",
    "external_task_id": "",
}

# spec 6.2: the observed failed task [newapi-pr2532], as a single-query response.
FAILED_QUERY_RESPONSE: dict[str, Any] = {
    "code": 0,
    "message": "SUCCEED",
    "request_id": "6f1c0d3e-2b1a-4c55-9a0e-7d3b2f6a1c90",
    "data": {
        "task_id": "842250903629086785",
        "task_status": "failed",
        "task_status_msg": "Image pixel is invalid",
        "task_info": {},
        "task_result": {},
        "created_at": T0,
        "updated_at": T0 + 1650,
    },
}

# spec 3.3: CometAPI's create example [003] (task_info {}), plus the request_id it omits.
COMET_CREATE_RESPONSE: dict[str, Any] = {
    "code": 0,
    "message": "SUCCEED",
    "request_id": REQUEST_ID,
    "data": {
        "task_id": "861309198188019719",
        "task_status": "submitted",
        "task_info": {},
        "created_at": 1773380633979,
        "updated_at": 1773380633979,
    },
}

# spec 9.2 / 9.3: the only official error body.
CONCURRENCY_ERROR: dict[str, Any] = {
    "code": 1303,
    "message": "parallel task over resource pack limit",
    "request_id": REQUEST_ID,
}

SUCCEEDED_TASK: dict[str, Any] = {
    "task_id": "842250903629086785",
    "task_status": "succeed",
    "task_status_msg": "",
    "task_info": {"external_task_id": "my-order-42"},
    "task_result": {
        "videos": [
            {
                "id": "842250903708762200",
                "url": "https://v16-kling-fdl.klingai.com/video/842250903708762200.mp4",
                "watermark_url": "https://v16-kling-fdl.klingai.com/wm/842250903708762200.mp4",
                "duration": "5.1",
            }
        ]
    },
    "watermark_info": {"enabled": True},
    "final_unit_deduction": "1",
    "created_at": T0,
    "updated_at": T0 + 95_000,
}

PROCESSING_TASK: dict[str, Any] = {
    "task_id": "878106242831892487",
    "task_status": "processing",
    "task_info": {},
    "task_result": {},
    "created_at": T0,
    "updated_at": T0 + 2_000,
}

# spec 8: a callback is the bare task object.
CALLBACK: dict[str, Any] = {
    "task_id": "842250903629086785",
    "task_status": "succeed",
    "task_status_msg": "",
    "created_at": T0,
    "updated_at": T0 + 95_000,
    "final_unit_deduction": "1",
    "task_info": {"external_task_id": "my-order-42"},
    "task_result": {
        "videos": [
            {
                "id": "842250903708762200",
                "url": "https://v16-kling-fdl.klingai.com/video/842250903708762200.mp4",
                "duration": "5",
            }
        ]
    },
}


DELETE = object()  # marker for changed(): remove the key instead of replacing its value


def envelope(data: Any) -> dict[str, Any]:
    return {"code": 0, "message": "SUCCEED", "request_id": REQUEST_ID, "data": data}


def changed(base: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with the value at ``path`` replaced (or removed if ``DELETE``)."""
    result = copy.deepcopy(base)
    node: Any = result
    for step in path[:-1]:
        node = node[step]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return result


def all_errors(errors: Any) -> Iterator[ValidationError]:
    for error in errors:
        yield error
        yield from all_errors(error.context or ())


def assert_valid(name: str, instance: Any) -> None:
    errors = [e.message for e in apispec.validator(name).iter_errors(instance)]
    assert errors == [], f"{name}: {errors}"


def assert_rejected(name: str, instance: Any, keyword: str) -> None:
    errors = list(all_errors(apispec.validator(name).iter_errors(instance)))
    assert errors, f"{name} accepted an instance it must reject"
    keywords = {e.validator for e in errors}
    assert keyword in keywords, f"{name}: expected a {keyword!r} error, got {keywords}"


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


# --- the schema files and the loader ----------------------------------------------------------


def test_schema_folder_holds_exactly_the_known_files() -> None:
    folder = apispec.schema_dir()
    files = {entry.name for entry in folder.iterdir() if entry.name.endswith(".json")}
    files |= {
        f"control/{e.name}" for e in (folder / "control").iterdir() if e.name.endswith(".json")
    }
    assert files == {f"{name}.json" for name in apispec.SCHEMA_NAMES}


@pytest.mark.parametrize("name", apispec.SCHEMA_NAMES)
def test_schema_file_is_valid_draft7(name: str) -> None:
    raw = json.loads((apispec.schema_dir() / f"{name}.json").read_text(encoding="utf-8"))
    assert raw["$schema"] == DRAFT7_URI
    assert raw["$id"] == f"https://mock-kling.dev/schemas/{name}.json"
    assert raw["title"]
    assert raw["description"]
    jsonschema.Draft7Validator.check_schema(raw)
    for _, value in walk(raw):
        if isinstance(value, dict) and "$ref" in value:
            assert set(value) == {"$ref"}, f"$ref with siblings in {name}.json: {value}"


@pytest.mark.parametrize("name", apispec.SCHEMA_NAMES)
def test_bundled_schema_is_valid_draft7_without_refs(name: str) -> None:
    bundled = apispec.schema(name)
    jsonschema.Draft7Validator.check_schema(bundled)
    assert "$ref" not in {key for key, _ in walk(bundled)}
    assert bundled["$schema"] == DRAFT7_URI


def test_schema_returns_a_private_copy_and_validator_is_cached() -> None:
    first = apispec.schema("create_request")
    first["properties"].clear()
    assert apispec.schema("create_request")["properties"]
    assert apispec.validator("task") is apispec.validator("task")
    assert_valid("create_request", OFFICIAL_CREATE_REQUEST)


def test_unknown_schema_name_is_a_key_error_listing_the_known_ones() -> None:
    with pytest.raises(KeyError, match="create_request"):
        apispec.schema("nope")
    with pytest.raises(KeyError, match="known schemas"):
        apispec.validator("nope")


def test_bundling_agrees_with_ref_resolution() -> None:
    """The bundled schemas judge like the raw files resolved through a $ref registry."""
    raws = {
        name: json.loads((apispec.schema_dir() / f"{name}.json").read_text(encoding="utf-8"))
        for name in apispec.SCHEMA_NAMES
    }
    registry: Registry[Any] = Registry().with_resources(
        (raw["$id"], Resource.from_contents(raw, default_specification=DRAFT7))
        for raw in raws.values()
    )
    cases = [
        ("create_request", OFFICIAL_CREATE_REQUEST),
        ("create_request", changed(OFFICIAL_CREATE_REQUEST, ("duration",), 5)),
        ("query_response", FAILED_QUERY_RESPONSE),
        ("query_response", changed(FAILED_QUERY_RESPONSE, ("data", "task_status"), "succeed")),
        ("list_response", envelope([SUCCEEDED_TASK, PROCESSING_TASK])),
        ("list_response", envelope([changed(SUCCEEDED_TASK, ("created_at",), 1722769557)])),
        ("create_response", COMET_CREATE_RESPONSE),
        ("error_response", CONCURRENCY_ERROR),
        ("error_response", changed(CONCURRENCY_ERROR, ("code",), 0)),
        ("callback", CALLBACK),
        ("callback", envelope(CALLBACK)),
    ]
    for name, instance in cases:
        raw_verdict = jsonschema.Draft7Validator(raws[name], registry=registry).is_valid(instance)
        assert apispec.validator(name).is_valid(instance) == raw_verdict, name


# --- examples from the spec validate ----------------------------------------------------------


def test_official_create_request_is_valid() -> None:
    assert_valid("create_request", OFFICIAL_CREATE_REQUEST)


def test_minimal_and_boundary_create_requests_are_valid() -> None:
    assert_valid("create_request", {"image_list": [{"image": "iVBORw0KGgo="}], "prompt": "a"})
    four = [{"image": f"https://example.com/{i}.png"} for i in range(4)]
    body = {
        "image_list": four,
        "prompt": "x" * 2500,
        "negative_prompt": "y" * 2500,
        "duration": "10",
        "mode": "std",
        "aspect_ratio": "1:1",
        "watermark_info": {"enabled": False},
        "callback_url": "http://127.0.0.1:8080/hook?x=1",
        "external_task_id": "order-1",
        "model": "kling-v1-6",  # spec 3.1: the legacy field; extra keys are allowed (12 q9)
    }
    assert_valid("create_request", body)


def test_observed_failed_task_is_a_valid_query_response() -> None:
    assert_valid("query_response", FAILED_QUERY_RESPONSE)
    assert_valid("task", FAILED_QUERY_RESPONSE["data"])


def test_succeeded_and_processing_tasks_are_valid() -> None:
    assert_valid("query_response", envelope(SUCCEEDED_TASK))
    assert_valid("query_response", envelope(PROCESSING_TASK))
    assert_valid("task", changed(PROCESSING_TASK, ("task_result",), {"videos": []}))


def test_comet_like_create_response_is_valid() -> None:
    assert_valid("create_response", COMET_CREATE_RESPONSE)
    assert_valid("create_response", changed(COMET_CREATE_RESPONSE, ("data", "task_info"), DELETE))


def test_comet_verbatim_create_response_lacks_request_id_for_the_official_profile() -> None:
    # spec 10: CometAPI's schema and example omit request_id; the official profile requires it.
    verbatim = changed(COMET_CREATE_RESPONSE, ("request_id",), DELETE)
    assert_rejected("create_response", verbatim, "required")


def test_concurrency_error_is_valid() -> None:
    assert_valid("error_response", CONCURRENCY_ERROR)
    assert_valid("error_response", {**CONCURRENCY_ERROR, "data": None})


def test_list_responses_are_valid() -> None:
    assert_valid("list_response", envelope([]))
    assert_valid("list_response", envelope([SUCCEEDED_TASK, PROCESSING_TASK]))
    assert_valid("list_response", envelope([FAILED_QUERY_RESPONSE["data"]]))


def test_callback_payload_is_valid() -> None:
    assert_valid("callback", CALLBACK)
    minimal = {"task_id": "1", "task_status": "submitted", "created_at": T0, "updated_at": T0}
    assert_valid("callback", minimal)


# --- near-misses are rejected, one rule at a time ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "keyword"),
    [
        pytest.param(("duration",), 5, "type", id="duration-as-number"),
        pytest.param(("duration",), "7", "enum", id="duration-7"),
        pytest.param(
            ("image_list",),
            [{"image": f"https://e.com/{i}.png"} for i in range(5)],
            "maxItems",
            id="five-images",
        ),
        pytest.param(("image_list",), [], "minItems", id="zero-images"),
        pytest.param(("image_list", 0), {"url": "https://e.com/a.png"}, "required", id="no-image"),
        pytest.param(("image_list", 0, "image"), "", "minLength", id="empty-image"),
        pytest.param(("prompt",), "x" * 2501, "maxLength", id="prompt-2501"),
        pytest.param(("prompt",), "", "minLength", id="prompt-empty"),
        pytest.param(("prompt",), DELETE, "required", id="prompt-missing"),
        pytest.param(("image_list",), DELETE, "required", id="image-list-missing"),
        pytest.param(("negative_prompt",), "x" * 2501, "maxLength", id="negative-2501"),
        pytest.param(
            ("image_list", 1, "image"),
            "data:image/png;base64,iVBORw0KGgo=",
            "not",
            id="data-uri-prefix",
        ),
        pytest.param(("image_list", 1, "image"), "DATA:image/png;base64,iVBO", "not", id="DATA"),
        pytest.param(("aspect_ratio",), "4:3", "enum", id="aspect-4-3"),
        pytest.param(("mode",), "fast", "enum", id="mode-fast"),
        pytest.param(("model_name",), "kling-v2-1", "enum", id="model-v2-1"),
        pytest.param(("watermark_info",), {}, "required", id="watermark-no-enabled"),
        pytest.param(("watermark_info",), {"enabled": "yes"}, "type", id="watermark-string"),
        pytest.param(("callback_url",), "ftp://e.com/hook", "pattern", id="callback-ftp"),
        pytest.param(("callback_url",), "https://e.com/hook\n", "not", id="callback-newline"),
        pytest.param(("external_task_id",), 42, "type", id="external-id-number"),
    ],
)
def test_create_request_near_misses_are_rejected(
    path: tuple[str | int, ...], value: Any, keyword: str
) -> None:
    assert_rejected("create_request", changed(OFFICIAL_CREATE_REQUEST, path, value), keyword)


@pytest.mark.parametrize(
    ("base", "path", "value", "keyword"),
    [
        pytest.param(SUCCEEDED_TASK, ("task_result",), {}, "required", id="succeed-without-videos"),
        pytest.param(
            SUCCEEDED_TASK, ("task_result", "videos"), [], "minItems", id="succeed-empty-videos"
        ),
        pytest.param(
            PROCESSING_TASK,
            ("task_result",),
            SUCCEEDED_TASK["task_result"],
            "maxItems",
            id="processing-with-videos",
        ),
        pytest.param(
            FAILED_QUERY_RESPONSE["data"],
            ("task_result",),
            SUCCEEDED_TASK["task_result"],
            "maxItems",
            id="failed-with-videos",
        ),
        pytest.param(PROCESSING_TASK, ("task_status",), "succeeded", "enum", id="succeeded"),
        pytest.param(PROCESSING_TASK, ("task_result",), DELETE, "required", id="no-task-result"),
        pytest.param(PROCESSING_TASK, ("task_info",), None, "type", id="task-info-null"),
        pytest.param(PROCESSING_TASK, ("task_id",), 861309198188019719, "type", id="id-number"),
        pytest.param(PROCESSING_TASK, ("created_at",), 1722769557, "minimum", id="seconds"),
        pytest.param(PROCESSING_TASK, ("updated_at",), "1722769557708", "type", id="ts-string"),
        pytest.param(
            SUCCEEDED_TASK,
            ("task_result", "videos", 0, "duration"),
            5,
            "type",
            id="video-duration-number",
        ),
        pytest.param(
            SUCCEEDED_TASK,
            ("task_result", "videos", 0, "duration"),
            "5s",
            "pattern",
            id="video-duration-unit",
        ),
        pytest.param(
            SUCCEEDED_TASK,
            ("task_result", "videos", 0, "url"),
            DELETE,
            "required",
            id="video-without-url",
        ),
        pytest.param(SUCCEEDED_TASK, ("final_unit_deduction",), 1, "type", id="deduction-number"),
    ],
)
def test_task_near_misses_are_rejected(
    base: dict[str, Any], path: tuple[str | int, ...], value: Any, keyword: str
) -> None:
    task = changed(base, path, value)
    assert_rejected("task", task, keyword)
    assert_rejected("query_response", envelope(task), keyword)
    assert_rejected("list_response", envelope([PROCESSING_TASK, task]), keyword)


@pytest.mark.parametrize(
    ("path", "value", "keyword"),
    [
        pytest.param(("code",), 1, "const", id="code-1"),
        pytest.param(("code",), "0", "type", id="code-string"),
        pytest.param(("request_id",), DELETE, "required", id="no-request-id"),
        pytest.param(("request_id",), "", "minLength", id="empty-request-id"),
        pytest.param(("data", "task_status"), "queued", "enum", id="status-queued"),
        pytest.param(("data", "task_id"), DELETE, "required", id="no-task-id"),
        pytest.param(("data", "created_at"), 1773380633.979, "type", id="float-ms"),
        pytest.param(("data",), DELETE, "required", id="no-data"),
    ],
)
def test_create_response_near_misses_are_rejected(
    path: tuple[str | int, ...], value: Any, keyword: str
) -> None:
    assert_rejected("create_response", changed(COMET_CREATE_RESPONSE, path, value), keyword)


def test_list_response_near_misses_are_rejected() -> None:
    assert_rejected("list_response", envelope(PROCESSING_TASK), "type")
    assert_rejected("list_response", envelope(None), "type")
    assert_rejected("query_response", envelope([PROCESSING_TASK]), "type")


@pytest.mark.parametrize(
    ("path", "value", "keyword"),
    [
        pytest.param(("request_id",), DELETE, "required", id="no-request-id"),
        pytest.param(("message",), DELETE, "required", id="no-message"),
        pytest.param(("message",), "", "minLength", id="empty-message"),
        pytest.param(("code",), 0, "enum", id="code-0"),
        pytest.param(("code",), 1305, "enum", id="code-1305"),
        pytest.param(("code",), "task_not_exist", "type", id="new-api-string-code"),
        pytest.param(("data",), {}, "type", id="data-object"),
    ],
)
def test_error_response_near_misses_are_rejected(
    path: tuple[str | int, ...], value: Any, keyword: str
) -> None:
    assert_rejected("error_response", changed(CONCURRENCY_ERROR, path, value), keyword)


def test_callback_near_misses_are_rejected() -> None:
    assert_rejected("callback", envelope(CALLBACK), "required")
    assert_rejected("callback", {**CALLBACK, "code": 0, "message": "SUCCEED", "data": {}}, "not")
    assert_rejected("callback", changed(CALLBACK, ("task_result",), {}), "required")
    assert_rejected("callback", changed(CALLBACK, ("task_status",), "processing"), "maxItems")
    assert_rejected("callback", changed(CALLBACK, ("updated_at",), DELETE), "required")


# --- generated requests ------------------------------------------------------------------------


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(from_schema(apispec.schema("create_request")))
def test_generated_create_requests_validate(body: Any) -> None:
    assert_valid("create_request", body)


# --- the contracts and the fake's tables ------------------------------------------------------


def test_a_mode_added_to_the_schema_alone_is_a_clear_error_not_a_500() -> None:
    """Bug: `mode` "ultra" in the create contract but not in the core's MODES answered 500/5000
    (KeyError) on every submit with it. Now loading the contract names the missing entry, and a
    submit with a contract that slipped past the check is refused with 400/1201."""
    from mock_kling.apispec import bundle
    from mock_kling.callbacks.runner import ThreadRunner
    from mock_kling.core.auth import Account
    from mock_kling.core.backend import Backend
    from mock_kling.core.errors import KlingError
    from mock_kling.store.memory import MemoryStore

    patched = bundle.schema("create_request")
    patched["properties"]["mode"]["enum"].append("ultra")
    with pytest.raises(ValueError, match=r"'ultra' is in create_request\.json but has no entry in"):
        tables.check("create_request", patched)
    backend = Backend(
        store=MemoryStore(),
        sender=lambda *_: (200, None),
        runner=ThreadRunner(),
        create_validator=lambda _: jsonschema.Draft7Validator(patched),
    )
    body = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "p", "mode": "ultra"}
    with pytest.raises(KlingError) as refused:
        backend.create_task(Account("acct"), body)
    assert (refused.value.code, refused.value.http_status) == (1201, 400)
    assert 'mode "ultra" is not rendered by this fake' in refused.value.message


@pytest.mark.parametrize(
    "name",
    [
        "common",
        "create_request",
        "control/outcome",
        "control/fault_rule",
        "control/limits",
        "control/callback_fault",
    ],
)
def test_every_table_matches_its_schema(name: str) -> None:
    tables.check(name, apispec.schema(name))  # would raise naming the value


def test_profiles_edit_response_parts_by_title_not_position() -> None:
    from mock_kling.apispec import derived

    schema = apispec.schema("create_response")
    schema["allOf"].reverse()  # a reordered schema still edits the right part
    assert derived.part(schema, "envelope")["required"][:3] == ["code", "message", "request_id"]
    assert "data" in derived.part(schema, "data")["properties"]
    with pytest.raises(ValueError, match="titled 'nothing'"):
        derived.part(schema, "nothing")
