"""How requests reach a target: a WSGI app in process, or a base URL over HTTP; and the meter
that every request leaves through, which holds the caps on create requests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from werkzeug.test import Client

from mock_kling.contract.client.budget import SubmitBudget


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, content type, the body parsed as JSON (None if it is not)."""

    status: int
    content_type: str
    body: Any
    raw: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> Any:
        """The service code of a JSON object body, or None."""
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def mimetype(self) -> str:
        return self.content_type.partition(";")[0].strip().lower()

    def describe(self) -> str:
        return f"HTTP {self.status} code {self.code!r} ({self.mimetype or 'no content type'})"


class Transport(Protocol):
    """Sends one request; the path is absolute on the target (e.g. "/v1/videos/...")."""

    def send(
        self, method: str, path: str, headers: dict[str, str], data: bytes | None
    ) -> Answer: ...

    def close(self) -> None: ...


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


class WsgiTransport:
    """Calls a WSGI app directly (no socket): the in-process fake, or any WSGI app."""

    def __init__(self, app: Any, on_close: Callable[[], None] | None = None) -> None:
        self.app = app
        self._client = Client(app)
        self._on_close = on_close

    def send(self, method: str, path: str, headers: dict[str, str], data: bytes | None) -> Answer:
        response = self._client.open(path, method=method, headers=headers, data=data)
        raw = response.get_data()
        response.close()
        content_type = response.headers.get("Content-Type", "")
        answer_headers = dict(response.headers.items())
        return Answer(response.status_code, content_type, parse_json(raw), raw, answer_headers)

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()


class HttpTransport:
    """A requests.Session against a base URL, with a timeout on every call."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def send(self, method: str, path: str, headers: dict[str, str], data: bytes | None) -> Answer:
        response = self._session.request(
            method, self.base_url + path, headers=headers, data=data, timeout=self.timeout
        )
        with response:
            raw = response.content
        content_type = response.headers.get("Content-Type", "")
        answer_headers = dict(response.headers.items())
        return Answer(response.status_code, content_type, parse_json(raw), raw, answer_headers)

    def close(self) -> None:
        self._session.close()


class Meter:
    """Wraps the transport every request of the suite leaves through, whatever test sent it.
    A create request (POST to the create path) is sent only while the caps allow it: a submit
    while accepted submits are under --kling-max-submits, a probe (a create meant to be refused,
    marked with `probing()`) while probes sent are under --kling-allow-billable-probes; otherwise
    BudgetExhausted (a skip) is raised and nothing is sent. Both caps count what is sent, here on
    the wire, whatever the answer (a refused submit may still bill); accepted creates are counted
    too, and their answers kept for the report."""

    def __init__(
        self, inner: Transport, create_path: str, submits: SubmitBudget, probes: SubmitBudget
    ) -> None:
        self.inner = inner
        self.create_path = create_path
        self.submits = submits
        self.probes = probes
        self.sent = 0  # create requests sent
        self.accepted = 0  # accepted create answers, probes included
        self.accepted_probes = 0
        self.task_ids: set[str] = set()  # of accepted creates; kept only up to two
        self.without_request_id = 0  # accepted create answers without a request_id
        self.error_types: dict[str, Answer] = {}  # first error answer of each media type
        self._probing = 0

    @contextmanager
    def probing(self) -> Iterator[None]:
        """Creates sent inside are probes: meant to be refused, billed by a looser target."""
        self._probing += 1
        try:
            yield
        finally:
            self._probing -= 1

    def is_create(self, method: str, path: str) -> bool:
        return method.upper() == "POST" and path.partition("?")[0].rstrip("/") == self.create_path

    def send(self, method: str, path: str, headers: dict[str, str], data: bytes | None) -> Answer:
        create = self.is_create(method, path)
        probe = create and self._probing > 0
        if create:
            budget = self.probes if probe else self.submits
            budget.require(1)
            self.sent += 1
            budget.count(True)  # counted when sent: any create may bill
        answer = self.inner.send(method, path, headers, data)
        if create and answer.status == 200 and answer.code == 0:
            self._accepted(answer, probe)
        if answer.status >= 400:
            self.error_types.setdefault(answer.mimetype, answer)
        return answer

    def _accepted(self, answer: Answer, probe: bool) -> None:
        self.accepted += 1
        self.accepted_probes += probe
        data = answer.body.get("data")
        task_id = data.get("task_id") if isinstance(data, dict) else None
        if len(self.task_ids) < 2:
            self.task_ids.add(str(task_id))
        self.without_request_id += not answer.body.get("request_id")

    def close(self) -> None:
        self.inner.close()
