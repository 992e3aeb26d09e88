"""exp2 unit of one query row: P = exp2_neg(x - m_t * 2**F) through a table and a shifter.

Bit-exact with ``golden.fixedpoint.exp2_neg``: y = m_t*2**F - x >= 0 is rounded (half up)
to ``exp_lut_bits`` fractional bits; its fraction indexes the ROM ``exp2_table``
(``exp_lut_bits`` address bits, ``p_bits`` data bits), its integer part n right-shifts the
entry with round-half-up (n clamped to p_bits + 2, where the result is already 0).
A masked element gives P = 0.  Validity is recomputed here from the tile's mask info.

Ports (synchronous to ``clk``; a two-stage pipeline, no enable)
    x      unsigned bit pattern of the signed ``logit_bits`` logit (stage-0 input)
    mt     signed ``max_bits`` tile max of the same tile, aligned with ``x``
    col, diag, nk   column index and the tile's mask info, aligned with ``x``
    p      unsigned ``p_bits`` probability (combinational after two register stages:
           valid in the second cycle after ``x``)
Parameters: ``row``, ``cfg``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.numerics import exp2_table


@block
def attn_exp2(clk, x, mt, col, diag, nk, p, row, cfg):
    LB, F, TB, PB = cfg.logit_bits, cfg.score_frac_bits, cfg.exp_lut_bits, cfg.p_bits
    table = tuple(int(v) for v in exp2_table(TB, PB))
    YW = LB + 3
    NMAX = PB + 2
    idx = Signal(intbv(0)[TB:])
    n = Signal(intbv(0, min=0, max=NMAX + 1))
    ok = Signal(bool(0))
    ent = Signal(intbv(0)[PB:])

    causal = row < cfg.block - 1        # the last row: no (constant) causal compare
    rowlim = row if causal else cfg.block

    @always(clk.posedge)
    def stage1():
        y = intbv(0, min=-2 ** (YW - 1), max=2 ** (YW - 1))
        yr = intbv(0, min=-2 ** (YW + TB), max=2 ** (YW + TB))
        valid = col < nk and (not causal or not diag or col <= rowlim)
        y[:] = (mt << F) - x.signed()
        if not valid:
            y[:] = 0
        if F > TB:
            yr[:] = (y + (1 << (F - TB - 1))) >> (F - TB)
        else:
            yr[:] = y << (TB - F)
        idx.next = yr & (2 ** TB - 1)
        if (yr >> TB) > NMAX:
            n.next = NMAX
        else:
            n.next = yr >> TB
        ok.next = valid

    @always(clk.posedge)
    def lut():
        ent.next = table[int(idx)]

    # The ROM read is a registered stage (block-RAM friendly); n and ok travel beside it.
    n2 = Signal(intbv(0, min=0, max=NMAX + 1))
    ok2 = Signal(bool(0))

    @always(clk.posedge)
    def delay():
        n2.next = n
        ok2.next = ok

    @always_comb
    def shift():
        v = intbv(0)[PB + 2:]
        v[:] = ent
        if n2 > 0:
            v[:] = (v + (1 << (n2 - 1))) >> n2
        if ok2:
            p.next = v
        else:
            p.next = 0

    return stage1, lut, delay, shift
