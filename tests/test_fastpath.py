"""The fast path answers plain GETs exactly as the Flask routes do, byte for byte, and leaves
every other request, refusal and special case to them."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pytest
import werkzeug.wrappers
from hypothesis import event, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder, run_wsgi_app

from mock_kling.core.auth import make_token
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import DEV_ACCESS_KEY, DEV_SECRET_KEY, Config
from mock_kling.core.journal import RequestRecord
from mock_kling.http.app import backend_of, create_app
from mock_kling.http.context import FAST_PATH
from mock_kling.http.fastpath import BODY_LIMIT

from .conftest import API_PATH, RESELLER_PATH, valid_body

KEY = "sk-fast"


def _pair() -> tuple[Any, Any, dict[str, str]]:
    """Two identical fakes, one with the fast path and one without, and a token for both."""
    config = Config(seed=5, api_keys=[KEY], submitted_seconds=1, processing_seconds=2)
    clocks = ManualClock(), ManualClock()
    fast = create_app(config, clock=clocks[0]).test_client()
    slow = create_app(config, clock=clocks[1], fast_path=False).test_client()
    token = make_token(DEV_ACCESS_KEY, DEV_SECRET_KEY, clocks[0].now_ms() / 1000)
    for client in (fast, slow):
        _fill(client, token)
    return fast, slow, {"Authorization": f"Bearer {token}"}


def _fill(client: Any, token: str) -> None:
    """Four tasks, in every state: succeed, failed, processing, submitted."""
    clock = backend_of(client.application)
    for n in range(4):
        body = valid_body(external_task_id=f"e{n}", prompt="mock:fail" if n == 2 else "p")
        client.post(API_PATH, json=body, headers={"Authorization": f"Bearer {token}"})
        clock.advance(0.5)
    clock.advance(1)


PATHS = [
    API_PATH,
    f"{API_PATH}?pageNum=2&pageSize=2",
    f"{API_PATH}?pageSize=&pageNum=1&pageNum=9",
    f"{API_PATH}?pageSize=0",
    f"{API_PATH}/e1",
    f"{API_PATH}/e2",
    f"{API_PATH}/nope",
    f"{API_PATH}/",
    f"{RESELLER_PATH}/e3",
    f"/kling{API_PATH}?pageNum=1",
    "/v1/videos/multi-image2video/e1/extra",
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("auth", ["jwt", "key", "none", "twice", "bad"])
def test_same_answer_with_and_without_the_fast_path(path: str, auth: str):
    fast, slow, jwt_header = _pair()
    headers = {
        "jwt": jwt_header,
        "key": {"Authorization": f"Bearer {KEY}"},
        "none": {},
        "twice": {"Authorization": f"{jwt_header['Authorization']}, Bearer {KEY}"},
        "bad": {"Authorization": "Bearer nope"},
    }[auth]
    answers = [client.get(path, headers=headers) for client in (fast, slow)]
    assert answers[0].status_code == answers[1].status_code
    assert answers[0].data == answers[1].data  # same seed: even the request ids agree
    assert answers[0].headers["Content-Type"] == answers[1].headers["Content-Type"]
    journals = [_timeless(backend_of(c.application).requests()) for c in (fast, slow)]
    assert journals[0] == journals[1]


def _timeless(records: list[RequestRecord]) -> list[RequestRecord]:
    """The records with their durations masked: real time differs between any two runs."""
    return [replace(record, duration_ms=0.0) for record in records]


def test_requests_are_timed_from_their_arrival():
    fast, slow, headers = _pair()
    for client in (fast, slow):
        client.get(f"{API_PATH}/e1", headers=headers)  # the fast path answers it
        client.get(f"{API_PATH}/nope", headers=headers)  # the fast path hands it to Flask
        records = backend_of(client.application).requests()[-2:]
        assert all(0 < record.duration_ms < 10_000 for record in records)


def test_faults_and_limits_go_through_flask():
    fast, _, headers = _pair()
    fast.post("/__mock__/faults", json={"endpoint": "query", "code": 5001, "times": 1})
    assert fast.get(f"{API_PATH}/e1", headers=headers).status_code == 503
    assert fast.get(f"{API_PATH}/e1", headers=headers).status_code == 200
    fast.post(f"/__mock__/accounts/{DEV_ACCESS_KEY}/limits", json={"rate_per_second": 1})
    assert fast.get(API_PATH, headers=headers).status_code == 200
    assert fast.get(API_PATH, headers=headers).get_json()["code"] == 1302


def test_media_urls_follow_the_host_header():
    fast, slow, headers = _pair()
    for host in ("example.test:8080", "example.test:80", "[::1]:9000", "EXAMPLE.test", "bad host"):
        answers = [c.get(f"{API_PATH}/e0", headers={**headers, "Host": host}) for c in (fast, slow)]
        assert answers[0].data == answers[1].data


def test_plain_gets_never_reach_flask():
    fast, _, headers = _pair()
    app = fast.application

    asked: list[str] = []

    def not_here(**kwargs: Any) -> Any:
        asked.append(kwargs.get("ref", "list"))
        return {"asked": True}

    for name in list(app.view_functions):
        if name.endswith(("query_task", "list_tasks")):
            app.view_functions[name] = not_here
    assert fast.get(f"{API_PATH}/e1", headers=headers).get_json()["code"] == 0
    assert fast.get(f"{RESELLER_PATH}?pageSize=3", headers=headers).get_json()["code"] == 0
    assert asked == []
    fast.get(f"{API_PATH}/nope", headers=headers)  # a refusal: Flask renders it
    assert asked == ["nope"]


def test_the_health_report_is_flasks_byte_for_byte():
    fast, slow, _ = _pair()
    answers = fast.get("/__mock__/health"), slow.get("/__mock__/health")
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.headers["Content-Type"] for a in answers] == ["application/json"] * 2
    fast_report, slow_report = (answer.get_json() for answer in answers)
    assert fast_report.pop("fast_path")["fell_back"]["not_its_route"] == 0  # its own route
    assert slow_report.pop("fast_path") is None  # no fast path in front of this one
    assert fast_report == slow_report
    for answer in answers:  # the same form: compact JSON, keys in order, a newline
        compact = json.dumps(answer.get_json(), separators=(",", ":")).encode()
        assert answer.data == compact + b"\n"


def test_every_hand_over_to_flask_is_counted_by_reason():
    fast, _, headers = _pair()
    before = _counts(fast.application)
    fast.post(API_PATH, json={}, headers=headers)
    fast.get("/__mock__/tasks")
    fast.get(f"{API_PATH}/e1")
    fast.get(f"{API_PATH}/nope", headers=headers)
    fast.get(f"{API_PATH}/e1", headers=headers)
    fast.delete(f"{API_PATH}/e1", headers=headers)
    fast.post(API_PATH, data=b"{}", content_type="text/plain", headers=headers)
    fast.post("/__mock__/faults", json={"endpoint": "create", "code": 5001, "times": 1})
    fast.get(f"{API_PATH}/e1", headers=headers)
    health = fast.get("/__mock__/health").get_json()["fast_path"]  # its own: counted after
    counts = {"answered": health["answered"], **health["fell_back"]}
    assert {name: n - before[name] for name, n in counts.items()} == {
        "answered": 1,
        "not_get": 1,
        "not_its_route": 2,
        "no_auth_header": 1,
        "faults_or_limits": 1,
        "refused": 2,
        "unexpected_exception": 0,
        "body_not_plain": 1,
    }
    assert backend_of(fast.application).errors == []  # a refusal is no error


def test_a_bug_in_the_fast_path_is_recorded_and_flask_answers(caplog: pytest.LogCaptureFixture):
    fast, slow, headers = _pair()
    fast_path = fast.application.extensions[FAST_PATH]
    bug = RuntimeError("the fast path tripped")

    def trip(*args: Any) -> Any:
        raise bug

    fast_path._data = trip
    answers = [client.get(f"{API_PATH}/e1", headers=headers) for client in (fast, slow)]
    assert answers[0].data == answers[1].data  # Flask answered, as it does without the fast path
    assert backend_of(fast.application).errors == [bug]
    assert "fast path failed on GET /v1/videos/multi-image2video/e1" in caplog.text
    health = fast.get("/__mock__/health").get_json()
    assert health["status"] == "degraded"
    (error,) = health["errors"]
    assert (error["where"], error["type"], error["message"]) == (
        "fast path",
        "RuntimeError",
        "the fast path tripped",
    )
    assert health["fast_path"]["fell_back"]["unexpected_exception"] == 1
    backend_of(fast.application).clear_errors()  # seen: not a failure of this test


def test_health_keeps_its_keys_and_says_when_the_fast_path_is_off():
    fast, slow, _ = _pair()
    health = fast.get("/__mock__/health").get_json()
    assert (health["status"], health["seed"], health["tasks"]) == ("ok", 5, 4)
    assert health["errors"] == []
    assert slow.get("/__mock__/health").get_json()["fast_path"] is None


@pytest.mark.parametrize("fast_path", [True, False])
def test_a_query_string_that_is_not_utf8_is_read_not_a_500(fast_path: bool):
    app = create_app(Config(api_keys=[KEY]), clock=ManualClock(), fast_path=fast_path)
    headers = {"Authorization": f"Bearer {KEY}"}
    raw = {"QUERY_STRING": "pageSize=2&q=\x8e"}  # a raw byte, not %8E: Werkzeug raised on it
    answer = app.test_client().get(API_PATH, headers=headers, environ_overrides=raw)
    assert (answer.status_code, answer.get_json()["code"]) == (200, 0)
    assert backend_of(app).requests()[-1].path == f"{API_PATH}?pageSize=2&q=\ufffd"


# --- differential: Hypothesis sends the same GETs to a fake with and one without the fast path ---


def _mostly(good: list[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A good value three times in four, so that whole requests are often plain ones."""
    pick = st.sampled_from(["good", "good", "good", "odd"])
    return pick.flatmap(lambda which: st.sampled_from(good) if which == "good" else odd)


