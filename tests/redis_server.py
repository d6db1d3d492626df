"""A real redis-server for the tests: started on a free loopback port without persistence (or
with an append-only file, to survive a restart), stopped afterwards; the session fixture
`redis_url` and fresh namespaced stores on it. A real Redis Cluster of three masters
(`redis_cluster_url`: one node's URL). A missing redis-server or redis-cli fails, never skips."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from mock_kling.store.redis import RedisStore, open_redis

_START_SECONDS = 10.0


class RedisServer:
    """One redis-server process on 127.0.0.1; `stop` and `start` again keep its port and dir."""

    def __init__(
        self, directory: Path, *, durable: bool = False, port: int = 0, cluster: bool = False
    ) -> None:
        self.directory, self.durable, self.cluster = directory, durable, cluster
        self.port = port or _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server not found: scripts/check installs it (apt-get install redis-server)"
            )
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.durable else [
            "--appendonly", "no"
        ]  # fmt: skip
        cluster = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"] * self.cluster
        command = [
            binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
            "--dir", str(self.directory), "--protected-mode", "yes", *persistence, *cluster,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait_ready()

    def stop(self) -> None:
        """A clean shutdown (an append-only file is complete afterwards)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(_START_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(_START_SECONDS)
        self.process = None

    def _wait_ready(self) -> None:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + _START_SECONDS
        try:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    pytest.fail(f"redis-server exited with {self.process.returncode}")
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    continue  # not listening yet: the deadline bounds the loop
            pytest.fail(f"redis-server did not answer within {_START_SECONDS} s")
        finally:
            client.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _free_cluster_port() -> int:
    """A free loopback port whose cluster bus port (+10000) is free as well."""
    for _ in range(100):
        with socket.socket() as probe, socket.socket() as bus:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
            if port + 10_000 > 65_535:
                continue
            try:
                bus.bind(("127.0.0.1", port + 10_000))
            except OSError:
                continue
            return port
    pytest.fail("no free pair of loopback ports for a cluster node")


class RedisCluster:
    """Three redis-server masters on loopback joined by `redis-cli --cluster create`."""

    def __init__(self, directory: Path, nodes: int = 3) -> None:
        self.nodes: list[RedisServer] = []
        for n in range(nodes):
            (directory / str(n)).mkdir()
            port = _free_cluster_port()
            self.nodes.append(RedisServer(directory / str(n), port=port, cluster=True))

    @property
    def url(self) -> str:
        """One node's URL: the store finds the others."""
        return self.nodes[-1].url

    def start(self) -> None:
        cli = shutil.which("redis-cli")
        if cli is None:
            pytest.fail("redis-cli not found: apt-get install redis-tools (scripts/check does)")
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        created = subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, text=True, timeout=_START_SECONDS * 3, check=False,
        )  # fmt: skip
        if created.returncode != 0:
            pytest.fail(f"redis-cli --cluster create failed: {created.stdout}{created.stderr}")
        self._wait_ok()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def _wait_ok(self) -> None:
        """Return once every node reports cluster_state:ok and knows every slot's owner."""
        clients = [redis.Redis(port=node.port, socket_timeout=1.0) for node in self.nodes]
        deadline = time.monotonic() + _START_SECONDS * 3
        try:
            while time.monotonic() < deadline:
                infos = [client.cluster("INFO") for client in clients]
                if all(_cluster_ok(info) for info in infos):
                    return
            pytest.fail(f"the cluster was not ok within {_START_SECONDS * 3} s: {infos}")
        finally:
            for client in clients:
                client.close()


def _cluster_ok(info: object) -> bool:
    """`CLUSTER INFO` as redis-py parses it (a dict) or as text."""
    if isinstance(info, dict):
        return str(info.get("cluster_state")) == "ok" and int(info["cluster_slots_ok"]) == 16384
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_state:ok" in text and "cluster_slots_ok:16384" in text


def fresh_namespace(url: str, **options: str) -> str:
    """The store URL of a namespace of its own on the server at `url` (with more options)."""
    query = "".join(f"&{name}={value}" for name, value in options.items())
    return f"{url}?namespace=test-{uuid.uuid4().hex[:12]}{query}"


def fresh_store(url: str, **limits: int) -> RedisStore:
    """A store in a namespace of its own on the server at `url`."""
    return open_redis(fresh_namespace(url), **limits)


def wait_past_leases(url: str, lease_ms: int = 1) -> None:
    """Return once the server's clock (the one leases run on) moved `lease_ms` + 1 ms on from
    now: a claim made before the call with a lease of `lease_ms` has lapsed."""
    client = redis.Redis.from_url(url)
    try:
        start = _server_ms(client)
        deadline = time.monotonic() + _START_SECONDS
        while _server_ms(client) <= start + lease_ms:
            assert time.monotonic() < deadline, "the Redis server's clock stands still"
    finally:
        client.close()


def _server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def redis_store(redis_url: str) -> Iterator[RedisStore]:
    store = fresh_store(redis_url)
    yield store
    store.reset()
    store.close()
