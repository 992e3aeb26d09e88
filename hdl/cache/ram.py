"""Simple dual-port RAM of the KV cache: one write port, one registered read port.

The tier memories (K/V slots), the index memory and its next-use memory of the
KV cache are instances of this block.

Ports (``clk`` rising edge)
    we, waddr, wdata    write ``wdata`` at ``waddr`` when ``we``
    re, raddr, rdata    when ``re``, ``rdata`` takes the word at ``raddr`` one cycle later
                        (``rdata`` holds its value while ``re`` is low: the read
                        register doubles as a pipeline register that stalls)
Parameters
    depth, width        words and bits per word

Read-during-write of the same address returns the old word.

Why user-defined Verilog and not a list of signals: at U280 sizes tier 1 is
1024 slots x 512 words of 256 bits (16 MiB); MyHDL needs one Python Signal
object per word to convert a list, which takes minutes and gigabytes.  The
template below is the standard inferred-RAM idiom (URAM/BRAM in Vivado), the
same text at every size, so the ci-size simulation checks the exact Verilog
that the large presets use.  The Python body models it for MyHDL simulation.
"""

from __future__ import annotations

from myhdl import always, block


@block
def kv_ram(clk, we, waddr, wdata, re, raddr, rdata, depth, width):
    store: dict[int, int] = {}

    @always(clk.posedge)
    def logic():
        if re:
            rdata.next = store.get(int(raddr), 0)
        if we:
            store[int(waddr)] = int(wdata)

    rdata.driven = "reg"
    for s in (we, waddr, wdata, re, raddr):
        s.read = True
    return logic


kv_ram.verilog_code = """
reg [$width-1:0] mem_$rdata [0:$depth-1];
always @(posedge $clk) begin
    if ($re) $rdata <= mem_$rdata[$raddr];
    if ($we) mem_$rdata[$waddr] <= $wdata;
end
"""
