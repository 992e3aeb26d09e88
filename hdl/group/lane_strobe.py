"""One strobe to the lane it concerns (the AXI masters of ``grp_attn``): bit h of ``out`` is
``strobe and lane == h``.

Ports (combinational)
    strobe              the event (a handshake of the master)
    lane [max(1, log2 G)]   the lane it belongs to
    out [G] (out)       one bit per lane
Parameter: ``G`` (lanes).
"""

from __future__ import annotations

from myhdl import always_comb, block, intbv


@block
def grp_lane_strobe(strobe, lane, out, G):
    @always_comb
    def decode():
        bits = intbv(0)[G:]
        for h in range(G):
            if strobe and lane == h:
                bits[h] = 1
        out.next = bits

    return decode
