"""One of several memories on a shared write bus: the write goes here when its tag matches.

Ports (``clk`` rising edge)
    we, we_tag          write enable and the tag of the memory written
    waddr, wdata        the write (taken when ``we`` and ``we_tag == tag``)
    raddr -> rdata      registered read (the word at ``raddr`` one cycle later)
Parameters: ``tag`` (this memory's tag), ``depth`` (words; the width is that of ``wdata``).
"""

from __future__ import annotations

from myhdl import Signal, always, block, intbv


@block
def tag_ram(clk, we, we_tag, waddr, wdata, raddr, rdata, tag, depth):
    mem = [Signal(intbv(0)[len(wdata):]) for _ in range(depth)]

    @always(clk.posedge)
    def port():
        if we and we_tag == tag:
            mem[waddr].next = wdata
        rdata.next = mem[raddr]

    return port
