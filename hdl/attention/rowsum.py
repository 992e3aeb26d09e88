"""Row statistics of one query row for the two P banks: the tile row sum s and the tile max.

``s = sum_j P[row, j]`` accumulates while the softmax sweep writes P columns (column 0
restarts it); the tile max ``m_t`` is latched once per tile.  Both stay in their bank
until the tile's PV result has been merged (the engine frees the bank then).

Ports (synchronous to ``clk``)
    add, first, wbank, p     add ``p`` (unsigned ``p_bits``) to bank ``wbank``; ``first``
                             restarts the sum with ``p``
    mt_we, mt_wbank, mt_in   latch the tile max ``mt_in`` (signed ``max_bits``) into a bank
    rbank                    bank read on the outputs
    s_out                    unsigned ``tile_l_bits`` row sum of bank ``rbank``
    mt_out                   signed ``max_bits`` tile max of bank ``rbank``
Parameters: ``cfg``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv


@block
def attn_rowsum(clk, add, first, wbank, p, mt_we, mt_wbank, mt_in, rbank, s_out, mt_out, cfg):
    TL, MX = cfg.tile_l_bits, cfg.max_bits
    sums = [Signal(intbv(0)[TL:]) for _ in range(2)]
    maxes = [Signal(intbv(0, min=-2 ** (MX - 1), max=2 ** (MX - 1))) for _ in range(2)]

    @always(clk.posedge)
    def acc():
        if add:
            if first:
                sums[wbank].next = p
            else:
                sums[wbank].next = sums[wbank] + p
        if mt_we:
            maxes[mt_wbank].next = mt_in

    @always_comb
    def out():
        s_out.next = sums[rbank]
        mt_out.next = maxes[rbank]

    return acc, out
