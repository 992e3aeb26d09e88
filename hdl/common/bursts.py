"""Address channel of the AXI4 masters: one command of whole beats becomes a series of INCR bursts.

A command (``cmd_addr``, ``cmd_beats``) is taken while no command is open.  The open command
is cut into bursts of at most ``max_burst`` beats that never cross a 4 KiB boundary
(hdl/common/burst_len.py); each burst is offered on the address channel (AR or AW) when the
master has ``room`` for it, also in the cycle in which the previous burst is accepted.

Ports (``clk`` rising edge, ``rst`` synchronous, a ``ResetSignal``)
    cmd_valid, cmd_ready, cmd_addr [AB], cmd_beats [16]   command handshake (a command of 0
                    beats is taken and opens nothing)
    room            the master may issue a burst now (its outstanding limit, its data channel)
    avalid, aready, aaddr [AB], alen [8]   the address channel (alen = beats - 1)
    busy            a command is open (it has beats not yet issued)
Parameters: ``beat_bytes``, ``max_burst`` (1..256).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, always_seq, block, intbv

from hdl.common.burst_len import axi_burst_len


@block
def axi_bursts(clk, rst, cmd_valid, cmd_ready, cmd_addr, cmd_beats, room, avalid, aready, aaddr, alen,
               busy, beat_bytes, max_burst):
    log_beat_bytes = beat_bytes.bit_length() - 1
    addr = Signal(intbv(0)[len(cmd_addr):])
    left = Signal(intbv(0)[16:])
    burst = Signal(intbv(0, min=0, max=max_burst + 1))
    issue = Signal(bool(0))
    length = axi_burst_len(addr, left, burst, beat_bytes=beat_bytes, max_burst=max_burst)

    @always_comb
    def offer():
        cmd_ready.next = not busy
        issue.next = busy and left != 0 and (not avalid or aready) and room

    @always_seq(clk.posedge, reset=rst)
    def split():
        if avalid and aready:
            avalid.next = 0
        if issue:
            avalid.next = 1
            left.next = left - burst
            if left == burst:
                busy.next = 0
        if cmd_valid and not busy:
            left.next = cmd_beats
            busy.next = cmd_beats != 0

    @always(clk.posedge)
    def addresses():
        # no reset (read only while busy or avalid, which the reset clears): they hold through one
        if not rst:
            if issue:
                aaddr.next = addr
                alen.next = burst - 1
                addr.next = addr + (burst << log_beat_bytes)
            if cmd_valid and not busy:
                addr.next = cmd_addr

    return length, offer, split, addresses
