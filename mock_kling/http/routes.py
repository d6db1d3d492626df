"""Where the Kling API lives and what its routes read from a request: prefixes, the task path,
the Authorization header and the host URL that media links start with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

from mock_kling.core import profiles
from mock_kling.core.backend import Backend
from mock_kling.core.errors import KlingError
from mock_kling.http.body import LAZY_IMPORTS

if TYPE_CHECKING:  # Werkzeug loads with the first request that needs it: serve starts sooner
    from werkzeug.datastructures import MultiDict
    from werkzeug.wrappers import Request

PREFIXES = profiles.PREFIXES  # every prefix a vendor profile may serve
PATH = profiles.ROUTE
UI = "/__mock__/ui/"  # the dashboard
HEALTH = "/__mock__/health"
_TWICE = "Authorization header must be sent once (got it more than once)"
_API_PREFIXES = tuple(prefix + "/" for prefix in PREFIXES)


class RequestLine(Protocol):
    """What the journal and the query parser read of a request: a Werkzeug `Request`, or the
    fast path's reading of the WSGI environ."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def query_string(self) -> bytes: ...
    @property
    def environ(self) -> dict[str, Any]: ...


def blueprint_name(prefix: str) -> str:
    """The name the API blueprint is registered under for `prefix`."""
    return "api" + prefix.replace("/", "_")


def is_api_call(path: str) -> bool:
    """A request under one of the API prefixes (served by the profile or not): it is journaled."""
    return path.startswith(_API_PREFIXES)


def task_ref(path: str, prefixes: tuple[str, ...]) -> str | None:
    """For the Flask routes `<prefix>PATH` and `<prefix>PATH/<path:ref>` under a served prefix:
    "" for the list, the ref for one task; None for every other path (Flask's router decides)."""
    for prefix in prefixes:
        route = prefix + PATH
        if path.startswith(route):
            rest = path[len(route) :]
            if rest == "":
                return rest
            plain = rest.startswith("/") and len(rest) > 1 and rest[1] != "/"
            return rest[1:] if plain else None  # ".../" is a 404, "...//ref" a redirect
    return None


def authorization(request: Request) -> str | None:
    """The Authorization header, or KlingError 1002 when it was sent more than once."""
    headers = request.headers.getlist("Authorization")
    if len(headers) > 1:
        raise KlingError(1002, _TWICE)
    return single_authorization(headers[0] if headers else None)


def single_authorization(header: str | None) -> str | None:
    """The one Authorization header's value, or KlingError 1002 when it joins two."""
    if header is not None and _sent_twice(header):
        raise KlingError(1002, _TWICE)
    return header


def query_args(request: RequestLine) -> MultiDict[str, str]:
    """`request.args`, except that bytes of the query string that are not UTF-8 are read as
    U+FFFD (Werkzeug raises UnicodeDecodeError on them: a 500)."""
    with LAZY_IMPORTS:
        from werkzeug.datastructures import MultiDict  # and the "werkzeug.url_quote" handler

    query = request.query_string.decode("utf-8", "replace")
    return MultiDict(parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote"))


def media_url(backend: Backend, request: Request) -> str:
    """Where links to result videos start: the public URL if set, else the URL the client used."""
    return media_base(backend, request.host_url)


def media_base(backend: Backend, host_url: str) -> str:
    """The public URL if set, else `host_url` (Werkzeug's `Request.host_url`) without its "/"."""
    return backend.config.public_url or host_url.rstrip("/")


def _sent_twice(value: str) -> bool:
    """A repeated header reaches WSGI apps joined with ", " (RFC 9110 5.3): two Bearer parts."""
    return sum(part.strip().startswith("Bearer ") for part in value.split(",")) > 1
