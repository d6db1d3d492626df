"""Render a tiny, real, playable H.264 MP4 of a solid grey picture in pure Python."""

from __future__ import annotations

from mock_kling.media.h264 import (
    LOG2_MAX_FRAME_NUM,
    NAL_PPS,
    NAL_SPS,
    Geometry,
    idr_slice,
    length_prefixed,
    nal,
    p_slice,
    pps_rbsp,
    sps_rbsp,
)
from mock_kling.media.mp4 import TICKS_PER_FRAME, Track, mp4_file


def render_mp4(width: int, height: int, seconds: float, fps: int = 30) -> bytes:
    """Return the bytes of an MP4 (H.264 video track only, no audio) of a solid grey picture."""
    _check_arguments(width, height, seconds, fps)
    geometry = Geometry.for_size(width, height)
    sps = nal(3, NAL_SPS, sps_rbsp(geometry, fps))
    pps = nal(3, NAL_PPS, pps_rbsp())
    frame_count = max(1, round(seconds * fps))
    samples = [idr_slice(geometry)]
    p_slices = [p_slice(geometry, n) for n in range(1 << LOG2_MAX_FRAME_NUM)]
    samples += [p_slices[i % len(p_slices)] for i in range(1, frame_count)]
    timescale = fps * TICKS_PER_FRAME
    duration = max(1, round(seconds * timescale))
    track = Track(width, height, timescale, TICKS_PER_FRAME, duration, sps, pps)
    return mp4_file(track, [length_prefixed(sample) for sample in samples])


def _check_arguments(width: int, height: int, seconds: float, fps: int) -> None:
    """Reject sizes this encoder cannot crop exactly, and rates or durations it cannot store."""
    for name, side in (("width", width), ("height", height)):
        if side < 16 or side % 2:
            raise ValueError(f"{name} must be an even number >= 16, got {side}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    longest = (2**32 - 1) // (fps * TICKS_PER_FRAME)  # version 0 mvhd/tkhd/mdhd durations
    if not 0 < seconds <= longest:
        raise ValueError(f"seconds must be positive and at most {longest}, got {seconds}")


# --- H.264 bitstream -------------------------------------------------------------------------
