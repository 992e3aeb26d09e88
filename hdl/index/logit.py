"""Saturating logit of the index generator: ``scale_logits`` after the multiply.

``logit = clamp(rsr(prod, shift))`` for ``shift >= 0`` (rsr: the round-half-up right shift; a
shift past the product's width gives 0), ``clamp(prod << -shift)`` for a negative shift (a left
shift beyond the logit width saturates anyway), clamped to the signed range of ``logit``
(golden.estimator_fixed.scale_logits).

Ports (combinational)
    prod signed             the product S * mult
    shift signed            the tile's shift (hdl/index/tile_scale.py)
    logit signed            the saturated logit (its width is the logit register's, LB)
"""

from __future__ import annotations

from myhdl import always_comb, block, intbv


@block
def sig_logit(prod, shift, logit):
    prod_bits, logit_bits = len(prod), len(logit)
    wide_bits = prod_bits + logit_bits + 2          # the product after a left shift (absurd scales)
    logit_max, logit_min = (1 << (logit_bits - 1)) - 1, -(1 << (logit_bits - 1))

    @always_comb
    def saturate():
        y = intbv(0, min=-(1 << (wide_bits - 1)), max=1 << (wide_bits - 1))
        if shift >= 0:
            if shift == 0:
                y[:] = prod
            elif shift >= prod_bits:
                y[:] = 0
            else:
                y[:] = ((prod >> (shift - 1)) + 1) >> 1
        else:
            if -shift > logit_bits:
                y[:] = prod << logit_bits
            else:
                y[:] = prod << (-shift)
        if y > logit_max:
            y[:] = logit_max
        elif y < logit_min:
            y[:] = logit_min
        logit.next = y

    return saturate
