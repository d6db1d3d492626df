"""The Redis store on a real Redis Cluster (three masters on loopback): found out from any node's
URL, a namespace's keys in one slot, and the replicas' check-and-change steps work there."""

from __future__ import annotations

import redis

from mock_kling.core.limits import Usage
from mock_kling.core.store import Change
from mock_kling.store.redis import open_redis

from .redis_server import fresh_namespace
from .tasks import make_task


def _node_urls(cluster_url: str) -> list[str]:
    client = redis.RedisCluster.from_url(cluster_url.removesuffix("/0"))
    try:
        return [f"redis://{node.host}:{node.port}/0" for node in client.get_primaries()]
    finally:
        client.close()


def test_any_nodes_url_opens_the_whole_cluster_and_a_namespace_lives_in_one_slot(
    redis_cluster_url: str,
):
    urls = _node_urls(redis_cluster_url)
    assert len(urls) == 3
    namespace_url = fresh_namespace(redis_cluster_url)
    stores = [open_redis(url + "?" + namespace_url.partition("?")[2]) for url in urls]
    try:
        assert all(store.cluster for store in stores)
        # Written through one node, read through each: MOVED is followed by the client.
        stores[0].add_task(make_task("1", external="e"))
        for store in stores:
            assert store.find_task("acct", "e").task_id == "1"  # type: ignore[union-attr]
        read = stores[1].usage("acct")
        assert stores[2].commit(Change("acct", usage=(read, Usage(spent=1.0)))) == "done"
        assert stores[1].commit(Change("acct", usage=(read, Usage(spent=2.0)))) == "changed"
        assert stores[0].usage("acct").spent == 1.0
        assert stores[0].add_clock_ms(5) == 5
        assert stores[1].raise_clock_ms(3) == 5
        keys = list(
            stores[0]._r.scan_iter(match=f"mock-kling:{{{stores[0].namespace}}}:*", count=1000)
        )
        slots = {stores[0]._r.keyslot(key) for key in keys}
        assert len(keys) >= 5
        assert len(slots) == 1
        stores[0].reset()
        assert stores[1].task("1") is None
    finally:
        for store in stores:
            store.close()


def test_a_single_server_is_not_taken_for_a_cluster(redis_url: str):
    store = open_redis(fresh_namespace(redis_url))
    try:
        assert not store.cluster
    finally:
        store.close()
