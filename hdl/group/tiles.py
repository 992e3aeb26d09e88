"""Tile descriptors of the attention group datapath (``grp_attn``): row builder B's entries to the
engines of the heads that keep them.

Every entry (query row block, key block, the heads keeping it, the heads for which it is the
row's last block) waits in a FIFO; its head becomes one tile descriptor for the engine of every
head that keeps it (a broadcast, hdl/group/fork.py): causal mask on the diagonal, the valid
keys of the block (B, or what the sequence leaves of the last block) and the block's K scale
code, read from a memory that the scale-code loader writes before the run.

Ports (``clk`` rising edge; ``rst``, ``clr`` synchronous, active high)
    push, row, blk [NBB], heads [G], lastm [G]   an entry of builder B
    full (out)          the FIFO is full
    nb [NBB+1], last_nk [NKB]   key blocks of the run; valid keys of the last block
    kc_we, kc_addr [NBB], kc_data [32]   K scale code of a block (mant [15:0], exp [31:16];
                        the exponent's low byte is kept: grp_attn rejects wider ones)
    abort               drop every entry at the broadcast
    t_valid [G] (out), t_ready [G]   per head: a tile is offered / taken
    t_diag, t_nk [NKB], t_lastm [G], t_mant [16], t_exp [8 signed] (out)   the tile
                        (``t_lastm`` bit h: the tile is head h's last of the row)
    tiles [32] (out)    (head, row, block) tiles handed out in this run
Parameters: ``G`` (heads), ``NBB`` (block index bits), ``NB`` (blocks), ``B`` (block).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, concat, intbv

from hdl.common.fifo import kv_fifo
from hdl.group.fork import grp_fork

#: entries of builder B that wait for the engines
DESC_DEPTH = 16


@block
def grp_tiles(clk, rst, clr, push, row, blk, heads, lastm, full, nb, last_nk,
              kc_we, kc_addr, kc_data, abort, t_valid, t_ready, t_diag, t_nk, t_lastm, t_mant,
              t_exp, tiles, G, NBB, NB, B):
    width = 2 * NBB + 2 * G
    din, head = Signal(intbv(0)[width:]), Signal(intbv(0)[width:])
    pop, empty = Signal(bool(0)), Signal(bool(0))
    fifo = kv_fifo(clk, rst, clr, push, din, pop, head, full, empty, None, DESC_DEPTH, width)
    head_row, head_blk, head_heads = Signal(intbv(0)[NBB:]), Signal(intbv(0)[NBB:]), Signal(intbv(0)[G:])
    head_valid, head_ready = Signal(bool(0)), Signal(bool(0))
    fork = grp_fork(clk, rst, clr, head_valid, head_ready, head_heads, abort, t_valid, t_ready, G)
    k_codes = [Signal(intbv(0)[24:]) for _ in range(NB)]    # mantissa, the exponent's low byte
    k_code = Signal(intbv(0)[24:])

    @always_comb
    def fields():
        din.next = concat(lastm, heads, blk, row)
        head_row.next = head[NBB:]
        head_blk.next = head[2 * NBB:NBB]
        head_heads.next = head[2 * NBB + G:2 * NBB]
        t_lastm.next = head[2 * NBB + 2 * G:2 * NBB + G]
        head_valid.next = not empty
        pop.next = head_ready and not empty

    @always(clk.posedge)
    def code_write():
        if kc_we:
            k_codes[kc_addr].next = kc_data[24:]

    @always_comb
    def code_read():
        k_code.next = k_codes[head_blk]

    @always_comb
    def tile():
        t_diag.next = head_blk == head_row
        if head_blk == nb - 1:
            t_nk.next = last_nk
        else:
            t_nk.next = B
        t_mant.next = k_code[16:]
        t_exp.next = k_code[24:16].signed()

    @always(clk.posedge)
    def count():
        if rst or clr:
            tiles.next = 0
        elif head_valid and head_ready and not abort:
            n = 0
            for h in range(G):
                if head_heads[h]:
                    n = n + 1
            tiles.next = tiles + n

    return fifo, fork, fields, code_write, code_read, tile, count
