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

Each cell (:func:`mpu_lut_cell`) sums its partial products with a chain of two-operand adds
over named signals (``lut_psum1``, ``lut_psum2``), which the area flow keeps as wires
(hdl/synth.py ``KEEP_PARTIAL_SUMS``): each add becomes one carry chain whose LUTs also select
the partial product (92.7 LUT per MAC for a 16x16 all-LUT MPU, docs/area.md).

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

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv

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
def mpu_lut_cell(clk, ce, a_op, b_op, prod, neg, p_bits):
    """One biased Booth cell: ``a_op`` (8-bit int8 pattern) times ``b_op`` (signed column
    operand), registered in ``prod`` / ``neg`` on ``ce``.  The four partial products are
    separate signals, summed by a chain of two-operand adds (``lut_psum1``, ``lut_psum2``, then
    the register), so each add is one carry chain whose LUTs also select its partial product."""
    op_bits = operand_bits(p_bits)
    n = lut_pp_bits(p_bits)
    top = 1 << (n - 1)
    pw = lut_product_bits(p_bits)
    # four signals, not a list: their widths differ (a list of signals is a memory)
    term0, term1, term2, term3 = (Signal(intbv(0)[n + 2 * k:]) for k in range(4))
    lut_psum1 = Signal(intbv(0)[n + 3:])
    lut_psum2 = Signal(intbv(0)[n + 5:])

    @block
    def partial(k, term):
        # the previous digit's +1 (bit 0 of this digit's window) goes into this partial
        # product's free bit 2k - 2; partial product 0 has none (its window's bit 0 is the 0
        # shifted in, and the OR adds 0)
        carry_bit = 1 << (2 * k - 2) if k else 0

        @always_comb
        def select():
            dig = intbv(0)[3:]
            sel = intbv(0, min=-2 ** (n - 1), max=2 ** (n - 1))
            x = intbv(0, min=-2 ** (n - 1), max=2 ** (n - 1))
            t = intbv(0)[n + 2 * k:]
            # radix-4 digit k of a from bits (2k+1, 2k, 2k-1): 0, +-b or +-2b
            dig[:] = ((a_op << 1) >> (2 * k)) & 7
            if dig[1] != dig[0]:
                sel[:] = b_op
            elif dig[2] != dig[1]:
                sel[:] = b_op << 1
            else:
                sel[:] = 0
            if dig[2]:
                x[:] = ~sel
            else:
                x[:] = sel
            t[:] = (x[n:] ^ top) << (2 * k)
            if dig[0]:
                t[:] = t | carry_bit
            term.next = t

        return select

    parts = [partial(k, t) for k, t in enumerate((term0, term1, term2, term3))]

    @always_comb
    def chain():
        lut_psum1.next = term0 + term1

    @always_comb
    def chain2():
        lut_psum2.next = lut_psum1 + term2

    @always(clk.posedge)
    def register():
        if ce:
            prod.next = lut_psum2 + term3
            neg.next = a_op[7]

    return parts, chain, chain2, register


@block
def mpu_pe_lut(clk, ce, a_ops, b_ops, prod, neg, p_bits):
    D = len(b_ops)
    op_bits = operand_bits(p_bits)
    pw = lut_product_bits(p_bits)
    # The operand and result lists are memories (indexed in loops by the resident registers
    # and the row), so the cells see them through packed vectors and scalar signals.
    a_cat = Signal(intbv(0)[8 * D:])
    b_cat = Signal(intbv(0)[op_bits * D:])
    a_cell = [a_cat((c + 1) * 8, c * 8) for c in range(D)]
    b_cell = [Signal(intbv(0, min=-2 ** (op_bits - 1), max=2 ** (op_bits - 1))) for _ in range(D)]
    p_cell = [Signal(intbv(0)[pw:]) for _ in range(D)]
    n_cell = [Signal(bool(0)) for _ in range(D)]
    p_cat = ConcatSignal(*reversed(p_cell)) if D > 1 else p_cell[0]
    n_cat = ConcatSignal(*reversed(n_cell)) if D > 1 else n_cell[0]
    b_mask = (1 << op_bits) - 1
    p_mask = (1 << pw) - 1

    @always_comb
    def pack():
        av = intbv(0)[8 * D:]
        bv = intbv(0)[op_bits * D:]
        for c in range(D):
            av[:] = av | (a_ops[c] << (8 * c))
            bv[:] = bv | ((b_ops[c] & b_mask) << (op_bits * c))
        a_cat.next = av
        b_cat.next = bv

    @block
    def signed_view(c, dst):
        @always_comb
        def view():
            dst.next = b_cat[(c + 1) * op_bits:c * op_bits].signed()
        return view

    views = [signed_view(c, b_cell[c]) for c in range(D)]
    cells = [mpu_lut_cell(clk, ce, a_cell[c], b_cell[c], p_cell[c], n_cell[c], p_bits=p_bits)
             for c in range(D)]

    @always_comb
    def unpack():
        for c in range(D):
            prod[c].next = (p_cat >> (pw * c)) & p_mask
            neg[c].next = n_cat[c]

    return pack, views, cells, unpack
