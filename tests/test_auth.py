"""Kling's JWT auth (HS256, iss = access key, exp/nbf on the fake's clock) and plain bearer keys."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient

from mock_kling.core.auth import Accounts
from mock_kling.core.clock import ManualClock, SystemClock
from mock_kling.core.config import DEV_ACCESS_KEY, DEV_SECRET_KEY
from mock_kling.core.errors import KlingError

from .conftest import API_PATH, RESELLER_PATH


def _b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _token(clock: ManualClock, **claims: Any) -> str:
    now = clock.now_ms() // 1000
    payload = {"iss": DEV_ACCESS_KEY, "exp": now + 1800, "nbf": now - 5, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, DEV_SECRET_KEY)


def _status(client: FlaskClient, header: str | None) -> tuple[int, int, str]:
    headers = {} if header is None else {"Authorization": header}
    response = client.get(API_PATH, headers=headers)
    body = response.get_json()
    return response.status_code, body["code"], body["message"]


def test_valid_token(client: FlaskClient, clock: ManualClock):
    assert _status(client, f"Bearer {_token(clock)}")[:2] == (200, 0)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_or_empty_header_is_1001(client: FlaskClient, header: str | None):
    assert _status(client, header)[:2] == (401, 1001)


@pytest.mark.parametrize(
    "header",
    ["Basic abc", "Bearer", "Bearer ", "bearer x.y.z", "Bearer  x.y.z", "Token x", "Bearer a b"],
)
def test_badly_shaped_header_is_1002(client: FlaskClient, clock: ManualClock, header: str):
    status, code, message = _status(client, header)
    assert (status, code) == (401, 1002)
    assert "Authorization" in message


def test_malformed_token_is_1002(client: FlaskClient):
    status, code, message = _status(client, "Bearer not.a.jwt")
    assert (status, code) == (401, 1002)
    assert "not a valid JWT" in message


def test_a_plain_key_sent_for_a_jwt_says_how_to_use_keys(client: FlaskClient):
    """A reseller's key sent to the official profile: the message names --api-key and
    --profile instead of PyJWT's "Not enough segments"."""
    status, code, message = _status(client, "Bearer sk-reseller-key")
    assert (status, code) == (401, 1002)
    assert "--api-key" in message
    assert "--profile" in message


def test_a_jwt_sent_to_a_key_only_profile_says_so():
    from mock_kling import Config, ManualClock, create_app
    from mock_kling.core.auth import make_token

    app = create_app(Config(profile="cometapi", api_keys=["sk-c"]), clock=ManualClock())
    token = make_token("ak", "secret-key-0123456789abcdef0123456789", 1_767_225_600)
    headers = {"Authorization": f"Bearer {token}"}
    response = app.test_client().get("/kling/v1/videos/multi-image2video", headers=headers)
    code, message = response.get_json()["code"], response.get_json()["message"]
    assert (response.status_code, code) == (401, 1002)
    assert "plain API key" in message
    assert "--profile official" in message


def test_wrong_secret_is_1002(client: FlaskClient, clock: ManualClock):
    now = clock.now_ms() // 1000
    token = jwt.encode(
        {"iss": DEV_ACCESS_KEY, "exp": now + 60}, "a-different-secret-0123456789abcd"
    )
    status, code, message = _status(client, f"Bearer {token}")
    assert (status, code) == (401, 1002)
    assert "Signature verification failed" in message


def test_unknown_access_key_is_1002(client: FlaskClient, clock: ManualClock):
    status, code, message = _status(client, f"Bearer {_token(clock, iss='nobody')}")
    assert (status, code) == (401, 1002)
    assert "unknown access key (iss)" in message


def test_missing_iss_is_1002(client: FlaskClient, clock: ManualClock):
    now = clock.now_ms() // 1000
    token = jwt.encode({"exp": now + 60}, DEV_SECRET_KEY)
    status, code, message = _status(client, f"Bearer {token}")
    assert (status, code) == (401, 1002)
    assert "no iss claim" in message


def test_alg_none_is_1002(client: FlaskClient):
    token = _b64url({"alg": "none", "typ": "JWT"}) + "." + _b64url({"iss": DEV_ACCESS_KEY}) + "."
    status, code, message = _status(client, f"Bearer {token}")
    assert (status, code) == (401, 1002)
    assert "HS256" in message


def test_rs256_header_is_1002(client: FlaskClient):
    header, payload = _b64url({"alg": "RS256", "typ": "JWT"}), _b64url({"iss": DEV_ACCESS_KEY})
    status, code, message = _status(client, f"Bearer {header}.{payload}.c2lnbmF0dXJl")
    assert (status, code) == (401, 1002)
    assert "must be signed with HS256 (got alg 'RS256')" in message


def test_hs512_with_the_right_secret_is_1002(client: FlaskClient, clock: ManualClock):
    token = jwt.encode({"iss": DEV_ACCESS_KEY}, DEV_SECRET_KEY * 2, algorithm="HS512")
    assert _status(client, f"Bearer {token}")[:2] == (401, 1002)


