"""The column operands of an MPU beat (stage 0): what every row of a column multiplies.

QK mode: the key element ``x[c]`` (int8); PV mode: ``p[key_offset + c % G]`` zero-extended,
the probability of the key the column's cells hold (hdl/mpu/layout.py).  Registered on the
pipeline advance, as a signed ``operand_bits(p_bits)`` value.

Ports (``clk`` rising edge)
    ce                  pipeline advance
    in_mode             0 = QK, 1 = PV (of the input beat)
    in_x [8D]           key row: int8 element c at bits [8c+7:8c]
    in_p [p_bits*B]     P row: unsigned p of key j at bits [p_bits*(j+1)-1 : p_bits*j]
    ops                 list of ``D`` signed ``operand_bits(p_bits)`` signals (output, stage 0)
Parameters: ``key_offset`` (the first key of these rows' cells), ``block``, ``p_bits``.
"""

from __future__ import annotations

from myhdl import always, block, intbv

from hdl.mpu.layout import group_size


@block
def mpu_columns(clk, ce, in_mode, in_x, in_p, ops, key_offset, block, p_bits):
    D = len(ops)
    G = group_size(block, D)
    mask = (1 << p_bits) - 1

    @always(clk.posedge)
    def operands():
        xb = intbv(0)[8:]
        if ce:
            for c in range(D):
                if in_mode:
                    ops[c].next = (in_p >> (p_bits * (key_offset + c % G))) & mask
                else:
                    xb[:] = (in_x >> (8 * c)) & 0xFF
                    ops[c].next = xb.signed()

    return operands
