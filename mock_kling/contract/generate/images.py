"""Real PNG (zlib only) and JPEG (Pillow) files of a chosen size, cached, and their base64."""

from __future__ import annotations

import base64
import functools
import io
import struct
import zlib

from PIL import Image

GIF_1PX = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///ywAAAAAAQABAAACAUwAOw==")


@functools.lru_cache(maxsize=256)
def png_bytes(width: int, height: int) -> bytes:
    """A grey gradient PNG (8-bit greyscale), fast even at 1000 x 1000."""
    ramp = bytes(range(256)) * (width // 256 + 2)
    rows = b"".join(b"\x00" + ramp[y % 256 : y % 256 + width] for y in range(height))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(rows, 1)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@functools.lru_cache(maxsize=256)
def jpeg_bytes(width: int, height: int) -> bytes:
    """A two-colour JPEG made with Pillow."""
    picture = Image.new("RGB", (width, height), (90, 120, 200))
    picture.paste((230, 180, 60), (width // 4, height // 4, width * 3 // 4, height * 3 // 4))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def image_bytes(kind: str, width: int, height: int) -> bytes:
    return png_bytes(width, height) if kind == "png" else jpeg_bytes(width, height)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def png_b64(width: int = 400, height: int = 400) -> str:
    return b64(png_bytes(width, height))
