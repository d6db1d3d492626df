"""What the suite makes of a target's routes before any check: a bare 404 everywhere is the one
usage error (with the prefix that answers, if one does); a 405, an auth refusal or a Kling 404
means the route is there; a list or query route that is missing becomes a difference and the
checks that need it are not run. Small WSGI targets, called in process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from mock_kling.contract.client.credentials import Credentials
from mock_kling.contract.client.options import check_base_url, check_prefix
from mock_kling.contract.client.routes import NotRun
from mock_kling.contract.client.target import Target
from mock_kling.contract.client.transport import WsgiTransport

CREATE = "/videos/multi-image2video"
Answer = tuple[int, str, Any]


def _target(answer: Callable[[str, str], Answer], prefix: str = "/v1") -> Target:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status, kind, body = answer(environ["REQUEST_METHOD"], environ["PATH_INFO"])
        raw = json.dumps(body).encode()
        start_response(f"{status} X", [("Content-Type", kind), ("Content-Length", str(len(raw)))])
        return [raw]

    return Target(WsgiTransport(app), Credentials(api_key="k"), prefix=prefix, name="http://t")


def _problem(status: int) -> Answer:
    return status, "application/problem+json", {"title": "no", "status": status}


def _only_create_under(prefix: str) -> Callable[[str, str], Answer]:
    """Like an OpenAPI mock of a document with only the create route under `prefix`."""

    def answer(method: str, path: str) -> Answer:
        return _problem(405 if path == prefix + CREATE else 404)

    return answer


def test_a_bare_404_everywhere_is_the_one_usage_error() -> None:
    target = _target(lambda method, path: _problem(404))
    with pytest.raises(pytest.UsageError) as error:
        check_prefix(target, "http://t")
    assert str(error.value) == (
        "http://t/v1/videos/multi-image2video is not found (HTTP 404): wrong prefix /v1 "
        "(--kling-prefix, or --kling-profile for a reseller)"
    )


def test_a_405_under_another_prefix_is_named_in_the_hint() -> None:
    target = _target(_only_create_under("/kling/v1"))
    with pytest.raises(
        pytest.UsageError, match=r"/kling/v1 answers: give --kling-prefix /kling/v1$"
    ):
        check_prefix(target, "http://t")


def test_the_options_of_mock_kling_contract_are_named_under_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MOCK_KLING_CONTRACT_INTERFACE", "cli")
    target = _target(_only_create_under("/kling/v1"))
    with pytest.raises(pytest.UsageError) as error:
        check_prefix(target, "http://t")
    assert (
        "(--prefix, or --profile for a reseller); /kling/v1 answers: give --prefix /kling/v1"
        in (str(error.value))
    )
    with pytest.raises(pytest.UsageError, match="give the server's root, --base-url http://h:1 "):
        check_base_url("http://h:1/kling/v1/videos/multi-image2video")


def test_a_create_route_alone_is_tested_and_what_it_lacks_is_named() -> None:
    target = _target(_only_create_under("/kling/v1"), prefix="/kling/v1")
    check_prefix(target, "http://t")  # the route exists: GET gets 405
    routes = target.find_routes()
    texts = [finding.text for finding in routes.findings()]
    assert texts == [
        "no list route: GET /kling/v1/videos/multi-image2video?pageNum=1&pageSize=1 answered "
        "HTTP 405 (application/problem+json)",
        "no query route by task_id: GET /kling/v1/videos/multi-image2video/999999999999999991 "
        "answered HTTP 404 (application/problem+json)",
        "no query route by external_task_id: GET "
        "/kling/v1/videos/multi-image2video/ct-route-check-never-created answered HTTP 404 "
        "(application/problem+json)",
    ]
    with pytest.raises(NotRun, match=r"^not run: needs the list route; GET .* answered HTTP 405"):
        routes.require("list", "query")
    assert target.meter.sent == 0  # finding the routes sends no create


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"title": "Unauthorized"}),  # the route is there; the key was refused
        (403, {"error": "forbidden"}),
        (404, {"code": 1203, "message": "task not found", "request_id": "r"}),  # Kling's 404
        (200, {"code": 0, "message": "SUCCEED", "request_id": "r", "data": []}),
    ],
)
def test_a_route_that_answers_is_there(status: int, body: Any) -> None:
    target = _target(lambda method, path: (status, "application/json", body))
    check_prefix(target, "http://t")
    assert target.find_routes().findings() == []
    target.routes.require("list", "query", "query_external")  # nothing missing: no NotRun


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("http://h:8000/v1/videos/multi-image2video", "http://h:8000"),
        ("http://h:8000/kling/v1/videos/multi-image2video/", "http://h:8000"),
        ("http://h:8000/gateway/kling/v1", "http://h:8000/gateway"),
        ("http://h:8000/v1", "http://h:8000"),
    ],
)
def test_a_base_url_with_the_api_path_says_which_url_to_use(url: str, root: str) -> None:
    with pytest.raises(pytest.UsageError) as error:
        check_base_url(url)
    message = str(error.value)
    assert message.startswith(f"--kling-base-url {url} contains the ")
    assert f"give the server's root, --kling-base-url {root} (" in message
    assert "\n" not in message


@pytest.mark.parametrize("url", ["http://h:8000", "https://gw.example/base/"])
def test_a_root_base_url_is_fine(url: str) -> None:
    check_base_url(url)
