"""Row channel of the K / V broadcast (hdl/group/kv_bcast.py): a FIFO of rows tagged with a head
mask, then the broadcast of every row to the engines of the masked heads (hdl/group/fork.py).

Ports (``clk`` rising edge; ``rst``, ``clr`` synchronous, active high)
    push, din [8D + G]  write a row; ``din`` = the head mask (top G bits) above the row
    full (out)          the FIFO is full
    sink                drop every row at the broadcast (an aborted run)
    o_valid [G] (out), o_ready [G]   per head: the head row is offered / taken
    o_data [8D] (out)   the head row
Parameters: ``depth`` (rows, a power of two), ``G`` (heads).
"""

from __future__ import annotations

from myhdl import Signal, always_comb, block, intbv

from hdl.common.fifo import kv_fifo
from hdl.group.fork import grp_fork


@block
def grp_row_channel(clk, rst, clr, push, din, full, sink, o_valid, o_ready, o_data, depth, G):
    width = len(din)
    row_bits = width - G
    pop, empty = Signal(bool(0)), Signal(bool(0))
    head = Signal(intbv(0)[width:])
    mask = Signal(intbv(0)[G:])
    head_valid, head_ready = Signal(bool(0)), Signal(bool(0))
    fifo = kv_fifo(clk, rst, clr, push, din, pop, head, full, empty, None, depth, width)
    fork = grp_fork(clk, rst, clr, head_valid, head_ready, mask, sink, o_valid, o_ready, G)

    @always_comb
    def unpack():
        o_data.next = head[row_bits:]
        mask.next = head[width:row_bits]
        head_valid.next = not empty
        pop.next = head_ready and not empty

    return fifo, fork, unpack
