"""Column control of the index generator (hdl/index/sig.py): where each score column goes.

Every valid score column (``col_v``: the MPUs' outputs, key j of tile c) is counted (tile c, key
j, pass 1 then pass 2) and its control travels with it down the rows' pipeline
(hdl/index/row.py):

* cycle 2 (``c2_*``, the rows' logit register): the column's key j, whether its tile is the
  diagonal one (the last), its first / last key, the logit bank (tile parity), the pass;
* pass-1 drain (``dr_*``): after each pass-1 tile the B logits of its bank are read back, one
  per cycle;
* exp input (``e_*``): a drained pass-1 logit (``e_src`` = 1, while a drain runs) or else a
  fresh pass-2 logit;
* exp output (``p_*``, two cycles after ``e_*``): the rows' accumulation;
* ``hl_v``, ``hl_c``: the rows' hi / lo of pass-2 tile hl_c are valid (two cycles after the
  tile's last exp output).

Ports (``clk`` rising edge, ``rst`` synchronous)
    start                  a new run: the column count restarts at tile 0, key 0, pass 1
    col_v, nb [NBW]        a score column is valid; the run's key blocks
    out_c [IW]             the tile of the MPUs' current column (its K scale code is read here)
    c2_v, c2_j [CB], c2_diag, c2_first, c2_last, c2_bank, c2_pass2
    dr_k [CB], dr_bank
    e_col [CB], e_diag, e_src, e_bank
    p_v, p_col [CB], p_first, p_last, p_pass2, p_bank, p_tile0, p_c [IW]
    hl_v, hl_c [IW]
Parameters: ``cfg``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.index.params import sig_widths


@block
def sig_columns(clk, rst, start, col_v, nb, out_c,
                c2_v, c2_j, c2_diag, c2_first, c2_last, c2_bank, c2_pass2,
                dr_k, dr_bank, e_col, e_diag, e_src, e_bank,
                p_v, p_col, p_first, p_last, p_pass2, p_bank, p_tile0, p_c, hl_v, hl_c, cfg):
    w = sig_widths(cfg)
    B = w["B"]
    col_bits, block_index_bits = w["CB"], w["IW"]
    b = lambda: Signal(bool(0))  # noqa: E731

    def index(bits: int) -> Signal:
        return Signal(intbv(0)[bits:])

    out_j = Signal(intbv(0, min=0, max=B))
    out_p2 = b()
    # stage-0 control, then two register stages to the rows' logit (cycle 2)
    c1 = [b() for _ in range(7)]
    c1_j, c1_c = index(col_bits), index(block_index_bits)
    c2_tile0 = b()
    c2_c = index(block_index_bits)
    dr_on, dr_diag, dr_tile0 = b(), b(), b()
    dr_c = index(block_index_bits)
    d1_v, d1_bank, d1_diag, d1_tile0 = b(), b(), b(), b()
    d1_k, d1_c = index(col_bits), index(block_index_bits)
    e_v, e_first, e_last, e_pass2, e_tile0 = b(), b(), b(), b(), b()
    e_c = index(block_index_bits)
    x_v, x_bank, x_first, x_last, x_pass2, x_tile0 = b(), b(), b(), b(), b(), b()
    x_col, x_c = index(col_bits), index(block_index_bits)
    h1_v = b()
    h1_c = index(block_index_bits)

    @always(clk.posedge)
    def columns():
        if rst or start:
            out_j.next = 0
            out_c.next = 0
            out_p2.next = 0
        elif col_v:
            if out_j == B - 1:
                out_j.next = 0
                if out_c == nb - 1:
                    out_c.next = 0
                    out_p2.next = 1
                else:
                    out_c.next = out_c + 1
            else:
                out_j.next = out_j + 1

    @always(clk.posedge)
    def pipe():
        # cycle 1
        c1[0].next = col_v
        c1[1].next = out_c == nb - 1
        c1[2].next = out_j == 0
        c1[3].next = out_j == B - 1
        c1[4].next = out_c[0]
        c1[5].next = out_p2
        c1[6].next = out_c == 0
        c1_j.next = out_j
        c1_c.next = out_c
        # cycle 2 (the rows' logit register)
        c2_v.next = c1[0] and not rst
        c2_diag.next = c1[1]
        c2_first.next = c1[2]
        c2_last.next = c1[3]
        c2_bank.next = c1[4]
        c2_pass2.next = c1[5]
        c2_tile0.next = c1[6]
        c2_j.next = c1_j
        c2_c.next = c1_c
        # pass-1 drain: B buffer reads after each tile
        if rst:
            dr_on.next = 0
        elif c2_v and c2_last and not c2_pass2:
            dr_on.next = 1
            dr_k.next = 0
            dr_bank.next = c2_bank
            dr_diag.next = c2_diag
            dr_tile0.next = c2_tile0
            dr_c.next = c2_c
        elif dr_on:
            if dr_k == B - 1:
                dr_on.next = 0
            else:
                dr_k.next = dr_k + 1
        d1_v.next = dr_on and not rst
        d1_k.next = dr_k
        d1_bank.next = dr_bank
        d1_diag.next = dr_diag
        d1_tile0.next = dr_tile0
        d1_c.next = dr_c
        # exp input -> exp output (two cycles)
        x_v.next = e_v and not rst
        x_col.next = e_col
        x_bank.next = e_bank
        x_first.next = e_first
        x_last.next = e_last
        x_pass2.next = e_pass2
        x_tile0.next = e_tile0
        x_c.next = e_c
        p_v.next = x_v and not rst
        p_col.next = x_col
        p_bank.next = x_bank
        p_first.next = x_first
        p_last.next = x_last
        p_pass2.next = x_pass2
        p_tile0.next = x_tile0
        p_c.next = x_c
        # pass-2 tile results: hi / lo two cycles after the tile's last exp output
        h1_v.next = p_v and p_last and p_pass2 and not rst
        h1_c.next = p_c
        hl_v.next = h1_v and not rst
        hl_c.next = h1_c

    @always_comb
    def exp_ctrl():
        if d1_v:
            e_v.next = 1
            e_col.next = d1_k
            e_diag.next = d1_diag
            e_src.next = 1
            e_bank.next = d1_bank
            e_first.next = d1_k == 0
            e_last.next = d1_k == B - 1
            e_pass2.next = 0
            e_tile0.next = d1_tile0
            e_c.next = d1_c
        else:
            e_v.next = c2_v and c2_pass2
            e_col.next = c2_j
            e_diag.next = c2_diag
            e_src.next = 0
            e_bank.next = c2_bank
            e_first.next = c2_first
            e_last.next = c2_last
            e_pass2.next = 1
            e_tile0.next = c2_tile0
            e_c.next = c2_c

    return columns, pipe, exp_ctrl
