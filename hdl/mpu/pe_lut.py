"""LUT-style processing elements of the MPU: one row of ``head_dim`` Booth multipliers.

No ``*`` operator appears here, so synthesis maps the row to LUTs and carry chains only
(0 DSP).  The row's resident int8 operand ``a[c]`` (``Q`` in QK mode, ``V`` in PV mode) is
taken two bits at a time (radix-4 Booth recoding): digit ``k`` in {-2, -1, 0, 1, 2}, from
bits 2k+1, 2k and 2k-1 of ``a``, selects 0, ``b`` or ``2b`` of the column operand ``b[c]``
(the key element in QK mode, a zero-extended ``p`` in PV mode), inverted for a negative
digit.

The cell does not form the signed product, only what costs no carry beyond it
(:func:`lut_bias` gives the rest, a constant the row adds once per group):

* each partial product ``x_k`` (``n = op_bits + 1`` bits, signed) enters with its sign bit
  inverted, i.e. as ``x_k + 2**(n-1)``, so the adds are as wide as the sum and carry no
  sign extension; the row subtracts ``85 * 2**(n-1)`` (the four offsets, weighted ``4**k``);
* the +1 of an inverted partial product ``k < 3`` sits in the free low bits of partial
  product ``k + 1`` (shifted by ``2k + 2``); the +1 of the top digit (weight 64, set exactly
  when ``a`` is negative) leaves as ``neg``, which the row counts per group like the DSP
  rows' borrows.

Ports (all synchronous to ``clk``)
    ce              pipeline advance (global stall when low)
    a_ops           list of ``head_dim`` unsigned 8-bit signals (int8 patterns), stage 0
    b_ops           list of ``head_dim`` signed column operands, stage 0
    prod            list of ``head_dim`` unsigned ``lut_product_bits`` biased products, stage 1
    neg             list of ``head_dim`` 1-bit: the top digit's +1 (weight 64), stage 1
Parameters
    p_bits
Latency: products of the beat in stage 0 appear in ``prod`` one ``ce`` later.
"""

from __future__ import annotations

from myhdl import always, block, intbv

from hdl.numerics import operand_bits

#: weight of ``neg`` in the product: the +1 of the top Booth digit (4**3)
NEG_WEIGHT = 64


def lut_pp_bits(p_bits: int) -> int:
    """Width of one partial product (0, +-b or +-2b of the signed column operand)."""
    return operand_bits(p_bits) + 1


def lut_product_bits(p_bits: int) -> int:
    """Width of a cell's biased product: four offset partial products weighted 4**k."""
    return lut_pp_bits(p_bits) + 7


def lut_bias(p_bits: int) -> int:
    """What a cell's ``prod + NEG_WEIGHT * neg`` exceeds the signed product by."""
    return 85 * 2 ** (lut_pp_bits(p_bits) - 1)


@block
def mpu_pe_lut(clk, ce, a_ops, b_ops, prod, neg, p_bits):
    D = len(b_ops)
    op_bits = operand_bits(p_bits)
    n = lut_pp_bits(p_bits)
    top = 1 << (n - 1)
    pw = lut_product_bits(p_bits)

    @always(clk.posedge)
    def booth():
        bv = intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))
        ae = intbv(0)[9:]
        sel = intbv(0, min=-2 ** (n - 1), max=2 ** (n - 1))
        x = intbv(0, min=-2 ** (n - 1), max=2 ** (n - 1))
        u = intbv(0)[n:]
        term = intbv(0)[pw:]
        total = intbv(0)[pw:]
        if ce:
            for c in range(D):
                bv[:] = b_ops[c]
                ae[:] = a_ops[c] << 1
                total[:] = 0
                # radix-4 digit k of a from bits (2k+1, 2k, 2k-1): 0, +-b or +-2b
                for k in range(4):
                    if ae[2 * k + 1] != ae[2 * k]:
                        sel[:] = bv
                    elif ae[2 * k + 2] != ae[2 * k + 1]:
                        sel[:] = bv << 1
                    else:
                        sel[:] = 0
                    if ae[2 * k + 2]:
                        x[:] = ~sel
                    else:
                        x[:] = sel
                    u[:] = x[n:] ^ top
                    term[:] = u << (2 * k)
                    if k > 0:
                        # the previous digit's +1 in this partial product's free low bits
                        term[2 * k - 2] = ae[2 * k]
                    total[:] = total + term
                prod[c].next = total
                neg[c].next = ae[8]

    return booth
