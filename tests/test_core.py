"""The Flask-free core: clock, ids, lifecycle, image headers, the error table."""

from __future__ import annotations

import io
import re
import struct
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from mock_kling import apispec
from mock_kling.core.clock import ManualClock
from mock_kling.core.errors import SERVICE_CODES, KlingError
from mock_kling.core.ids import IdSource, version_4
from mock_kling.core.images import ImageRuleError, inspect_image
from mock_kling.core.outcomes import Timings

from .images import b64, png_bytes
from .tasks import make_task as _task


def test_manual_clock_moves_only_forward():
    clock = ManualClock(1_000)
    assert clock.advance(1.5) == 2_500
    assert clock.now_ms() == 2_500
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.set_ms(2_499)


def test_ids_are_18_digits_unique_and_seeded():
    first, second = IdSource(7), IdSource(7)
    ids = [first.numeric_id() for _ in range(2000)]
    assert all(re.fullmatch(r"[1-9]\d{17}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert ids == [second.numeric_id() for _ in range(2000)]
    assert IdSource(8).numeric_id() != ids[0]
    assert first.request_id() == second.request_id()


def test_lifecycle_timeline_and_status_at():
    task = _task("1", created_at=10_000, timings=Timings(1, 2.5))
    assert [(s.at_ms, s.status) for s in task.timeline] == [
        (10_000, "submitted"),
        (11_000, "processing"),
        (13_500, "succeed"),
    ]
    assert task.step_at(9_000).status == "submitted"
    assert task.step_at(10_999).status == "submitted"
    assert task.step_at(11_000).status == "processing"
    assert task.step_at(13_500).status == "succeed"
    assert task.ended_at() == 13_500


def test_zero_second_lifecycle_succeeds_at_once():
    assert _task("1", created_at=5, timings=Timings(0, 0)).step_at(5).status == "succeed"


def test_png_and_jpeg_sizes_are_read_from_the_header():
    assert inspect_image(b64(png_bytes(640, 480))).width == 640
    info = inspect_image(b64(_jpeg(500, 320, progressive=True)))
    assert (info.kind, info.width, info.height) == ("jpeg", 500, 320)


def test_jpeg_with_exif_and_comment_segments_before_the_frame():
    jpeg = _jpeg(400, 300)
    extra = b"\xff\xe1" + struct.pack(">H", 2 + 5000) + b"E" * 5000 + b"\xff\xfe\x00\x04hi"
    info = inspect_image(b64(jpeg[:2] + extra + jpeg[2:]))
    assert (info.width, info.height) == (400, 300)


def test_header_claiming_65535_pixels_is_read_without_decoding():
    header = png_bytes(300, 300)[:16] + struct.pack(">II", 65535, 65535)
    info = inspect_image(b64(header + b"\x00" * 100))
    assert (info.width, info.height) == (65535, 65535)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("data:image/png;base64,AAAA", "data: URI prefix"),
        ("DATA:image/png;base64,AAAA", "data: URI prefix"),
        ("AAA", "valid base64"),
        ("AA AA", "valid base64"),
        ("héllo===", "valid base64"),
        ("http://", "well-formed"),
        ("https://host:99999/x.png", "well-formed"),
        ("https://ho st/x.png", "well-formed"),
        (b64(b"\xff\xd8\xff\xc0\x00\x03"), "malformed JPEG"),
    ],
)
def test_image_rules(value: str, rule: str):
    with pytest.raises(ImageRuleError, match=re.escape(rule)):
        inspect_image(value)


def test_error_table_matches_the_error_contract():
    error_codes = {code for code in SERVICE_CODES if code != 0}
    enum = set(apispec.schema("common")["definitions"]["error_code"]["enum"])
    assert enum == error_codes
    assert KlingError(1303, "x").http_status == 429
    assert KlingError(1202, "x").http_status == 404
    with pytest.raises(ValueError, match="not a Kling error code"):
        KlingError(0, "success is not an error")


def _jpeg(width: int, height: int, progressive: bool = False) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, format="JPEG", progressive=progressive)
    return buffer.getvalue()


@given(st.integers(min_value=0, max_value=(1 << 128) - 1))
def test_request_ids_are_the_uuid_modules_version_4_uuids(bits: int):
    assert version_4(bits) == str(uuid.UUID(int=bits, version=4))
