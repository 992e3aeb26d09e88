"""Sorted list of the selector (hdl/index/select.py): (score, index) entries, descending by score.

An insert takes one cycle: the new entry goes in front of the first entry that it beats and
every entry behind it moves down by one (one comparator per entry).  A pop drops the head and
moves every entry up by one.  Ties: with ``new_first = 0`` a new score equal to an old one goes
behind it (scores that arrive with rising indices keep the lower index first), with
``new_first = 1`` in front of it (falling indices).

Ports (``clk`` rising edge; ``rst`` synchronous, active high)
    clr                     empty the list (with ``rst``: before everything else)
    ins, ins_val, ins_idx   insert one entry (before ``pop`` in the same cycle; the list holds at
                            most ``depth`` entries, the caller never inserts more)
    pop                     drop the head (only while ``count`` > 0)
    head_val, head_idx      the head entry (the largest score)
    count [0..depth]        entries held
Parameters: ``new_first`` (0 or 1), ``depth`` (entries); the widths are those of ``ins_val``
and ``ins_idx``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv


@block
def sig_sorted_list(clk, rst, clr, ins, ins_val, ins_idx, pop, head_val, head_idx, count,
                    new_first, depth):
    # an old entry stays ahead of a new one if old + keep_old > new (1: ties keep the old first)
    keep_old = 0 if new_first else 1
    vals = [Signal(intbv(0)[len(ins_val):]) for _ in range(depth)]
    idxs = [Signal(intbv(0)[len(ins_idx):]) for _ in range(depth)]
    n = Signal(intbv(0, min=0, max=depth + 1))

    @always(clk.posedge)
    def update():
        if rst or clr:
            n.next = 0
        elif ins:
            n.next = n + 1
            prev = n > 0 and vals[0] + keep_old > ins_val
            if not prev:
                vals[0].next = ins_val
                idxs[0].next = ins_idx
            for p in range(1, depth):
                ahead = p < n and vals[p] + keep_old > ins_val
                if not ahead:
                    if prev:
                        vals[p].next = ins_val
                        idxs[p].next = ins_idx
                    else:
                        vals[p].next = vals[p - 1]
                        idxs[p].next = idxs[p - 1]
                prev = ahead
        elif pop:
            n.next = n - 1
            for p in range(depth - 1):
                vals[p].next = vals[p + 1]
                idxs[p].next = idxs[p + 1]

    @always_comb
    def outputs():
        head_val.next = vals[0]
        head_idx.next = idxs[0]
        count.next = n

    return update, outputs
