"""The contract suite's options, fixtures, Hypothesis profile, cheap-first ordering and report.

Ordering: tests carry `@pytest.mark.cost(n)`, the accepted (paid) submits they may need on a real
API. `pytest_collection_modifyitems` sorts this folder's tests by that number, stably, in the
slots they already hold (tests of other folders keep their places), so free checks (auth,
negative fuzzing, unknown ids) run before the ones that spend the budget."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from . import hypothesis_profiles as profiles
from .kit import Kit
from .local_server import LocalServer
from .options import add_options, build_target, value
from .report import Recorder, Report
from .target import Target

SUITE = Path(__file__).resolve().parent


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
    slots = [index for index, item in enumerate(items) if _in_suite(item)]
    ordered = sorted((items[index] for index in slots), key=_cost)
    for index, item in zip(slots, ordered, strict=True):
        items[index] = item


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
    meta = {
        "target": target.describe(),
        "hypothesis_profile": profile,
        "accepted_submits": target.budget.accepted,
    }
    recorder.properties.append(("kling_meta", meta))


class ReportPlugin:
    """Gathers this suite's test reports; writes report.json/report.md to --kling-report."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.report = Report()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if _in_suite_path(self.config.rootpath / report.fspath):
            self.report.add(report)
            for key, entry in report.user_properties:
                if key == "kling_meta":
                    self.report.meta.update(entry)  # type: ignore[call-overload]

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


def _in_suite(item: pytest.Item) -> bool:
    return _in_suite_path(Path(item.path))


def _in_suite_path(path: Path) -> bool:
    return path.resolve().is_relative_to(SUITE)


def _cost(item: pytest.Item) -> float:
    marker = item.get_closest_marker("cost")
    return float(marker.args[0]) if marker is not None and marker.args else 0.0
