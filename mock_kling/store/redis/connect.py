"""From a store URL to a redis-py client: our options taken out of the query, a single server or
a Redis Cluster (found out by asking the server), connections from redis-py's pools."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

_PASSWORD = re.compile(r"//[^/@]*@")  # messages show the URL without credentials
_NAMESPACE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_OPTIONS = {"namespace": "default", "lease": "60"}  # ours, not redis-py's
_RETIRED = ("lock_ttl",)  # options of earlier versions, accepted and without effect now
CLIENT_OPTIONS: dict[str, Any] = {  # every client of the store: sync, cluster and asyncio
    "socket_timeout": 5.0,
    "socket_connect_timeout": 2.0,
    "decode_responses": True,
}


@dataclass(frozen=True)
class Target:
    """What a store URL asks for."""

    redis_url: str  # what redis-py reads (our options removed)
    shown: str  # the URL as messages show it (no password)
    namespace: str
    lease_seconds: float


def parse(url: str) -> Target:
    """`redis://[:password@]host:port/db`, `rediss://...` or `unix:///path?db=0`, with our
    options in the query: namespace (default "default") and lease (seconds a replica may hold a
    claimed callback, 60). ValueError when the URL is not one of these."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"not a Redis URL: {url!r}")
    query = dict(parse_qsl(parts.query))
    ours = {name: query.pop(name, default) for name, default in _OPTIONS.items()}
    for name in _RETIRED:
        query.pop(name, None)
    if not _NAMESPACE.match(ours["namespace"]):
        raise ValueError(f"namespace must match {_NAMESPACE.pattern} (got {ours['namespace']!r})")
    try:
        lease = float(ours["lease"])
    except ValueError:
        raise ValueError(f"lease must be a number of seconds (got {ours['lease']!r})") from None
    base = url.partition("?")[0]  # as given: urlunsplit would drop the "//" of unix:///path
    redis_url = f"{base}?{urlencode(query)}" if query else base
    return Target(redis_url, _PASSWORD.sub("//", url), ours["namespace"], lease)


def connect(target: Target) -> redis.Redis | redis.RedisCluster:
    """A client of the server the URL names; a RedisCluster client when that server is a node
    of a cluster (`INFO cluster`), which follows MOVED/ASK redirections by itself. A server that
    does not answer now is taken as a single server (its errors come with the first call)."""
    retry = Retry(NoBackoff(), 1)  # once, on a fresh connection: a restarted server
    client = redis.Redis.from_url(target.redis_url, retry=retry, **CLIENT_OPTIONS)
    try:
        info: dict[str, Any] = client.info("cluster")
    except redis.RedisError:
        return client
    if not info.get("cluster_enabled"):
        return client
    client.close()
    return _cluster(target.redis_url)


def _cluster(url: str) -> redis.RedisCluster:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        raise ValueError("a Redis Cluster is reached over TCP: use redis://host:port")
    db = parts.path.strip("/") or dict(parse_qsl(parts.query)).get("db", "0")
    if db != "0":
        raise ValueError(f"a Redis Cluster has only database 0 (the URL names {db})")
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "db"])
    base = urlunsplit(parts._replace(path="", query=""))
    return redis.RedisCluster.from_url(f"{base}?{query}" if query else base, **CLIENT_OPTIONS)
