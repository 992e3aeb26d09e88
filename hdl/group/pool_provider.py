"""Pooled-row provider of the attention group datapath (``grp_attn``): ``sig_pool``'s rows to the
two row builders.

Each builder asks for its rows in order, 0..nb-1, so the provider computes them ahead of it and
keeps ``sig_pool``'s two-stage row pipeline full:

* **issue**: the next row of a builder goes to ``sig_pool`` (``pr_start``) as soon as its front
  is free (``pr_busy`` low), while the row before still pops in its back.  Builder A (whose
  whole stream the cache waits for) goes first and may have two rows ahead (issued or ready);
  builder B one.  So a builder that does not ask (A while the cache forwards a liveness window,
  B until the cache's first window is out) never holds up the other's rows;
* **capture**: at each ``pr_done`` the G heads' output rows are copied (``pr_rd_head`` held two
  cycles, sampled at the end of the second, so a combinational or a registered ``pr_word`` both
  work) into a staging register, then into the builder's ready rows (two for A, one for B: the
  limits above guarantee room); ``pr_hold`` keeps ``sig_pool`` from publishing its next row
  until the copy is done;
* **serve**: a builder's request for its oldest ready row is answered the next cycle (the
  builder's row register written, ack).

So a row costs builder A about the front of ``sig_pool`` (its two sweeps) instead of the whole
row latency plus the copy and handshake.  A refused row (``pr_err``) sets ``err`` (the run
aborts, status bit 6).  Once the run aborts, requests are acked at once, nothing new is issued
and rows still answered by ``sig_pool`` are dropped, so the builders (and the cache behind A)
run to their end and no row is in flight at done (``idle``).

Ports (``clk`` rising edge; ``rst``, ``clr`` synchronous, active high)
    accept              a run starts: ``row_guard`` is sampled into ``enabled``
    row_guard           use pooled rows in the run
    enabled (out)       pooled rows are used in this run (the builders' ``pen``)
    seq_go              the run's rows start (while the sets load, before the builders scan)
    abort               the run is aborted: ack without asking sig_pool
    nb [NBB+1]          key blocks of the run
    a_req, a_ack (out), a_bits [G*NB] (out)   builder A's request (its next row: rows come in
                        order 0..nb-1) and row register
    b_req, b_ack (out), b_bits [G*NB] (out)   builder B's
    pr_start, pr_row [IW] (out); pr_busy, pr_done, pr_err; pr_hold (out); pr_rd_head [HIW] (out),
    pr_word [NB]        sig_pool's row port (hdl/index/pool.py)
    idle (out)          no row in sig_pool and none being captured
    err (out)           sticky: sig_pool refused a row in this run
Parameters: ``G`` (heads), ``NB`` (blocks).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, concat, intbv

#: rows a builder may have ahead of it (issued to sig_pool or ready), A and B
A_AHEAD, B_AHEAD = 2, 1


@block
def grp_pool_provider(clk, rst, clr, accept, row_guard, enabled, seq_go, abort, nb,
                      a_req, a_ack, a_bits, b_req, b_ack, b_bits,
                      pr_start, pr_row, pr_busy, pr_done, pr_err, pr_hold, pr_rd_head, pr_word,
                      idle, err, G, NB):
    row_bits = len(pr_row)
    u = lambda n: Signal(intbv(0)[n:])  # noqa: E731
    b = lambda: Signal(bool(0))  # noqa: E731
    # next row to issue per builder, rows left, rows ahead (issued or ready)
    a_next, b_next = u(row_bits), u(row_bits)
    a_on, b_on = b(), b()
    a_ahead = Signal(intbv(0, min=0, max=A_AHEAD + 1))
    b_ahead = Signal(intbv(0, min=0, max=B_AHEAD + 1))
    # the rows in sig_pool, oldest first (at most two: its front and its back): their builder
    q0_v, q1_v, q0_b, q1_b = b(), b(), b(), b()
    # capture into the staging register
    copying, c_b = b(), b()
    head = Signal(intbv(0)[len(pr_rd_head):])
    hold = b()                                    # second cycle of the head's address
    stage, shifted = u(G * NB), u(G * NB)
    moved = b()                                   # the staging register goes to its builder
    # ready rows: A's two (0 the oldest), B's one; rows come in order, so no row tags
    a0_v, a1_v, b0_v = b(), b(), b()
    a0_bits, a1_bits, b0_bits = u(G * NB), u(G * NB), u(G * NB)
    issue_a, issue_b = b(), b()
    serve_a, serve_b = b(), b()

    # the rows of heads 0..G-1 shift in from the top: head h ends at h*NB
    if G > 1:
        @always_comb
        def shift_in():
            shifted.next = concat(pr_word, stage[G * NB:NB])
    else:
        @always_comb
        def shift_in():
            shifted.next = pr_word

    @always_comb
    def status():
        free = not abort and not pr_busy and not pr_start and not q1_v
        issue_a.next = free and a_on and a_ahead != A_AHEAD
        issue_b.next = free and b_on and b_ahead != B_AHEAD and not (a_on and a_ahead != A_AHEAD)
        # an ack is still high in the cycle after it: that request is served
        serve_a.next = not abort and a_req and not a_ack and a0_v
        serve_b.next = not abort and b_req and not b_ack and b0_v
        pr_hold.next = pr_done or copying or moved
        idle.next = not q0_v and not copying and not moved

    @always(clk.posedge)
    def provider():
        pr_start.next = False
        a_ack.next = False
        b_ack.next = False
        moved.next = False
        if accept:
            enabled.next = row_guard
        if rst or clr:
            a_on.next = False
            b_on.next = False
            a_ahead.next = 0
            b_ahead.next = 0
            q0_v.next = False
            q1_v.next = False
            copying.next = False
            a0_v.next = False
            a1_v.next = False
            b0_v.next = False
            err.next = False
        else:
            if seq_go:
                a_on.next = enabled
                b_on.next = enabled
                a_next.next = 0
                b_next.next = 0
            # ---- issue a builder's next row; the queue of rows in sig_pool
            issued = issue_a or issue_b
            if issue_a:
                pr_row.next = a_next
                if a_next + 1 == nb:
                    a_on.next = False
                else:
                    a_next.next = a_next + 1
            elif issue_b:
                pr_row.next = b_next
                if b_next + 1 == nb:
                    b_on.next = False
                else:
                    b_next.next = b_next + 1
            if issued:
                pr_start.next = True
            if pr_done:
                # the oldest row answers: the queue moves up (a row is issued only while q1 is
                # empty, so it then takes q0)
                if issued:
                    q0_b.next = issue_b
                else:
                    q0_v.next = q1_v
                    q0_b.next = q1_b
                    q1_v.next = False
            elif issued:
                if q0_v:
                    q1_v.next = True
                    q1_b.next = issue_b
                else:
                    q0_v.next = True
                    q0_b.next = issue_b
            # ---- capture the answered row (a refused or aborted one is dropped)
            if pr_done:
                if pr_err:
                    err.next = True
                elif not abort:
                    copying.next = True
                    c_b.next = q0_b
                    head.next = 0
                    pr_rd_head.next = 0
                    hold.next = False
            if copying:
                if abort:
                    copying.next = False
                elif not hold:
                    hold.next = True
                else:
                    hold.next = False
                    stage.next = shifted
                    if head == G - 1:
                        copying.next = False
                        moved.next = True
                    else:
                        head.next = head + 1
                        pr_rd_head.next = head + 1
            # ---- the ready rows: the staging register joins its builder's, a served one leaves
            if serve_a:
                a_bits.next = a0_bits
                a_ack.next = True
            if serve_b:
                b_bits.next = b0_bits
                b_ack.next = True
            a_push = moved and not c_b and not abort
            b_push = moved and c_b and not abort
            if serve_a:
                if a1_v:
                    a0_bits.next = a1_bits
                    if a_push:
                        a1_bits.next = stage
                    else:
                        a1_v.next = False
                elif a_push:
                    a0_bits.next = stage
                else:
                    a0_v.next = False
            elif a_push:
                if a0_v:
                    a1_v.next = True
                    a1_bits.next = stage
                else:
                    a0_v.next = True
                    a0_bits.next = stage
            if serve_b:
                if b_push:
                    b0_bits.next = stage
                else:
                    b0_v.next = False
            elif b_push:
                b0_v.next = True
                b0_bits.next = stage
            # rows ahead: + at issue, - at serve (after an abort nothing is issued again)
            if issue_a and not serve_a:
                a_ahead.next = a_ahead + 1
            elif serve_a and not issue_a:
                a_ahead.next = a_ahead - 1
            if issue_b and not serve_b:
                b_ahead.next = b_ahead + 1
            elif serve_b and not issue_b:
                b_ahead.next = b_ahead - 1
            # ---- abort: acks at once, the ready rows are dropped
            if abort:
                a0_v.next = False
                a1_v.next = False
                b0_v.next = False
                if a_req and not a_ack:
                    a_ack.next = True
                if b_req and not b_ack:
                    b_ack.next = True

    return shift_in, status, provider
