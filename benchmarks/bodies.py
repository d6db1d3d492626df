"""Request bodies of the benchmarks: real and padded PNGs, submit bodies."""

from __future__ import annotations

import json
import random
import struct
import zlib
from collections.abc import Iterable
from typing import Any

SEED = 7


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _ihdr(width: int, height: int) -> bytes:
    return _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))


def photo_png(width: int, height: int, seed: int = SEED) -> bytes:
    """A real, decodable RGB PNG (zlib): a gradient with one bit of seeded noise, so it
    compresses about as badly as a small photo does (~160 KB at 400x400)."""
    rng = random.Random(seed)
    rows = []
    for y in range(height):
        base = bytes((x + y) & 0xFE for x in range(width * 3))
        noise = rng.randbytes(width * 3)
        rows.append(b"\x00" + bytes(a | (b & 1) for a, b in zip(base, noise, strict=True)))
    idat = zlib.compress(b"".join(rows), 6)
    return (
        b"\x89PNG\r\n\x1a\n" + _ihdr(width, height) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def padded_png(total_bytes: int, width: int = 2000, height: int = 2000, seed: int = SEED) -> bytes:
    """A PNG file of exactly `total_bytes`: a valid signature, IHDR and IEND around one large
    IDAT of seeded random bytes (the fake reads only the header)."""
    head = b"\x89PNG\r\n\x1a\n" + _ihdr(width, height)
    tail = _chunk(b"IEND", b"")
    payload = total_bytes - len(head) - len(tail) - 12
    if payload < 0:
        raise ValueError(f"{total_bytes} bytes is too small for a PNG")
    return head + _chunk(b"IDAT", random.Random(seed).randbytes(payload)) + tail


def submit_body(images: Iterable[str], callback_url: str | None = None) -> bytes:
    """A submit body of the kind the README's examples send, with these images."""
    body: dict[str, Any] = {
        "model_name": "kling-v1-6",
        "image_list": [{"image": image} for image in images],
        "prompt": "two friends wave at the camera",
        "mode": "std",
        "duration": "5",
        "aspect_ratio": "16:9",
    }
    if callback_url:
        body["callback_url"] = callback_url
    return json.dumps(body).encode()


SMALL_BODY = submit_body(["https://example.com/a.png"])
# The anchor figures were taken with a small submit of two image URLs.
ANCHOR_BODY = submit_body(["https://example.com/a.png", "https://example.com/b.png"])
STUCK_BODY = json.dumps(
    {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "a cat walks mock:stuck"}
).encode()
