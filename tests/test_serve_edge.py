"""`mock-kling serve`'s edge over real sockets: one process per port, workers that die with their
parent, body limits (413, 408), and stalled bodies that hold only their own connections."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from .test_serve import MOCK_KLING, Server

PATH = "/v1/videos/multi-image2video"
PROBE = b"GET /__mock__/health HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n"


def _host_port(server: Server) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def _serve_on(port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MOCK_KLING, "serve", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def _assert_refused(result: subprocess.CompletedProcess[str], port: int) -> None:
    assert result.returncode == 2, result
    assert "listening on" not in result.stdout  # no banner
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"127.0.0.1:{port} is already in use" in lines[0]


def test_a_second_serve_on_a_taken_port_exits_2_before_its_banner():
    server = Server("--clock", "manual")
    try:
        port = _host_port(server)[1]
        _assert_refused(_serve_on(port), port)
        assert requests.get(server.url + "/__mock__/health", timeout=10).status_code == 200
    finally:
        server.stop()


def test_serve_on_a_port_a_plain_socket_listens_on_exits_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        _assert_refused(_serve_on(port), port)


def _probe_seconds(host: str, port: int) -> float:
    """One GET on a fresh connection; seconds until the whole answer (a timeout fails)."""
    started = time.perf_counter()
    with socket.create_connection((host, port), timeout=5) as connection:
        connection.sendall(PROBE)
        received = b""
        while chunk := connection.recv(1 << 16):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received[:100]
    return time.perf_counter() - started


def _stalled_submit(host: str, port: int, length: int = 100_000) -> socket.socket:
    """A connection that sent a submit's head and half its body, and then nothing."""
    connection = socket.create_connection((host, port), timeout=10)
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: slow\r\nAuthorization: Bearer x\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    connection.sendall(head.encode() + b'{"prompt":"' + b"a" * (length // 2))
    return connection


def test_eight_stalled_bodies_do_not_delay_another_clients_get():
    server = Server("--clock", "manual", "--threads", "8")
    host, port = _host_port(server)
    stalled = [_stalled_submit(host, port) for _ in range(8)]
    try:
        seconds = sorted(_probe_seconds(host, port) for _ in range(5))
        assert seconds[2] < 1.0, seconds  # with 8 threads held (before) it timed out past 8 s
    finally:
        for connection in stalled:
            connection.close()
        server.stop()


def _journal(server: Server) -> list[dict[str, object]]:
    records: list[dict[str, object]] = requests.get(
        server.url + "/__mock__/requests", timeout=10
    ).json()
    return records


def test_a_body_over_the_limit_gets_413_with_a_kling_body_and_is_journaled():
    server = Server("--clock", "manual")
    host, port = _host_port(server)
    try:
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: big\r\nContent-Type: application/json\r\n"
            f"Content-Length: {64 * 1024 * 1024 + 1}\r\n\r\n"
        )
        with socket.create_connection((host, port), timeout=10) as connection:
            connection.sendall(head.encode())  # the body never comes: it is refused unread
            answer = b""
            while chunk := connection.recv(1 << 16):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        body = answer.split(b"\r\n\r\n", 1)[1]
        assert body.startswith(b'{"code":1200,"message":"request body is larger than the limit')
        assert _probe_seconds(host, port) < 5
        assert [(r["http_status"], r["code"]) for r in _journal(server)] == [(413, 1200)]
    finally:
        server.stop()


def test_a_body_that_does_not_finish_in_time_gets_408_and_its_connection_closed():
    server = Server("--clock", "manual", "--body-timeout", "0.3")
    host, port = _host_port(server)
    try:
        connection = _stalled_submit(host, port)
        with connection:
            answer = b""
            while chunk := connection.recv(1 << 16):  # ends: the server closes the connection
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"code":1200' in answer
        assert b"not received within 0.3 s" in answer
        journal = _journal(server)
        assert [(r["method"], r["path"], r["http_status"]) for r in journal] == [
            ("POST", PATH, 408)
        ]
    finally:
        server.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie (ended, not yet reaped) is gone too
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (Linux)")
def test_workers_end_within_2_s_of_a_sigkill_to_their_parent(tmp_path: Path):
    server = Server("--workers", "2", "--state", str(tmp_path / "fake.db"))
    workers: list[int] = []
    try:
        workers += _children(server.process.pid)
        assert len(workers) == 2, workers
        ends = [os.pidfd_open(pid) for pid in workers]  # readable once the process ended
        try:
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)
            deadline = time.monotonic() + 2.0
            waiting = list(ends)
            while waiting and (left := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select(waiting, [], [], left)
                waiting = [fd for fd in waiting if fd not in ready]
        finally:
            for fd in ends:
                os.close(fd)
        assert not waiting, "a worker outlived its parent by 2 s"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(_host_port(server), timeout=2).close()
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        server.stop()


@pytest.mark.slow
def test_a_thousand_stalled_bodies_and_a_thousand_idle_connections_do_not_delay_a_get():
    from .test_serve_connections import _open_files_for

    _open_files_for(2200)
    server = Server("--clock", "manual")
    host, port = _host_port(server)
    crowd: list[socket.socket] = []
    try:
        before = sorted(_probe_seconds(host, port) for _ in range(5))[2]
        crowd += [socket.create_connection((host, port), timeout=10) for _ in range(1000)]
        crowd += [_stalled_submit(host, port, 2000) for _ in range(1000)]
        during = sorted(_probe_seconds(host, port) for _ in range(5))[2]
        print(f"GET median: {before * 1000:.1f} ms alone, {during * 1000:.1f} ms in the crowd")
        assert during - before < 0.100, (before, during)
    finally:
        for connection in crowd:
            connection.close()
        server.stop()
