"""Auth: missing, malformed, wrongly signed, expired and not-yet-valid tokens get their codes, on
every endpoint. List and query are free; a create with a bad token is a create probe (a server
that let the token in might bill it, even without a prompt where prompt is optional), so on a
paid target it needs --kling-allow-billable-probes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_kling.contract.client.target import Target
from mock_kling.contract.client.transport import Answer
from mock_kling.contract.kit import Kit
from mock_kling.contract.scenarios.checks import AUTH_CODES, check_refused

INVALID = frozenset({1000, 1002})


@dataclass(frozen=True)
class Case:
    """A broken Authorization header (None: leave it out) and the codes it may get."""

    name: str
    header: Callable[[Target], str | None]
    codes: frozenset[int]
    jwt_only: bool = False


def _good(target: Target) -> str:
    return target.credentials.token(target.now_s())


def _claims(exp: float, nbf: float) -> Callable[[Target], str]:
    def header(target: Target) -> str:
        now = target.now_s()
        if nbf > 0:  # ahead of real time too: a fake on a manual clock checks nbf against both
            now = max(now, time.time())
        return "Bearer " + target.credentials.jwt(exp=now + exp, nbf=now + nbf)

    return header


def _alg_none(target: Target) -> str:
    now = target.now_s()
    claims = {"iss": target.credentials.access_key, "exp": int(now + 1800), "nbf": int(now - 5)}
    return "Bearer " + jwt.encode(claims, "", algorithm="none")


CASES = (
    Case("missing", lambda t: None, frozenset({1001})),
    Case("empty", lambda t: "", frozenset({1001})),
    Case("not-bearer", lambda t: "Token " + _good(t), INVALID),
    Case("no-scheme", _good, INVALID),
    Case("two-spaces", lambda t: "Bearer  " + _good(t), INVALID),
    Case("garbage", lambda t: "Bearer not-a-token-at-all", INVALID),
    Case(
        "wrong-signature",
        lambda t: (
            "Bearer "
            + t.credentials.jwt(
                exp=t.now_s() + 1800, nbf=t.now_s() - 5, secret="wrong-secret-0123456789abcdefghij"
            )
        ),
        INVALID,
        jwt_only=True,
    ),
    Case("alg-none", _alg_none, INVALID, jwt_only=True),
    Case("expired", _claims(exp=-60, nbf=-1800), frozenset({1004}), jwt_only=True),
    Case("not-yet-valid", _claims(exp=1800, nbf=600), frozenset({1003}), jwt_only=True),
)
ENDPOINTS = ("list", "query", "create")
NEEDS = {"list": ("list",), "query": ("query",), "create": ()}


def send(target: Target, endpoint: str, header: str | None) -> Answer:
    headers = {} if header is None else {"Authorization": header}
    if endpoint == "list":
        return target.request("GET", target.api_path(), headers, auth=header is not None)
    if endpoint == "query":
        path = target.api_path("/999999999999999999")
        return target.request("GET", path, headers, auth=header is not None)
    body = {"image_list": [{"image": "https://example.com/a.png"}]}
    with target.meter.probing():
        return target.request(
            "POST", target.api_path(), headers, json=body, auth=header is not None
        )


@pytest.mark.cost(0)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bad_token_is_refused(kit: Kit, case: Case, endpoint: str) -> None:
    if case.jwt_only and not kit.target.credentials.uses_jwt:
        pytest.skip("the target uses a plain API key: no JWT to break")
    kit.target.routes.require(*NEEDS[endpoint])
    answer = send(kit.target, endpoint, case.header(kit.target))
    where = f"auth[{case.name}] on {endpoint}"
    check_refused(answer, endpoint, where, case.codes, f"a token ({case.name})", kit.target.profile)
    if endpoint == "list":
        message = answer.body.get("message") if isinstance(answer.body, dict) else None
        kit.recorder.observe("q16", f"auth[{case.name}]", f"{answer.describe()}: {message}")


@pytest.mark.cost(0)
@pytest.mark.needs("list")
def test_fuzzed_authorization_headers_are_refused(kit: Kit) -> None:
    # HTTP clients refuse to send a header value that starts with a space (requests raises
    # InvalidHeader), so none is generated: nothing of the server would be tested.
    printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80).map(
        str.lstrip
    )
    headers = st.one_of(printable, printable.map(lambda text: "Bearer " + text))

    @settings(kit.settings)
    @given(headers)
    def run(header: str) -> None:
        answer = send(kit.target, "list", header)
        where = f"auth[fuzzed {header!r}]"
        check_refused(answer, "list", where, AUTH_CODES, "a made-up token", kit.target.profile)

    run()
