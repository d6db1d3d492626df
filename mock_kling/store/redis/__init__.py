"""The Redis store (`--store redis://host:port/db?namespace=team-a`): one fake's state in Redis
or a Redis Cluster, shared by replicas on several hosts; tenants share one Redis through
namespaces. `store.py` keeps the Store protocol, `lua/` its atomic steps, `connect.py` turns a
URL into a client."""

from __future__ import annotations

from mock_kling.store.redis.store import RedisStore, open_redis

__all__ = ["RedisStore", "open_redis"]
