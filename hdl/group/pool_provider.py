"""Pooled-row provider of the attention group datapath (``grp_attn``): ``sig_pool``'s rows to the
two row builders.

The builders ask for their rows in order, builder A (whose whole stream the cache waits for)
rows 0..nb-1, then builder B rows 0..nb-1, so the provider computes exactly that sequence ahead
of them, keeping ``sig_pool``'s two-stage row pipeline full:

* **issue**: the next row of the sequence goes to ``sig_pool`` (``pr_start``) as soon as its
  front is free (``pr_busy`` low), while the previous row still pops in its back;
* **capture**: at each ``pr_done`` the G heads' output rows are copied (``pr_rd_head`` held two
  cycles, sampled at the end of the second, so a combinational or a registered ``pr_word`` both
  work) into a ready register; ``pr_hold`` keeps ``sig_pool`` from publishing the next row until
  the copy is done, and a capture waits while the ready register still holds a row;
* **serve**: a builder's request for the row in the ready register is answered the next cycle
  (the row register written, ack).

So a row costs the builder about the front of ``sig_pool`` (its two sweeps) instead of the
whole row latency plus the copy and handshake.  A refused row (``pr_err``) sets ``err`` (the
run aborts, status bit 6).  Once the run aborts, requests are acked at once, nothing new is
issued and rows still answered by ``sig_pool`` are dropped, so the builders (and the cache
behind A) run to their end and no request is left in flight at done (``idle``).

Ports (``clk`` rising edge; ``rst``, ``clr`` synchronous, active high)
    accept              a run starts: ``row_guard`` is sampled into ``enabled``
    row_guard           use pooled rows in the run
    enabled (out)       pooled rows are used in this run (the builders' ``pen``)
    seq_go              the run's rows start (the sequence starts while the sets load, before
                        the builders scan)
    abort               the run is aborted: ack without asking sig_pool
    nb [NBB+1]          key blocks of the run
    a_req, a_row [NBB], a_ack (out), a_bits [G*NB] (out)   builder A's request and row register
    b_req, b_row [NBB], b_ack (out), b_bits [G*NB] (out)   builder B's
    pr_start, pr_row [IW] (out); pr_busy, pr_done, pr_err; pr_hold (out); pr_rd_head [HIW] (out),
    pr_word [NB]        sig_pool's row port (hdl/index/pool.py)
    idle (out)          no row in sig_pool and none being captured
    err (out)           sticky: sig_pool refused a row in this run
Parameters: ``G`` (heads), ``NB`` (blocks).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, concat, intbv


@block
def grp_pool_provider(clk, rst, clr, accept, row_guard, enabled, seq_go, abort, nb,
                      a_req, a_row, a_ack, a_bits, b_req, b_row, b_ack, b_bits,
                      pr_start, pr_row, pr_busy, pr_done, pr_err, pr_hold, pr_rd_head, pr_word,
                      idle, err, G, NB):
    row_bits = len(a_row)
    # the sequence A 0..nb-1, B 0..nb-1: the next row to issue, and the row the next pr_done answers
    is_on, is_b = Signal(bool(0)), Signal(bool(0))
    is_row = Signal(intbv(0)[row_bits:])
    cap_b = Signal(bool(0))
    cap_row = Signal(intbv(0)[row_bits:])
    inflight = Signal(intbv(0, min=0, max=3))     # issued rows whose pr_done has not come
    # capture of a published row into the ready register
    copying = Signal(bool(0))
    c_b = Signal(bool(0))
    c_row = Signal(intbv(0)[row_bits:])
    head = Signal(intbv(0)[len(pr_rd_head):])
    hold = Signal(bool(0))                        # second cycle of the head's address
    rdy, rdy_b = Signal(bool(0)), Signal(bool(0))
    rdy_row = Signal(intbv(0)[row_bits:])
    rdy_bits, shifted = Signal(intbv(0)[G * NB:]), Signal(intbv(0)[G * NB:])
    issue = Signal(bool(0))

    # the rows of heads 0..G-1 shift in from the top: head h ends at h*NB
    if G > 1:
        @always_comb
        def shift_in():
            shifted.next = concat(pr_word, rdy_bits[G * NB:NB])
    else:
        @always_comb
        def shift_in():
            shifted.next = pr_word

    @always_comb
    def status():
        issue.next = is_on and not abort and not pr_busy and not pr_start and inflight != 2
        pr_hold.next = pr_done or copying
        idle.next = inflight == 0 and not copying

    @always(clk.posedge)
    def provider():
        pr_start.next = False
        a_ack.next = False
        b_ack.next = False
        if accept:
            enabled.next = row_guard
        if rst or clr:
            is_on.next = False
            inflight.next = 0
            copying.next = False
            rdy.next = False
            err.next = False
        else:
            if seq_go:
                is_on.next = enabled
                is_b.next = False
                is_row.next = 0
                cap_b.next = False
                cap_row.next = 0
            # ---- issue the next row of the sequence
            if issue:
                pr_start.next = True
                pr_row.next = is_row
                if is_row + 1 == nb:
                    is_row.next = 0
                    if is_b:
                        is_on.next = False
                    else:
                        is_b.next = True
                else:
                    is_row.next = is_row + 1
            # ---- capture: pr_done answers the oldest issued row
            if pr_done:
                if cap_row + 1 == nb:
                    cap_row.next = 0
                    cap_b.next = True
                else:
                    cap_row.next = cap_row + 1
                if pr_err:
                    err.next = True
                elif not abort:
                    copying.next = True
                    c_b.next = cap_b
                    c_row.next = cap_row
                    head.next = 0
                    pr_rd_head.next = 0
                    hold.next = False
            if issue and not pr_done:
                inflight.next = inflight + 1
            elif pr_done and not issue:
                inflight.next = inflight - 1
            if copying:
                if abort:
                    copying.next = False
                elif not rdy:
                    if not hold:
                        hold.next = True
                    else:
                        hold.next = False
                        rdy_bits.next = shifted
                        if head == G - 1:
                            rdy.next = True
                            rdy_b.next = c_b
                            rdy_row.next = c_row
                            copying.next = False
                        else:
                            head.next = head + 1
                            pr_rd_head.next = head + 1
            # ---- serve: the ready row to the builder that asks for it (an ack is still high in
            # the cycle after it: that request is served)
            if abort:
                rdy.next = False
                if a_req and not a_ack:
                    a_ack.next = True
                if b_req and not b_ack:
                    b_ack.next = True
            elif rdy:
                if not rdy_b and a_req and not a_ack and a_row == rdy_row:
                    a_bits.next = rdy_bits
                    a_ack.next = True
                    rdy.next = False
                elif rdy_b and b_req and not b_ack and b_row == rdy_row:
                    b_bits.next = rdy_bits
                    b_ack.next = True
                    rdy.next = False

    return shift_in, status, provider
