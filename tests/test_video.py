"""mock_kling.media.video writes real H.264 MP4s: ffprobe reads and ffmpeg decodes them cleanly."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from mock_kling.media.video import render_mp4

FPS = 30
CALLER_SIZES = [(1280, 720), (720, 1280), (720, 720), (1920, 1080), (1080, 1920), (1080, 1080)]
# The smallest size, sizes that are not multiples of 16, and durations of fractional frame counts.
ODD_CASES = [(16, 16, 1.0), (18, 34, 1.37), (642, 360, 0.5)]
PROBE_CASES = [(w, h, s) for w, h in CALLER_SIZES for s in (5, 10)] + ODD_CASES
DECODE_CASES = [(w, h, 10) for w, h in CALLER_SIZES] + ODD_CASES


def _tool(name: str) -> str:
    """The path of an ffmpeg tool; fail (not skip) without it, since CI installs ffmpeg."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not on PATH: install ffmpeg (e.g. apt-get install ffmpeg)")
    return path


def _write(tmp_path: Path, width: int, height: int, seconds: float) -> Path:
    path = tmp_path / f"grey_{width}x{height}_{seconds}s.mp4"
    path.write_bytes(render_mp4(width, height, seconds, FPS))
    return path


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg or ffprobe, insisting it exits 0 without printing anything on stderr."""
    result = subprocess.run([_tool(tool), *args], capture_output=True, timeout=60, check=False)
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 0, stderr
    assert stderr == ""
    return result


def _probe(path: Path) -> dict[str, Any]:
    entries = "stream=codec_name,width,height,nb_frames,r_frame_rate:format=duration,format_name"
    result = _run("ffprobe", "-v", "error", "-show_entries", entries, "-of", "json", str(path))
    info: dict[str, Any] = json.loads(result.stdout)
    return info


def _decode_to(path: Path, muxer: str) -> list[str]:
    """ffmpeg arguments that decode every frame of `path` to `muxer` (4:2:0) on stdout."""
    return ["-i", str(path), "-f", muxer, "-pix_fmt", "yuv420p", "-"]


@pytest.mark.parametrize(("width", "height", "seconds"), PROBE_CASES)
def test_ffprobe_reads_codec_size_duration_and_frame_count(
    tmp_path: Path, width: int, height: int, seconds: float
) -> None:
    info = _probe(_write(tmp_path, width, height, seconds))
    (stream,) = info["streams"]
    assert stream["codec_name"] == "h264"
    assert (stream["width"], stream["height"]) == (width, height)
    assert stream["r_frame_rate"] == f"{FPS}/1"
    assert int(stream["nb_frames"]) == round(seconds * FPS)
    assert "mp4" in info["format"]["format_name"]
    assert abs(float(info["format"]["duration"]) - seconds) <= 1 / FPS


@pytest.mark.parametrize(("width", "height", "seconds"), DECODE_CASES)
def test_ffmpeg_decodes_every_frame_without_a_warning(
    tmp_path: Path, width: int, height: int, seconds: float
) -> None:
    path = _write(tmp_path, width, height, seconds)
    # -v warning is stricter than -v error; explode turns any bitstream problem into a failure.
    _run("ffmpeg", "-nostdin", "-v", "warning", "-err_detect", "explode", *_decode_to(path, "null"))


def test_every_decoded_sample_is_mid_grey(tmp_path: Path) -> None:
    width, height, seconds = 34, 18, 0.5
    path = _write(tmp_path, width, height, seconds)
    result = _run("ffmpeg", "-nostdin", "-v", "error", *_decode_to(path, "rawvideo"))
    frames = round(seconds * FPS)
    assert len(result.stdout) == frames * width * height * 3 // 2
    assert set(result.stdout) == {128}


def test_boxes_are_ftyp_then_moov_then_mdat() -> None:
    data = render_mp4(1280, 720, 5)
    kinds, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        kinds.append(kind)
        offset += size
    assert offset == len(data)
    assert kinds == [b"ftyp", b"moov", b"mdat"]


def test_1080p_for_10_seconds_is_small_and_fast() -> None:
    start = time.perf_counter()
    data = render_mp4(1920, 1080, 10)
    elapsed = time.perf_counter() - start
    assert len(data) < 100_000
    assert elapsed < 1.0


@pytest.mark.parametrize(
    ("width", "height", "seconds", "fps"),
    [(15, 16, 1, 30), (16, 17, 1, 30), (14, 16, 1, 30), (16, 16, 0, 30), (16, 16, 1, 0)],
)
def test_rejects_sizes_durations_and_rates_it_cannot_encode(
    width: int, height: int, seconds: float, fps: int
) -> None:
    with pytest.raises(ValueError, match="must be"):
        render_mp4(width, height, seconds, fps)
