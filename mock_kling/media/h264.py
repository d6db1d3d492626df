"""The H.264 bitstream of a solid grey picture: SPS, PPS, and I and P slices as NAL units."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from math import isqrt

# H.264 nal_unit_type values (Table 7-1).
_NAL_NON_IDR_SLICE = 1
_NAL_IDR_SLICE = 5
NAL_SPS = 7
NAL_PPS = 8

_PROFILE_BASELINE = 66
LOG2_MAX_FRAME_NUM = 4  # frame_num wraps at MaxFrameNum = 16
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
class Geometry:
    """The coded picture in macroblocks, and the frame cropping that restores the real size."""

    width_mbs: int
    height_mbs: int
    crop_right: int  # in CropUnitX = 2 luma samples (4:2:0)
    crop_bottom: int  # in CropUnitY = 2 luma samples (4:2:0, frame_mbs_only_flag = 1)

    @classmethod
    def for_size(cls, width: int, height: int) -> Geometry:
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


def _level_idc(geometry: Geometry, fps: int) -> int:
    """The smallest level whose frame size, macroblock rate and frame sides fit (A.3.1)."""
    frame = geometry.macroblocks
    for level, max_mbps, max_fs in _LEVELS:
        max_side = isqrt(8 * max_fs)
        fits_side = max(geometry.width_mbs, geometry.height_mbs) <= max_side
        if frame <= max_fs and frame * fps <= max_mbps and fits_side:
            return level
    return _LEVELS[-1][0]


def sps_rbsp(geometry: Geometry, fps: int) -> bytes:
    """seq_parameter_set_rbsp() for Constrained Baseline, 4:2:0, progressive, one reference."""
    w = _BitWriter()
    w.u(8, _PROFILE_BASELINE)  # profile_idc
    w.raw("11000000")  # constraint_set0_flag, constraint_set1_flag (constrained), others, reserved
    w.u(8, _level_idc(geometry, fps))  # level_idc
    w.ue(0)  # seq_parameter_set_id
    w.ue(LOG2_MAX_FRAME_NUM - 4)  # log2_max_frame_num_minus4
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


def pps_rbsp() -> bytes:
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


def idr_slice(geometry: Geometry) -> bytes:
    """The first picture: one I slice of grey Intra16x16 macroblocks, nal_ref_idc 3."""
    w = _BitWriter()
    w.ue(0)  # first_mb_in_slice
    w.ue(_SLICE_TYPE_I)  # slice_type
    w.ue(0)  # pic_parameter_set_id
    w.u(LOG2_MAX_FRAME_NUM, 0)  # frame_num: always 0 in an IDR picture
    w.ue(0)  # idr_pic_id: the only IDR picture in the stream
    # pic_order_cnt_type 2: no pic_order_cnt_lsb / delta_pic_order_cnt.
    w.flag(False)  # dec_ref_pic_marking(): no_output_of_prior_pics_flag
    w.flag(False)  # dec_ref_pic_marking(): long_term_reference_flag
    w.se(0)  # slice_qp_delta
    w.raw(_GREY_I16X16_MACROBLOCK * geometry.macroblocks)  # slice_data()
    return nal(3, _NAL_IDR_SLICE, w.rbsp())


def p_slice(geometry: Geometry, frame_num: int) -> bytes:
    """A later picture: one P slice whose macroblocks are all P_Skip (a copy of the last one)."""
    w = _BitWriter()
    w.ue(0)  # first_mb_in_slice
    w.ue(_SLICE_TYPE_P)  # slice_type
    w.ue(0)  # pic_parameter_set_id
    w.u(LOG2_MAX_FRAME_NUM, frame_num)  # frame_num: previous reference + 1, mod MaxFrameNum
    w.flag(False)  # num_ref_idx_active_override_flag
    w.flag(False)  # ref_pic_list_modification_flag_l0
    w.flag(False)  # dec_ref_pic_marking(): adaptive_ref_pic_marking_mode_flag (sliding window)
    w.se(0)  # slice_qp_delta
    w.ue(geometry.macroblocks)  # slice_data(): mb_skip_run covering the whole picture
    return nal(2, _NAL_NON_IDR_SLICE, w.rbsp())


def nal(nal_ref_idc: int, nal_unit_type: int, rbsp: bytes) -> bytes:
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


def length_prefixed(nal: bytes) -> bytes:
    """One MP4 sample: the NAL unit behind a 4-byte length (avcC lengthSizeMinusOne = 3)."""
    return struct.pack(">I", len(nal)) + nal
