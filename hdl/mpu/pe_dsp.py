"""DSP-style processing elements of the MPU: one or two rows of ``head_dim`` multipliers.

Each row holds its resident Q row (loaded through the ``ld_*`` port) and the
registered broadcast probability ``p`` of the current beat (hdl/mpu/operands.py).  Per column ``d``
the operand ``a`` is ``Q[row, d]`` (QK mode) or ``p`` zero-extended (PV mode),
a signed ``operand_bits(p_bits)`` value, and it is multiplied by the streamed
int8 ``x[d]`` (key element in QK, value element in PV).

With two rows and ``operand_bits <= 9`` (``p_bits <= 8``) the two rows share
one 27x18 multiply per column (AMD WP486 packing): ``((a_hi << 18) + a_lo) * x``;
the low 18 bits are ``a_lo * x`` (signed) and the high part is
``(P >>> 18) + P[17]`` (the carry-in of the signed low half is undone).
Otherwise each row uses its own ``*``.

Ports (all synchronous to ``clk``)
    clk, rst        clock, synchronous active-high reset (clears Q)
    ce              pipeline advance (global stall when low)
    mode0           beat mode in stage 0: 0 = QK, 1 = PV
    x0              list of ``head_dim`` unsigned 8-bit signals (int8 bit patterns), stage 0
    p_in            list of 1 or 2 unsigned ``p_bits`` input slices (the rows' p of the input beat)
    ld_valid, ld_row, ld_data   Q row write: ``ld_data`` holds ``head_dim`` int8, element d at bits [8d+7:8d]
    prods           list of 1 or 2 product lists (``head_dim`` signed ``product_bits``), stage 1
Parameters
    rows            the array row indices of these rows (1 or 2)
    head_dim, p_bits
Latency: products of the beat in stage 0 appear in ``prods`` one ``ce`` later.
"""

from __future__ import annotations

from myhdl import Signal, always, block, intbv

from hdl.mpu.operands import mpu_operands
from hdl.numerics import operand_bits, product_bits

PACK_SHIFT = 18


def packable(p_bits: int) -> bool:
    """Whether two rows can share one 27x18 multiplier (low product fits 18 bits signed)."""
    w = operand_bits(p_bits)
    return w + PACK_SHIFT <= 27 and w + 8 <= PACK_SHIFT


@block
def mpu_pe_dsp(clk, rst, ce, mode0, x0, p_in, ld_valid, ld_row, ld_data, prods,
               rows, head_dim, p_bits):
    D = head_dim
    op_bits = operand_bits(p_bits)
    prod_bits = product_bits(p_bits)
    n = len(rows)
    if n not in (1, 2) or len(prods) != n or len(p_in) != n:
        raise ValueError(f"mpu_pe_dsp: rows, prods and p_in must have 1 or 2 entries, got {rows}")

    def operand_list() -> list:
        return [Signal(intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))) for _ in range(D)]

    a_ops, prod_a = operand_list(), prods[0]
    insts = [mpu_operands(clk, rst, ce, mode0, ld_valid, ld_row, ld_data, p_in[0], a_ops,
                          row=rows[0], p_bits=p_bits)]

    if n == 1:
        @always(clk.posedge)
        def mul1():
            if ce:
                for d in range(D):
                    prod_a[d].next = a_ops[d] * x0[d].signed()

        return insts, mul1

    b_ops, prod_b = operand_list(), prods[1]
    insts.append(mpu_operands(clk, rst, ce, mode0, ld_valid, ld_row, ld_data, p_in[1], b_ops,
                              row=rows[1], p_bits=p_bits))

    if not packable(p_bits):
        @always(clk.posedge)
        def mul2():
            if ce:
                for d in range(D):
                    prod_a[d].next = a_ops[d] * x0[d].signed()
                    prod_b[d].next = b_ops[d] * x0[d].signed()

        return insts, mul2

    @always(clk.posedge)
    def mul_packed():
        # row a is the high half, row b the low half of the packed operand.
        pk = intbv(0, min=-2 ** 26, max=2 ** 26)
        pr = intbv(0, min=-2 ** 34, max=2 ** 34)
        hi = intbv(0, min=-2 ** (prod_bits - 1), max=2 ** (prod_bits - 1))
        if ce:
            for d in range(D):
                pk[:] = (a_ops[d] << PACK_SHIFT) + b_ops[d]
                pr[:] = pk * x0[d].signed()
                hi[:] = pr >> PACK_SHIFT
                if pr[PACK_SHIFT - 1]:
                    hi[:] = hi + 1
                prod_a[d].next = hi
                prod_b[d].next = pr[PACK_SHIFT:].signed()

    return insts, mul_packed
