"""`mock-kling serve` holds a crowd: 1,000 idle connections and 1,000 half-sent requests from one
client do not delay another client's GET by more than 100 ms (waitress, before granian, stopped
answering anyone past 100 open connections)."""

from __future__ import annotations

import resource
import socket
import statistics
import time
from collections.abc import Iterator

import pytest

from .test_serve import Server

pytestmark = pytest.mark.slow

IDLE = 1000
HALF_SENT = 1000
MAX_DELAY_S = 0.100
PROBES = 5
PROBE_REQUEST = b"GET /__mock__/health HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n"
HALF_REQUEST = b"GET /__mock__/health HTTP/1.1\r\nHost: crowd\r\nX-Partial: "  # no end of head


def _open_files_for(needed: int) -> None:
    """Lift this process's limit on open files (the server inherits it) to at least `needed`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        try:  # root may raise the hard limit too
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            return
        except (ValueError, OSError) as exc:
            pytest.fail(
                f"the test needs {needed} open files; the hard limit is {hard} and could not be "
                f"raised ({exc}): raise it (ulimit -Hn {needed}) and run again"
            )
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _get_seconds(server: Server) -> float:
    """One GET on a fresh connection, as another client; seconds until the whole answer."""
    host, port = server.url.removeprefix("http://").split(":")
    started = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(PROBE_REQUEST)
        answer = _read_all(connection)
    elapsed = time.perf_counter() - started
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
    return elapsed


def _read_all(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(1 << 16):
        received += chunk
    return received


def _median_get(server: Server) -> float:
    return statistics.median(_get_seconds(server) for _ in range(PROBES))


@pytest.fixture
def server() -> Iterator[Server]:
    _open_files_for(IDLE + HALF_SENT + 200)
    server = Server("--clock", "manual", "--seed", "1")
    yield server
    server.stop()


def test_a_crowd_of_idle_and_half_sent_connections_does_not_delay_a_get(server: Server):
    host, port = server.url.removeprefix("http://").split(":")
    before = _median_get(server)
    crowd: list[socket.socket] = []
    try:
        for _ in range(IDLE):
            crowd.append(socket.create_connection((host, int(port)), timeout=10))
        half_sent = []
        for _ in range(HALF_SENT):
            connection = socket.create_connection((host, int(port)), timeout=10)
            connection.sendall(HALF_REQUEST)
            half_sent.append(connection)
        crowd += half_sent
        during = _median_get(server)
        print(f"GET median: {before * 1000:.1f} ms alone, {during * 1000:.1f} ms in the crowd")
        assert during - before < MAX_DELAY_S, (before, during)
        for connection in half_sent[:10]:  # they were held, not dropped: they can still finish
            connection.sendall(b"x\r\nConnection: close\r\n\r\n")
            assert _read_all(connection).startswith(b"HTTP/1.1 200")
    finally:
        for connection in crowd:
            connection.close()
