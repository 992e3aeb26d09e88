"""Tile maximum of one query row: the running max of the masked logits, two banks.

Column ``col`` of a tile is valid for row ``row`` when ``col < nk`` (keys past the
sequence end are masked) and, in a diagonal tile, ``col <= row`` (causal mask).  A masked
logit counts as the most negative logit.  Column 0 restarts the bank's maximum.  The
output is ``m_t = ceil(xmax / 2**F)`` (integer, log2 units) of the bank ``rbank``.

Ports (synchronous to ``clk``)
    en          update bank ``wbank`` with logit ``x`` of column ``col``
    col, wbank, diag, nk   column index, bank, diagonal flag, valid key count (1..B)
    x           signed ``logit_bits`` logit
    rbank       bank read on ``mt``
    mt          signed ``max_bits`` tile max of bank ``rbank`` (combinational)
Parameters: ``row`` (this row's index in the block), ``cfg``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv


@block
def attn_tilemax(clk, en, col, wbank, diag, nk, x, rbank, mt, row, cfg):
    LB, F = cfg.logit_bits, cfg.score_frac_bits
    lo = -(2 ** (LB - 1))
    xm0 = Signal(intbv(lo, min=lo, max=-lo))
    xm1 = Signal(intbv(lo, min=lo, max=-lo))

    # The last row sees every column of a diagonal tile (a "col <= B-1" compare would be
    # constant, which lint rejects), so its causal test is dropped at elaboration.
    rowlim = row if row < cfg.block - 1 else cfg.block
    causal = row < cfg.block - 1

    @always(clk.posedge)
    def update():
        v = intbv(0, min=lo, max=-lo)
        if en:
            v[:] = lo
            if col < nk and (not causal or not diag or col <= rowlim):
                v[:] = x
            if wbank:
                if col == 0 or v > xm1:
                    xm1.next = v
            else:
                if col == 0 or v > xm0:
                    xm0.next = v

    @always_comb
    def out():
        if rbank:
            mt.next = (xm1 + (2 ** F - 1)) >> F
        else:
            mt.next = (xm0 + (2 ** F - 1)) >> F

    return update, out
