"""Render a tiny, real, playable H.264 MP4 of a solid grey picture in pure Python."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from math import isqrt

# H.264 nal_unit_type values (Table 7-1).
_NAL_NON_IDR_SLICE = 1
_NAL_IDR_SLICE = 5
_NAL_SPS = 7
_NAL_PPS = 8

_PROFILE_BASELINE = 66
_LOG2_MAX_FRAME_NUM = 4  # frame_num wraps at MaxFrameNum = 16
_SLICE_TYPE_P = 5  # 5..9 mean "every slice of this picture has this type"
_SLICE_TYPE_I = 7
# One Intra16x16 macroblock of a flat picture, as CAVLC bits:
#   mb_type ue(3) = I_16x16_2_0_0 (DC prediction, no chroma or luma AC coded)   "00100"
#   intra_chroma_pred_mode ue(0) = DC                                            "1"
#   mb_qp_delta se(0)                                                            "1"
#   Intra16x16DCLevel coeff_token, TotalCoeff 0 TrailingOnes 0, 0 <= nC < 2      "1"
# With no coefficients every sample predicts to 1 << (BitDepth - 1) = 128: mid grey.
_GREY_I16X16_MACROBLOCK = "00100111"

# (level_idc, MaxMBPS, MaxFS) from H.264 Table A-1, smallest first.
_LEVELS = (
    (10, 1485, 99),
    (11, 3000, 396),
    (12, 6000, 396),
    (13, 11880, 396),
    (20, 11880, 396),
    (21, 19800, 792),
    (22, 20250, 1620),
    (30, 40500, 1620),
    (31, 108000, 3600),
    (32, 216000, 5120),
    (40, 245760, 8192),
    (42, 522240, 8704),
    (50, 589824, 22080),
    (51, 983040, 36864),
    (52, 2073600, 36864),
    (60, 4177920, 139264),
    (61, 8355840, 139264),
    (62, 16711680, 139264),
)

_TICKS_PER_FRAME = 1000  # MP4 timescale = fps * 1000
_UNITY_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def render_mp4(width: int, height: int, seconds: float, fps: int = 30) -> bytes:
    """Return the bytes of an MP4 (H.264 video track only, no audio) of a solid grey picture."""
    _check_arguments(width, height, seconds, fps)
    geometry = _Geometry.for_size(width, height)
    sps = _nal(3, _NAL_SPS, _sps_rbsp(geometry, fps))
    pps = _nal(3, _NAL_PPS, _pps_rbsp())
    frame_count = max(1, round(seconds * fps))
    samples = [_idr_slice(geometry)]
    p_slices = [_p_slice(geometry, n) for n in range(1 << _LOG2_MAX_FRAME_NUM)]
    samples += [p_slices[i % len(p_slices)] for i in range(1, frame_count)]
    timescale = fps * _TICKS_PER_FRAME
    duration = max(1, round(seconds * timescale))
    track = _Track(width, height, timescale, _TICKS_PER_FRAME, duration, sps, pps)
    return _mp4_file(track, [_length_prefixed(sample) for sample in samples])


def _check_arguments(width: int, height: int, seconds: float, fps: int) -> None:
    """Reject sizes this encoder cannot crop exactly, and rates or durations it cannot store."""
    for name, side in (("width", width), ("height", height)):
        if side < 16 or side % 2:
            raise ValueError(f"{name} must be an even number >= 16, got {side}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    longest = (2**32 - 1) // (fps * _TICKS_PER_FRAME)  # version 0 mvhd/tkhd/mdhd durations
    if not 0 < seconds <= longest:
        raise ValueError(f"seconds must be positive and at most {longest}, got {seconds}")


# --- H.264 bitstream -------------------------------------------------------------------------


class _BitWriter:
    """Collects syntax elements as a string of '0'/'1' characters, then packs them into an RBSP."""

    def __init__(self) -> None:
        self._bits: list[str] = []

    def u(self, bits: int, value: int) -> None:
        """Fixed-length unsigned integer, u(n)."""
        self._bits.append(format(value, f"0{bits}b"))

    def flag(self, value: bool) -> None:
        """One-bit flag, u(1)."""
        self._bits.append("1" if value else "0")

    def ue(self, value: int) -> None:
        """Unsigned Exp-Golomb code, ue(v): leading zeros, then value + 1 in binary."""
        code = format(value + 1, "b")
        self._bits.append("0" * (len(code) - 1) + code)

    def se(self, value: int) -> None:
        """Signed Exp-Golomb code, se(v): 1, -1, 2, -2, ... map to codeNum 1, 2, 3, 4, ..."""
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def raw(self, bits: str) -> None:
        """Bits already spelled out as '0'/'1' characters."""
        self._bits.append(bits)

    def rbsp(self) -> bytes:
        """Append rbsp_trailing_bits (a stop bit, then zeros to a byte boundary) and pack."""
        bits = "".join(self._bits) + "1"
        bits += "0" * (-len(bits) % 8)
        return int(bits, 2).to_bytes(len(bits) // 8, "big")


@dataclass(frozen=True)
class _Geometry:
    """The coded picture in macroblocks, and the frame cropping that restores the real size."""

    width_mbs: int
    height_mbs: int
    crop_right: int  # in CropUnitX = 2 luma samples (4:2:0)
    crop_bottom: int  # in CropUnitY = 2 luma samples (4:2:0, frame_mbs_only_flag = 1)

    @classmethod
    def for_size(cls, width: int, height: int) -> _Geometry:
        width_mbs, height_mbs = -(-width // 16), -(-height // 16)
        return cls(
            width_mbs=width_mbs,
            height_mbs=height_mbs,
            crop_right=(width_mbs * 16 - width) // 2,
            crop_bottom=(height_mbs * 16 - height) // 2,
        )

    @property
    def macroblocks(self) -> int:
        return self.width_mbs * self.height_mbs


def _level_idc(geometry: _Geometry, fps: int) -> int:
    """The smallest level whose frame size, macroblock rate and frame sides fit (A.3.1)."""
    frame = geometry.macroblocks
    for level, max_mbps, max_fs in _LEVELS:
        max_side = isqrt(8 * max_fs)
        fits_side = max(geometry.width_mbs, geometry.height_mbs) <= max_side
        if frame <= max_fs and frame * fps <= max_mbps and fits_side:
            return level
    return _LEVELS[-1][0]


def _sps_rbsp(geometry: _Geometry, fps: int) -> bytes:
    """seq_parameter_set_rbsp() for Constrained Baseline, 4:2:0, progressive, one reference."""
    w = _BitWriter()
    w.u(8, _PROFILE_BASELINE)  # profile_idc
    w.raw("11000000")  # constraint_set0_flag, constraint_set1_flag (constrained), others, reserved
    w.u(8, _level_idc(geometry, fps))  # level_idc
    w.ue(0)  # seq_parameter_set_id
    w.ue(_LOG2_MAX_FRAME_NUM - 4)  # log2_max_frame_num_minus4
    w.ue(2)  # pic_order_cnt_type: output order is decoding order
    w.ue(1)  # max_num_ref_frames
    w.flag(False)  # gaps_in_frame_num_value_allowed_flag
    w.ue(geometry.width_mbs - 1)  # pic_width_in_mbs_minus1
    w.ue(geometry.height_mbs - 1)  # pic_height_in_map_units_minus1
    w.flag(True)  # frame_mbs_only_flag
    w.flag(True)  # direct_8x8_inference_flag
    cropping = bool(geometry.crop_right or geometry.crop_bottom)
    w.flag(cropping)  # frame_cropping_flag
    if cropping:
        w.ue(0)  # frame_crop_left_offset
        w.ue(geometry.crop_right)  # frame_crop_right_offset
        w.ue(0)  # frame_crop_top_offset
        w.ue(geometry.crop_bottom)  # frame_crop_bottom_offset
    w.flag(True)  # vui_parameters_present_flag
    _write_vui(w, fps)
    return w.rbsp()


def _write_vui(w: _BitWriter, fps: int) -> None:
    """vui_parameters(): the frame rate, and a promise of no reordering (no output delay)."""
    w.flag(False)  # aspect_ratio_info_present_flag
    w.flag(False)  # overscan_info_present_flag
    w.flag(False)  # video_signal_type_present_flag
    w.flag(False)  # chroma_loc_info_present_flag
    w.flag(True)  # timing_info_present_flag
    w.u(32, 1)  # num_units_in_tick
    w.u(32, 2 * fps)  # time_scale: two ticks (fields) per frame
    w.flag(True)  # fixed_frame_rate_flag
    w.flag(False)  # nal_hrd_parameters_present_flag
    w.flag(False)  # vcl_hrd_parameters_present_flag
    w.flag(False)  # pic_struct_present_flag
    w.flag(True)  # bitstream_restriction_flag
    w.flag(True)  # motion_vectors_over_pic_boundaries_flag
    w.ue(0)  # max_bytes_per_pic_denom: no limit
    w.ue(0)  # max_bits_per_mb_denom: no limit
    w.ue(15)  # log2_max_mv_length_horizontal
    w.ue(15)  # log2_max_mv_length_vertical
    w.ue(0)  # max_num_reorder_frames
    w.ue(1)  # max_dec_frame_buffering


def _pps_rbsp() -> bytes:
    """pic_parameter_set_rbsp(): CAVLC, one slice group, QP 26, default deblocking."""
    w = _BitWriter()
    w.ue(0)  # pic_parameter_set_id
    w.ue(0)  # seq_parameter_set_id
    w.flag(False)  # entropy_coding_mode_flag: CAVLC
    w.flag(False)  # bottom_field_pic_order_in_frame_present_flag
    w.ue(0)  # num_slice_groups_minus1
    w.ue(0)  # num_ref_idx_l0_default_active_minus1
    w.ue(0)  # num_ref_idx_l1_default_active_minus1
    w.flag(False)  # weighted_pred_flag
    w.u(2, 0)  # weighted_bipred_idc
    w.se(0)  # pic_init_qp_minus26
    w.se(0)  # pic_init_qs_minus26
    w.se(0)  # chroma_qp_index_offset
    w.flag(False)  # deblocking_filter_control_present_flag
    w.flag(False)  # constrained_intra_pred_flag
    w.flag(False)  # redundant_pic_cnt_present_flag
    return w.rbsp()


def _idr_slice(geometry: _Geometry) -> bytes:
    """The first picture: one I slice of grey Intra16x16 macroblocks, nal_ref_idc 3."""
    w = _BitWriter()
    w.ue(0)  # first_mb_in_slice
    w.ue(_SLICE_TYPE_I)  # slice_type
    w.ue(0)  # pic_parameter_set_id
    w.u(_LOG2_MAX_FRAME_NUM, 0)  # frame_num: always 0 in an IDR picture
    w.ue(0)  # idr_pic_id: the only IDR picture in the stream
    # pic_order_cnt_type 2: no pic_order_cnt_lsb / delta_pic_order_cnt.
    w.flag(False)  # dec_ref_pic_marking(): no_output_of_prior_pics_flag
    w.flag(False)  # dec_ref_pic_marking(): long_term_reference_flag
    w.se(0)  # slice_qp_delta
    w.raw(_GREY_I16X16_MACROBLOCK * geometry.macroblocks)  # slice_data()
    return _nal(3, _NAL_IDR_SLICE, w.rbsp())


def _p_slice(geometry: _Geometry, frame_num: int) -> bytes:
    """A later picture: one P slice whose macroblocks are all P_Skip (a copy of the last one)."""
    w = _BitWriter()
    w.ue(0)  # first_mb_in_slice
    w.ue(_SLICE_TYPE_P)  # slice_type
    w.ue(0)  # pic_parameter_set_id
    w.u(_LOG2_MAX_FRAME_NUM, frame_num)  # frame_num: previous reference + 1, mod MaxFrameNum
    w.flag(False)  # num_ref_idx_active_override_flag
    w.flag(False)  # ref_pic_list_modification_flag_l0
    w.flag(False)  # dec_ref_pic_marking(): adaptive_ref_pic_marking_mode_flag (sliding window)
    w.se(0)  # slice_qp_delta
    w.ue(geometry.macroblocks)  # slice_data(): mb_skip_run covering the whole picture
    return _nal(2, _NAL_NON_IDR_SLICE, w.rbsp())


def _nal(nal_ref_idc: int, nal_unit_type: int, rbsp: bytes) -> bytes:
    """nal_unit(): the header byte, then the RBSP with emulation prevention bytes inserted."""
    return bytes([nal_ref_idc << 5 | nal_unit_type]) + _escape(rbsp)


def _escape(rbsp: bytes) -> bytes:
    """Insert emulation_prevention_three_byte after any 0x0000 that precedes a byte <= 0x03."""
    if b"\x00\x00" not in rbsp:
        return rbsp
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _length_prefixed(nal: bytes) -> bytes:
    """One MP4 sample: the NAL unit behind a 4-byte length (avcC lengthSizeMinusOne = 3)."""
    return struct.pack(">I", len(nal)) + nal


# --- ISO-BMFF container ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Track:
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


def _mp4_file(track: _Track, samples: list[bytes]) -> bytes:
    """ftyp, then moov (fast start), then mdat holding every sample in one chunk."""
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")
    # stco's chunk_offset has a fixed width, so the moov size does not depend on its value.
    moov_size = len(_moov(track, samples, chunk_offset=0))
    chunk_offset = len(ftyp) + moov_size + 8  # + the mdat box header
    moov = _moov(track, samples, chunk_offset)
    return ftyp + moov + _box(b"mdat", *samples)


def _moov(track: _Track, samples: list[bytes], chunk_offset: int) -> bytes:
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


def _tkhd(track: _Track) -> bytes:
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


def _mdia(track: _Track, samples: list[bytes], chunk_offset: int) -> bytes:
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


def _stbl(track: _Track, samples: list[bytes], chunk_offset: int) -> bytes:
    """Sample table: one sync sample (the IDR), every sample in a single chunk."""
    stsd = _full_box(b"stsd", 0, 0, struct.pack(">I", 1), _avc1(track))
    stss = _full_box(b"stss", 0, 0, struct.pack(">II", 1, 1))  # entry_count, sample_number
    stsc = _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, len(samples), 1))
    sizes = struct.pack(f">{len(samples)}I", *map(len, samples))
    stsz = _full_box(b"stsz", 0, 0, struct.pack(">II", 0, len(samples)), sizes)
    stco = _full_box(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset))
    return _box(b"stbl", stsd, _stts(track, len(samples)), stss, stsc, stsz, stco)


def _stts(track: _Track, sample_count: int) -> bytes:
    """Decoding times: one frame period each; the last sample absorbs any rounding of `seconds`."""
    last = track.duration - track.frame_ticks * (sample_count - 1)
    entries = [(sample_count - 1, track.frame_ticks), (1, last)]
    if last == track.frame_ticks:
        entries = [(sample_count, last)]
    body = b"".join(struct.pack(">II", count, ticks) for count, ticks in entries if count)
    return _full_box(b"stts", 0, 0, struct.pack(">I", len(body) // 8), body)


def _avc1(track: _Track) -> bytes:
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
