"""Q read master of the attention group datapath (``grp_attn``): the lanes' Q bursts on one AXI4
read port.

A round-robin arbiter (hdl/common/arbiter.py) picks a lane among those that request a burst
(``req``); the lane's burst address and length reach this block through the lanes' daisy chain
(``addr``, ``blen``: the selected lane's values).  Up to ``MAX_INFLIGHT - 1`` bursts are in
flight; a FIFO of their lanes routes every R beat to the lane that asked for it (``push``).

Ports (``clk`` rising edge; ``rst``, ``clr`` synchronous, active high)
    running             bursts may start (the run is past its checks and not aborted)
    req [G]             lanes that want a Q burst
    cur [max(1, log2 G)] (out)   the lane granted last (selects the daisy chain)
    addr [AB], blen [9] that lane's burst address and length in beats
    issue [G] (out)     the lane's burst was accepted (AR handshake)
    push [G] (out)      an R beat for the lane (``m_axi_rdata``)
    idle (out)          no burst requested or in flight
    err (out)           sticky: an R beat with an error response, a foreign id or none expected
    nbytes [64] (out)   bytes read in this run
    m_axi_ar*, m_axi_r* the AXI4 read master (id 0, INCR; the lanes keep bursts within 4 KiB)
Parameters: ``G`` (lanes), ``bus_bytes`` (bytes per beat).
"""

from __future__ import annotations

from myhdl import Signal, always_comb, always_seq, block, intbv

from hdl.common.arbiter import rr_arbiter
from hdl.common.fifo import kv_fifo
from hdl.common.reset import either_reset, sync_reset
from hdl.group.lane_strobe import grp_lane_strobe

#: depth of the FIFO of lanes with a burst in flight (at most MAX_INFLIGHT - 1 bursts)
MAX_INFLIGHT = 8


@block
def grp_q_reader(clk, rst, clr, running, req, cur, addr, blen, issue, push, idle, err, nbytes,
                 m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst,
                 m_axi_arvalid, m_axi_arready, m_axi_rid, m_axi_rdata, m_axi_rresp,
                 m_axi_rlast, m_axi_rvalid, m_axi_rready, G, bus_bytes):
    lane_bits = len(cur)
    log_bus_bytes = (bus_bytes - 1).bit_length()
    Q_IDLE, Q_ADDR = 0, 1
    state = Signal(bool(0))
    take = Signal(bool(0))
    inflight_push, inflight_pop, inflight_empty = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    inflight_lane = Signal(intbv(0)[lane_bits:])
    head_lane = Signal(intbv(0)[lane_bits:])
    inflight_count = Signal(intbv(0, min=0, max=MAX_INFLIGHT + 1))
    inflight = kv_fifo(clk, rst, clr, inflight_push, inflight_lane, inflight_pop, head_lane, None,
                       inflight_empty, inflight_count, MAX_INFLIGHT, lane_bits)
    arbiter = rr_arbiter(clk, rst, clr, req, take, cur, G)
    rst_run = sync_reset()                 # rst or clr: a run starts idle, its error and count clean
    run_reset = either_reset(rst, clr, rst_run)
    beat = Signal(bool(0))
    issue_to = grp_lane_strobe(inflight_push, cur, issue, G)
    beat_to = grp_lane_strobe(beat, head_lane, push, G)

    @always_comb
    def channel():
        m_axi_arid.next = 0
        m_axi_arsize.next = log_bus_bytes
        m_axi_arburst.next = 1
        m_axi_arvalid.next = state == Q_ADDR
        m_axi_araddr.next = addr
        m_axi_arlen.next = blen - 1
        m_axi_rready.next = True
        inflight_push.next = state == Q_ADDR and m_axi_arready
        inflight_lane.next = cur
        beat.next = m_axi_rvalid and not inflight_empty
        inflight_pop.next = m_axi_rvalid and m_axi_rlast and not inflight_empty
        take.next = state == Q_IDLE and running and req != 0 and inflight_count < MAX_INFLIGHT - 1
        idle.next = state == Q_IDLE and inflight_empty

    @always_seq(clk.posedge, reset=rst_run)
    def master():
        if m_axi_rvalid:
            nbytes.next = nbytes + bus_bytes
            if m_axi_rresp != 0 or m_axi_rid != 0 or inflight_empty:
                err.next = True
        if state == Q_IDLE:
            if take:
                state.next = Q_ADDR
        elif m_axi_arready:
            state.next = Q_IDLE

    return inflight, arbiter, run_reset, issue_to, beat_to, channel, master
