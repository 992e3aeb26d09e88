"""One MPU row's reduction and accumulation stage (stage 2), shared by DSP and LUT rows.

* QK: on ``qk_load`` the row's ``head_dim`` products are summed into ``score``.
* PV: on ``pv_acc`` the products are added to the row's accumulators; if the
  beat is the tile's last (``pv_last``) the final sums go to the drain
  register ``drain`` instead and the accumulators restart from zero
  (double buffering: the next tile accumulates while this one drains).
* Drain: ``drain`` (``head_dim`` signed ``tile_bits`` elements packed, element d
  at bits [TW*(d+1)-1 : TW*d]) shifts one row up on ``t_shift``: it takes
  ``drain_next`` (the next row's drain register; zero for the last row).

Ports (all synchronous to ``clk``)
    clk, rst        clock, synchronous active-high reset (clears the accumulators)
    qk_load, pv_acc, pv_last, t_shift   strobes from the MPU control
    prod            list of ``head_dim`` signed products (stage 1)
    drain_next      next row's drain register, or None for the last row
    drain           this row's drain register (output)
    score           this row's QK score, signed ``score_bits(head_dim)`` (output)
Parameters
    head_dim, tile_width (TW), score_width
"""

from __future__ import annotations

from myhdl import Signal, always, block, intbv


@block
def mpu_row(clk, rst, qk_load, pv_acc, pv_last, t_shift, prod, drain_next, drain, score,
            head_dim, tile_width, score_width):
    D = head_dim
    acc = [Signal(intbv(0, min=-2 ** (tile_width - 1), max=2 ** (tile_width - 1))) for _ in range(D)]

    @always(clk.posedge)
    def accumulate():
        if rst:
            for d in range(D):
                acc[d].next = 0
        elif pv_acc:
            if pv_last:
                for d in range(D):
                    acc[d].next = 0
            else:
                for d in range(D):
                    acc[d].next = acc[d] + prod[d]

    @always(clk.posedge)
    def reduce():
        s = intbv(0, min=-2 ** (score_width - 1), max=2 ** (score_width - 1))
        if qk_load:
            s[:] = 0
            for d in range(D):
                s[:] = s + prod[d]
            score.next = s

    # the last row shifts in zeros
    shift_in = 0 if drain_next is None else drain_next

    @always(clk.posedge)
    def drain_reg():
        v = intbv(0)[D * tile_width:]
        e = intbv(0, min=-2 ** (tile_width - 1), max=2 ** (tile_width - 1))
        if pv_acc and pv_last:
            v[:] = 0
            for d in range(D):
                e[:] = acc[d] + prod[d]
                v[:] = (v >> tile_width) | (e[tile_width:] << (D * tile_width - tile_width))
            drain.next = v
        elif t_shift:
            drain.next = shift_in

    return accumulate, reduce, drain_reg
