"""Resident operands of one MPU row: its Q row and the registered broadcast p of the current beat.

Ports (``clk`` rising edge; ``rst`` synchronous, active high: clears Q)
    ce                  pipeline advance (the p register takes ``p_in`` only then)
    ld_valid, ld_row, ld_data   Q row write: ``ld_data`` holds ``len(q)`` int8, element d at
                        bits [8d+7:8d]; taken when ``ld_row == row``
    p_in                this row's unsigned p of the input beat
    q                   list of unsigned 8-bit signals: the row's Q (int8 bit patterns), output
    p0                  unsigned ``len(p_in)``-bit p of the beat in stage 0, output
Parameters: ``row`` (the array row index).
"""

from __future__ import annotations

from myhdl import always, block


@block
def mpu_q_row(clk, rst, ce, ld_valid, ld_row, ld_data, p_in, q, p0, row):
    head_dim = len(q)

    @always(clk.posedge)
    def load():
        if rst:
            for d in range(head_dim):
                q[d].next = 0
        elif ld_valid and ld_row == row:
            for d in range(head_dim):
                q[d].next = (ld_data >> (8 * d)) & 0xFF

    @always(clk.posedge)
    def preg():
        if ce:
            p0.next = p_in

    return load, preg
