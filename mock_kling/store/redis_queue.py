"""The Redis store's callback queue: a list per task, a zset of unclaimed heads by due time, and
claims with a lease, so that a replica that dies mid-delivery loses its claims when the lease
ends (Redis's clock) and another replica sends the notification."""

from __future__ import annotations

from dataclasses import replace

from mock_kling.core.delivery import Delivery
from mock_kling.store import redis_codec as codec
from mock_kling.store.redis_base import RedisBase, guarded


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
    def claim_due(self, now_ms: int) -> list[Delivery]:
        texts, taken = self._claim(now_ms)
        heads = [codec.load_delivery(text) for text in texts]
        heads = [
            replace(head, taken_over=True) if head.task_id in taken else head for head in heads
        ]
        return sorted(heads, key=lambda delivery: (delivery.due_ms, delivery.seq))

    def _claim(self, now_ms: int) -> tuple[list[str], set[str]]:
        """The claimed heads, and the tasks whose head was claimed before by a lapsed lease."""
        due = self.next_delivery_ms()  # a cheap look first (one round trip): is anything due?
        if due is None or due > now_ms:
            return [], set()
        heads, taken = self._run("CLAIM_DUE", now_ms, self._token, self._lease_ms)
        return list(heads), set(taken)

    @guarded
    def put_back(self, delivery: Delivery) -> bool:
        text, task_id, seq = codec.dump_delivery(delivery), delivery.task_id, delivery.seq
        return bool(self._run("PUT_BACK", task_id, self._token, seq, text, delivery.due_ms))

    @guarded
    def finish(self, delivery: Delivery) -> bool:
        return bool(self._run("FINISH", delivery.task_id, self._token, delivery.seq))

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
