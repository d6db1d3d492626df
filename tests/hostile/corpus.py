"""The hostile-input corpus, as data: one `Case` per entry, each with the request (method, path
or endpoint group, headers, raw body or a recipe for a big one) and the answer the fake must give
(HTTP status and Kling service code, and a substring of the message).

Every case must be answered with Kling's error body `{code, message, request_id}` and the status
of Kling's table: no 5xx, no traceback, no HTML, no memory blow-up. A few hostile-looking inputs
are accepted on purpose (`ACCEPTED`, with the reason): the fake's answer there is a normal task.

Endpoint groups (`targets`) expand to real routes: "create", "query" and "list" to both prefixes
(/v1 and /kling/v1), "control" to every control route that reads a JSON body. `http=True` marks
the subset also replayed over real HTTP against `mock-kling serve`; where its HTTP server (granian)
answers before the fake sees the request, `server` holds that status (see SERVER in
tests/test_hostile.py).
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from mock_kling.core.config import DEV_ACCESS_KEY, DEV_SECRET_KEY

from ..images import jpeg_bytes, png_bytes

API_PREFIXES = ("/v1", "/kling/v1")
API = "{prefix}/videos/multi-image2video"
UNKNOWN_ID = "123456789012345678"
CONTROL_BODY_ROUTES = (
    "/__mock__/clock/advance",
    f"/__mock__/tasks/{UNKNOWN_ID}/outcome",
    "/__mock__/outcomes",
    "/__mock__/faults",
    f"/__mock__/accounts/{DEV_ACCESS_KEY}/limits",
    "/__mock__/callbacks/faults",
)
TARGETS: dict[str, tuple[tuple[str, str], ...]] = {
    "create": (("POST", API),),
    "query": (("GET", f"{API}/{UNKNOWN_ID}"),),
    "list": (("GET", API),),
    "control": tuple(("POST", route) for route in CONTROL_BODY_ROUTES),
}
MB = 1024 * 1024
OVER_THE_LIMIT = -1  # Big.count: as many units as make the body one byte over max_body_bytes


@dataclass(frozen=True)
class Big:
    """A body too big to keep in the repo: prefix + unit * count + suffix."""

    prefix: bytes
    unit: bytes
    count: int
    suffix: bytes = b""

    def build(self, limit: int) -> bytes:
        count = self.count
        if count == OVER_THE_LIMIT:
            count = (limit + 1 - len(self.prefix) - len(self.suffix)) // len(self.unit) + 1
        return self.prefix + self.unit * count + self.suffix


@dataclass(frozen=True)
class Jwt:
    """A token made at replay time on the fake's clock: claims relative to its now."""

    iss: str | int | None = DEV_ACCESS_KEY
    exp_in: int | str | None = 1800  # seconds after now; None: no exp claim
    nbf_in: int | None = -5
    key: str = DEV_SECRET_KEY
    alg: str = "HS256"  # the header's alg: "none" is sent unsigned, others signed with HS256
    pad_bytes: int = 0  # an extra claim of this many bytes


VALID = Jwt()


@dataclass(frozen=True)
class Case:
    """One hostile request and the answer it must get."""

    name: str
    status: int
    code: int
    targets: tuple[str | tuple[str, str], ...] = ("create",)
    body: bytes | Big | None = None  # None: no body
    content_type: str | None = "application/json"
    # Authorization headers, in order; a str is sent as is, with "{token}" replaced by a valid
    # token; () sends none
    auth: tuple[str | Jwt, ...] = (VALID,)
    headers: tuple[tuple[str, str], ...] = ()
    message: str = ""  # a substring of the answer's message
    http: bool = False  # also replayed over HTTP against `mock-kling serve`
    server: int | None = None  # over HTTP, the HTTP server (or serve's edge) answers this itself


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def body(**fields: Any) -> bytes:
    """A create body: a valid one with `fields` changed (None removes a field)."""
    data: dict[str, Any] = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "p"}
    data.update(fields)
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


def image(value: str) -> bytes:
    return body(image_list=[{"image": value}])


def _png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk only: the size is claimed, no pixel data follows."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


def _jpeg_header(width: int, height: int) -> bytes:
    """JPEG SOI and a baseline SOF0 claiming the size, no scan data."""
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof


PNG = png_bytes(400, 400)
GIF = b"GIF89a" + b"\x00" * 100
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 100
TEN_MB = 10 * 1000 * 1000  # Kling's "10MB"; the fake's limit is 10 MiB = 10,485,760 bytes
TEN_MIB = 10 * MB

