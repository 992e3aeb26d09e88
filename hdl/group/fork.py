"""Broadcast of one valid/ready stream to a subset of G consumers (``grp_attn``).

The head beat goes to every consumer whose bit is set in ``mask``; each consumer takes it in
its own cycle (a ``taken`` bit per consumer remembers who already has it), and the beat
leaves when every masked consumer has it.  So consumers may skew by one beat without
waiting for each other, and no consumer sees a beat twice.

Ports (``clk`` rising edge; ``rst``/``clr`` synchronous, active high)
    i_valid, i_ready    input handshake
    mask [G]            consumers of the head beat (0 is allowed: the beat just leaves)
    sink                drop every beat at once (an aborted run)
    o_valid [G]         per consumer: the head beat is offered
    o_ready [G]         per consumer: accepted (may depend on nothing of this block)
Parameter: ``G``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv


@block
def grp_fork(clk, rst, clr, i_valid, i_ready, mask, sink, o_valid, o_ready, G):
    ALL = (1 << G) - 1
    taken = Signal(intbv(0)[G:])
    done = Signal(intbv(0)[G:])

    @always_comb
    def comb():
        if i_valid and not sink:
            o_valid.next = mask & ~taken
        else:
            o_valid.next = 0
        done.next = (~mask | taken | o_ready) & ALL

    @always_comb
    def rdy():
        i_ready.next = sink or done == ALL

    @always(clk.posedge)
    def seq():
        if rst or clr or sink:
            taken.next = 0
        elif i_valid:
            if done == ALL:
                taken.next = 0
            else:
                taken.next = taken | (mask & o_ready)

    return comb, rdy, seq
