"""Real PNG and JPEG files for tests, and their base64 text."""

from __future__ import annotations

import base64
import io
import struct
import zlib

from PIL import Image


def png_bytes(width: int = 400, height: int = 400) -> bytes:
    """A valid grey PNG, built with zlib only (fast even for large sizes)."""
    row = b"\x00" + b"\x80" * width  # filter byte + one grey byte a pixel
    data = zlib.compress(row * height, 1)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def jpeg_bytes(width: int = 400, height: int = 400) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def png_b64(width: int = 400, height: int = 400) -> str:
    return b64(png_bytes(width, height))


def jpeg_b64(width: int = 400, height: int = 400) -> str:
    return b64(jpeg_bytes(width, height))
