"""The endpoints a target answers, found once at the start with free GET requests (list, query by
task id, query by external id): a missing one is a difference, and the checks that need it are
reported as not run, with the answer seen."""

from __future__ import annotations

import unittest
from dataclasses import dataclass

from mock_kling.contract.client.transport import Answer
from mock_kling.contract.reporting.findings import Finding

# Each endpoint the suite can need, and what it is called in reports.
ENDPOINTS = {
    "list": "list route",
    "query": "query route by task_id",
    "query_external": "query route by external_task_id",
    "callbacks": "callbacks",
    "time": "time passing on the target",
}
UNKNOWN_TASK_ID = "999999999999999991"
UNKNOWN_EXTERNAL_ID = "ct-route-check-never-created"
_ABSENT = frozenset({404, 405, 501})


class NotRun(unittest.SkipTest):
    """A check needs an endpoint (or time passing) that the target lacks: it is reported as not
    run, with this reason, never as passed."""


@dataclass(frozen=True)
class Route:
    """One endpoint as the target answered a free request to it."""

    endpoint: str
    request: str
    answer: Answer

    @property
    def missing(self) -> bool:
        """404, 405 or 501 without Kling's envelope: the route is not there. A Kling answer
        (a JSON object with a `code`) means the route exists and refused the request."""
        return self.answer.status in _ABSENT and self.answer.code is None

    def seen(self) -> str:
        """'GET /kling/v1/... answered HTTP 405 (application/problem+json)'."""
        kind = self.answer.mimetype or "no content type"
        return f"{self.request} answered HTTP {self.answer.status} ({kind})"

    def finding(self) -> Finding:
        name = ENDPOINTS[self.endpoint]
        return Finding(f"endpoint:{self.endpoint}", f"no {name}: {self.seen()}")


@dataclass(frozen=True)
class Routes:
    """What the target answered on each endpoint; `absent` names what it cannot do besides (no
    time passing on a fake whose clock the suite may not move)."""

    found: tuple[Route, ...] = ()
    absent: tuple[tuple[str, str], ...] = ()

    def missing(self) -> list[Route]:
        return [route for route in self.found if route.missing]

    def lacks(self, endpoint: str) -> str | None:
        """Why the target cannot serve `endpoint`, or None when it can (or was not asked)."""
        for route in self.found:
            if route.endpoint == endpoint and route.missing:
                return route.seen()
        for name, reason in self.absent:
            if name == endpoint:
                return reason
        return None

    def require(self, *endpoints: str) -> None:
        """Raise NotRun naming the first of `endpoints` the target lacks."""
        for endpoint in endpoints:
            reason = self.lacks(endpoint)
            if reason is not None:
                name = ENDPOINTS.get(endpoint, endpoint)
                raise NotRun(f"not run: needs the {name}; {reason}")

    def findings(self) -> list[Finding]:
        return [route.finding() for route in self.missing()]
