"""Bursts in flight of an AXI4 master: counts up when a burst's address is accepted and down
when its last response arrives (both in one cycle: unchanged).

Ports (``clk`` rising edge, ``rst`` synchronous: to 0)
    issued          a burst's address was accepted this cycle
    done            a burst's last response (R beat with rlast, or B) was taken this cycle
    count [0..max_out]   bursts in flight
"""

from __future__ import annotations

from myhdl import always, block


@block
def axi_outstanding(clk, rst, issued, done, count):

    @always(clk.posedge)
    def track():
        if rst:
            count.next = 0
        elif issued and not done:
            count.next = count + 1
        elif done and not issued:
            count.next = count - 1

    return track
