"""Output stage of the attention engine (hdl/attention/engine.py): finished rows to normalised O.

A row whose last tile has been merged (``fin_v``: its O accumulator, max and sum) is buffered in
slot ``fin_row`` and its divider (hdl/attention/div.py) starts on the row sum.  The rows leave in
order 0..B-1: stage o1 reads the next row once its reciprocal is ready, the output register
holds it normalised (hdl/attention/norm.py, one per element of the row).

Ports (``clk`` rising edge, ``rst`` synchronous active high, a ``ResetSignal``)
    fin_v, fin_row [RB], fin_o [AW*D], fin_l [LW], fin_m [MX signed]   a finished row
    o_valid, o_ready, o_data [OB*D], o_row [RB], o_last, o_m [MX signed], o_l [LW] (out)
                        the engine's output rows (see the engine's docstring)
    occ [B] (out)       slots holding a finished row not yet output
    drained (out)       no row in the stage
Parameters: ``cfg``.
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, always_seq, block

from hdl.attention.div import attn_div
from hdl.attention.norm import attn_norm
from hdl.attention.signals import sig as _sig


@block
def attn_output(clk, rst, fin_v, fin_row, fin_o, fin_l, fin_m,
                o_valid, o_ready, o_data, o_row, o_last, o_m, o_l, occ, drained, shift_bits, cfg):
    B, D, R = cfg.block, cfg.head_dim, cfg.recip_bits
    AW, LW, MX, OB = cfg.acc_o_bits, cfg.acc_l_bits, cfg.max_bits, cfg.out_bits
    RB = len(fin_row)
    SHB = shift_bits
    LAST_ROW = B - 1
    div_start = _sig(B)
    shifts = [_sig(SHB, True) for _ in range(B)]
    recips = [_sig(R + 1) for _ in range(B)]
    ready = [Signal(bool(0)) for _ in range(B)]
    shifts_cat = ConcatSignal(*reversed(shifts))
    recips_cat = ConcatSignal(*reversed(recips))
    ready_cat = ConcatSignal(*reversed(ready))
    o_buf = [_sig(AW * D) for _ in range(B)]
    m_buf = [_sig(MX, True) for _ in range(B)]
    l_buf = [_sig(LW) for _ in range(B)]
    next_row = _sig(RB)                     # the row to output next
    o1_valid = Signal(bool(0))
    o1_acc = _sig(AW * D)
    o1_sh = _sig(SHB, True)
    o1_r = _sig(R + 2, True)                # signed (never negative): a signed multiply
    o1_row = _sig(RB)
    o1_m = _sig(MX, True)
    o1_l = _sig(LW)
    outs = [_sig(OB, True) for _ in range(D)]
    out_cat = ConcatSignal(*reversed(outs))
    next_ready, out_free, o1_free = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))

    insts = [attn_div(clk, rst, div_start(i), fin_l, shifts[i], recips[i], ready[i], cfg)
             for i in range(B)]
    insts += [attn_norm(o1_acc(AW * (d + 1), AW * d), o1_sh, o1_r, outs[d], cfg) for d in range(D)]

    @always_comb
    def control():
        if fin_v:
            div_start.next = 1 << fin_row
        else:
            div_start.next = 0
        next_ready.next = occ[next_row] and ready_cat[next_row]
        out_free.next = not o_valid or o_ready
        o1_free.next = not o1_valid or not o_valid or o_ready
        drained.next = occ == 0 and not o1_valid and not o_valid

    @always_seq(clk.posedge, reset=rst)
    def rows():
        # the buffered rows, the row to output next, the valids of o1 and the output register
        if fin_v:
            occ.next[fin_row] = 1
        if out_free:
            o_valid.next = o1_valid
        if o1_free:
            o1_valid.next = next_ready
            if next_ready:
                occ.next[next_row] = 0
                if next_row == LAST_ROW:
                    next_row.next = 0
                else:
                    next_row.next = next_row + 1

    @always(clk.posedge)
    def row_data():
        # the row buffers and the stages' data: no reset (read only under the valids above),
        # they hold through one
        if not rst:
            # finished rows: buffer, divider started by div_start
            if fin_v:
                o_buf[fin_row].next = fin_o
                m_buf[fin_row].next = fin_m
                l_buf[fin_row].next = fin_l
            # output: o1 reads the buffer, the output register normalises
            if out_free:
                o_data.next = out_cat
                o_row.next = o1_row
                o_last.next = o1_row == LAST_ROW
                o_m.next = o1_m
                o_l.next = o1_l
            if o1_free and next_ready:
                o1_acc.next = o_buf[next_row]
                o1_sh.next = (shifts_cat >> (SHB * next_row)) & (2 ** SHB - 1)
                o1_r.next = (recips_cat >> ((R + 1) * next_row)) & (2 ** (R + 1) - 1)
                o1_row.next = next_row
                o1_m.next = m_buf[next_row]
                o1_l.next = l_buf[next_row]

    return insts, control, rows, row_data