# --- malformed bodies: every route that reads JSON answers 400 / 1200 ----------------------
_BODY = ("create", "control")
MALFORMED = [
    Case("empty body", 400, 1200, _BODY, b"", message="not valid JSON"),
    Case("truncated JSON", 400, 1200, _BODY, b'{"prompt": "a', http=True),
    Case("truncated after a key", 400, 1200, _BODY, b'{"prompt":'),
    Case("trailing garbage", 400, 1200, _BODY, b'{"prompt": "p"} x'),
    Case("two documents", 400, 1200, _BODY, b"{}{}"),
    Case("single quotes", 400, 1200, _BODY, b"{'prompt': 'p'}"),
    Case("a comment", 400, 1200, _BODY, b'{"prompt": "p" /* hi */}'),
    Case("NaN", 400, 1200, _BODY, b'{"prompt": NaN}', message="NaN is not a JSON value"),
    Case("Infinity", 400, 1200, _BODY, b'{"x": -Infinity}', message="is not a JSON value"),
    Case("1e999", 400, 1200, _BODY, b'{"x": 1e999}', message="too large for a number"),
    Case("5000-digit integer", 400, 1200, _BODY, b'{"x": ' + b"9" * 5000 + b"}"),
    Case("raw NUL in a string", 400, 1200, _BODY, b'{"prompt": "a\x00b"}', http=True),
    Case("raw newline in a string", 400, 1200, _BODY, b'{"prompt": "a\nb"}'),
    Case("invalid UTF-8", 400, 1200, _BODY, b'{"prompt": "\xff\xfe"}', http=True),
    Case("overlong UTF-8", 400, 1200, _BODY, b'{"prompt": "\xc0\xaf"}'),
    Case("UTF-8 cut inside a character", 400, 1200, _BODY, b'{"prompt": "\xe2\x82"}'),
    Case(
        "nested 100,000 deep (arrays)",
        400,
        1200,
        _BODY,
        Big(b"", b"[", 100_000, b"]" * 100_000),
        message="nested too deeply",
        http=True,
    ),
    Case(
        "nested 100,000 deep (objects)",
        400,
        1200,
        _BODY,
        Big(b"", b'{"a":', 100_000, b"1" + b"}" * 100_000),
        message="nested too deeply",
    ),
    Case(
        "nested 65 deep: one over the limit",
        400,
        1200,
        _BODY,
        b"[" * 65 + b"]" * 65,
        message="more than 64 levels",
    ),
    Case(
        "nested 990 deep inside prompt (was a RecursionError 500)",
        400,
        1200,
        _BODY,
        b'{"prompt": ' + b"[" * 990 + b"]" * 990 + b', "image_list": []}',
        message="nested too deeply",
    ),
    Case(
        "20,000 values in one array",
        400,
        1200,
        _BODY,
        b"[" + b",".join([b"0"] * 20_000) + b"]",
        message="more than 10000 JSON values",
    ),
    Case(
        "60 MB of empty arrays (1.8 GB as Python objects)",
        400,
        1200,
        ("create", ("POST", "/__mock__/faults")),
        Big(b'{"x": [', b"[],", 20_000_000, b"[]]}"),
        message="more than 10000 JSON values",
        http=True,
    ),
    Case(
        "60 MB of two-letter strings (1.1 GB as Python objects)",
        400,
        1200,
        ("create",),
        Big(b'{"x": [', b'"ab",', 12_000_000, b'"ab"]}'),
        message="more than 10000 JSON values",
        http=True,
    ),
    Case(
        "body over the limit (max_body_bytes + 1)",
        413,
        1200,
        ("create", ("POST", "/__mock__/faults")),
        Big(b'{"prompt": "', b"x" * 4096, OVER_THE_LIMIT, b'"}'),
        message="larger than the limit",
        http=True,
    ),
    Case("body is an array", 400, 1200, _BODY, b"[1, 2]"),
    Case("body is a string", 400, 1200, _BODY, b'"text"'),
    Case("body is a number", 400, 1200, _BODY, b"7"),
    Case("body is null", 400, 1200, _BODY, b"null"),
    # content types
    Case("no Content-Type", 400, 1200, _BODY, body(), content_type=None, http=True),
    Case("Content-Type text/plain", 400, 1200, _BODY, body(), content_type="text/plain"),
    Case(
        "Content-Type form",
        400,
        1200,
        _BODY,
        b"prompt=p&image_list=x",
        content_type="application/x-www-form-urlencoded",
    ),
    Case(
        "Content-Type multipart",
        400,
        1200,
        _BODY,
        b"--b\r\nContent-Disposition: form-data; name=prompt\r\n\r\np\r\n--b--\r\n",
        content_type="multipart/form-data; boundary=b",
    ),
    Case("Content-Type application/jsonx", 400, 1200, _BODY, body(), content_type="x/json"),
]

