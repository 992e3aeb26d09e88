"""LUT-style processing elements of the MPU: one row of ``head_dim`` bit-plane multipliers.

No ``*`` operator appears here, so synthesis maps the row to LUTs and carry
chains only (0 DSP).  The streamed int8 ``x[d]`` is taken two bit planes at a
time (radix-4 Booth recoding): digit ``k`` in {-2, -1, 0, 1, 2}, from bits
2k+1, 2k and 2k-1 of x, selects 0, ``a`` or ``2a`` of the operand ``a``
(``Q[row, d]`` in QK mode, ``p`` zero-extended in PV mode), inverted for a
negative digit; the four partial products, weighted ``4**k``, and the +1 of each
inverted one (the bits of ``negs``) are summed.  Four partial products instead
of eight bit planes: about 100 instead of 145 LUT per MAC over the DSP rows at
8 x 8 (docs/area.md).

Ports (all synchronous to ``clk``)
    clk, rst        clock, synchronous active-high reset (clears Q)
    ce              pipeline advance (global stall when low)
    mode0           beat mode in stage 0: 0 = QK, 1 = PV
    x0              list of ``head_dim`` unsigned 8-bit signals (int8 bit patterns), stage 0
    p_in            unsigned ``p_bits`` input slice: this row's p of the input beat
    ld_valid, ld_row, ld_data   Q row write (``head_dim`` int8, element d at bits [8d+7:8d])
    prod            list of ``head_dim`` signed ``product_bits`` products, stage 1
Parameters
    row, head_dim, p_bits
Latency: products of the beat in stage 0 appear in ``prod`` one ``ce`` later.
"""

from __future__ import annotations

from myhdl import Signal, always, block, intbv

from hdl.mpu.operands import mpu_operands
from hdl.numerics import operand_bits


@block
def mpu_pe_lut(clk, rst, ce, mode0, x0, p_in, ld_valid, ld_row, ld_data, prod,
               row, head_dim, p_bits):
    D = head_dim
    op_bits = operand_bits(p_bits)
    sum_bits = op_bits + 9  # headroom of the partial sums (a times at most 2**8)

    ops = [Signal(intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))) for _ in range(D)]
    operands = mpu_operands(clk, rst, ce, mode0, ld_valid, ld_row, ld_data, p_in, ops, row=row,
                            p_bits=p_bits)

    @always(clk.posedge)
    def bitplane():
        a = intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))
        xe = intbv(0)[9:]
        sel = intbv(0, min=-2 ** op_bits, max=2 ** op_bits)
        pp = intbv(0, min=-2 ** op_bits, max=2 ** op_bits)
        negs = intbv(0)[7:]
        total = intbv(0, min=-2 ** (sum_bits - 1), max=2 ** (sum_bits - 1))
        if ce:
            for d in range(D):
                a[:] = ops[d]
                xe[:] = x0[d] << 1
                total[:] = 0
                negs[:] = 0
                # radix-4 digit k of x from bits (2k+1, 2k, 2k-1): 0, +-a or +-2a
                for k in range(4):
                    if xe[2 * k + 1] != xe[2 * k]:
                        sel[:] = a
                    elif xe[2 * k + 2] != xe[2 * k + 1]:
                        sel[:] = a << 1
                    else:
                        sel[:] = 0
                    # a negative digit adds ~sel here and its +1 in ``negs`` (no negator)
                    if xe[2 * k + 2]:
                        pp[:] = ~sel
                        negs[:] = negs | (1 << (2 * k))
                    else:
                        pp[:] = sel
                    total[:] = total + (pp << (2 * k))
                prod[d].next = total + negs

    return operands, bitplane
