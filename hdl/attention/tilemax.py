"""Tile maximum of one query row: the running max of the masked logits, one per x bank.

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
Parameters: ``row`` (this row's index in the block), ``banks`` (the engine's x banks), ``cfg``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv


@block
def attn_tilemax(clk, en, col, wbank, diag, nk, x, rbank, mt, row, banks, cfg):
    LB, F = cfg.logit_bits, cfg.score_frac_bits
    lo = -(2 ** (LB - 1))
    xm = [Signal(intbv(lo, min=lo, max=-lo)) for _ in range(banks)]

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
            if col == 0 or v > xm[wbank]:
                xm[wbank].next = v

    @always_comb
    def out():
        mt.next = (xm[rbank] + (2 ** F - 1)) >> F

    return update, out
