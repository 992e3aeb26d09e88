"""Logit constant of a tile in the attention engine (hdl/attention/engine.py): the product of the
row's Q scale code and the tile's K scale code as a multiplier and a shift.

``mult = round(q_mant * k_mant / 2**DROP)`` (``logit_mult_bits`` bits, ``DROP = 2 *
SCALE_MANT_BITS - logit_mult_bits``) and the exponent ``-(q_exp + k_exp + DROP + F)`` as a right
shift ``rsh`` (clamped to ``PWL``) or a left shift ``lsh`` (clamped to ``logit_bits``), the
constants of hdl/attention/logit.py.  Registered: the outputs follow the codes one cycle later.

Ports (``clk`` rising edge)
    q_mant, k_mant [SCALE_MANT_BITS]; q_exp, k_exp [EXP_BITS signed]   the scale codes
    mult [logit_mult_bits] (out); lsh [0..logit_bits], rsh [0..PWL] (out)
Parameters: ``pwl`` (the product width of the logit, ``widths(cfg)["PWL"]``), ``exp_bits``,
``cfg``.
"""

from __future__ import annotations

from myhdl import always, block, intbv

from hdl.numerics import SCALE_MANT_BITS


@block
def attn_tile_scale(clk, q_mant, q_exp, k_mant, k_exp, mult, lsh, rsh, pwl, exp_bits, cfg):
    LB, MB, F = cfg.logit_bits, cfg.logit_mult_bits, cfg.score_frac_bits
    DROP = 2 * SCALE_MANT_BITS - MB

    @always(clk.posedge)
    def scale():
        prod = intbv(0)[2 * SCALE_MANT_BITS + 1:]
        shift = intbv(0, min=-2 ** (exp_bits + 3), max=2 ** (exp_bits + 3))
        prod[:] = q_mant * k_mant
        if DROP > 0:
            mult.next = (prod + (1 << (DROP - 1))) >> DROP
        else:
            mult.next = prod
        shift[:] = -(q_exp + k_exp + DROP + F)
        if shift > pwl:
            rsh.next = pwl
        elif shift > 0:
            rsh.next = shift
        else:
            rsh.next = 0
        if shift < -LB:
            lsh.next = LB
        elif shift < 0:
            lsh.next = -shift
        else:
            lsh.next = 0

    return scale