EPOCH_S = ManualClock().now_ms() / 1000
JWT = make_token(DEV_ACCESS_KEY, DEV_SECRET_KEY, EPOCH_S)
ODD_AUTHS = [
    f"bearer {KEY}",
    f"Bearer  {KEY}",
    f"Bearer {KEY} ",
    KEY,
    JWT,
    "Bearer",
    "Bearer ",
    "",
    "Basic dXNlcjpwdw==",
    "Bearer sk-nope",
    f"Bearer {make_token(DEV_ACCESS_KEY, DEV_SECRET_KEY, EPOCH_S - 4000)}",  # expired
    f"Bearer {make_token(DEV_ACCESS_KEY, 'not-the-secret-but-32-bytes-long-enough', EPOCH_S)}",
    f"Bearer {make_token('ak-unknown', DEV_SECRET_KEY, EPOCH_S)}",
    f"Bearer {JWT[:-3]}",
    f"Bearer {JWT}, Bearer {KEY}",
    f"Bearer {KEY}, x",
    f"Bearer {KEY},",
]
AUTHS = _mostly([f"Bearer {JWT}", f"Bearer {KEY}"], st.none() | st.sampled_from(ODD_AUTHS))
ODD_HOSTS = ["example.test:80", "example.test:443", "EXAMPLE.test", "[::1]:9000", "[::1]"]
ODD_HOSTS += ["bad host", "ex_ample", "x:y:z", "host:", "", "\xfcn\xefcode.test", "a/b", "h:0x1"]
HOSTS = _mostly([None, "localhost", "example.test:8080"], st.sampled_from(ODD_HOSTS))
LATIN_1 = st.characters(codec="latin-1", exclude_characters="#")
ODD_REFS = ["e9", "nope", "e1/extra", "/e1", "e1//x", "e1/", "%65%31", "e 1", "e1?", ".", ".."]
REFS = _mostly(
    [("task", n) for n in range(4)] + [("external", n) for n in range(4)],
    st.sampled_from(ODD_REFS)
    | st.text(alphabet=LATIN_1, max_size=6).map(lambda s: s.encode().decode("latin-1"))  # UTF-8
    | st.text(alphabet=LATIN_1, max_size=6),  # raw Latin-1 bytes: not UTF-8
)
TAILS = _mostly(["", "/<ref>"], st.just("/")).flatmap(
    lambda tail: REFS.map(lambda ref: ("/", ref)) if tail == "/<ref>" else st.just(tail)
)
ODD_PREFIXES = ["/v2", "/kling", "", "/V1", "/v1/", "//v1"]
PREFIXES = _mostly(["/v1", "/kling/v1"], st.sampled_from(ODD_PREFIXES))
WIDE_TWO = "\uff12".encode().decode("latin-1")  # int() reads a fullwidth 2 as 2
ODD_VALUES = ["0", "-1", "501", "abc", "", "1.5", " 2", WIDE_TWO, "%EF%BC%92", "%32", "+1", "\xff"]
PARAMS = st.tuples(
    _mostly(["pageNum", "pageSize"], st.sampled_from(["pagenum", "page_size", "x", ""])),
    _mostly(["1", "2", "3", "500"], st.sampled_from([*ODD_VALUES, None])),
)
ODD_QUERIES = ["pageNum=%ff", "pageSize=%", "&&pageNum=2&", "pageNum=1;pageSize=2", "?", "="]
QUERIES = st.sampled_from(["params", "params", "odd", "text"]).flatmap(
    lambda kind: {
        "params": st.lists(PARAMS, max_size=3).map(
            lambda ps: "&".join(k if v is None else f"{k}={v}" for k, v in ps)
        ),
        "odd": st.sampled_from(ODD_QUERIES),
        "text": st.text(alphabet=LATIN_1, max_size=12),
    }[kind]
)
REQUESTS = st.fixed_dictionaries(
    {
        "prefix": PREFIXES,
        "tail": TAILS,
        "query": QUERIES,
        "auth": AUTHS,
        "host": HOSTS,
        "scheme": st.sampled_from(["http", "https"]),
    }
)


