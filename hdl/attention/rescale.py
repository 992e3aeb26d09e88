"""Online-softmax merge of one accumulator element: ``acc' = rshift_round(acc, sh_old) +
rshift_round(t, sh_t)`` (the golden ``_merge`` for one element of O, or for l).

``sh_old`` is in [0, rescale_shift_max]: shifts at or beyond the accumulator width give 0,
so the shifter is clamped there.  ``sh_t`` is signed, in [-E, rescale_shift_max - E]: a
negative value is an exact left shift of the tile term (E headroom bits).  On ``first``
(the row's first tile) the old accumulator counts as 0.  Combinational.

Ports
    acc      unsigned bit pattern of the accumulator element (``acc_width`` bits)
    t        unsigned bit pattern of the tile term (``t_width`` bits)
    sh_old   unsigned old-term shift
    sh_t     signed tile-term shift
    first    row's first tile
    out      the merged element (signed when ``signed``, else unsigned), ``acc_width`` bits
Parameters: ``acc_width``, ``t_width``, ``signed`` (O: True, l: False), ``cfg``.
"""

from __future__ import annotations

from myhdl import always_comb, block, intbv


@block
def attn_rescale(acc, t, sh_old, sh_t, first, out, acc_width, t_width, signed, cfg):
    AW, TW, E = acc_width, t_width, cfg.acc_frac_bits
    WW = max(AW, TW + E) + 3

    if signed:
        @always_comb
        def merge():
            a = intbv(0, min=-2 ** (WW - 1), max=2 ** (WW - 1))
            b = intbv(0, min=-2 ** (WW - 1), max=2 ** (WW - 1))
            a[:] = 0
            if not first:
                a[:] = acc.signed()
                if sh_old >= AW:
                    a[:] = 0
                elif sh_old > 0:
                    a[:] = (a + (1 << (sh_old - 1))) >> sh_old
            b[:] = t.signed()
            if sh_t < 0:
                b[:] = b << (-sh_t)
            elif sh_t >= TW:
                b[:] = 0
            elif sh_t > 0:
                b[:] = (b + (1 << (sh_t - 1))) >> sh_t
            out.next = a + b
    else:
        @always_comb
        def merge():
            a = intbv(0, min=-2 ** (WW - 1), max=2 ** (WW - 1))
            b = intbv(0, min=-2 ** (WW - 1), max=2 ** (WW - 1))
            a[:] = 0
            if not first:
                a[:] = acc
                if sh_old >= AW + 1:
                    a[:] = 0
                elif sh_old > 0:
                    a[:] = (a + (1 << (sh_old - 1))) >> sh_old
            b[:] = t
            if sh_t < 0:
                b[:] = b << (-sh_t)
            elif sh_t >= TW + 1:
                b[:] = 0
            elif sh_t > 0:
                b[:] = (b + (1 << (sh_t - 1))) >> sh_t
            out.next = a + b

    return merge
