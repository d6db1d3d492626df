"""The SQLite store's callback queue: deliveries as rows, a task's queue ordered by seq, its head
claimed by one store (one process) at a time with an UPDATE in a transaction. A claim names its
process and store, is unique (a counter) and holds a wall-clock lease, so the claims of a killed
process are freed when another store opens the file (or when the lease runs out)."""

from __future__ import annotations

import itertools
import os
import time
import uuid
from dataclasses import replace

from mock_kling.core.delivery import Delivery
from mock_kling.store import codec
from mock_kling.store.sqlite.db import Database

LEASE_MS = 600_000  # longer than any send (attempt timeouts are seconds)
_HEAD = "seq = (SELECT MIN(seq) FROM deliveries AS queue WHERE queue.task_id = d.task_id)"
_FREE = "(claimed_by IS NULL OR lease_until < ?)"
_OPEN: set[str] = set()  # the claim names of the stores open in this process


class SqliteDeliveries:
    """The delivery queue in `db`: a part of SqliteStore, which hands its DeliveryStore calls
    on to it."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._me = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._claims = itertools.count(1)  # a claim's token is "<me>#<n>"
        _OPEN.add(self._me)
        self._free_dead_claims()

    def close(self) -> None:
        _OPEN.discard(self._me)

    def next_delivery_seq(self) -> int:
        db = self._db
        with db.atomic():
            seq: int = db.value(
                "INSERT INTO meta (key, value) VALUES ('delivery_seq', 1) ON CONFLICT (key) "
                "DO UPDATE SET value = value + 1 RETURNING value"
            )
            return seq - 1

    def add_delivery(self, delivery: Delivery) -> None:
        with self._db.atomic():
            self._db.run(
                "INSERT INTO deliveries (seq, task_id, due_ms, data) VALUES (?, ?, ?, ?)",
                (delivery.seq, delivery.task_id, delivery.due_ms, _text(delivery)),
            )

    def claim_due(self, now_ms: int, limit: int) -> list[Delivery]:
        db = self._db
        if db.one("SELECT 1 FROM deliveries WHERE due_ms <= ? LIMIT 1", (now_ms,)) is None:
            return []  # nothing due: no write lock taken (a driver looks 4 times a second)
        token = f"{self._me}#{next(self._claims)}"
        with db.atomic():
            wall = _wall_ms()
            rows = db.all(
                f"SELECT seq, data, claimed_by FROM deliveries AS d WHERE due_ms <= ? AND {_FREE} "
                f"AND {_HEAD} ORDER BY due_ms, seq LIMIT ?",
                (now_ms, wall, max(limit, 0)),
            )
            db.run_many(
                "UPDATE deliveries SET claimed_by = ?, lease_until = ? WHERE seq = ?",
                [(token, wall + LEASE_MS, seq) for seq, _, _ in rows],
            )
        # A head still named by a claim was claimed before, and that claim lapsed: a take-over.
        return [_claimed(data, token, taken_over=owner is not None) for _, data, owner in rows]

    def put_back(self, delivery: Delivery) -> bool:
        db = self._db
        with db.atomic():
            changed = db.run(
                "UPDATE deliveries SET due_ms = ?, data = ?, claimed_by = NULL, lease_until = NULL "
                "WHERE seq = ? AND claimed_by = ?",
                (delivery.due_ms, _text(delivery), delivery.seq, delivery.claim),
            )
            return changed == 1 or self._release(delivery)

    def finish(self, delivery: Delivery) -> bool:
        db = self._db
        with db.atomic():
            sql = "DELETE FROM deliveries WHERE seq = ? AND claimed_by = ?"
            changed = db.run(sql, (delivery.seq, delivery.claim))
            return changed == 1 or self._release(delivery)

    def cancel_deliveries(self, task_id: str, after_ms: int) -> None:
        db = self._db
        with db.atomic():
            rows = db.all(
                "SELECT seq, data, claimed_by FROM deliveries WHERE task_id = ? ORDER BY seq",
                (task_id,),
            )
            dropped = []
            for index, (seq, data, claimed_by) in enumerate(rows):
                delivery = codec.delivery_from(codec.loads(data))
                in_flight = index == 0 and claimed_by is not None
                if not (delivery.started or in_flight or delivery.enqueued_due_ms <= after_ms):
                    dropped.append((seq,))
            db.run_many("DELETE FROM deliveries WHERE seq = ?", dropped)

    def next_delivery_ms(self) -> int | None:
        due: int | None = self._db.value(
            f"SELECT MIN(due_ms) FROM deliveries AS d WHERE {_FREE} AND {_HEAD}", (_wall_ms(),)
        )
        return due

    def pending_deliveries(self) -> int:
        return int(self._db.value("SELECT COUNT(*) FROM deliveries"))

    def claimed_deliveries(self) -> int:
        sql = f"SELECT COUNT(*) FROM deliveries WHERE NOT {_FREE}"
        return int(self._db.value(sql, (_wall_ms(),)))

    def _release(self, delivery: Delivery) -> bool:
        """Release `delivery`'s claim on the task's queue when its head is no longer `delivery`
        (a reset or a cancel happened meanwhile); always False."""
        self._db.run(
            "UPDATE deliveries SET claimed_by = NULL, lease_until = NULL "
            "WHERE task_id = ? AND claimed_by = ?",
            (delivery.task_id, delivery.claim),
        )
        return False

    def _free_dead_claims(self) -> None:
        """Free the claims of processes that are gone (killed while sending): their lease ends
        now, and the owner stays named so that the next claim is known as a take-over."""
        db = self._db
        with db.atomic():
            owners = db.all("SELECT DISTINCT claimed_by FROM deliveries WHERE claimed_by NOT NULL")
            dead = [(owner,) for (owner,) in owners if not _alive(owner)]
            db.run_many("UPDATE deliveries SET lease_until = 0 WHERE claimed_by = ?", dead)


def _claimed(data: str, token: str, *, taken_over: bool) -> Delivery:
    delivery = codec.delivery_from(codec.loads(data))
    return replace(delivery, claim=token, taken_over=taken_over or delivery.taken_over)


def _text(delivery: Delivery) -> str:
    return codec.dumps(codec.delivery_json(delivery))


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _alive(owner: str) -> bool:
    """Whether the store named in a claim ("pid:store#n") may still be sending: one open in this
    process, or one in another running process (of this pid, it was a previous process's)."""
    pid = int(owner.split(":", 1)[0])
    if pid == os.getpid():
        return owner.split("#", 1)[0] in _OPEN
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