def _environ(request: dict[str, Any], task_ids: list[str]) -> dict[str, Any]:
    """The WSGI environ a server would pass on: PATH_INFO and QUERY_STRING as Latin-1 text."""
    tail = request["tail"]
    if isinstance(tail, tuple):
        ref = tail[1]
        if isinstance(ref, tuple):
            ref = task_ids[ref[1]] if ref[0] == "task" else f"e{ref[1]}"
        tail = "/" + ref
    environ = EnvironBuilder(method="GET").get_environ()
    environ.update(
        PATH_INFO=request["prefix"] + "/videos/multi-image2video" + tail,
        QUERY_STRING=request["query"],
        SERVER_NAME="fake.test",
        SERVER_PORT="8000",
    )
    environ["wsgi.url_scheme"] = request["scheme"]
    environ.pop("HTTP_HOST", None)
    if request["host"] is not None:
        environ["HTTP_HOST"] = request["host"]
    if request["auth"] is not None:
        environ["HTTP_AUTHORIZATION"] = request["auth"]
    return environ


def _call(app: Any, environ: dict[str, Any]) -> tuple[str, dict[str, str | None], bytes]:
    body, status, headers = run_wsgi_app(app, dict(environ), buffered=True)
    data = b"".join(body)
    kept = {name: headers.get(name) for name in ("Content-Type", "Content-Length")}
    return status, kept, data


