"""DSP-style processing elements of the MPU: one or two rows of ``head_dim`` multipliers.

Each row holds its resident Q row and the registered broadcast probability ``p`` of the
current beat (hdl/mpu/q_row.py).  Per column ``d`` the operand ``a`` is ``Q[row, d]`` (QK
mode) or ``p`` zero-extended (PV mode), a signed ``operand_bits(p_bits)`` value, and it is
multiplied by the streamed int8 ``x[d]`` (key element in QK, value element in PV).

Two rows share one 27x18 multiply per column (AMD WP486 packing): ``((a_hi << 18) + a_lo)
* b``; the low 18 bits are ``a_lo * b`` (signed) and the high part is ``(P >>> 18) + P[17]``
(the borrow of the signed low half is undone).  Which two products share a multiply
(:func:`packing`):

* ``"rows"`` (``operand_bits <= 9``, i.e. ``p_bits <= 8``): the two rows' operands of a
  column are packed and multiplied by the shared ``x[d]``, in both modes.
* ``"cross"`` (``p_bits`` 9..10, where an operand is too wide to pack but a product
  ``p * x`` still fits 18 signed bits): in QK mode the two rows' int8 ``Q`` of a column are
  packed and multiplied by ``x[d]``; in PV mode the two int8 ``x`` of a column pair
  ``(d0, d1) = (2c, 2c + 1)`` are packed and multiplied by one row's ``p``.  The multiplier
  of column ``d0`` serves ``(a, d0)`` and, as its low half, ``(b, d0)`` in QK or ``(a, d1)``
  in PV; the multiplier of ``d1`` serves ``(b, d1)`` and ``(a, d1)`` in QK or ``(b, d0)`` in
  PV.  So a high half always feeds the same product register and only the two low halves
  swap with the mode.
* ``None`` (wider ``p``): each row uses its own ``*``.

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
from hdl.mpu.q_row import mpu_q_row
from hdl.numerics import operand_bits, product_bits

PACK_SHIFT = 18
PORT_A_BITS, PORT_B_BITS = 27, 18   # DSP48E2 multiplier inputs (signed)


def packing(p_bits: int) -> str | None:
    """How two MACs share one DSP48E2 multiplier at ``p_bits``: "rows", "cross" or None."""
    w = operand_bits(p_bits)
    if w + PACK_SHIFT <= PORT_A_BITS and w + 8 <= PACK_SHIFT:
        return "rows"
    if product_bits(p_bits) <= PACK_SHIFT and w <= PORT_B_BITS:
        return "cross"
    return None


def packable(p_bits: int) -> bool:
    """Whether two rows share one 27x18 multiplier per column (0.5 DSP48E2 per MAC)."""
    return packing(p_bits) is not None


@block
def mpu_pe_dsp(clk, rst, ce, mode0, x0, p_in, ld_valid, ld_row, ld_data, prods,
               rows, head_dim, p_bits):
    D = head_dim
    op_bits = operand_bits(p_bits)
    prod_bits = product_bits(p_bits)
    n = len(rows)
    if n not in (1, 2) or len(prods) != n or len(p_in) != n:
        raise ValueError(f"mpu_pe_dsp: rows, prods and p_in must have 1 or 2 entries, got {rows}")
    scheme = packing(p_bits) if n == 2 else None
    if scheme == "cross" and D % 2:
        raise ValueError(f"mpu_pe_dsp: cross packing pairs columns, head_dim must be even, got {D}")

    def operand_list() -> list:
        return [Signal(intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))) for _ in range(D)]

    if scheme == "cross":
        prod_a, prod_b = prods
        q_a, q_b = ([Signal(intbv(0)[8:]) for _ in range(D)] for _ in range(2))
        p_a, p_b = (Signal(intbv(0)[p_bits:]) for _ in range(2))
        insts = [mpu_q_row(clk, rst, ce, ld_valid, ld_row, ld_data, p_in[0], q_a, p_a, row=rows[0]),
                 mpu_q_row(clk, rst, ce, ld_valid, ld_row, ld_data, p_in[1], q_b, p_b, row=rows[1])]
        half = D // 2

        @always(clk.posedge)
        def mul_cross():
            # a_port0 / b_port0 feed the multiplier of column d0, a_port1 / b_port1 of d1.
            a_port0 = intbv(0, min=-2 ** (PORT_A_BITS - 1), max=2 ** (PORT_A_BITS - 1))
            a_port1 = intbv(0, min=-2 ** (PORT_A_BITS - 1), max=2 ** (PORT_A_BITS - 1))
            b_port0 = intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))
            b_port1 = intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))
            prod0 = intbv(0, min=-2 ** (PORT_A_BITS + op_bits - 1), max=2 ** (PORT_A_BITS + op_bits - 1))
            prod1 = intbv(0, min=-2 ** (PORT_A_BITS + op_bits - 1), max=2 ** (PORT_A_BITS + op_bits - 1))
            hi0 = intbv(0, min=-2 ** (prod_bits - 1), max=2 ** (prod_bits - 1))
            hi1 = intbv(0, min=-2 ** (prod_bits - 1), max=2 ** (prod_bits - 1))
            if ce:
                for c in range(half):
                    if mode0:
                        a_port0[:] = (x0[2 * c].signed() << PACK_SHIFT) + x0[2 * c + 1].signed()
                        a_port1[:] = (x0[2 * c + 1].signed() << PACK_SHIFT) + x0[2 * c].signed()
                        b_port0[:] = p_a
                        b_port1[:] = p_b
                    else:
                        a_port0[:] = (q_a[2 * c].signed() << PACK_SHIFT) + q_b[2 * c].signed()
                        a_port1[:] = (q_b[2 * c + 1].signed() << PACK_SHIFT) + q_a[2 * c + 1].signed()
                        b_port0[:] = x0[2 * c].signed()
                        b_port1[:] = x0[2 * c + 1].signed()
                    prod0[:] = a_port0 * b_port0
                    prod1[:] = a_port1 * b_port1
                    hi0[:] = prod0 >> PACK_SHIFT
                    if prod0[PACK_SHIFT - 1]:
                        hi0[:] = hi0 + 1
                    hi1[:] = prod1 >> PACK_SHIFT
                    if prod1[PACK_SHIFT - 1]:
                        hi1[:] = hi1 + 1
                    prod_a[2 * c].next = hi0
                    prod_b[2 * c + 1].next = hi1
                    if mode0:
                        prod_a[2 * c + 1].next = prod0[PACK_SHIFT:].signed()
                        prod_b[2 * c].next = prod1[PACK_SHIFT:].signed()
                    else:
                        prod_b[2 * c].next = prod0[PACK_SHIFT:].signed()
                        prod_a[2 * c + 1].next = prod1[PACK_SHIFT:].signed()

        return insts, mul_cross

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

    if scheme is None:
        @always(clk.posedge)
        def mul2():
            if ce:
                for d in range(D):
                    prod_a[d].next = a_ops[d] * x0[d].signed()
                    prod_b[d].next = b_ops[d] * x0[d].signed()

        return insts, mul2

    @always(clk.posedge)
    def mul_rows():
        # row a is the high half, row b the low half of the packed operand.
        pk = intbv(0, min=-2 ** (PORT_A_BITS - 1), max=2 ** (PORT_A_BITS - 1))
        pr = intbv(0, min=-2 ** (PORT_A_BITS + 7), max=2 ** (PORT_A_BITS + 7))   # times int8 x
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

    return insts, mul_rows
