"""Row control of the pooled estimate (hdl/index/pool.py): a two-stage pipeline over rows.

The front runs one row r: the score sweep (K means and codes of blocks 0..r read at ``rd_c``,
``a_v`` a cycle later), a wait for the last logit and the row max, then the exp sweep (``b_v``,
``b_c`` = 0..r: the selectors' inserts, after ``sel_clr``), and hands the row to the back with
``sel_go``.  The back waits for every head's selector to finish its pop and for ``pr_hold`` to be
low (the reader still copies the row published before), then publishes the maps to the output
rows (``publish``) and pulses ``pr_done``.  The front takes the next row while the
back still pops; it waits for the back only before it clears the selectors.  A refused request
(means not loaded, or r >= nb) answers, with ``pr_err``, after the row in the back has answered.

Ports (``clk`` rising edge, ``rst`` synchronous active high)
    pr_start, pr_row [IW]  pulse: compute row pr_row (taken while ``pr_busy`` is low)
    pr_busy                the front runs a row
    pr_done, pr_err        as in hdl/index/pool.py
    pr_hold                the output rows must not change yet: the back waits before publishing
    pr_cycles [32]         pr_start to pr_done of the last finished row
    loaded, nb [NBW]       the means are loaded (hdl/index/pool_means.py); the run's blocks
    rd_c, rr [IW]          K mean / code read address (score sweep), the front's row
    a_v, a_cr [IW], a_first    block a_cr's K mean and code are on the read ports; a_first: c = 0
    b_v, b_c [IW]          exp sweep: the heads read their logit buffers at b_c
    sel_clr, sel_go        the heads' selectors: clear (before the inserts), go (pop)
    sel_idle               every head's selector is idle
    publish                the back copies the maps to the output rows this cycle
Parameters: none (the widths are those of the ports).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

R_IDLE, R_SCORE, R_WAIT, R_EXP, R_REFUSE = range(5)
B_IDLE, B_SEL, B_COPY = range(3)


@block
def sig_pool_rows(clk, rst, pr_start, pr_row, pr_busy, pr_done, pr_err, pr_hold, pr_cycles, loaded, nb,
                  rd_c, rr, a_v, a_cr, a_first, b_v, b_c, sel_clr, sel_go, sel_idle, publish):
    front = Signal(intbv(R_IDLE, min=0, max=5))
    back = Signal(intbv(B_IDLE, min=0, max=3))
    fcyc, bcyc, cyc = (Signal(intbv(0)[32:]) for _ in range(3))
    a_on = Signal(bool(0))          # score sweep issuing (address rd_c)
    wcnt = Signal(intbv(0, min=0, max=16))

    @always_comb
    def status():
        pr_busy.next = front != R_IDLE
        pr_cycles.next = cyc
        publish.next = back == B_COPY

    @always(clk.posedge)
    def control():
        sel_clr.next = 0
        sel_go.next = 0
        pr_done.next = 0
        a_v.next = a_on and not rst
        a_cr.next = rd_c
        a_first.next = rd_c == 0
        if rst:
            front.next = R_IDLE
            back.next = B_IDLE
            a_on.next = 0
            b_v.next = 0
            pr_err.next = 0
            cyc.next = 0
        else:
            # ---- front: score sweep, exp sweep (the selectors' inserts) of the row rr
            if front != R_IDLE:
                fcyc.next = fcyc + 1
            if front == R_IDLE:
                if pr_start:
                    fcyc.next = 1
                    if loaded and pr_row < nb:
                        rr.next = pr_row
                        pr_err.next = 0
                        rd_c.next = 0
                        a_on.next = 1
                        front.next = R_SCORE
                    else:
                        front.next = R_REFUSE
            elif front == R_SCORE:
                # rd_c walks 0..r (the Q mean/code of row r were read at the previous edge)
                if rd_c == rr:
                    a_on.next = 0
                    wcnt.next = 4
                    front.next = R_WAIT
                else:
                    rd_c.next = rd_c + 1
            elif front == R_WAIT:
                # the last logit lands in the buffer and the row max settles; the selectors must
                # have handed the previous row's maps to the output rows (back idle) before clr
                if wcnt != 0:
                    wcnt.next = wcnt - 1
                elif back == B_IDLE:
                    sel_clr.next = 1
                    b_c.next = 0
                    b_v.next = 1
                    front.next = R_EXP
            elif front == R_EXP:
                if b_v:
                    if b_c == rr:
                        b_v.next = 0
                        wcnt.next = 5
                    else:
                        b_c.next = b_c + 1
                elif wcnt == 0:
                    # hand the row to the back (pop + copy); the front takes the next row
                    sel_go.next = 1
                    bcyc.next = fcyc + 1
                    back.next = B_SEL
                    front.next = R_IDLE
                else:
                    wcnt.next = wcnt - 1
            else:
                # a refused request answers after the row in the back has answered
                if back == B_IDLE:
                    pr_err.next = 1
                    pr_done.next = 1
                    front.next = R_IDLE
            # ---- back: pop the kept blocks, copy the maps to the output rows
            if back != B_IDLE:
                bcyc.next = bcyc + 1
            if back == B_SEL:
                if sel_idle and not sel_go and not pr_hold:
                    back.next = B_COPY
            elif back == B_COPY:
                pr_done.next = 1
                cyc.next = bcyc
                back.next = B_IDLE

    return status, control
