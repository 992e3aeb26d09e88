"""LUT-style processing elements of the MPU: one row of ``head_dim`` bit-plane multipliers.

No ``*`` operator appears here, so synthesis maps the row to LUTs and carry
chains only (0 DSP).  The streamed int8 ``x[d]`` is split into its 8 bit
planes; plane ``k`` gates the operand ``a`` (``Q[row, d]`` in QK mode, ``p``
zero-extended in PV mode); the gated values are summed by a two-level adder
tree with weights ``2**k`` for k < 7 and ``-2**7`` for the sign plane.

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
        xb = intbv(0)[8:]
        g0 = intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))
        g1 = intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))
        g2 = intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))
        g3 = intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))
        g4 = intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))
        g5 = intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))
        g6 = intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))
        g7 = intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))
        t0 = intbv(0, min=-2 ** (sum_bits - 1), max=2 ** (sum_bits - 1))
        t1 = intbv(0, min=-2 ** (sum_bits - 1), max=2 ** (sum_bits - 1))
        t2 = intbv(0, min=-2 ** (sum_bits - 1), max=2 ** (sum_bits - 1))
        t3 = intbv(0, min=-2 ** (sum_bits - 1), max=2 ** (sum_bits - 1))
        u0 = intbv(0, min=-2 ** (sum_bits - 1), max=2 ** (sum_bits - 1))
        u1 = intbv(0, min=-2 ** (sum_bits - 1), max=2 ** (sum_bits - 1))
        if ce:
            for d in range(D):
                a[:] = ops[d]
                xb[:] = x0[d]
                # bit plane k of x gates a
                g0[:] = a if xb[0] else 0
                g1[:] = a if xb[1] else 0
                g2[:] = a if xb[2] else 0
                g3[:] = a if xb[3] else 0
                g4[:] = a if xb[4] else 0
                g5[:] = a if xb[5] else 0
                g6[:] = a if xb[6] else 0
                g7[:] = a if xb[7] else 0
                # adder tree; the sign plane of int8 x weighs -2**7
                t0[:] = g0 + (g1 << 1)
                t1[:] = (g2 << 2) + (g3 << 3)
                t2[:] = (g4 << 4) + (g5 << 5)
                t3[:] = (g6 << 6) - (g7 << 7)
                u0[:] = t0 + t1
                u1[:] = t2 + t3
                prod[d].next = u0 + u1

    return operands, bitplane
