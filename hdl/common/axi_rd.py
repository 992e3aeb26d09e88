"""AXI4 read master of the index generator: commands of whole beats become INCR bursts.

A command (``cmd_addr``, ``cmd_beats``) asks for ``cmd_beats`` beats of ``AXW`` bits from a
beat-aligned address.  It is split into INCR bursts of at most ``max_burst`` beats that never
cross a 4 KiB boundary; up to ``max_out`` bursts are in flight.  Read data passes through in
order (one ID) with valid/ready: ``rready`` is the consumer's ``o_ready``.

Ports (``clk`` rising edge, ``rst`` synchronous)
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

from hdl.index.params import MAX_BURST, MAX_OUTSTANDING


@block
def sig_axi_rd(clk, rst, cmd_valid, cmd_ready, cmd_addr, cmd_beats,
               arid, araddr, arlen, arsize, arburst, arvalid, arready,
               rid, rdata, rresp, rlast, rvalid, rready,
               o_valid, o_ready, o_data, o_err, idle, cfg,
               max_burst=MAX_BURST, max_out=MAX_OUTSTANDING):
    AB, AXW = cfg.axi_addr_bits, cfg.axi_data_bits
    BYTES = AXW // 8
    LOGB = BYTES.bit_length() - 1
    BEATS_4K = 4096 // BYTES
    busy = Signal(bool(0))
    addr = Signal(intbv(0)[AB:])
    left = Signal(intbv(0)[16:])
    arv = Signal(bool(0))
    outst = Signal(intbv(0, min=0, max=max_out + 1))
    nlen = Signal(intbv(0, min=0, max=max_burst + 1))
    ar_fire, r_done = Signal(bool(0)), Signal(bool(0))

    @always_comb
    def burst_len():
        # beats up to the next 4 KiB boundary, the burst limit and what is left of the command
        n = intbv(0, min=0, max=BEATS_4K + 1)
        n[:] = BEATS_4K - ((addr >> LOGB) & (BEATS_4K - 1))
        if n > max_burst:
            n[:] = max_burst
        if n > left:
            n[:] = left
        nlen.next = n

    @always_comb
    def handshakes():
        cmd_ready.next = not busy
        ar_fire.next = arv and arready
        r_done.next = rvalid and o_ready and rlast
        arvalid.next = arv
        arid.next = 0
        arsize.next = LOGB
        arburst.next = 1
        o_valid.next = rvalid
        rready.next = o_ready
        o_data.next = rdata
        idle.next = not busy and outst == 0 and not arv

    @always(clk.posedge)
    def issue():
        if rst:
            busy.next = 0
            arv.next = 0
            left.next = 0
        else:
            if arv and arready:
                arv.next = 0
            # a pending burst counts against the limit until it is accepted
            if busy and left != 0 and (not arv or arready) and outst + 1 < max_out:
                arv.next = 1
                araddr.next = addr
                arlen.next = nlen - 1
                addr.next = addr + (nlen << LOGB)
                left.next = left - nlen
                if left == nlen:
                    busy.next = 0
            if cmd_valid and not busy:
                addr.next = cmd_addr
                left.next = cmd_beats
                busy.next = cmd_beats != 0

    @always(clk.posedge)
    def count():
        if rst:
            outst.next = 0
            o_err.next = 0
        else:
            if ar_fire and not r_done:
                outst.next = outst + 1
            elif r_done and not ar_fire:
                outst.next = outst - 1
            if rvalid and o_ready and (rresp >= 2 or rid != 0):
                o_err.next = 1

    return burst_len, handshakes, issue, count
