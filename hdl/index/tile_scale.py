"""Logit multiplier and shift of a tile from its two scale codes (golden.estimator_fixed).

A scale code holds mant [15:0] and a signed exp [31:16] (golden.quant codes).  The tile's logits
are ``scale_logits(S, mult, shift)`` with ``mult = rsr(mant_q * mant_k, 32 - MB)`` (rsr: the
round-half-up right shift) and ``shift = -(exp_q + exp_k + (32 - MB) + F) + extra_shift``.

Ports (combinational)
    qcode, kcode [32]       the Q and K scale codes
    mult [MB+1] signed      the multiplier (always >= 0; signed so that S * mult is signed)
    shift signed            the shift (wide enough for the exponents' range)
Parameters: ``cfg``; ``extra_shift`` (the pooled estimate's means carry ``2 * pool_bits`` more
fraction bits, so its shift is that much larger).
"""

from __future__ import annotations

from myhdl import always_comb, block, intbv

from hdl.index.params import sig_widths


@block
def sig_tile_scale(qcode, kcode, mult, shift, cfg, extra_shift=0):
    w = sig_widths(cfg)
    frac_bits = w["F"]
    drop = 32 - w["MB"]                   # the product bits below the multiplier

    @always_comb
    def scale():
        qm = intbv(0)[16:]
        km = intbv(0)[16:]
        qe = intbv(0, min=-(1 << 15), max=1 << 15)
        ke = intbv(0, min=-(1 << 15), max=1 << 15)
        pr = intbv(0)[33:]
        qm[:] = qcode[16:0]
        km[:] = kcode[16:0]
        qe[:] = qcode[32:16].signed()
        ke[:] = kcode[32:16].signed()
        pr[:] = qm * km
        mult.next = ((pr >> (drop - 1)) + 1) >> 1
        shift.next = -(qe + ke + drop + frac_bits) + extra_shift

    return scale
