"""Resident operands of one MPU row: two banks of its Q row and two of its share of a V tile.

Per column ``c`` the row keeps, per Q bank, ``Q[row, c]`` (written by a Q row load) and, per V
bank, ``V[key(row, c), out(row, c)]`` (hdl/mpu/layout.py; written by the V row loads of a tile).
The operand of the beat in stage 0 is the selected bank's ``Q`` in QK mode and the selected
bank's ``V`` in PV mode.  Two Q banks let the next query block load while the current one's
key beats run (one more flip-flop per cell; the 4:1 operand pick is still one LUT6 per bit).

Ports (``clk`` rising edge; ``rst`` synchronous, active high: clears Q and V)
    ld_valid, ld_bank, ld_row, ld_data   Q row write into Q bank ``ld_bank``: ``ld_data`` holds
                        ``head_dim`` int8, element c at bits [8c+7:8c]; taken when ``ld_row == row``
    vl_valid, vl_bank, vl_row, vl_data   V row write: row ``vl_row`` (a key 0..B-1) of the tile
                        in bank ``vl_bank``; ``vl_data`` holds ``head_dim`` int8
    mode0, bank0        the stage-0 beat's mode (0 = QK, 1 = PV) and bank (Q bank in QK mode,
                        V bank in PV mode)
    ops                 list of ``head_dim`` unsigned 8-bit signals (int8 bit patterns): the
                        operand of each column for the beat in stage 0 (combinational)
Parameters: ``row`` (the array row index), ``block``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.mpu.layout import group_size, key_offset, out_offset


@block
def mpu_resident(clk, rst, ld_valid, ld_bank, ld_row, ld_data, vl_valid, vl_bank, vl_row, vl_data,
                 mode0, bank0, ops, row, block):
    head_dim = len(ops)
    B = block
    G = group_size(B, head_dim)
    KOFF, OOFF = key_offset(row, B, head_dim), out_offset(row, B, head_dim)
    q0, q1, v0, v1 = ([Signal(intbv(0)[8:]) for _ in range(head_dim)] for _ in range(4))

    @always(clk.posedge)
    def load():
        if rst:
            for c in range(head_dim):
                q0[c].next = 0
                q1[c].next = 0
                v0[c].next = 0
                v1[c].next = 0
        else:
            if ld_valid and ld_row == row:
                for c in range(head_dim):
                    if ld_bank:
                        q1[c].next = (ld_data >> (8 * c)) & 0xFF
                    else:
                        q0[c].next = (ld_data >> (8 * c)) & 0xFF
            if vl_valid:
                for c in range(head_dim):
                    # a V row fills the cells of its key: one per group of the row
                    if KOFF + c % G == vl_row:
                        if vl_bank:
                            v1[c].next = (vl_data >> (8 * (OOFF + (c // G) * B))) & 0xFF
                        else:
                            v0[c].next = (vl_data >> (8 * (OOFF + (c // G) * B))) & 0xFF

    @always_comb
    def select():
        for c in range(head_dim):
            if not mode0:
                if bank0:
                    ops[c].next = q1[c]
                else:
                    ops[c].next = q0[c]
            elif bank0:
                ops[c].next = v1[c]
            else:
                ops[c].next = v0[c]

    return load, select
