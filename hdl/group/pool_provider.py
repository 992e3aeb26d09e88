"""Pooled-row provider of the attention group datapath (``grp_attn``): ``sig_pool``'s rows to the
two row builders.

Serves the builders' requests one at a time (A first: the cache waits for A's whole stream):
``pr_start``, wait for ``pr_done``, copy the G heads' rows (``pr_rd_head`` held two cycles,
sampled at the end of the second) into the builder's row register, ack.  sig_pool's output rows
stay until its next ``pr_done``, so the provider remembers which row they hold (``held_row``): a
request for that row is only a copy (the second builder asking for the same row), and while
nothing is asked it prefetches the next row of builder A (of B once A has its last row), so the
row is computed while the builder scans.  Once the run aborts, requests are acked at once
without asking sig_pool, so the builders (and the cache behind A) run to their end and no
request is left in flight at done.

Ports (``clk`` rising edge; ``rst``, ``clr`` synchronous, active high)
    accept              a run starts: ``row_guard`` is sampled into ``enabled``
    row_guard           use pooled rows in the run
    enabled (out)       pooled rows are used in this run (the builders' ``pen``)
    scan_go             the builders start their scans
    abort               the run is aborted: ack without asking sig_pool
    nb [NBB+1]          key blocks of the run
    a_req, a_row [NBB], a_ack (out), a_bits [G*NB] (out)   builder A's request and row register
    b_req, b_row [NBB], b_ack (out), b_bits [G*NB] (out)   builder B's
    pr_start, pr_row [IW] (out); pr_done, pr_err; pr_rd_head [HIW] (out), pr_word [NB]
                        sig_pool's row port (hdl/index/pool.py)
    idle (out)          no request in service
    err (out)           sticky: sig_pool refused a row in this run
Parameters: ``G`` (heads), ``NB`` (blocks).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, concat, intbv


@block
def grp_pool_provider(clk, rst, clr, accept, row_guard, enabled, scan_go, abort, nb,
                      a_req, a_row, a_ack, a_bits, b_req, b_row, b_ack, b_bits,
                      pr_start, pr_row, pr_done, pr_err, pr_rd_head, pr_word, idle, err, G, NB):
    P_IDLE, P_WAIT, P_COPY = 0, 1, 2
    state = Signal(intbv(0, min=0, max=3))
    serving_b = Signal(bool(0))     # the request in service is builder B's
    prefetch = Signal(bool(0))      # the request in flight is a prefetch (no builder waits on it)
    head = Signal(intbv(0)[len(pr_rd_head):])
    hold = Signal(bool(0))          # second cycle of the head's address
    held_ok = Signal(bool(0))       # sig_pool's output rows hold row held_row of this run
    held_row = Signal(intbv(0)[len(a_row):])
    a_rows_left, b_rows_left = Signal(bool(0)), Signal(bool(0))   # the builder has rows to ask for
    a_shifted, b_shifted = Signal(intbv(0)[G * NB:]), Signal(intbv(0)[G * NB:])

    # the rows of heads 0..G-1 shift in from the top: head h ends at h*NB
    if G > 1:
        @always_comb
        def shift_in():
            a_shifted.next = concat(pr_word, a_bits[G * NB:NB])
            b_shifted.next = concat(pr_word, b_bits[G * NB:NB])
    else:
        @always_comb
        def shift_in():
            a_shifted.next = pr_word
            b_shifted.next = pr_word

    # the request to serve (A first) and the row to prefetch (A's next, then B's)
    a_waits, b_waits = Signal(bool(0)), Signal(bool(0))
    ask_row = Signal(intbv(0)[len(a_row):])
    ahead_wanted = Signal(bool(0))
    ahead_row = Signal(intbv(0)[len(a_row) + 1:])

    @always_comb
    def choose():
        # an ack is still high in the cycle after it: that request is served
        a_waits.next = a_req and not a_ack
        b_waits.next = b_req and not b_ack
        if a_req and not a_ack:
            ask_row.next = a_row
        else:
            ask_row.next = b_row
        if a_rows_left:
            ahead_wanted.next = not a_ack
            ahead_row.next = a_row + 1
        else:
            ahead_wanted.next = b_rows_left and not b_ack
            ahead_row.next = b_row + 1
        idle.next = state == P_IDLE

    @always(clk.posedge)
    def provider():
        pr_start.next = False
        a_ack.next = False
        b_ack.next = False
        if accept:
            enabled.next = row_guard
        if rst or clr:
            state.next = P_IDLE
            err.next = False
            held_ok.next = False
            a_rows_left.next = False
            b_rows_left.next = False
        else:
            if scan_go:
                a_rows_left.next = enabled
                b_rows_left.next = enabled
            if state == P_IDLE:
                head.next = 0
                pr_rd_head.next = 0
                hold.next = False
                if a_waits or b_waits:
                    if abort:
                        if a_waits:
                            a_ack.next = True
                        else:
                            b_ack.next = True
                    else:
                        serving_b.next = not a_waits
                        prefetch.next = False
                        if held_ok and held_row == ask_row:
                            state.next = P_COPY
                        else:
                            pr_row.next = ask_row
                            pr_start.next = True
                            state.next = P_WAIT
                elif not abort and ahead_wanted:
                    if ahead_row < nb and not (held_ok and held_row == ahead_row):
                        prefetch.next = True
                        pr_row.next = ahead_row
                        pr_start.next = True
                        state.next = P_WAIT
            elif state == P_WAIT:
                if pr_done:
                    held_ok.next = not pr_err
                    held_row.next = pr_row
                    if prefetch:
                        # a refused prefetch is asked again by the builder (and refused)
                        state.next = P_IDLE
                    elif pr_err:
                        # refused: the output rows are stale; the run aborts (status bit 6)
                        err.next = True
                        if serving_b:
                            b_ack.next = True
                        else:
                            a_ack.next = True
                        state.next = P_IDLE
                    else:
                        state.next = P_COPY
            else:
                if not hold:
                    hold.next = True
                else:
                    hold.next = False
                    if serving_b:
                        b_bits.next = b_shifted
                    else:
                        a_bits.next = a_shifted
                    if head == G - 1:
                        if serving_b:
                            b_ack.next = True
                            if b_row + 1 == nb:
                                b_rows_left.next = False
                        else:
                            a_ack.next = True
                            if a_row + 1 == nb:
                                a_rows_left.next = False
                        state.next = P_IDLE
                    else:
                        head.next = head + 1
                        pr_rd_head.next = head + 1

    return shift_in, choose, provider
