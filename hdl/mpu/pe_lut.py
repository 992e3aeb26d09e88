"""LUT-style processing elements of the MPU: one row of ``head_dim`` Booth multipliers.

No ``*`` operator appears here, so synthesis maps the row to LUTs and carry chains only
(0 DSP).  The row's resident int8 operand ``a[c]`` (``Q`` in QK mode, ``V`` in PV mode) is
taken two bits at a time (radix-4 Booth recoding): digit ``k`` in {-2, -1, 0, 1, 2}, from
bits 2k+1, 2k and 2k-1 of ``a``, selects 0, ``b`` or ``2b`` of the column operand ``b[c]``
(the key element in QK mode, a zero-extended ``p`` in PV mode), inverted for a negative
digit; the four partial products, weighted ``4**k``, and the +1 of each inverted one (the
bits of ``negs``) are summed.

Ports (all synchronous to ``clk``)
    ce              pipeline advance (global stall when low)
    a_ops           list of ``head_dim`` unsigned 8-bit signals (int8 patterns), stage 0
    b_ops           list of ``head_dim`` signed column operands, stage 0
    prod            list of ``head_dim`` signed ``product_bits`` products, stage 1
Parameters
    p_bits
Latency: products of the beat in stage 0 appear in ``prod`` one ``ce`` later.
"""

from __future__ import annotations

from myhdl import always, block, intbv

from hdl.numerics import operand_bits


@block
def mpu_pe_lut(clk, ce, a_ops, b_ops, prod, p_bits):
    D = len(b_ops)
    op_bits = operand_bits(p_bits)
    sum_bits = op_bits + 9  # headroom of the partial sums (b times at most 2**8)

    @always(clk.posedge)
    def booth():
        bv = intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))
        ae = intbv(0)[9:]
        sel = intbv(0, min=-2 ** op_bits, max=2 ** op_bits)
        pp = intbv(0, min=-2 ** op_bits, max=2 ** op_bits)
        negs = intbv(0)[7:]
        total = intbv(0, min=-2 ** (sum_bits - 1), max=2 ** (sum_bits - 1))
        if ce:
            for c in range(D):
                bv[:] = b_ops[c]
                ae[:] = a_ops[c] << 1
                total[:] = 0
                negs[:] = 0
                # radix-4 digit k of a from bits (2k+1, 2k, 2k-1): 0, +-b or +-2b
                for k in range(4):
                    if ae[2 * k + 1] != ae[2 * k]:
                        sel[:] = bv
                    elif ae[2 * k + 2] != ae[2 * k + 1]:
                        sel[:] = bv << 1
                    else:
                        sel[:] = 0
                    # a negative digit adds ~sel here and its +1 in ``negs`` (no negator)
                    if ae[2 * k + 2]:
                        pp[:] = ~sel
                        negs[:] = negs | (1 << (2 * k))
                    else:
                        pp[:] = sel
                    total[:] = total + (pp << (2 * k))
                prod[c].next = total + negs

    return booth
