"""K / V broadcast of the attention group datapath (``grp_attn``): the cache's rows to the engines
of the heads that use them.

The cache streams, per access, B K rows then B V rows.  Each row goes into the K or the V FIFO
(``2B`` rows each) tagged with the access's head mask, and from the FIFO to the engines of those
heads through a broadcast (hdl/group/fork.py).  The FIFOs decouple the cache from the engines:
it streams K(t+1), V(t+1), K(t+2)... at one row per cycle while an engine's MPU interleaves
QK(t+1) with PV(t) (PV first), so neither side waits on the other.  The head masks come from
the mask FIFO, filled by row builder B in the cache's access order; the access's row and block
ride along and are checked against the cache's tags (a mismatch is an internal fault).

Ports (``clk`` rising edge; ``rst``, ``clr`` synchronous, active high)
    acc_push, acc_heads [G], acc_row, acc_blk [NBB]   one access of builder B (mask FIFO)
    acc_full (out)      the mask FIFO is full
    c_valid, c_ready (out), c_kv, c_last, c_data [8D], c_row, c_blk [NBB]   the cache's rows
                        (``c_kv``: a V row; ``c_last``: the access's last row)
    abort               drop the cache's rows (the cache still runs to its end)
    k_valid [G] (out), k_ready [G], k_data [8D] (out)   K rows to the engines
    v_valid [G] (out), v_ready [G], v_data [8D] (out)   V rows to the engines
    order_err (out)     sticky: the cache's access differs from builder B's
Parameters: ``G`` (heads), ``NBB`` (block index bits), ``B`` (block), ``D`` (head_dim).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, concat, intbv

from hdl.common.fifo import kv_fifo
from hdl.group.row_channel import grp_row_channel

#: accesses of builder B whose head mask waits for the cache's rows
MASK_DEPTH = 32


@block
def grp_kv_bcast(clk, rst, clr, acc_push, acc_heads, acc_row, acc_blk, acc_full,
                 c_valid, c_ready, c_kv, c_last, c_data, c_row, c_blk, abort,
                 k_valid, k_ready, k_data, v_valid, v_ready, v_data, order_err, G, NBB, B, D):
    row_bits = 8 * D
    mask_width = G + 2 * NBB
    mask_pop, mask_empty = Signal(bool(0)), Signal(bool(0))
    mask_in, mask_head = Signal(intbv(0)[mask_width:]), Signal(intbv(0)[mask_width:])
    heads = Signal(intbv(0)[G:])
    exp_row, exp_blk = Signal(intbv(0)[NBB:]), Signal(intbv(0)[NBB:])
    masks = kv_fifo(clk, rst, clr, acc_push, mask_in, mask_pop, mask_head, acc_full, mask_empty,
                    None, MASK_DEPTH, mask_width)

    k_push, k_full, v_push, v_full = (Signal(bool(0)) for _ in range(4))
    tagged = Signal(intbv(0)[row_bits + G:])
    k_channel = grp_row_channel(clk, rst, clr, k_push, tagged, k_full, abort, k_valid, k_ready,
                                k_data, 2 * B, G)
    v_channel = grp_row_channel(clk, rst, clr, v_push, tagged, v_full, abort, v_valid, v_ready,
                                v_data, 2 * B, G)

    @always_comb
    def mask_fields():
        mask_in.next = concat(acc_heads, acc_blk, acc_row)
        exp_row.next = mask_head[NBB:]
        exp_blk.next = mask_head[2 * NBB:NBB]
        heads.next = mask_head[mask_width:2 * NBB]

    @always_comb
    def route():
        # an aborted run drops the cache's rows; the access's head mask is the head of the
        # mask FIFO, popped with the access's last (V) row
        k_push.next = c_valid and not c_kv and not k_full and not mask_empty and not abort
        v_push.next = c_valid and c_kv and not v_full and not mask_empty and not abort
        mask_pop.next = c_valid and c_last and not mask_empty and (abort or (c_kv and not v_full))
        tagged.next = concat(heads, c_data)
        if c_kv:
            c_ready.next = abort or (not v_full and not mask_empty)
        else:
            c_ready.next = abort or (not k_full and not mask_empty)

    @always(clk.posedge)
    def order_check():
        if rst or clr:
            order_err.next = False
        elif c_valid and not mask_empty and not abort and (c_row != exp_row or c_blk != exp_blk):
            order_err.next = True

    return masks, k_channel, v_channel, mask_fields, route, order_check
