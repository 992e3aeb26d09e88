"""O write master of the attention group datapath (``grp_attn``): the lanes' O bursts on one AXI4
write port.

A round-robin arbiter (hdl/common/arbiter.py) picks a lane among those that hold a whole burst
of O words (``req``); the lane's burst address, length and head word reach this block through
the lanes' daisy chain (``addr``, ``blen``, ``word``: the selected lane's values).  One burst at
a time: its address (AW), then its words (W) back to back as the lane's FIFO pops them; write
responses are counted (``idle`` waits for all of them).

Ports (``clk`` rising edge; ``rst``, ``clr`` synchronous, active high)
    running             bursts may start (the run is past its checks and not aborted)
    req [G]             lanes that hold a whole O burst
    cur [max(1, log2 G)] (out)   the lane granted last (selects the daisy chain)
    addr [AB], blen [9], word [DB]   that lane's burst address, length in beats and head word
    issue [G] (out)     the lane's burst was accepted (AW handshake)
    pop [G] (out)       the lane's head word was written (W handshake)
    idle (out)          no burst in progress, no write response outstanding
    err (out)           sticky: a write response with an error or a foreign id
    nbytes [64] (out)   bytes written in this run
    m_axi_aw*, m_axi_w*, m_axi_b*   the AXI4 write master (id 0, INCR, all byte lanes)
Parameters: ``G`` (lanes), ``bus_bytes`` (bytes per beat).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.common.arbiter import rr_arbiter
from hdl.group.lane_strobe import grp_lane_strobe


@block
def grp_o_writer(clk, rst, clr, running, req, cur, addr, blen, word, issue, pop, idle, err, nbytes,
                 m_axi_awid, m_axi_awaddr, m_axi_awlen, m_axi_awsize, m_axi_awburst,
                 m_axi_awvalid, m_axi_awready, m_axi_wdata, m_axi_wstrb, m_axi_wlast,
                 m_axi_wvalid, m_axi_wready, m_axi_bid, m_axi_bresp, m_axi_bvalid,
                 m_axi_bready, G, bus_bytes):
    log_bus_bytes = (bus_bytes - 1).bit_length()
    O_IDLE, O_ADDR, O_DATA = 0, 1, 2
    state = Signal(intbv(0, min=0, max=3))
    take = Signal(bool(0))
    beats_left = Signal(intbv(0)[9:])          # W beats of the burst still to write
    responses_due = Signal(intbv(0)[16:])      # bursts whose write response has not come
    arbiter = rr_arbiter(clk, rst, clr, req, take, cur, G)
    addr_taken, word_taken = Signal(bool(0)), Signal(bool(0))
    issue_to = grp_lane_strobe(addr_taken, cur, issue, G)
    pop_to = grp_lane_strobe(word_taken, cur, pop, G)

    @always_comb
    def channel():
        m_axi_awid.next = 0
        m_axi_awsize.next = log_bus_bytes
        m_axi_awburst.next = 1
        m_axi_awvalid.next = state == O_ADDR
        m_axi_awaddr.next = addr
        m_axi_awlen.next = blen - 1
        m_axi_wvalid.next = state == O_DATA
        m_axi_wdata.next = word
        m_axi_wstrb.next = (1 << bus_bytes) - 1
        m_axi_wlast.next = beats_left == 1
        m_axi_bready.next = True
        addr_taken.next = state == O_ADDR and m_axi_awready
        word_taken.next = state == O_DATA and m_axi_wready
        take.next = state == O_IDLE and running and req != 0
        idle.next = state == O_IDLE and responses_due == 0

    @always(clk.posedge)
    def master():
        if rst or clr:
            state.next = O_IDLE
            err.next = False
            nbytes.next = 0
            responses_due.next = 0
        else:
            if addr_taken and not m_axi_bvalid:
                responses_due.next = responses_due + 1
            elif m_axi_bvalid and not addr_taken:
                responses_due.next = responses_due - 1
            if m_axi_bvalid and (m_axi_bresp != 0 or m_axi_bid != 0):
                err.next = True
            if state == O_IDLE:
                if take:
                    state.next = O_ADDR
            elif state == O_ADDR:
                if m_axi_awready:
                    beats_left.next = blen
                    state.next = O_DATA
            elif m_axi_wready:
                nbytes.next = nbytes + bus_bytes
                beats_left.next = beats_left - 1
                if beats_left == 1:
                    state.next = O_IDLE

    return arbiter, issue_to, pop_to, channel, master
