"""Round-robin arbiter: picks one of ``n`` requesters, the search starting after the last grant.

On ``take`` the arbiter grants the first requester at or after its pointer whose ``req`` bit is
set (the pointer starts at 0), holds that index on ``grant`` and moves the pointer past it, so
that every requester gets a turn before any gets a second one.  The master that owns the
arbiter raises ``take`` when it is free for a new transfer and ``req != 0``; ``grant`` is
valid from the next cycle until the next ``take``.

Ports (``clk`` rising edge; ``rst``, ``clr`` synchronous, active high: the pointer back to 0)
    req [n]             requests (bit i: requester i wants a turn)
    take                grant now (only while ``req != 0``)
    grant [max(1, log2 n)]   the requester granted by the last ``take``
Parameter: ``n`` (number of requesters; with 1 the grant is always 0).
"""

from __future__ import annotations

from myhdl import Signal, always, block, intbv


@block
def rr_arbiter(clk, rst, clr, req, take, grant, n):
    if n == 1:
        @always(clk.posedge)
        def pick_only():
            if take:
                grant.next = 0
        return pick_only

    start = Signal(intbv(0)[len(grant):])      # where the next search starts

    @always(clk.posedge)
    def pick():
        if rst or clr:
            start.next = 0
        elif take:
            chosen = 0
            found = False
            for i in range(n):
                cand = start + i
                if cand >= n:
                    cand = cand - n
                if not found and req[cand]:
                    chosen = cand
                    found = True
            grant.next = chosen
            if chosen == n - 1:
                start.next = 0
            else:
                start.next = chosen + 1

    return pick
