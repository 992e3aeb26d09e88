"""Logit scaling of one query row: x = sat(rshift_round(S * mult, shift), logit_bits).

The per-tile constant (``mult``, ``shift``) comes from ``golden.fixedpoint.logit_multiplier``;
the engine splits ``shift`` into a left part ``lsh`` (negative shifts, clamped to
``logit_bits``) and a right part ``rsh`` (clamped to the product width, where every
right shift already gives 0), one of them zero.  A left shift saturates exactly: the
product is shifted in a register wide enough for any ``lsh`` and then saturated, which
equals the golden model's clamp-then-shift.

Ports (all synchronous to ``clk``; no enable: a pure two-stage pipeline)
    s     [score_bits] unsigned bit pattern of the signed score S (stage-0 input)
    mult  multiplier (logit_mult_bits magnitude, a non-negative *signed* signal so that
          the product is a signed multiply), aligned with ``s``
    lsh   left shift, aligned one cycle after ``s`` (with the product)
    rsh   right shift, aligned one cycle after ``s``
    x     signed ``logit_bits`` logit, two cycles after ``s``
Parameters: ``cfg`` (AcceleratorConfig).
"""

from __future__ import annotations

from myhdl import Signal, always, block, intbv

from hdl.numerics import score_bits


@block
def attn_logit(clk, s, mult, lsh, rsh, x, cfg):
    SW = score_bits(cfg.head_dim)
    PW = SW + cfg.logit_mult_bits + 1
    LB = cfg.logit_bits
    WW = PW + LB + 2
    hi, lo = 2 ** (LB - 1) - 1, -(2 ** (LB - 1))
    prod = Signal(intbv(0, min=-2 ** (PW - 1), max=2 ** (PW - 1)))

    @always(clk.posedge)
    def stage1():
        prod.next = s.signed() * mult

    @always(clk.posedge)
    def stage2():
        v = intbv(0, min=-2 ** (WW - 1), max=2 ** (WW - 1))
        v[:] = prod << lsh
        if rsh > 0:
            v[:] = (v + (1 << (rsh - 1))) >> rsh
        if v > hi:
            x.next = hi
        elif v < lo:
            x.next = lo
        else:
            x.next = v

    return stage1, stage2
