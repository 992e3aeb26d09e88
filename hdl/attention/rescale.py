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

from myhdl import Signal, always_comb, block, intbv


@block
def attn_rescale(acc, t, sh_old, sh_t, first, out, acc_width, t_width, signed, cfg):
    AW, TW, E = acc_width, t_width, cfg.acc_frac_bits
    WW = max(AW, TW + E) + 3
    # the operands as signed values: a signed pattern as it is, an unsigned one with a zero sign
    # bit on top (so its shifts reach one bit further before they give 0)
    ACC_BITS = AW if signed else AW + 1
    T_BITS = TW if signed else TW + 1
    acc_v = Signal(intbv(0, min=-2 ** (ACC_BITS - 1), max=2 ** (ACC_BITS - 1)))
    t_v = Signal(intbv(0, min=-2 ** (T_BITS - 1), max=2 ** (T_BITS - 1)))

    if signed:
        @always_comb
        def operands():
            acc_v.next = acc.signed()
            t_v.next = t.signed()
    else:
        @always_comb
        def operands():
            acc_v.next = acc
            t_v.next = t

    @always_comb
    def merge():
        a = intbv(0, min=-2 ** (WW - 1), max=2 ** (WW - 1))
        b = intbv(0, min=-2 ** (WW - 1), max=2 ** (WW - 1))
        a[:] = 0
        if not first:
            a[:] = acc_v
            if sh_old >= ACC_BITS:
                a[:] = 0
            elif sh_old > 0:
                a[:] = (a + (1 << (sh_old - 1))) >> sh_old
        b[:] = t_v
        if sh_t < 0:
            b[:] = b << (-sh_t)
        elif sh_t >= T_BITS:
            b[:] = 0
        elif sh_t > 0:
            b[:] = (b + (1 << (sh_t - 1))) >> sh_t
        out.next = a + b

    return operands, merge