# --- the create body: every field with every wrong type, huge strings and arrays --------------
_FIELDS = {  # field -> JSON types it may have
    "model_name": "string",
    "image_list": "array",
    "prompt": "string",
    "negative_prompt": "string",
    "mode": "string",
    "duration": "string",
    "aspect_ratio": "string",
    "watermark_info": "object",
    "callback_url": "string",
    "external_task_id": "string",
}
_VALUES: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "integer": 0,
    "number": 1.5,
    "string": "s",
    "array": [],
    "object": {},
}
WRONG_TYPES = (
    [
        Case(
            f"{name} as {kind}",
            400,
            1201,
            body=json.dumps(
                {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "p", name: value}
            ).encode(),
            message=name,
        )
        for name, right in _FIELDS.items()
        for kind, value in _VALUES.items()
        if kind != right
    ]
    + [
        Case(f"image_list item as {kind}", 400, 1201, body=body(image_list=[value]))
        for kind, value in _VALUES.items()
        if kind != "object"
    ]
    + [
        Case(f"image as {kind}", 400, 1201, body=body(image_list=[{"image": value}]))
        for kind, value in _VALUES.items()
        if kind not in ("string", "null")
    ]
    + [
        Case(
            "image as null",
            400,
            1201,
            body=json.dumps({"prompt": "p", "image_list": [{"image": None}]}).encode(),
        ),
        Case(
            "watermark_info.enabled as string",
            400,
            1201,
            body=body(watermark_info={"enabled": "yes"}),
            message="watermark_info.enabled",
        ),
    ]
)

HUGE = [
    Case("prompt of 10 MB", 400, 1201, body=body(prompt="x" * TEN_MB), message="at most 2500"),
    Case(
        "negative_prompt of 10 MB",
        400,
        1201,
        body=body(negative_prompt="x" * TEN_MB),
        message="at most 2500",
    ),
    Case(
        "external_task_id of 10 MB (kept with the task: bounded)",
        400,
        1201,
        body=body(external_task_id="x" * TEN_MB),
        message="external_task_id must be at most 1024 characters",
        http=True,
    ),
    Case(
        "callback_url of 10 MB",
        400,
        1201,
        body=body(callback_url="https://example.com/" + "x" * TEN_MB),
        message="callback_url must be at most 2048 characters",
    ),
    Case(
        # the contract's pattern backtracks quadratically on it: 1 MB took hours before the
        # length limit, 2,040 characters still 30 ms before the whitespace check
        "callback_url ending in a space",
        400,
        1201,
        body=body(callback_url="http://" + "a" * 2030 + " "),
        message="callback_url must be empty or an http(s) URL",
        http=True,
    ),
    Case(
        "image_list of 2,000 items",
        400,
        1201,
        body=body(image_list=[{"image": "https://example.com/a.png"}] * 2000),
        message="at most 4 item(s) (got 2000)",
    ),
    Case(
        "prompt of 1,000,000 emoji",
        400,
        1201,
        body=body(prompt="\U0001f600" * 1_000_000),
        message="at most 2500",
    ),
    Case(
        "NUL characters in prompt, image_list missing",
        400,
        1201,
        body=body(prompt="a\x00b\x00", image_list=None),
        message="image_list is required",
    ),
    Case(
        "lone surrogate in prompt, image_list missing",
        400,
        1201,
        body=b'{"prompt": "\\ud800"}',
        message="image_list is required",
    ),
    Case(
        "NUL in a field name, prompt missing",
        400,
        1201,
        body=b'{"a\\u0000b": 1, "image_list": [{"image": "https://example.com/a.png"}]}',
        message="prompt is required",
    ),
]

