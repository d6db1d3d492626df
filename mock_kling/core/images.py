"""Kling's image rules: an http(s) URL, or raw base64 PNG/JPEG checked from its header only."""

from __future__ import annotations

import binascii
import re
import struct
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MIN_SIDE_PX = 300
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_HEADER_CHARS = 4 * 16_384  # 48 KiB decoded: PNG's IHDR and most JPEG frame headers
_PREFIX_CHARS = (4 * 64, _HEADER_CHARS)  # 192 bytes decoded hold a PNG's IHDR
MAX_RATIO = 2.5
_SPACE = re.compile(r"\s")  # as str.isspace, at C speed (a URL may be 60 MB)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8\xff"
# Start-of-frame markers carry the picture size: SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC).
_JPEG_MAX_MARKERS = 10_000  # markers and fill bytes looked at before the frame header; real
# files have tens (APPn, DQT, DHT), and a frame header always comes before the first scan
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class ImageRuleError(ValueError):
    """An image breaks one of Kling's rules; the message names the rule (not the field)."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the fake learned about one submitted image."""

    kind: str  # "url", "png" or "jpeg"
    width: int = 0
    height: int = 0
    size_bytes: int = 0


_URL = ImageInfo(kind="url")  # shared: kept with every task


def inspect_image(value: str) -> ImageInfo:
    """Check one `image` value and describe it, or raise ImageRuleError saying which rule broke."""
    if value.startswith(("http://", "https://")):
        _check_url(value)
        return _URL
    if value[:5].lower() == "data:":
        raise ImageRuleError(
            "must be raw base64 without a data: URI prefix "
            "(send 'iVBORw0...', not 'data:image/png;base64,...')"
        )
    raw, size = _checked_base64(value)
    kind, width, height = _header(raw)
    _check_size(width, height)
    return ImageInfo(kind=kind, width=width, height=height, size_bytes=size)


def _header(raw: bytes) -> tuple[str, int, int]:
    """The header is near the start: decode a short prefix (a PNG's IHDR), then a longer one (a
    JPEG's frame header after its APPn segments), and all of it only when needed."""
    for chars in _PREFIX_CHARS:
        try:
            return _read_header(_decode(raw[:chars]))
        except ImageRuleError:
            if len(raw) <= chars:
                raise
    return _read_header(_decode(raw))


def _check_url(value: str) -> None:
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise ImageRuleError(f"is not a well-formed http(s) URL ({exc})") from None
    if not parts.hostname or not port_ok or _SPACE.search(value):
        raise ImageRuleError("is not a well-formed http(s) URL with a host")


def _checked_base64(value: str) -> tuple[bytes, int]:
    """The base64 text as bytes and the decoded size, checked (alphabet, padding, 10 MB)
    without decoding it: C-speed scans instead of a full decode."""
    raw = value.encode("ascii", errors="replace")
    padding = 2 if raw.endswith(b"==") else 1 if raw.endswith(b"=") else 0
    if (
        len(raw) % 4
        or raw.translate(None, _BASE64_ALPHABET)
        or raw.find(b"=", 0, len(raw) - padding) != -1
    ):
        raise ImageRuleError("is neither an http(s) URL nor valid base64")
    size = len(raw) // 4 * 3 - padding
    if size > MAX_IMAGE_BYTES:
        raise ImageRuleError(f"is {size} bytes; the limit is {MAX_IMAGE_BYTES} bytes (10 MB)")
    return raw, size


def _decode(raw: bytes) -> bytes:
    try:
        return binascii.a2b_base64(raw, strict_mode=True)
    except binascii.Error:
        raise ImageRuleError("is neither an http(s) URL nor valid base64") from None


def _read_header(data: bytes) -> tuple[str, int, int]:
    if data.startswith(_PNG_SIGNATURE):
        return ("png", *_png_size(data))
    if data.startswith(_JPEG_SOI):
        return ("jpeg", *_jpeg_size(data))
    raise ImageRuleError(f"must be a PNG or JPEG image (got {_guess_format(data)})")


def _png_size(data: bytes) -> tuple[int, int]:
    # The IHDR chunk comes first: length(4) type(4) width(4) height(4).
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise ImageRuleError("is a truncated or malformed PNG (no IHDR header)")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int]:
    pos = 2
    for _ in range(_JPEG_MAX_MARKERS):  # 10 MB of fill bytes or empty segments: seconds of CPU
        if pos + 4 > len(data):
            break
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF:
            if pos + 9 > len(data) or length < 7:
                break
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        if length < 2:
            break
        pos += 2 + length
    raise ImageRuleError("is a truncated or malformed JPEG (no frame header with its size)")


def _check_size(width: int, height: int) -> None:
    if width < MIN_SIDE_PX or height < MIN_SIDE_PX:
        raise ImageRuleError(f"is {width}x{height} px; each side must be at least {MIN_SIDE_PX} px")
    if width > height * MAX_RATIO or height > width * MAX_RATIO:
        raise ImageRuleError(
            f"is {width}x{height} px; the aspect ratio (width:height) "
            "must be between 1:2.5 and 2.5:1"
        )


def _guess_format(data: bytes) -> str:
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[:2] == b"BM":
        return "BMP"
    if not data:
        return "no bytes"
    return "an unknown format"