def _counts(app: Any) -> dict[str, int]:
    counts = app.extensions[FAST_PATH].counts()
    return {"answered": counts["answered"], **counts["fell_back"]}


@pytest.fixture(scope="module")
def pair() -> tuple[Any, Any]:
    fast, slow, _ = _pair()
    return fast, slow


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(requests=st.lists(REQUESTS, min_size=1, max_size=4))
def test_fast_path_and_flask_agree_on_any_get(
    pair: tuple[Any, Any], requests: list[dict[str, Any]]
):
    fast, slow = pair
    backends = [backend_of(client.application) for client in (fast, slow)]
    for client, backend in zip(pair, backends, strict=True):
        backend.reset()  # a fresh start: same ids, tasks and clock as a new fake
        _fill(client, JWT)
    task_ids = [task.task_id for task in backends[0].all_tasks()]
    assert task_ids == [task.task_id for task in backends[1].all_tasks()]
    for request in requests:
        environ = _environ(request, task_ids)
        seen = [len(backend.requests()) for backend in backends]
        counted = _counts(fast.application)
        answers = [_call(client.application, environ) for client in (fast, slow)]
        assert answers[0] == answers[1], environ  # same seed: even the request ids agree
        records = [_timeless(b.requests()[n:]) for b, n in zip(backends, seen, strict=True)]
        assert records[0] == records[1], environ
        now = _counts(fast.application)
        event(next(name for name, n in now.items() if n != counted[name]))
    assert backends[0].errors == backends[1].errors == []


# --- submits: the same bodies to a fake with and one without the fast path ---------------------

