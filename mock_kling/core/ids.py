"""A seeded source of task ids, video ids and request ids, so one seed repeats a run."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

_ID_LOW = 10**17
_ID_HIGH = 10**18
# A version-4 UUID from 128 random bits (RFC 4122 4.4): the variant bits 10, the version 0100.
_UUID_KEEP = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_SET = (0x8000 << 48) | (4 << 76)


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
        return version_4(bits)


def version_4(bits: int) -> str:
    """`str(uuid.UUID(int=bits, version=4))`, without building the UUID (every request has one)."""
    bits = (bits & _UUID_KEEP) | _UUID_SET
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
