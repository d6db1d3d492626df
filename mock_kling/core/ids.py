"""A seeded source of task ids, video ids and request ids, so one seed repeats a run."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable

_ID_LOW = 10**17
_ID_HIGH = 10**18


class IdSource:
    """Kling-shaped identifiers from one seeded random generator (thread-safe). `stream` picks
    another sequence of the same seed (0: the seed's own): a fake that starts on a store that
    already holds tasks draws from a stream of its own, so it does not redraw their ids."""

    def __init__(self, seed: int, stream: int = 0) -> None:
        self.seed = seed
        base = str(seed) if stream == 0 else f"{seed}:stream {stream}"
        self._random = random.Random(seed if stream == 0 else base)
        self._request_random = random.Random(f"{base}:requests")  # own stream: ids stay put
        self._lock = threading.Lock()

    def numeric_id(self, taken: Callable[[str], bool] = lambda _: False) -> str:
        """A fresh 18-digit decimal string for which `taken` is false (the store's ids)."""
        with self._lock:
            while True:
                candidate = str(self._random.randrange(_ID_LOW, _ID_HIGH))
                if not taken(candidate):
                    return candidate

    def request_id(self) -> str:
        """A version-4 UUID string, drawn from the seeded generator."""
        with self._lock:
            bits = self._request_random.getrandbits(128)
        return str(uuid.UUID(int=bits, version=4))