# --- images ------------------------------------------------------------------------------------
IMAGES = [
    Case(
        "truncated PNG", 400, 1201, body=image(b64(PNG[:20])), message="truncated or malformed PNG"
    ),
    Case(
        "truncated JPEG",
        400,
        1201,
        body=image(b64(jpeg_bytes(400, 400)[:30])),
        message="truncated or malformed JPEG",
    ),
    Case(
        "10 MB of JPEG fill bytes (was seconds of CPU)",
        400,
        1201,
        body=image(b64(b"\xff\xd8" + b"\xff" * (TEN_MIB - 2))),
        message="truncated or malformed JPEG",
    ),
    Case("GIF", 400, 1201, body=image(b64(GIF)), message="(got GIF)"),
    Case("WebP", 400, 1201, body=image(b64(WEBP)), message="(got WebP)"),
    Case(
        "text named .png",
        400,
        1201,
        body=image(b64(b"this is not a picture, whatever its name.png says")),
        message="must be a PNG or JPEG image",
    ),
    Case(
        "base64 with a data: prefix",
        400,
        1201,
        body=image("data:image/png;base64," + b64(PNG)),
        message="without a data: URI prefix",
        http=True,
    ),
    Case(
        "base64 with MIME line breaks",
        400,
        1201,
        body=image(base64.encodebytes(PNG).decode("ascii")),
        message="neither an http(s) URL nor valid base64",
    ),
    Case(
        "base64 with spaces",
        400,
        1201,
        body=image(" ".join(b64(PNG)[i : i + 4] for i in range(0, len(b64(PNG)), 4))),
        message="neither an http(s) URL nor valid base64",
    ),
    Case(
        "base64 with bad padding",
        400,
        1201,
        body=image(b64(PNG)[:-2] + "="),
        message="neither an http(s) URL nor valid base64",
    ),
    Case(
        "base64 without padding",
        400,
        1201,
        body=image(b64(PNG + b"\x00" * ((1 - len(PNG)) % 3)).rstrip("=")),
        message="neither an http(s) URL nor valid base64",
    ),
    Case(
        "URL-safe base64 alphabet",
        400,
        1201,
        body=image(base64.urlsafe_b64encode(b"\xfb\xff" * 3000).decode()),
        message="neither an http(s) URL nor valid base64",
    ),
    Case(
        "10 MB + 1 byte",
        400,
        1201,
        body=image(b64(PNG[:100] + b"\x00" * (TEN_MIB + 1 - 100))),
        message="is 10485761 bytes; the limit is 10485760 bytes",
        http=True,
    ),
    Case("PNG of 0 x 0 px", 400, 1201, body=image(b64(_png_header(0, 0))), message="is 0x0 px"),
    Case(
        "PNG claiming 4294967295 x 1 px",
        400,
        1201,
        body=image(b64(_png_header(2**32 - 1, 1))),
        message="each side must be at least 300 px",
    ),
    Case(
        "JPEG claiming 65535 x 300 px",
        400,
        1201,
        body=image(b64(_jpeg_header(65535, 300))),
        message="aspect ratio",
    ),
    Case("image empty", 400, 1201, body=image(""), message="must not be empty"),
    Case(
        "image URL with a space",
        400,
        1201,
        body=image("https://example.com/a b.png"),
        message="not a well-formed http(s) URL",
    ),
    Case(
        "image URL with a broken IPv6 host",
        400,
        1201,
        body=image("http://[::1/a.png"),
        message="not a well-formed http(s) URL",
    ),
    Case(
        "image URL with port 0",
        400,
        1201,
        body=image("http://example.com:0/a.png"),
        message="not a well-formed http(s) URL",
    ),
    Case(
        "image file: URL",
        400,
        1201,
        body=image("file:///etc/passwd"),
        message="neither an http(s) URL nor valid base64",
    ),
]

