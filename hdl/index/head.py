"""One query head of the index generator: B query rows, the tile reductions and v / d memories.

The head's ``Q_last`` sits in its own MPU (hdl/index/sig.py); this block receives its score column
each cycle and turns it into the head's vertical and slash scores (golden.estimator_fixed):

* the tile's logit multiplier ``mult = rsr(mant_q * mant_k, 2*16 - MB)`` and shift
  ``-(exp_q + exp_k + drop + F)`` from the head's Q scale code and the tile's K code
  (hdl/index/tile_scale.py);
* B rows (hdl/index/row.py): pass-1 row statistics, pass-2 partial sums per row;
* after each pass-2 tile c: ``v[c] = sum_rows (hi + lo)``; ``d[nb-1-c] = sum hi(c) + sum lo(c-1)``
  (a tile's lo mass lands on the offset that the next tile's hi mass starts, so every d entry is
  written once, no read-modify-write); the diagonal tile's lo is zero by causality.

Memories: v and d, ``max_seq_len / B`` words of ``score_acc`` bits each (O(nb) per head).

Ports
    s_bus [SW*B]          the head's MPU score column (row i at bits [SW*(i+1)-1 : SW*i])
    kcode [32]            the K scale code of the column's tile: mant [15:0], exp [31:16] signed
    qc_we, qc_head, qc_data [32]   write this head's Q scale code (when qc_head == head)
    bq, nb                rows of Q_last; blocks of the sequence
    c2_* dr_* e_* p_* div_start   row control (hdl/index/row.py, from hdl/index/columns.py)
    hl_v, hl_c            the rows' hi / lo of pass-2 tile hl_c are valid: write v / d
    rd_row -> rd_m, rd_l  row statistics of row rd_row (m as a signed bit pattern)
    rd_blk -> rd_v, rd_d  scores v[rd_blk], d[rd_blk]
    wv_val, wd_val [ACC]  the v / d values written while hl_v (to the selection sorters)
Parameters: ``head``, ``cfg``.
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv

from hdl.index.params import sig_widths
from hdl.index.row import sig_row
from hdl.index.tile_scale import sig_tile_scale


def _s(bits: int, signed: bool = False) -> Signal:
    if signed:
        return Signal(intbv(0, min=-(1 << (bits - 1)), max=1 << (bits - 1)))
    return Signal(intbv(0)[bits:])


@block
def sig_head(clk, rst, s_bus, kcode, qc_we, qc_head, qc_data, bq, nb,
             c2_v, c2_j, c2_diag, c2_first, c2_last, c2_bank, c2_pass2,
             dr_k, dr_bank, e_col, e_diag, e_src, e_bank,
             p_v, p_col, p_first, p_last, p_pass2, p_bank, p_tile0, div_start,
             hl_v, hl_c, rd_row, rd_m, rd_l, rd_blk, rd_v, rd_d, wv_val, wd_val, head, cfg):
    w = sig_widths(cfg)
    B, score_bits, max_bits, row_sum_bits = w["B"], w["SW"], w["MX"], w["RS"]
    part_bits, acc_bits = w["PT"], w["ACC"]
    sum_bits = part_bits + (B - 1).bit_length() + 1     # a sum of B partial sums
    part_mask = (1 << part_bits) - 1

    qcode = _s(32)
    mult = _s(w["MB"] + 1, True)   # signed (always >= 0) so that S * mult is a signed product
    shf = _s(w["SHW"], True)
    ms = [_s(max_bits, True) for _ in range(B)]
    ls = [_s(row_sum_bits) for _ in range(B)]
    his = [_s(part_bits) for _ in range(B)]
    los = [_s(part_bits) for _ in range(B)]
    scores = [s_bus(score_bits * (i + 1), score_bits * i) for i in range(B)]
    mcat = ConcatSignal(*reversed(ms)) if B > 1 else ms[0]
    lcat = ConcatSignal(*reversed(ls)) if B > 1 else ls[0]
    hcat = ConcatSignal(*reversed(his)) if B > 1 else his[0]
    locat = ConcatSignal(*reversed(los)) if B > 1 else los[0]
    hsum, lsum = _s(sum_bits), _s(sum_bits)
    lcarry = _s(sum_bits)
    vmem = [Signal(intbv(0)[acc_bits:]) for _ in range(w["NBMAX"])]
    dmem = [Signal(intbv(0)[acc_bits:]) for _ in range(w["NBMAX"])]

    insts = [sig_tile_scale(qcode, kcode, mult, shf, cfg=cfg)]
    for i in range(B):
        insts.append(sig_row(clk, rst, scores[i], mult, shf, bq,
                             c2_v, c2_j, c2_diag, c2_first, c2_last, c2_bank, c2_pass2,
                             dr_k, dr_bank, e_col, e_diag, e_src, e_bank,
                             p_v, p_col, p_first, p_last, p_pass2, p_bank, p_tile0,
                             div_start, ms[i], ls[i], his[i], los[i], row=i, cfg=cfg))

    @always(clk.posedge)
    def qreg():
        if qc_we and qc_head == head:
            qcode.next = qc_data

    @always_comb
    def reduce():
        hs = intbv(0)[sum_bits:]
        lw = intbv(0)[sum_bits:]
        for i in range(B):
            hs[:] = hs + ((hcat >> (part_bits * i)) & part_mask)
            lw[:] = lw + ((locat >> (part_bits * i)) & part_mask)
        hsum.next = hs
        lsum.next = lw

    @always_comb
    def wvals():
        wv_val.next = hsum + lsum
        if hl_c == 0:
            wd_val.next = hsum
        else:
            wd_val.next = hsum + lcarry

    @always(clk.posedge)
    def write():
        if hl_v:
            vmem[hl_c].next = wv_val
            dmem[nb - 1 - hl_c].next = wd_val
            lcarry.next = lsum

    @always_comb
    def readback():
        rd_m.next = (mcat >> (max_bits * rd_row)) & ((1 << max_bits) - 1)
        rd_l.next = (lcat >> (row_sum_bits * rd_row)) & ((1 << row_sum_bits) - 1)
        rd_v.next = vmem[rd_blk]
        rd_d.next = dmem[rd_blk]

    return insts, qreg, reduce, wvals, write, readback
