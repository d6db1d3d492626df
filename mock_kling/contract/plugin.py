"""The contract suite's pytest plugin: its options, the session's target (checked once, up front),
fixtures, progress lines and the report.

Load it by name, never through an entry point: `pytest -p mock_kling.contract.plugin` (the
suite's own `conftest.py` and `mock-kling contract` do); `-p no:mock_kling.contract.plugin`
keeps it out. A check is a test that uses the `kit` fixture or carries `@pytest.mark.cost(n)`,
the accepted (paid) submits it may need on a real API. The plugin leaves the session's order as
collected (the suite's own conftest.py runs its free checks first) and its Hypothesis profile
loaded: it registers profiles of its own names (mock-kling-dev, -ci, -remote) and hands their
settings to the checks. `--kling-max-cost N` skips the checks marked with a cost above N. The
target is built when the session starts: a usage mistake (no credentials for a real API, an
unreachable URL, a wrong prefix) stops the session there with one message."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest

from mock_kling.contract.client.budget import BudgetExhausted
from mock_kling.contract.client.local_server import LocalServer
from mock_kling.contract.client.options import add_options, build_target, value
from mock_kling.contract.client.routes import NotRun
from mock_kling.contract.client.target import Target
from mock_kling.contract.generate import hypothesis_profiles as profiles
from mock_kling.contract.kit import Kit
from mock_kling.contract.reporting.findings import wire_findings
from mock_kling.contract.reporting.report import FINDING, Recorder, Report
from mock_kling.contract.scenarios.checks import ContractViolation

CHECK = "kling_check"  # the keyword that marks a check, in its item and in its reports
_SESSION = "kling-contract-session"


# Registered as the plugin loads (that is, when asked), before Hypothesis' own plugin reads
# `--hypothesis-profile`, so `--hypothesis-profile mock-kling-ci` works.
profiles.register()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)
    parser.getgroup("kling").addoption(
        "--kling-max-cost",
        dest="kling_max_cost",
        type=int,
        default=None,
        help="Skip the checks marked @pytest.mark.cost(n) with n above this (default: none).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cost(n, first=False): accepted (paid) submits the check may need; cheap checks run first",
    )
    config.addinivalue_line(
        "markers",
        "needs(*endpoints): what the check needs of the target (list, query, query_external, "
        "time); where the target lacks one, the check is reported as not run, with the reason",
    )
    if getattr(config.option, "numprocesses", None) and value(config, "max-submits"):
        raise pytest.UsageError("the submit cap is counted per process: run without -n")
    config.pluginmanager.register(SessionPlugin(config), _SESSION)


def pytest_report_header(config: pytest.Config) -> str:
    session = _session(config)
    where = value(config, "base-url") or "an in-process mock-kling fake"
    target = session.target
    described = target.describe() if target is not None else where
    lines = [f"kling contract target: {where}; hypothesis profile {session.profile}", described]
    if target is not None:
        note = target.control_note()
        lines += [note] if note else []
        lines += [r.finding().text for r in target.routes.missing()]
    return "\n  ".join(lines)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the checks for the report; the order stays as collected."""
    for item in items:
        if _is_check(item):
            item.keywords[CHECK] = True


