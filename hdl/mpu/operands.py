"""Operands of one MPU row: per column the operand that multiplies the streamed x
(``Q[row, d]`` in QK mode, ``p`` zero-extended in PV mode), from the row's resident Q and
registered p (hdl/mpu/q_row.py).

Ports (``clk`` rising edge; ``rst`` synchronous, active high: clears Q)
    ce                  pipeline advance (the p register takes ``p_in`` only then)
    mode0               beat mode in stage 0: 0 = QK, 1 = PV
    ld_valid, ld_row, ld_data   Q row write: ``ld_data`` holds ``head_dim`` int8, element d at
                        bits [8d+7:8d]; taken when ``ld_row == row``
    p_in                this row's unsigned p of the input beat
    ops                 list of ``head_dim`` signed ``operand_bits(p_bits)`` signals: the operand
                        of each column for the beat in stage 0 (combinational)
Parameters: ``row`` (the array row index), ``p_bits``.
"""

from __future__ import annotations

from myhdl import Signal, always_comb, block, intbv

from hdl.mpu.q_row import mpu_q_row


@block
def mpu_operands(clk, rst, ce, mode0, ld_valid, ld_row, ld_data, p_in, ops, row, p_bits):
    head_dim = len(ops)
    q = [Signal(intbv(0)[8:]) for _ in range(head_dim)]
    p0 = Signal(intbv(0)[p_bits:])
    resident = mpu_q_row(clk, rst, ce, ld_valid, ld_row, ld_data, p_in, q, p0, row=row)

    @always_comb
    def select():
        for d in range(head_dim):
            if mode0:
                ops[d].next = p0
            else:
                ops[d].next = q[d].signed()

    return resident, select
