"""The contract suite's pytest plugin: its options, fixtures, cheap-first ordering and report.

Load it by name, never through an entry point: `pytest -p mock_kling.contract.plugin` (the
suite's own `conftest.py` and `mock-kling contract` do). A check is a test that uses the `kit`
fixture or carries `@pytest.mark.cost(n)`, the accepted (paid) submits it may need on a real API.
`pytest_collection_modifyitems` sorts the checks by that number, stably, in the slots they already
hold (other tests keep their places), so free checks (auth, negative fuzzing, unknown ids) run
before the ones that spend the budget; the report gathers the checks' results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_kling.contract import hypothesis_profiles as profiles
from mock_kling.contract.budget import BudgetExhausted
from mock_kling.contract.kit import Kit
from mock_kling.contract.local_server import LocalServer
from mock_kling.contract.options import add_options, build_target, value
from mock_kling.contract.report import Recorder, Report
from mock_kling.contract.target import Target

CHECK = "kling_check"  # the keyword that marks a check, in its item and in its reports


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cost(n): accepted (paid) submits the check may need; cheap checks run first"
    )
    if getattr(config.option, "numprocesses", None) and value(config, "max-submits"):
        raise pytest.UsageError("the submit cap is counted per process: run without -n")
    config.pluginmanager.register(ReportPlugin(config), "kling-contract-report")


def pytest_report_header(config: pytest.Config) -> str:
    base_url = value(config, "base-url")
    where = base_url or "an in-process mock-kling fake"
    return f"kling contract target: {where}; hypothesis profile {_profile(config)}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    slots = [index for index, item in enumerate(items) if _is_check(item)]
    ordered = sorted((items[index] for index in slots), key=_cost)
    for index, item in zip(slots, ordered, strict=True):
        item.keywords[CHECK] = True
        items[index] = item


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A check the submit cap cannot pay for is skipped, with the budget's reason."""
    try:
        return (yield)
    except BudgetExhausted as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Iterator[Target]:
    target = build_target(pytestconfig)
    yield target
    target.close()


@pytest.fixture(scope="session")
def local_server(pytestconfig: pytest.Config) -> Iterator[LocalServer]:
    port = value(pytestconfig, "receiver-port") or 0
    with LocalServer(port, value(pytestconfig, "public-url")) as server:
        yield server


@pytest.fixture
def kit(request: pytest.FixtureRequest, target: Target, local_server: LocalServer) -> Iterator[Kit]:
    config = request.config
    profile = _profile(config, target)
    recorder = Recorder(request.node.user_properties)
    yield Kit(
        target,
        profiles.get(profile),
        local_server,
        recorder,
        poll_budget_s=value(config, "poll-budget") or 600.0,
        poll_interval_s=value(config, "poll-interval") or 5.0,
    )
    meta: dict[str, object] = {
        "target": target.describe(),
        "hypothesis_profile": profile,
        "accepted_submits": target.budget.accepted,
    }
    note = target.credentials.short_secret_note()
    if note is not None:
        meta["note"] = note
    recorder.properties.append(("kling_meta", meta))


class ReportPlugin:
    """Gathers the checks' test reports; writes report.json/report.md to --kling-report."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.report = Report()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if CHECK in report.keywords:
            self.report.add(report)
            for key, entry in report.user_properties:
                if key == "kling_meta" and isinstance(entry, dict):
                    self.report.meta.update(entry)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        folder = value(self.config, "report")
        if folder is None or hasattr(self.config, "workerinput"):
            return
        self.report.meta.setdefault("target", value(self.config, "base-url") or "in-process fake")
        self.report.meta.setdefault("hypothesis_profile", _profile(self.config))
        self.report.write(Path(folder))


def _profile(config: pytest.Config, target: Target | None = None) -> str:
    remote = value(config, "base-url") is not None
    if target is not None:
        remote = not target.is_fake
    return profiles.choose(config.getoption("hypothesis_profile", None), remote)


def _is_check(item: pytest.Item) -> bool:
    return "kit" in getattr(item, "fixturenames", ()) or item.get_closest_marker("cost") is not None


def _cost(item: pytest.Item) -> float:
    marker = item.get_closest_marker("cost")
    return float(marker.args[0]) if marker is not None and marker.args else 0.0
