"""pytest fixtures (registered through the `pytest11` entry point as `mock_kling`; `-p
no:mock_kling` keeps them out) that put a test in full control of a fake Kling: `kling_fake`,
`kling_server`, `kling_inprocess`, `kling_receiver`, `kling_options`. They patch nothing
process-wide: the in-process fake is reached through the clients it hands out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported lazily: loading the plugin must not import Flask
    from mock_kling.core.config import Config
    from mock_kling.serve.thread_server import ServerThread
    from mock_kling.testing.fake import KlingFake
    from mock_kling.testing.receiver import CallbackReceiver

API_KEY = "sk-mock-kling-test"
MARKER = "kling"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "kling(**options): options of the test's fake Kling (seed, submitted_seconds, "
        "processing_seconds, outcome, failure_rate, limits, key_pairs, api_keys, calibration, ...)",
    )


@pytest.fixture
def kling_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The test's fake options: `@pytest.mark.kling(...)` keywords; override to set defaults."""
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        options.update(marker.kwargs)
    return options


class KlingServer:
    """The session's fake on 127.0.0.1: one per pytest(-xdist) worker."""

    def __init__(self) -> None:
        from mock_kling.assemble import build_backend
        from mock_kling.core.clock import ManualClock
        from mock_kling.http.app import create_app
        from mock_kling.serve.thread_server import ServerThread

        _refuse_disagreement()
        self.backend = build_backend(_config({}), ManualClock())
        self.app = create_app(backend=self.backend)
        self.thread: ServerThread = ServerThread(self.app).start()
        self.backend.serve_at(self.thread.url)

    @property
    def url(self) -> str:
        return self.thread.url

    def stop(self) -> None:
        self.thread.stop()
        self.backend.close()


@pytest.fixture(scope="session")
def kling_server() -> Iterator[KlingServer]:
    """A fake Kling on 127.0.0.1 and a free port, with a manual clock, for the whole session."""
    server = KlingServer()
    yield server
    server.stop()


@pytest.fixture
def kling_fake(kling_server: KlingServer, kling_options: dict[str, Any]) -> Iterator[KlingFake]:
    """The session's fake, reset for this test with its options; errors inside the server
    fail the test."""
    from mock_kling.testing.fake import KlingFake

    kling_server.backend.reconfigure(_config(kling_options))
    fake = KlingFake(kling_server.backend, kling_server.url, kling_server.app)
    yield fake
    _raise_server_errors(fake)


@pytest.fixture
def kling_inprocess(kling_options: dict[str, Any]) -> Iterator[KlingFake]:
    """A fake with no sockets at http://kling.test, reached in-process through the clients it
    hands out: `.requests_session()` (a requests.Session with the fake mounted at that URL),
    `.httpx_transport()` / `.async_httpx_transport()` for httpx. Nothing else is patched."""
    from mock_kling.assemble import build_backend
    from mock_kling.core.clock import ManualClock
    from mock_kling.http.app import create_app
    from mock_kling.serve.inprocess import INPROCESS_URL
    from mock_kling.testing.fake import KlingFake

    _refuse_disagreement()
    backend = build_backend(_config(kling_options), ManualClock())
    backend.serve_at(INPROCESS_URL)
    app = create_app(backend=backend)
    fake = KlingFake(backend, INPROCESS_URL, app)
    yield fake
    backend.close()
    _raise_server_errors(fake)


@pytest.fixture
def kling_receiver() -> Iterator[CallbackReceiver]:
    """A callback receiver on 127.0.0.1: `.url` for callback_url, `.deliveries`, `.wait_for(n)`,
    `.hang()` / `.release()`, and `.answer(*statuses)`: the next requests get these statuses, one
    each in order, then 200 again (0 = hang), so `.answer(500, 0)` fails one, hangs one, then
    accepts."""
    from mock_kling.testing.receiver import CallbackReceiver

    with CallbackReceiver() as receiver:
        yield receiver


def _refuse_disagreement() -> None:
    """A fake whose contracts and tables disagree is not started: the test fails with the one
    line `mock-kling serve` prints, instead of every request answering 500."""
    from mock_kling.apispec.bundle import disagreement

    problem = disagreement()
    if problem is not None:
        pytest.fail(f"mock-kling: cannot start the fake: {problem}", pytrace=False)


def _config(options: dict[str, Any]) -> Config:
    from mock_kling.core.config import DEV_ACCESS_KEY, DEV_SECRET_KEY, Config
    from mock_kling.core.limits import Limits

    settings: dict[str, Any] = {
        "key_pairs": {DEV_ACCESS_KEY: DEV_SECRET_KEY},
        "api_keys": [API_KEY],
        "seed": 0,
        "callback_timeout_seconds": 2.0,
    }
    settings.update(options)
    if isinstance(settings.get("limits"), dict):
        settings["limits"] = Limits().updated(settings["limits"])
    settings["calibration"] = _calibration(settings.get("calibration"))
    try:
        return Config(**settings)
    except TypeError as exc:
        raise pytest.UsageError(f"@pytest.mark.kling: {exc}") from None


def _calibration(value: Any) -> Any:
    """`calibration=`: a file from `mock-kling calibrate`, its JSON as a dict, or a Calibration."""
    import json
    from pathlib import Path

    from mock_kling.core.calibration import Calibration

    if isinstance(value, str | Path):
        value = json.loads(Path(value).read_text(encoding="utf-8"))
    return Calibration.from_json(value) if isinstance(value, dict) else value


def _raise_server_errors(fake: KlingFake) -> None:
    errors = list(fake.backend.errors)
    if errors:
        raise AssertionError(f"the fake raised inside the server: {errors[0]!r}") from errors[0]