def test_non_numeric_exp_is_1002(client: FlaskClient):
    token = jwt.encode({"iss": DEV_ACCESS_KEY, "exp": "soon"}, DEV_SECRET_KEY)
    assert _status(client, f"Bearer {token}")[:2] == (401, 1002)


def _ahead_of_real_time(clock: ManualClock, seconds: float) -> None:
    """Move the fake's clock to `seconds` past real time (as a test may, to reach a date)."""
    clock.advance((SystemClock().now_ms() - clock.now_ms()) / 1000 + seconds)


def test_nbf_one_second_ahead_is_1003(client: FlaskClient, clock: ManualClock):
    _ahead_of_real_time(clock, 3600)
    now = clock.now_ms() // 1000
    status, code, message = _status(client, f"Bearer {_token(clock, nbf=now + 1)}")
    assert (status, code) == (401, 1003)
    assert "not valid yet" in message
    clock.advance(1)
    assert _status(client, f"Bearer {_token(clock, nbf=now + 1)}")[:2] == (200, 0)


def _docs_token(now_s: float) -> str:
    """A token as a client written from Kling's docs stamps it: by its own (real) clock."""
    payload = {"iss": DEV_ACCESS_KEY, "exp": int(now_s) + 1800, "nbf": int(now_s) - 5}
    return jwt.encode(payload, DEV_SECRET_KEY, headers={"typ": "JWT"})


def test_a_docs_client_works_while_the_manual_clock_stands_still(
    client: FlaskClient, clock: ManualClock
):
    """`--clock manual` starts at real time and stands still; a minute later a client still
    stamps nbf = now - 5 by real time: the token is valid in real time, so it is accepted."""
    _ahead_of_real_time(clock, -60)
    real_now = SystemClock().now_ms() / 1000
    assert _status(client, f"Bearer {_docs_token(real_now)}")[:2] == (200, 0)


def test_nbf_ahead_of_real_time_is_still_1003_under_a_manual_clock(
    client: FlaskClient, clock: ManualClock
):
    _ahead_of_real_time(clock, -60)
    real_now = SystemClock().now_ms() / 1000
    status, code, _ = _status(client, f"Bearer {_docs_token(real_now + 600)}")
    assert (status, code) == (401, 1003)


def test_advancing_the_manual_clock_past_exp_still_expires_a_docs_token(
    client: FlaskClient, clock: ManualClock
):
    _ahead_of_real_time(clock, 0)
    header = f"Bearer {_docs_token(SystemClock().now_ms() / 1000)}"
    assert _status(client, header)[:2] == (200, 0)
    clock.advance(1801)
    status, code, message = _status(client, header)
    assert (status, code) == (401, 1004)
    assert "expired" in message


def test_a_system_clock_checks_nbf_on_its_own_time_only():
    accounts = Accounts({DEV_ACCESS_KEY: DEV_SECRET_KEY}, clock=SystemClock())
    now_s = SystemClock().now_ms() / 1000
    with pytest.raises(KlingError) as refused:  # the fake's clock is an hour behind the token
        accounts.authenticate(f"Bearer {_docs_token(now_s)}", int((now_s - 3600) * 1000))
    assert refused.value.code == 1003


def test_expired_by_one_second_is_1004(client: FlaskClient, clock: ManualClock):
    now = clock.now_ms() // 1000
    assert _status(client, f"Bearer {_token(clock, exp=now + 1)}")[:2] == (200, 0)
    status, code, message = _status(client, f"Bearer {_token(clock, exp=now)}")
    assert (status, code) == (401, 1004)
    assert "expired" in message


def test_tokens_expire_on_the_fakes_clock(client: FlaskClient, clock: ManualClock):
    header = f"Bearer {_token(clock)}"
    clock.advance(1799)
    assert _status(client, header)[:2] == (200, 0)
    clock.advance(1)
    assert _status(client, header)[:2] == (401, 1004)


def test_token_without_exp_or_nbf_is_accepted(client: FlaskClient, clock: ManualClock):
    assert _status(client, f"Bearer {_token(clock, exp=None, nbf=None)}")[:2] == (200, 0)


def test_duplicate_authorization_headers_are_1002(client: FlaskClient, clock: ManualClock):
    header = f"Bearer {_token(clock)}"
    response = client.get(API_PATH, headers=[("Authorization", header), ("Authorization", header)])
    assert (response.status_code, response.get_json()["code"]) == (401, 1002)


@pytest.mark.parametrize("path", [API_PATH, RESELLER_PATH])
def test_plain_api_key(client: FlaskClient, key_auth: dict[str, str], path: str):
    assert client.get(path, headers=key_auth).status_code == 200
    response = client.get(path, headers={"Authorization": "Bearer sk-unknown"})
    assert (response.status_code, response.get_json()["code"]) == (401, 1002)


def test_auth_comes_before_validation(client: FlaskClient):
    response = client.post(API_PATH, json={})
    assert (response.status_code, response.get_json()["code"]) == (401, 1001)
