"""Burst plan of one head lane (hdl/group/lane.py): the next burst of the head's Q or O region.

The region of lane ``lane`` starts at ``base + lane * stride`` and holds ``nb * beats_per_block``
bus beats, read or written front to back.  The next burst starts at ``addr`` and has ``blen``
beats: what is left, at most ``max_burst``, never across a 4 KiB boundary
(hdl/common/burst_len.py).  Each accepted burst (``issue``) moves the plan past it.

Ports (``clk`` rising edge; ``rst``, ``clr`` synchronous, active high: nothing left)
    go                  settings valid: the plan restarts (``left`` = 0 for an inactive lane)
    active              the lane takes part in the run
    base [AB], stride [32], nb [NBB+1]   the regions' base, the bytes between heads, key blocks
    issue               the burst ``addr`` / ``blen`` was accepted
    addr [AB] (out)     address of the next burst
    blen [9] (out)      beats of the next burst (0 when nothing is left)
    left [32] (out)     beats not yet issued
Parameters: ``lane``, ``beats_per_block``, ``max_burst``, ``beat_bytes``.
"""

from __future__ import annotations

from myhdl import always, block

from hdl.common.burst_len import axi_burst_len


@block
def grp_lane_bursts(clk, rst, clr, go, active, base, stride, nb, issue, addr, blen, left,
                    lane, beats_per_block, max_burst, beat_bytes):
    length = axi_burst_len(addr, left, blen, beat_bytes=beat_bytes, max_burst=max_burst)

    @always(clk.posedge)
    def walk():
        if rst or clr:
            left.next = 0
        elif go:
            addr.next = base + lane * stride
            if active:
                left.next = nb * beats_per_block
        elif issue:
            addr.next = addr + blen * beat_bytes
            left.next = left - blen

    return length, walk
