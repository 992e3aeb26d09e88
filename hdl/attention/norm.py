"""Final normalisation of one output element: ``o = rshift_round(O_n * r, N-1+R-of)``.

``O_n`` is the row accumulator shifted like its row sum (``sh`` from the divider; floor
for a right shift, exact for a left shift), ``r`` the row's reciprocal.  Combinational.

Ports
    acc   unsigned bit pattern of the signed ``acc_o_bits`` accumulator element
    sh    signed normalising shift of the row
    r     reciprocal of the row (``recip_bits + 1`` bits of magnitude, a non-negative
          *signed* signal so that the product is a signed multiply)
    o     signed ``out_bits`` output (``o_frac_bits`` fractional bits)
Parameters: ``cfg``.
"""

from __future__ import annotations

from myhdl import always_comb, block, intbv


@block
def attn_norm(acc, sh, r, o, cfg):
    N, R, OF, AW = cfg.norm_bits, cfg.recip_bits, cfg.o_frac_bits, cfg.acc_o_bits
    K = N - 1 + R - OF
    NW = AW + N + 1                     # a left shift by at most N - 1
    PW = NW + R + 2

    @always_comb
    def norm():
        a = intbv(0, min=-2 ** (NW - 1), max=2 ** (NW - 1))
        pr = intbv(0, min=-2 ** (PW - 1), max=2 ** (PW - 1))
        a[:] = acc.signed()
        if sh > 0:
            a[:] = a >> sh
        elif sh < 0:
            a[:] = a << (-sh)
        pr[:] = a * r
        if K > 0:
            pr[:] = (pr + (1 << (K - 1))) >> K
        o.next = pr

    return norm
