"""AXI4 write master of the top (the index-set writer's port): commands of whole beats become
INCR bursts.

A command (``cmd_addr``, ``cmd_beats``) writes ``cmd_beats`` beats from a beat-aligned address;
the beats come on the ``d_*`` stream in order.  The command is split into INCR bursts of at most
``max_burst`` beats that never cross a 4 KiB boundary (hdl/common/bursts.py).  One burst at a time on AW / W (the AW
of a burst, then its beats, ``wlast`` on the last); write responses are counted, so several
bursts may wait for their B.  ``wstrb`` is all ones.  ``err`` is sticky: a response with
SLVERR / DECERR or a foreign ``bid`` (cleared by ``clr`` or ``rst``).

Ports (``clk`` rising edge, ``rst`` synchronous active high, a ``ResetSignal``)
    cmd_valid, cmd_ready, cmd_addr [AB], cmd_beats [16]    command handshake
    d_valid, d_ready, d_data [AXW]                         beats to write, in order
    awvalid, awready, awaddr [AB], awid, awlen [8], awsize [3], awburst [2]
    wvalid, wready, wdata [AXW], wstrb [AXW/8], wlast
    bvalid, bready, bresp [2], bid
    clr                 clears ``err``
    err                 sticky error (see above)
    idle                no command open, no beat pending and every burst answered
Parameters: ``cfg`` (AXI widths), ``max_burst`` (1..256), ``max_out`` (responses awaited at most).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.common.bursts import axi_bursts
from hdl.common.outstanding import axi_outstanding


@block
def top_axi_wr(clk, rst, cmd_valid, cmd_ready, cmd_addr, cmd_beats, d_valid, d_ready, d_data,
               awvalid, awready, awaddr, awid, awlen, awsize, awburst,
               wvalid, wready, wdata, wstrb, wlast, bvalid, bready, bresp, bid,
               clr, err, idle, cfg, max_burst=16, max_out=8):
    beat_bytes = cfg.axi_data_bits // 8
    log_beat_bytes = beat_bytes.bit_length() - 1
    all_bytes = (1 << beat_bytes) - 1
    room, busy = Signal(bool(0)), Signal(bool(0))
    address = axi_bursts(clk, rst, cmd_valid, cmd_ready, cmd_addr, cmd_beats, room, awvalid, awready,
                         awaddr, awlen, busy, beat_bytes=beat_bytes, max_burst=max_burst)
    wleft = Signal(intbv(0, min=0, max=max_burst + 1))   # beats of the current burst still to send
    outstanding = Signal(intbv(0, min=0, max=max_out + 1))
    w_fire, b_fire, aw_fire = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    tracker = axi_outstanding(clk, rst, aw_fire, b_fire, outstanding)

    @always_comb
    def handshakes():
        # the next burst once the previous one's beats are out and a response slot is free
        room.next = not awvalid and wleft == 0 and outstanding < max_out
        awid.next = 0
        awsize.next = log_beat_bytes
        awburst.next = 1
        wvalid.next = wleft != 0 and d_valid
        d_ready.next = wleft != 0 and wready
        wdata.next = d_data
        wstrb.next = all_bytes
        wlast.next = wleft == 1
        bready.next = 1
        w_fire.next = wleft != 0 and d_valid and wready
        b_fire.next = bvalid
        aw_fire.next = awvalid and awready
        idle.next = not busy and not awvalid and wleft == 0 and outstanding == 0

    @always(clk.posedge)
    def data():
        if rst:
            wleft.next = 0
        elif aw_fire:
            wleft.next = awlen + 1
        elif w_fire:
            wleft.next = wleft - 1

    @always(clk.posedge)
    def errors():
        if rst or clr:
            err.next = 0
        elif bvalid and (bresp >= 2 or bid != 0):
            err.next = 1

    return address, tracker, handshakes, data, errors
