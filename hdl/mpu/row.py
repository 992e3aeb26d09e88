"""One MPU row's reduction (stage 2), shared by DSP and LUT rows: both modes are row sums.

The row's ``head_dim`` products are summed in groups of ``G = min(B, D)`` consecutive columns
(hdl/mpu/layout.py), each group with the count of its borrows (the high row of a packed DSP
pair hands its low half's borrows here, one add per group instead of one per product).

* QK: on ``qk_load`` the sum of the groups goes to ``score``.
* PV: on ``pv_load`` the group sums go to ``part`` (the row's share of one tile row; group k
  at bits [TW*(k+1)-1 : TW*k]).

A LUT row (``lut_bias`` > 0, hdl/mpu/pe_lut.py) hands biased unsigned products and each
column's top-digit +1 (``borrow``, weight ``NEG_WEIGHT``): its group sum starts at
``-G * lut_bias`` and adds the count of those bits times their weight.

Ports (all synchronous to ``clk``)
    qk_load, pv_load    strobes from the MPU control
    prod                list of ``head_dim`` signed products (stage 1)
    borrow              list of ``head_dim`` 1-bit borrows (stage 1), or None
    score               signed ``score_width`` (output)
    part                ``groups * tile_width`` bits (output)
Parameters
    block, tile_width, score_width, p_bits
    lut_bias        0 for a DSP row; a LUT row's per-product bias (pe_lut.lut_bias)
"""

from __future__ import annotations

from myhdl import Signal, always, block, intbv

from hdl.mpu.layout import group_size, groups
from hdl.mpu.pe_lut import NEG_WEIGHT, lut_product_bits
from hdl.numerics import product_range, signed_bits


def group_bits(block: int, head_dim: int, p_bits: int) -> int:
    """Signed width of a group sum in either mode, borrows not yet added."""
    g = group_size(block, head_dim)
    lo, hi = product_range(p_bits)
    return signed_bits(g * lo - g, g * hi)


@block
def mpu_row(clk, qk_load, pv_load, prod, borrow, score, part, block, tile_width, score_width,
            p_bits, lut_bias=0):
    D = len(prod)
    G, NG = group_size(block, D), groups(block, D)
    if len(part) != NG * tile_width:
        raise ValueError(f"mpu_row: part must have {NG * tile_width} bits, got {len(part)}")
    TW = tile_width
    GW = max(group_bits(block, D, p_bits), tile_width)
    CW = G.bit_length()

    @always(clk.posedge)
    def reduce():
        grp_sum = intbv(0, min=-2 ** (GW - 1), max=2 ** (GW - 1))
        grp_borrows = intbv(0, min=0, max=2 ** CW)
        row_score = intbv(0, min=-2 ** (score_width - 1), max=2 ** (score_width - 1))
        row_parts = intbv(0)[NG * TW:]
        if qk_load or pv_load:
            row_score[:] = 0
            for k in range(NG):
                grp_sum[:] = 0
                grp_borrows[:] = 0
                for c in range(k * G, (k + 1) * G):
                    grp_sum[:] = grp_sum + prod[c]
                    grp_borrows[:] = grp_borrows + borrows[c]
                grp_sum[:] = grp_sum + grp_borrows
                if pv_load:
                    row_parts[:] = (row_parts >> TW) | (grp_sum[TW:] << ((NG - 1) * TW))
                else:
                    row_score[:] = row_score + grp_sum
            if qk_load:
                score.next = row_score
            else:
                part.next = row_parts

    @always(clk.posedge)
    def reduce_unpacked():
        grp_sum = intbv(0, min=-2 ** (GW - 1), max=2 ** (GW - 1))
        row_score = intbv(0, min=-2 ** (score_width - 1), max=2 ** (score_width - 1))
        row_parts = intbv(0)[NG * TW:]
        if qk_load or pv_load:
            row_score[:] = 0
            for k in range(NG):
                grp_sum[:] = 0
                for c in range(k * G, (k + 1) * G):
                    grp_sum[:] = grp_sum + prod[c]
                if pv_load:
                    row_parts[:] = (row_parts >> TW) | (grp_sum[TW:] << ((NG - 1) * TW))
                else:
                    row_score[:] = row_score + grp_sum
            if qk_load:
                score.next = row_score
            else:
                part.next = row_parts

    # a LUT row's group sum: from -G * bias up to G * 2**pw (biased products) plus the +1s
    base = -G * lut_bias
    acc_max = G * 2 ** lut_product_bits(p_bits) + NEG_WEIGHT * G + 1
    acc_min = min(base, -2 ** (GW - 1))
    NEG_SHIFT = NEG_WEIGHT.bit_length() - 1

    @always(clk.posedge)
    def reduce_lut():
        acc = intbv(0, min=acc_min, max=acc_max)
        grp_sum = intbv(0, min=-2 ** (GW - 1), max=2 ** (GW - 1))
        grp_negs = intbv(0, min=0, max=2 ** CW)
        row_score = intbv(0, min=-2 ** (score_width - 1), max=2 ** (score_width - 1))
        row_parts = intbv(0)[NG * TW:]
        if qk_load or pv_load:
            row_score[:] = 0
            for k in range(NG):
                acc[:] = base
                grp_negs[:] = 0
                for c in range(k * G, (k + 1) * G):
                    acc[:] = acc + prod[c]
                    grp_negs[:] = grp_negs + borrows[c]
                grp_sum[:] = acc + (grp_negs << NEG_SHIFT)
                if pv_load:
                    row_parts[:] = (row_parts >> TW) | (grp_sum[TW:] << ((NG - 1) * TW))
                else:
                    row_score[:] = row_score + grp_sum
            if qk_load:
                score.next = row_score
            else:
                part.next = row_parts

    if lut_bias:
        if borrow is None:
            raise ValueError("mpu_row: a LUT row needs its top-digit bits (borrow)")
        borrows = borrow
        return reduce_lut
    if borrow is None:
        return reduce_unpacked
    borrows = borrow
    return reduce