# --- auth: the three routes on both prefixes ---------------------------------------------------
_ALL = ("create", "query", "list")
AUTH = [
    Case("no Authorization", 401, 1001, _ALL, body(), auth=(), http=True),
    Case("empty Authorization", 401, 1001, _ALL, body(), auth=("",)),
    Case("Bearer and no token", 401, 1002, _ALL, body(), auth=("Bearer",)),
    Case("Basic credentials", 401, 1002, _ALL, body(), auth=("Basic dXNlcjpwYXNz",)),
    Case("lower-case bearer", 401, 1002, _ALL, body(), auth=("bearer {token}",)),
    Case("two spaces after Bearer", 401, 1002, _ALL, body(), auth=("Bearer  {token}",)),
    Case(
        "Authorization sent twice",
        401,
        1002,
        _ALL,
        body(),
        auth=(VALID, VALID),
        message="must be sent once",
        http=True,
    ),
    Case("not a JWT", 401, 1002, _ALL, body(), auth=("Bearer abc.def",)),
    Case("alg none", 401, 1002, _ALL, body(), auth=(Jwt(alg="none"),), message="HS256", http=True),
    Case("RS256 header", 401, 1002, _ALL, body(), auth=(Jwt(alg="RS256"),), message="HS256"),
    Case("HS512 header", 401, 1002, _ALL, body(), auth=(Jwt(alg="HS512"),), message="HS256"),
    Case(
        "wrong key",
        401,
        1002,
        _ALL,
        body(),
        auth=(Jwt(key="another-secret-key-0123456789abcd"),),
        message="Signature verification failed",
    ),
    Case(
        "a 1 MB payload",
        401,
        1002,
        _ALL,
        body(),
        auth=(Jwt(pad_bytes=MB),),
        message="token is too long",
        http=True,
        server=431,
    ),
    Case("no iss", 401, 1002, _ALL, body(), auth=(Jwt(iss=None),), message="no iss"),
    Case("unknown iss", 401, 1002, _ALL, body(), auth=(Jwt(iss="nobody"),), message="unknown"),
    Case("iss a number", 401, 1002, _ALL, body(), auth=(Jwt(iss=7),)),
    Case(
        "expired by one second",
        401,
        1004,
        _ALL,
        body(),
        auth=(Jwt(exp_in=-1),),
        message="expired",
        http=True,
    ),
    Case("expires right now", 401, 1004, _ALL, body(), auth=(Jwt(exp_in=0),)),
    Case("exp a string", 401, 1002, _ALL, body(), auth=(Jwt(exp_in="soon"),)),
    Case(
        "nbf ahead of the fake's clock and of real time",
        401,
        1003,
        _ALL,
        body(),
        auth=(Jwt(nbf_in=10**9),),
        message="not valid yet",
        http=True,
    ),
    Case(
        "NUL in the token",
        401,
        1002,
        _ALL,
        body(),
        auth=("Bearer a\x00b",),
        http=True,
        server=400,
    ),
    Case("Latin-1 in the token", 401, 1002, _ALL, body(), auth=("Bearer caf\xe9",)),
    Case(
        "Authorization of 300 KB",
        401,
        1002,
        _ALL,
        body(),
        auth=("Bearer " + "a" * 300_000,),
        http=True,
    ),
]

# --- URLs, query strings, methods ----------------------------------------------------------------
_QUERY_ID = "{prefix}/videos/multi-image2video/"
_LIST = "{prefix}/videos/multi-image2video?"
ROUTES = [
    Case("unknown task id", 404, 1203, (("GET", _QUERY_ID + "987654321098765432"),), http=True),
    Case("task id with %00", 404, 1203, (("GET", _QUERY_ID + "a%00b"),), http=True),
    Case("task id of dots", 404, 1203, (("GET", _QUERY_ID + "..%2F..%2Fetc%2Fpasswd"),)),
    Case(
        "task id of 100 KB",
        404,
        1203,
        (("GET", _QUERY_ID + "a" * 100_000),),
        http=True,
        server=400,  # uvicorn's HTTP parser refuses it (granian answered 414)
    ),
    Case(
        "URL of 300 KB",
        404,
        1203,
        (("GET", _QUERY_ID + "a" * 300_000),),
        http=True,
        server=400,  # uvicorn (httptools) refuses it; granian answered 414
    ),
    Case(
        "a 300 KB header beside a bad body",
        400,
        1200,
        ("create",),
        b"{",
        headers=(("X-Padding", "p" * 300_000),),
        http=True,
    ),
    Case("pageNum not a number", 400, 1201, (("GET", _LIST + "pageNum=abc"),)),
    Case("pageNum 1e3", 400, 1201, (("GET", _LIST + "pageNum=1e3"),)),
    Case("pageNum hexadecimal", 400, 1201, (("GET", _LIST + "pageNum=0x10"),)),
    Case("pageNum 1.5", 400, 1201, (("GET", _LIST + "pageNum=1.5"),)),
    Case("pageNum of 30 digits", 400, 1201, (("GET", _LIST + "pageNum=" + "9" * 30),)),
    Case("pageNum full-width digit", 400, 1201, (("GET", _LIST + "pageNum=%EF%BC%91"),)),
    Case("pageNum %00", 400, 1201, (("GET", _LIST + "pageNum=%00"),), http=True),
    Case("pageSize 501", 400, 1201, (("GET", _LIST + "pageSize=501"),)),
    Case("pageSize -1", 400, 1201, (("GET", _LIST + "pageSize=-1"),)),
    Case("DELETE on the list route", 404, 1202, (("DELETE", API),), http=True),
    Case("PUT on a task", 404, 1202, (("PUT", f"{API}/{UNKNOWN_ID}"),)),
    Case("PATCH on the control faults", 404, 1202, (("PATCH", "/__mock__/faults"),)),
    # httptools knows only registered methods: over HTTP the server answers 400 itself
    Case("an unknown method", 404, 1202, (("BREW", API),), http=True, server=400),
    Case("an unknown path", 404, 1203, (("GET", "/v1/videos/text2video"),)),
    Case("an unknown control path", 404, 1203, (("GET", "/__mock__/nothing"),)),
]

