"""The order in which the index generator's fetch (hdl/index/fetch.py) reads one KV group.

First the ``Q_last`` block of heads 0..g-1 (phase ``PH_Q``, head ``h``), then K blocks 0..nb-1
for pass 1 (``PH_K1``, block ``c``), the same blocks again for pass 2 (``PH_K2``), then
``PH_IDLE``.  The fetch walks this order twice: once issuing read commands, once placing the
rows as they arrive.

Ports (``clk`` rising edge, ``rst`` synchronous: to ``PH_IDLE``)
    start                   begin at the first head's Q_last
    step                    move on to the next item (ignored in ``PH_IDLE``)
    ph [2], h, c            the current item: phase, head (PH_Q), block (PH_K1, PH_K2)
    g, nb                   heads and key blocks of the run (held while it runs)
Parameters: none.
"""

from __future__ import annotations

from myhdl import always, block

PH_Q, PH_K1, PH_K2, PH_IDLE = range(4)


@block
def sig_walk(clk, rst, start, step, ph, h, c, g, nb):

    @always(clk.posedge)
    def walk():
        if rst:
            ph.next = PH_IDLE
        elif start:
            ph.next = PH_Q
            h.next = 0
            c.next = 0
        elif step and ph != PH_IDLE:
            if ph == PH_Q:
                if h == g - 1:
                    ph.next = PH_K1
                    c.next = 0
                else:
                    h.next = h + 1
            else:
                if c == nb - 1:
                    ph.next = ph + 1
                    c.next = 0
                else:
                    c.next = c + 1

    return walk
