"""AXI4 read master of the index generator: commands of whole beats become INCR bursts.

A command (``cmd_addr``, ``cmd_beats``) asks for ``cmd_beats`` beats of ``AXW`` bits from a
beat-aligned address.  It is split into INCR bursts of at most ``max_burst`` beats that never
cross a 4 KiB boundary (hdl/common/bursts.py); up to ``max_out`` bursts are in flight.  Read data passes through in
order (one ID) with valid/ready: ``rready`` is the consumer's ``o_ready``.

Ports (``clk`` rising edge, ``rst`` synchronous, a ``ResetSignal``)
    cmd_valid, cmd_ready, cmd_addr [AB], cmd_beats [16]   command handshake
    arid [1], araddr [AB], arlen [8], arsize [3], arburst [2], arvalid, arready   AXI AR (arid = 0)
    rid [1], rdata [AXW], rresp [2], rlast, rvalid, rready            AXI R channel
    o_valid, o_ready, o_data [AXW]    read beats, in command order
    o_err             sticky: a beat came back with SLVERR / DECERR or a foreign ID (cleared by rst)
    idle              no command open and no burst in flight
Parameters: ``cfg`` (AXI widths), ``max_burst`` (1..256), ``max_out``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.common.bursts import axi_bursts
from hdl.common.outstanding import axi_outstanding
from hdl.index.params import MAX_BURST, MAX_OUTSTANDING


@block
def sig_axi_rd(clk, rst, cmd_valid, cmd_ready, cmd_addr, cmd_beats,
               arid, araddr, arlen, arsize, arburst, arvalid, arready,
               rid, rdata, rresp, rlast, rvalid, rready,
               o_valid, o_ready, o_data, o_err, idle, cfg,
               max_burst=MAX_BURST, max_out=MAX_OUTSTANDING):
    beat_bytes = cfg.axi_data_bits // 8
    log_beat_bytes = beat_bytes.bit_length() - 1
    room, busy = Signal(bool(0)), Signal(bool(0))
    address = axi_bursts(clk, rst, cmd_valid, cmd_ready, cmd_addr, cmd_beats, room, arvalid, arready,
                         araddr, arlen, busy, beat_bytes=beat_bytes, max_burst=max_burst)
    outstanding = Signal(intbv(0, min=0, max=max_out + 1))
    ar_fire, r_done = Signal(bool(0)), Signal(bool(0))
    tracker = axi_outstanding(clk, rst, ar_fire, r_done, outstanding)

    @always_comb
    def handshakes():
        # a burst waiting on AR counts against the limit until it is accepted
        room.next = outstanding + 1 < max_out
        ar_fire.next = arvalid and arready
        r_done.next = rvalid and o_ready and rlast
        arid.next = 0
        arsize.next = log_beat_bytes
        arburst.next = 1
        o_valid.next = rvalid
        rready.next = o_ready
        o_data.next = rdata
        idle.next = not busy and outstanding == 0 and not arvalid

    @always(clk.posedge)
    def errors():
        if rst:
            o_err.next = 0
        elif rvalid and o_ready and (rresp >= 2 or rid != 0):
            o_err.next = 1

    return address, tracker, handshakes, errors
