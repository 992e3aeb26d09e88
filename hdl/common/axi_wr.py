"""AXI4 write master of the top (the index-set writer's port): commands of whole beats become
INCR bursts.

A command (``cmd_addr``, ``cmd_beats``) writes ``cmd_beats`` beats from a beat-aligned address;
the beats come on the ``d_*`` stream in order.  The command is split into INCR bursts of at most
``max_burst`` beats that never cross a 4 KiB boundary.  One burst at a time on AW / W (the AW
of a burst, then its beats, ``wlast`` on the last); write responses are counted, so several
bursts may wait for their B.  ``wstrb`` is all ones.  ``err`` is sticky: a response with
SLVERR / DECERR or a foreign ``bid`` (cleared by ``clr`` or ``rst``).

Ports (``clk`` rising edge, ``rst`` synchronous active high)
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


@block
def top_axi_wr(clk, rst, cmd_valid, cmd_ready, cmd_addr, cmd_beats, d_valid, d_ready, d_data,
               awvalid, awready, awaddr, awid, awlen, awsize, awburst,
               wvalid, wready, wdata, wstrb, wlast, bvalid, bready, bresp, bid,
               clr, err, idle, cfg, max_burst=16, max_out=8):
    AB, AXW = cfg.axi_addr_bits, cfg.axi_data_bits
    BYTES = AXW // 8
    LOGB = BYTES.bit_length() - 1
    BEATS_4K = 4096 // BYTES
    busy = Signal(bool(0))        # a command is open
    addr = Signal(intbv(0)[AB:])
    left = Signal(intbv(0)[16:])
    awv = Signal(bool(0))
    wleft = Signal(intbv(0, min=0, max=max_burst + 1))   # beats of the current burst still to send
    outst = Signal(intbv(0, min=0, max=max_out + 1))
    nlen = Signal(intbv(0, min=0, max=max_burst + 1))
    w_fire, b_fire = Signal(bool(0)), Signal(bool(0))
    ALL = (1 << (AXW // 8)) - 1

    @always_comb
    def burst_len():
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
        awvalid.next = awv
        awid.next = 0
        awsize.next = LOGB
        awburst.next = 1
        wvalid.next = wleft != 0 and d_valid
        d_ready.next = wleft != 0 and wready
        wdata.next = d_data
        wstrb.next = ALL
        wlast.next = wleft == 1
        bready.next = 1
        w_fire.next = wleft != 0 and d_valid and wready
        b_fire.next = bvalid
        idle.next = not busy and not awv and wleft == 0 and outst == 0

    @always(clk.posedge)
    def issue():
        if rst:
            busy.next = 0
            awv.next = 0
            left.next = 0
            wleft.next = 0
        else:
            if awv and awready:
                awv.next = 0
                wleft.next = awlen + 1
            elif w_fire:
                wleft.next = wleft - 1
            # next burst once the previous one's beats are out and a response slot is free
            if busy and left != 0 and not awv and wleft == 0 and outst < max_out:
                awv.next = 1
                awaddr.next = addr
                awlen.next = nlen - 1
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
            err.next = 0
        else:
            aw_fire = awv and awready
            if aw_fire and not b_fire:
                outst.next = outst + 1
            elif b_fire and not aw_fire:
                outst.next = outst - 1
            if clr:
                err.next = 0
            elif bvalid and (bresp >= 2 or bid != 0):
                err.next = 1

    return burst_len, handshakes, issue, count