# --- the control API: values of the wrong type or size -----------------------------------------
CONTROL = [
    Case(
        "fault code as an array (was a TypeError 500)",
        400,
        1201,
        (("POST", "/__mock__/faults"),),
        b'{"code": []}',
    ),
    Case("fault code as an object", 400, 1201, (("POST", "/__mock__/faults"),), b'{"code": {}}'),
    Case(
        "fault times as a string",
        400,
        1201,
        (("POST", "/__mock__/faults"),),
        b'{"code": 5001, "times": "1"}',
    ),
    Case(
        "units a 400-digit integer (was an OverflowError 500)",
        400,
        1201,
        (("POST", f"/__mock__/accounts/{DEV_ACCESS_KEY}/limits"),),
        b'{"units": 1' + b"0" * 400 + b"}",
    ),
    Case(
        "limits for an unknown account",
        404,
        1203,
        (("POST", "/__mock__/accounts/nobody/limits"),),
        b"{}",
    ),
    Case("advance by -1 s", 400, 1201, (("POST", "/__mock__/clock/advance"),), b'{"seconds": -1}'),
    Case(
        "advance by a string",
        400,
        1201,
        (("POST", "/__mock__/clock/advance"),),
        b'{"seconds": "1"}',
    ),
    Case(
        "advance by 1e10 s", 400, 1201, (("POST", "/__mock__/clock/advance"),), b'{"seconds": 1e10}'
    ),
    Case("outcome count true", 400, 1201, (("POST", "/__mock__/outcomes"),), b'{"count": true}'),
    Case("outcome of a list", 400, 1201, (("POST", "/__mock__/outcomes"),), b'{"outcome": []}'),
    Case(
        "outcome of an unknown task",
        404,
        1203,
        (("POST", f"/__mock__/tasks/{UNKNOWN_ID}/outcome"),),
        b'{"result": "fail"}',
    ),
    Case(
        "callback fault seconds of 400 digits",
        400,
        1201,
        (("POST", "/__mock__/callbacks/faults"),),
        b'{"action": "delay", "seconds": 1' + b"0" * 400 + b"}",
    ),
    Case(
        "a control body of 20,000 values",
        400,
        1200,
        ("control",),
        b'{"models": [' + b",".join([b'"m"'] * 20_000) + b"]}",
    ),
]

# --- accepted on purpose: hostile-looking, but within Kling's documented rules ------------------
ACCEPTED = [
    Case(
        # Kling documents a minimum side and a ratio, no maximum; the fake reads headers only and
        # never decodes pixels, so a claimed 65535 x 65535 costs nothing.
        "PNG header claiming 65535 x 65535 px (never decoded)",
        200,
        0,
        body=image(b64(_png_header(65535, 65535))),
        http=True,
    ),
    Case(
        "JPEG header claiming 65535 x 65535 px (never decoded)",
        200,
        0,
        body=image(b64(_jpeg_header(65535, 65535))),
    ),
    Case(
        # Valid JSON text: Kling's docs set no character rules on prompts.
        "NUL and a lone surrogate in prompt",
        200,
        0,
        body=b'{"prompt": "a\\u0000b\\ud800", "image_list": [{"image": "https://example.com/a.png"}]}',
    ),
    Case(
        # Unknown fields are ignored (README); the request journal keeps 32 of them.
        "5,000 unknown fields",
        200,
        0,
        body=body(**{f"field{i}": "x" * 100 for i in range(5000)}),
    ),
]

CASES: list[Case] = [*MALFORMED, *WRONG_TYPES, *HUGE, *IMAGES, *AUTH, *ROUTES, *CONTROL, *ACCEPTED]
