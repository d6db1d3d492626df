"""The Redis store's callback queue: a list per task, a zset of unclaimed heads by due time, and
claims with a lease, so that a replica that dies mid-delivery loses its claims when the lease
ends (Redis's clock) and another replica sends the notification. Every claim has its own token
(the replica's token and a counter), so a send whose claim lapsed cannot finish a later claim."""

from __future__ import annotations

import itertools
from dataclasses import replace

from mock_kling.core.delivery import Delivery
from mock_kling.store import redis_codec as codec
from mock_kling.store.redis_base import RedisBase, guarded

_CLAIMS = itertools.count(1)  # a claim's token is "<replica token>:<n>"


class RedisQueue(RedisBase):
    """Pending callback deliveries: claim / put back / finish, each one Lua script."""

    @guarded
    def next_delivery_seq(self) -> int:
        return int(self._r.incr(self._p + "dseq")) - 1

    @guarded
    def add_delivery(self, delivery: Delivery) -> None:
        text = codec.dump_delivery(delivery)
        self._run("ADD_DELIVERY", delivery.task_id, text, delivery.due_ms)

    @guarded
    def claim_due(self, now_ms: int, limit: int) -> list[Delivery]:
        token = f"{self._token}:{next(_CLAIMS)}"
        texts, taken = self._claim(now_ms, token, limit)
        heads = [codec.load_delivery(text) for text in texts]
        heads = [
            replace(head, claim=token, taken_over=head.taken_over or head.task_id in taken)
            for head in heads
        ]
        return sorted(heads, key=lambda delivery: (delivery.due_ms, delivery.seq))

    def _claim(self, now_ms: int, token: str, limit: int) -> tuple[list[str], set[str]]:
        """The claimed heads, and the tasks whose head was claimed before by a lapsed lease."""
        if limit <= 0:
            return [], set()
        due = self.next_delivery_ms()  # a cheap look first (one round trip): is anything due?
        if due is None or due > now_ms:
            return [], set()
        heads, taken = self._run("CLAIM_DUE", now_ms, token, self._lease_ms, limit)
        return list(heads), set(taken)

    @guarded
    def put_back(self, delivery: Delivery) -> bool:
        text, task_id, seq = codec.dump_delivery(delivery), delivery.task_id, delivery.seq
        return bool(self._run("PUT_BACK", task_id, delivery.claim, seq, text, delivery.due_ms))

    @guarded
    def finish(self, delivery: Delivery) -> bool:
        return bool(self._run("FINISH", delivery.task_id, delivery.claim, delivery.seq))

    @guarded
    def cancel_deliveries(self, task_id: str, after_ms: int) -> None:
        self._run("CANCEL", task_id, after_ms)

    @guarded
    def next_delivery_ms(self) -> int | None:
        """The earliest due time of an unclaimed head or of a head whose claim's lease ended
        (a dead replica's: `claim_due` takes it over), in one round trip."""
        due = self._run("NEXT_DUE")
        return None if due is None else int(due)

    @guarded
    def pending_deliveries(self) -> int:
        return int(self._r.get(self._p + "pending") or 0)

    @guarded
    def claimed_deliveries(self) -> int:
        return int(self._r.hlen(self._p + "claims"))