def pytest_runtest_setup(item: pytest.Item) -> None:
    limit = item.config.getoption("kling_max_cost", None)
    cost = cost_of(item)[0]
    if limit is not None and cost > limit:
        pytest.skip(f"costs {cost:g} accepted submits; --kling-max-cost allows {limit}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A check the caps cannot pay for is skipped, with the budget's reason; a violation leaves
    its findings (the differences it shows) in the item's properties for the report."""
    try:
        return (yield)
    except (BudgetExhausted, NotRun) as exc:
        pytest.skip(str(exc))
    except ContractViolation as violation:
        item.user_properties.extend((FINDING, f.entry()) for f in violation.findings)
        raise


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    return _session(pytestconfig).require_target()


@pytest.fixture(scope="session")
def local_server(pytestconfig: pytest.Config) -> Iterator[LocalServer]:
    port = value(pytestconfig, "receiver-port") or 0
    with LocalServer(port, value(pytestconfig, "public-url")) as server:
        yield server


@pytest.fixture
def kit(request: pytest.FixtureRequest, target: Target, local_server: LocalServer) -> Kit:
    config = request.config
    session = _session(config)
    for marker in request.node.iter_markers("needs"):
        target.routes.require(*marker.args)  # NotRun: reported as not run, with the reason
    return Kit(
        target,
        profiles.get(session.profile),
        local_server,
        Recorder(request.node.user_properties),
        poll_budget_s=value(config, "poll-budget") or 600.0,
        poll_interval_s=value(config, "poll-interval") or 5.0,
        progress=session.progress,
    )


class SessionPlugin:
    """The session's target (built and checked at its start, closed at its end), the Hypothesis
    profile named the same everywhere, and the report, written to --kling-report."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.report = Report()
        self.target: Target | None = None

    @property
    def profile(self) -> str:
        remote = value(self.config, "base-url") is not None
        if self.target is not None:
            remote = not self.target.is_fake
        return profiles.choose(self.config.getoption("hypothesis_profile", None), remote)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.target = build_target(self.config)  # a usage mistake: one UsageError, exit 4

    def require_target(self) -> Target:
        if self.target is None:
            self.target = build_target(self.config)
        return self.target

    def progress(self, line: str) -> None:
        """A line on the terminal now, even while output is captured (long waits)."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if reporter is None:
            return
        hold: Callable[[], Any] = getattr(capture, "global_and_fixture_disabled", nullcontext)
        with hold():
            reporter.ensure_newline()
            reporter.write_line(line)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if CHECK in report.keywords:
            self.report.add(report)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """After pytest_sessionfinish (the report is gathered): the differences, on the console."""
        lines = self.report.difference_lines()
        if lines:
            terminalreporter.section(f"{len(lines)} differences from Kling's documented contract")
            for line in lines:
                terminalreporter.write_line(line)
        not_run = self.report.not_run()
        if not_run:
            terminalreporter.write_line(
                f"{len(not_run)} checks not run (the target lacks what they need; see the report)"
            )
        control = self.report.meta.get("control")
        if control is not None:
            terminalreporter.write_line(control)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        target = self.target
        if target is None:
            return
        self._gather(target)
        target.close()
        self.target = None
        folder = value(self.config, "report")
        if folder is not None and not hasattr(self.config, "workerinput"):
            self.report.write(Path(folder))

    def _gather(self, target: Target) -> None:
        meter = target.meter
        found = [*target.routes.findings(), *wire_findings(meter)]
        self.report.wire = [f.entry() for f in found]
        control = target.control_note()
        if control is not None:
            self.report.meta["control"] = control
        self.report.meta.update(
            target=target.describe(),
            hypothesis_profile=self.profile,
            accepted_submits=meter.accepted,
            accepted_create_probes=meter.accepted_probes,
            create_requests_sent=meter.sent,
        )
        note = target.credentials.short_secret_note()
        if note is not None:
            self.report.meta["note"] = note


def _session(config: pytest.Config) -> SessionPlugin:
    plugin = config.pluginmanager.get_plugin(_SESSION)
    assert isinstance(plugin, SessionPlugin)
    return plugin


def _is_check(item: pytest.Item) -> bool:
    return "kit" in getattr(item, "fixturenames", ()) or item.get_closest_marker("cost") is not None


def cost_of(item: pytest.Item) -> tuple[float, int]:
    """(n, 0 if first=True else 1) of the item's `cost(n)` marker; (0, 1) without one."""
    marker = item.get_closest_marker("cost")
    if marker is None:
        return (0.0, 1)
    cost = float(marker.args[0]) if marker.args else 0.0
    return (cost, 0 if marker.kwargs.get("first") else 1)