ODD_TEXTS = ["", "e1", "caf\xe9", "\u2028", "a\x7fb", "\x00", "\ud800", "x" * 1025, "e\u00e9" * 3]
FIELD_VALUES = st.one_of(
    st.sampled_from(ODD_TEXTS),
    st.text(max_size=8),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.just([]),
    st.just({"enabled": True}),
)
FIELDS = ["external_task_id", "callback_url", "mode", "duration", "watermark_info", "prompt", "x"]
SUBMITS = st.fixed_dictionaries(
    {
        "changes": _mostly(
            [{}, {"external_task_id": "caf\xe9"}, {"external_task_id": "a\x7fb"}, {"mode": "pro"}],
            st.dictionaries(st.sampled_from(FIELDS), FIELD_VALUES, max_size=3),
        ),
        "drop": st.sampled_from([None, "prompt", "image_list"]),
        "content_type": _mostly(["application/json"], st.sampled_from(["text/plain", None])),
        "raw": _mostly(
            [None], st.sampled_from([b"{", b"[]", b'{"a":1e999}', b"", b"\xef\xbb\xbf{}"])
        ),
        "auth": AUTHS,
        "host": HOSTS,
    }
)


def _submit_environ(submit: dict[str, Any]) -> dict[str, Any]:
    body = valid_body(**submit["changes"])
    if submit["drop"] is not None:
        body.pop(submit["drop"])
    data = submit["raw"] if submit["raw"] is not None else json.dumps(body).encode()
    environ = EnvironBuilder(method="POST", path=API_PATH, data=data).get_environ()
    environ.pop("CONTENT_TYPE", None)
    if submit["content_type"] is not None:
        environ["CONTENT_TYPE"] = submit["content_type"]
    if submit["host"] is not None:
        environ["HTTP_HOST"] = submit["host"]
    if submit["auth"] is not None:
        environ["HTTP_AUTHORIZATION"] = submit["auth"]
    return environ


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(submits=st.lists(SUBMITS, min_size=1, max_size=3))
def test_fast_path_and_flask_agree_on_any_submit(
    pair: tuple[Any, Any], submits: list[dict[str, Any]]
):
    fast, slow = pair
    backends = [backend_of(client.application) for client in (fast, slow)]
    for client, backend in zip(pair, backends, strict=True):
        backend.reset()
        _fill(client, JWT)
    for submit in submits:
        environ = _submit_environ(submit)
        seen = [len(backend.requests()) for backend in backends]
        counted = _counts(fast.application)
        answers = []
        for client in pair:
            copy = dict(environ)
            copy["wsgi.input"] = io.BytesIO(environ["wsgi.input"].getvalue())
            answers.append(_call(client.application, copy))
        assert answers[0] == answers[1], environ
        records = [_timeless(b.requests()[n:]) for b, n in zip(backends, seen, strict=True)]
        assert records[0] == records[1], environ
        tasks = [[(t.task_id, t.request) for t in b.all_tasks()] for b in backends]
        assert tasks[0] == tasks[1]
        now = _counts(fast.application)
        event(next(name for name, n in now.items() if n != counted[name]))
    assert backends[0].errors == backends[1].errors == []


def test_a_large_submit_goes_to_flask():
    fast, slow, headers = _pair()
    before = _counts(fast.application)
    big = valid_body(prompt="p", negative_prompt="n" * 100, x="y" * BODY_LIMIT)
    answers = [client.post(API_PATH, json=big, headers=headers) for client in (fast, slow)]
    assert answers[0].data == answers[1].data
    assert answers[0].status_code == 200
    assert _counts(fast.application)["body_not_plain"] == before["body_not_plain"] + 1


def test_plain_calls_build_no_werkzeug_request(monkeypatch: pytest.MonkeyPatch):
    """The fast path reads the environ itself (a Werkzeug Request per call cost 50 µs); only a
    host it has not seen yet is read by Werkzeug."""
    fast, _, headers = _pair()
    assert fast.get(f"{API_PATH}/e1", headers=headers).status_code == 200  # learns the host

    def no_request(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a werkzeug Request was built")

    monkeypatch.setattr(werkzeug.wrappers, "Request", no_request)  # body.py imports it late
    before = _counts(fast.application)
    assert fast.get(f"{API_PATH}/e1", headers=headers).status_code == 200
    assert fast.get(f"{API_PATH}?pageSize=3", headers=headers).status_code == 200
    assert fast.post(API_PATH, json=valid_body(), headers=headers).status_code == 200
    assert _counts(fast.application)["answered"] == before["answered"] + 3
    assert backend_of(fast.application).errors == []
