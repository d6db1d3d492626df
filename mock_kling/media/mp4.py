"""The ISO-BMFF (MP4) container around one H.264 video track."""

from __future__ import annotations

import struct
from dataclasses import dataclass

TICKS_PER_FRAME = 1000  # MP4 timescale = fps * 1000
_UNITY_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


@dataclass(frozen=True)
class Track:
    """What the container needs to know about the one video track."""

    width: int
    height: int
    timescale: int  # ticks per second, for mvhd, tkhd and mdhd alike
    frame_ticks: int  # one frame period, in timescale ticks
    duration: int  # in timescale ticks, exactly `seconds` as far as the timescale allows
    sps: bytes
    pps: bytes


def _box(kind: bytes, *payload: bytes) -> bytes:
    """A plain box: 32-bit size, four-character type, payload."""
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    """A FullBox: a box whose payload starts with an 8-bit version and 24-bit flags."""
    return _box(kind, struct.pack(">I", version << 24 | flags), *payload)


def mp4_file(track: Track, samples: list[bytes]) -> bytes:
    """ftyp, then moov (fast start), then mdat holding every sample in one chunk."""
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")
    # stco's chunk_offset has a fixed width, so the moov size does not depend on its value.
    moov_size = len(_moov(track, samples, chunk_offset=0))
    chunk_offset = len(ftyp) + moov_size + 8  # + the mdat box header
    moov = _moov(track, samples, chunk_offset)
    return ftyp + moov + _box(b"mdat", *samples)


def _moov(track: Track, samples: list[bytes], chunk_offset: int) -> bytes:
    """Movie box: the movie header (mvhd) and the single video trak."""
    mvhd = _full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIII", 0, 0, track.timescale, track.duration),  # times, timescale, duration
        struct.pack(">IH10x", 0x10000, 0x100),  # rate 1.0, volume 1.0, reserved
        _UNITY_MATRIX,
        bytes(24),  # pre_defined
        struct.pack(">I", 2),  # next_track_ID
    )
    return _box(b"moov", mvhd, _box(b"trak", _tkhd(track), _mdia(track, samples, chunk_offset)))


def _tkhd(track: Track) -> bytes:
    """Track header: track_ID 1, enabled and in the movie (flags 3), size in 16.16 fixed point."""
    return _full_box(
        b"tkhd",
        0,
        3,
        struct.pack(">IIIII", 0, 0, 1, 0, track.duration),  # times, track_ID, reserved, duration
        struct.pack(">8xhhhH", 0, 0, 0, 0),  # reserved, layer, alternate_group, volume, reserved
        _UNITY_MATRIX,
        struct.pack(">II", track.width << 16, track.height << 16),
    )


def _mdia(track: Track, samples: list[bytes], chunk_offset: int) -> bytes:
    """Media box: mdhd (language 'und'), hdlr 'vide', and minf with vmhd, dinf and the stbl."""
    und = (ord("u") - 0x60) << 10 | (ord("n") - 0x60) << 5 | (ord("d") - 0x60)
    mdhd = _full_box(
        b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, track.timescale, track.duration, und, 0)
    )
    hdlr = _full_box(b"hdlr", 0, 0, struct.pack(">I4s12x", 0, b"vide"), b"VideoHandler\x00")
    vmhd = _full_box(b"vmhd", 0, 1, bytes(8))  # graphicsmode copy, opcolor 0, 0, 0
    dref = _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1))  # same file
    minf = _box(b"minf", vmhd, _box(b"dinf", dref), _stbl(track, samples, chunk_offset))
    return _box(b"mdia", mdhd, hdlr, minf)


def _stbl(track: Track, samples: list[bytes], chunk_offset: int) -> bytes:
    """Sample table: one sync sample (the IDR), every sample in a single chunk."""
    stsd = _full_box(b"stsd", 0, 0, struct.pack(">I", 1), _avc1(track))
    stss = _full_box(b"stss", 0, 0, struct.pack(">II", 1, 1))  # entry_count, sample_number
    stsc = _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, len(samples), 1))
    sizes = struct.pack(f">{len(samples)}I", *map(len, samples))
    stsz = _full_box(b"stsz", 0, 0, struct.pack(">II", 0, len(samples)), sizes)
    stco = _full_box(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset))
    return _box(b"stbl", stsd, _stts(track, len(samples)), stss, stsc, stsz, stco)


def _stts(track: Track, sample_count: int) -> bytes:
    """Decoding times: one frame period each; the last sample absorbs any rounding of `seconds`."""
    last = track.duration - track.frame_ticks * (sample_count - 1)
    entries = [(sample_count - 1, track.frame_ticks), (1, last)]
    if last == track.frame_ticks:
        entries = [(sample_count, last)]
    body = b"".join(struct.pack(">II", count, ticks) for count, ticks in entries if count)
    return _full_box(b"stts", 0, 0, struct.pack(">I", len(body) // 8), body)


def _avc1(track: Track) -> bytes:
    """AVCSampleEntry: a VisualSampleEntry with the AVCDecoderConfigurationRecord (avcC)."""
    visual = struct.pack(
        ">6xH2x2x12xHHIIIH32sHh",
        1,  # data_reference_index
        track.width,
        track.height,
        0x480000,  # horizresolution 72 dpi
        0x480000,  # vertresolution 72 dpi
        0,  # reserved
        1,  # frame_count
        b"",  # compressorname
        0x18,  # depth
        -1,  # pre_defined
    )
    avcc = _box(
        b"avcC",
        bytes([1, *track.sps[1:4], 0xFC | 3, 0xE0 | 1]),  # version, profile, compat, level, sizes
        struct.pack(">H", len(track.sps)),
        track.sps,
        bytes([1]),  # numOfPictureParameterSets
        struct.pack(">H", len(track.pps)),
        track.pps,
    )
    return _box(b"avc1", visual, avcc)
