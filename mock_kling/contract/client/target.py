"""A target of the suite: where requests go, who makes them, under which path prefix, how many
paid submits it may take, which endpoints it answers, and (for a fake the suite may control) how
to move its clock."""

from __future__ import annotations

import json as jsonlib
import time
from typing import Any

from mock_kling.contract.client.budget import SubmitBudget
from mock_kling.contract.client.credentials import Credentials
from mock_kling.contract.client.routes import UNKNOWN_EXTERNAL_ID, UNKNOWN_TASK_ID, Route, Routes
from mock_kling.contract.client.transport import Answer, Meter, Transport

API_PATH = "/videos/multi-image2video"
PREFIXES = ("/v1", "/kling/v1")
PROBES_FLAG = "--kling-allow-billable-probes"
SUBMITS_FLAG = "--kling-max-submits"
CONTROL_FLAG = "--kling-control-fake"
# Set by `mock-kling contract` for the pytest it runs: messages then name its own options.
INTERFACE_ENV = "MOCK_KLING_CONTRACT_INTERFACE"


class Target:
    """One server under test. `clock` is "manual" or "system" when it is a mock-kling fake (its
    `/__mock__/health` answers), None for any other server. `control`: the suite may reset the
    fake and move its clock: only a fake it started itself (in process), or one the user opted
    in with `control_flag`; any other fake keeps its tasks, journals, clock and seed."""

    def __init__(
        self,
        transport: Transport,
        credentials: Credentials,
        *,
        prefix: str = "/v1",
        profile: str = "official",
        budget: SubmitBudget | None = None,
        probes: SubmitBudget | None = None,
        name: str = "",
        in_process: bool = False,
        control: bool = False,
        control_flag: str = CONTROL_FLAG,
        submits_flag: str = SUBMITS_FLAG,
        probes_flag: str = PROBES_FLAG,
    ) -> None:
        self.credentials = credentials
        self.prefix = "/" + prefix.strip("/")
        self.profile = profile
        self.name = name or "target"
        self.in_process = in_process
        self.control_flag = control_flag
        self.routes = Routes()
        self._fake_now_ms: int | None = None
        self.clock: str | None = self._detect_fake(transport)
        self.control = self.is_fake and (in_process or control)
        unlimited = None if self.is_fake else 0
        self.budget = budget or SubmitBudget(unlimited, submits_flag)
        probes = probes or SubmitBudget(unlimited, probes_flag, "create probe")
        self.meter = Meter(transport, self.api_path(), self.budget, probes)
        self.transport: Transport = self.meter

    # --- what it is ---------------------------------------------------------------------------

    @property
    def is_fake(self) -> bool:
        return self.clock is not None

    @property
    def can_advance(self) -> bool:
        """A fake on a manual clock the suite may move: it moves time instead of waiting."""
        return self.clock == "manual" and self.control

    @property
    def time_passes(self) -> bool:
        """Does a task on the target move on while the suite waits (or moves the clock)?"""
        return self.clock != "manual" or self.control

    def describe(self) -> str:
        kind = f"mock-kling fake, {self.clock} clock" if self.is_fake else "not a mock-kling fake"
        where = "in process" if self.in_process else self.name
        return (
            f"{where} ({kind}); profile {self.profile}; auth {self.credentials.kind}; "
            f"prefix {self.prefix}; accepted submits allowed: {_cap(self.budget)}; "
            f"billable create probes allowed: {_cap(self.meter.probes)}"
        )

    def control_note(self) -> str | None:
        """What the suite may do to a fake it did not start (for the console and the report)."""
        if not self.is_fake or self.in_process:
            return None
        if self.control:
            return (
                f"{self.control_flag}: the suite resets this fake (everyone's tasks and journals) "
                "and moves its clock"
            )
        return (
            "the suite leaves this fake's tasks, journals, clock and seed as they are: it only "
            f"adds tasks of its own account ({self.control_flag} lets it reset and move the clock)"
        )

    # --- endpoints ----------------------------------------------------------------------------

    def find_routes(self) -> Routes:
        """Ask the list and both query routes once (free GETs); kept in `routes`."""
        path = self.api_path()
        asked = (
            ("list", f"{path}?pageNum=1&pageSize=1"),
            ("query", f"{path}/{UNKNOWN_TASK_ID}"),
            ("query_external", f"{path}/{UNKNOWN_EXTERNAL_ID}"),
        )
        found = tuple(
            Route(name, f"GET {where}", self.request("GET", where)) for name, where in asked
        )
        absent: tuple[tuple[str, str], ...] = ()
        if not self.time_passes:
            absent = (
                (
                    "time",
                    "the fake's clock is manual and the suite did not start it: it moves the "
                    f"clock only with {self.control_flag}",
                ),
            )
        self.routes = Routes(found, absent)
        return self.routes

    # --- requests -----------------------------------------------------------------------------

    def api_path(self, suffix: str = "") -> str:
        return f"{self.prefix}{API_PATH}{suffix}"

    def now_s(self) -> float:
        """The target's time, for JWT claims: the fake's manual clock, else the wall clock."""
        if self._fake_now_ms is not None:
            return self._fake_now_ms / 1000
        return time.time()

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        json: Any = None,
        data: bytes | None = None,
        *,
        auth: bool = True,
    ) -> Answer:
        """Send one request; Authorization is added unless `auth` is False or headers have it."""
        sent = dict(headers or {})
        if json is not None:
            data = jsonlib.dumps(json).encode("utf-8")
            sent.setdefault("Content-Type", "application/json")
        if auth and not any(key.lower() == "authorization" for key in sent):
            sent["Authorization"] = self.credentials.header(self.now_s())
        return self.transport.send(method, path, sent, data)

    # --- the fake's control API ---------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move a manual-clock fake on; transitions and callbacks due on the way have run after."""
        self._require_control("move the clock")
        answer = self.call_control("POST", "/clock/advance", {"seconds": seconds})
        self._fake_now_ms = int(answer["now_ms"])

    def reset(self) -> None:
        """Forget the fake's tasks and journals (and rewind a manual clock)."""
        self._require_control("reset")
        self.call_control("POST", "/reset", {})
        self._fake_now_ms = self._read_clock()[1] if self.can_advance else None

    def _require_control(self, what: str) -> None:
        if not self.control:
            raise RuntimeError(
                f"{self.name}: the suite did not start this fake and may not {what} it "
                f"(give {self.control_flag})"
            )

    def call_control(self, method: str, path: str, body: Any = None) -> Any:
        if not self.is_fake:
            raise RuntimeError(f"{self.name} is not a mock-kling fake: no control API")
        answer = self.request(method, "/__mock__" + path, json=body, auth=False)
        if answer.status >= 300:
            raise RuntimeError(f"control API {method} {path}: {answer.describe()} {answer.body}")
        return answer.body

    def close(self) -> None:
        self.transport.close()

    def _detect_fake(self, transport: Transport) -> str | None:
        answer = transport.send("GET", "/__mock__/health", {}, None)
        body = answer.body
        if answer.status != 200 or not isinstance(body, dict) or body.get("status") != "ok":
            return None
        if "seed" not in body:
            return None
        kind, now_ms = self._read_clock(transport)
        self._fake_now_ms = now_ms if kind == "manual" else None
        return kind

    def _read_clock(self, transport: Transport | None = None) -> tuple[str, int]:
        body = (transport or self.transport).send("GET", "/__mock__/clock", {}, None).body
        return str(body["kind"]), int(body["now_ms"])


def _cap(budget: SubmitBudget) -> str:
    return "unlimited" if budget.cap is None else str(budget.cap)
