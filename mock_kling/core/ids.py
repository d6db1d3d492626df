"""A seeded source of task ids, video ids and request ids, so one seed repeats a run."""

from __future__ import annotations

import random
import threading
import uuid

_ID_LOW = 10**17
_ID_HIGH = 10**18


class IdSource:
    """Kling-shaped identifiers from one seeded random generator (thread-safe)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._random = random.Random(seed)
        self._request_random = random.Random(f"{seed}:requests")  # own stream: ids stay put
        self._issued: set[str] = set()
        self._lock = threading.Lock()

    def numeric_id(self) -> str:
        """A fresh 18-digit decimal string, never issued before by this source."""
        with self._lock:
            while True:
                candidate = str(self._random.randrange(_ID_LOW, _ID_HIGH))
                if candidate not in self._issued:
                    self._issued.add(candidate)
                    return candidate

    def reserve(self, *ids: str) -> None:
        """Never issue these (ids restored from a saved state)."""
        with self._lock:
            self._issued.update(ids)

    def request_id(self) -> str:
        """A version-4 UUID string, drawn from the seeded generator."""
        with self._lock:
            bits = self._request_random.getrandbits(128)
        return str(uuid.UUID(int=bits, version=4))
