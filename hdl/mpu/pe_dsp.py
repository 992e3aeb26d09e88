"""DSP-style processing elements of the MPU: one or two rows of ``head_dim`` multipliers.

Per column ``c`` a row multiplies its resident int8 operand ``a[c]`` (``Q`` in QK mode, ``V``
in PV mode: hdl/mpu/resident.py) by the column operand ``b[c]`` of the beat (the key element
in QK mode, a zero-extended ``p`` in PV mode; signed ``operand_bits(p_bits)``), shared by every
row of the array.

Two rows share one 27x18 multiply per column (AMD WP486 packing) while ``a * b`` fits the low
half's 18 signed bits (``p_bits <= 10``, :func:`packing`): ``((a_hi << 18) + a_lo) * b``.  The
low 18 bits are ``a_lo * b``; the high part ``P >>> 18`` is ``a_hi * b`` less the low half's
borrow ``P[17]``, which is handed on (``borrow``) and added once per row group by the
reduction (hdl/mpu/row.py) instead of once per product.  Wider ``p``: each row its own ``*``.

Ports (all synchronous to ``clk``)
    ce              pipeline advance (global stall when low)
    a_ops           list of 1 or 2 operand lists (``head_dim`` unsigned 8-bit int8 patterns), stage 0
    b_ops           list of ``head_dim`` signed column operands, stage 0
    prods           list of 1 or 2 product lists (``head_dim`` signed ``product_bits``), stage 1
    borrows         list of ``head_dim`` 1-bit signals, the high row's borrows, stage 1 (packed
                    pairs only; None otherwise)
Parameters
    p_bits
Latency: products of the beat in stage 0 appear in ``prods`` one ``ce`` later.
"""

from __future__ import annotations

from myhdl import always, block, intbv

from hdl.numerics import operand_bits, product_bits

PACK_SHIFT = 18
PORT_A_BITS, PORT_B_BITS = 27, 18   # DSP48E2 multiplier inputs (signed)


def packing(p_bits: int) -> str | None:
    """How two MACs share one DSP48E2 multiplier at ``p_bits``: "rows" or None."""
    if (product_bits(p_bits) <= PACK_SHIFT and operand_bits(p_bits) <= PORT_B_BITS
            and 8 + PACK_SHIFT <= PORT_A_BITS):
        return "rows"
    return None


def packable(p_bits: int) -> bool:
    """Whether two rows share one 27x18 multiplier per column (0.5 DSP48E2 per MAC)."""
    return packing(p_bits) is not None


@block
def mpu_pe_dsp(clk, ce, a_ops, b_ops, prods, borrows, p_bits):
    D = len(b_ops)
    op_bits = operand_bits(p_bits)
    n = len(a_ops)
    if n not in (1, 2) or len(prods) != n:
        raise ValueError(f"mpu_pe_dsp: a_ops and prods must have 1 or 2 entries, got {n}, {len(prods)}")
    packed = n == 2 and packable(p_bits)

    if not packed:
        if borrows is not None:
            raise ValueError("mpu_pe_dsp: unpacked rows have no borrows (pass None)")

        # one multiplier per row (MyHDL converts no list of lists: a generator per row)
        return [_mul_row(clk, ce, a_ops[k], b_ops, prods[k]) for k in range(n)]

    prod_a, prod_b = prods
    a_hi, a_lo = a_ops

    @always(clk.posedge)
    def mul_rows():
        # row a is the high half, row b the low half of the packed operand.
        pk = intbv(0, min=-2 ** (PORT_A_BITS - 1), max=2 ** (PORT_A_BITS - 1))
        pr = intbv(0, min=-2 ** (PORT_A_BITS + op_bits - 2), max=2 ** (PORT_A_BITS + op_bits - 2))
        if ce:
            for c in range(D):
                pk[:] = (a_hi[c].signed() << PACK_SHIFT) + a_lo[c].signed()
                pr[:] = pk * b_ops[c]
                prod_a[c].next = pr >> PACK_SHIFT
                borrows[c].next = pr[PACK_SHIFT - 1]
                prod_b[c].next = pr[PACK_SHIFT:].signed()

    return mul_rows


@block
def _mul_row(clk, ce, a_ops, b_ops, prod):
    @always(clk.posedge)
    def mul():
        if ce:
            for c in range(len(b_ops)):
                prod[c].next = a_ops[c].signed() * b_ops[c]

    return mul
