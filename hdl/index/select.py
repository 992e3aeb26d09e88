"""Selection of one score vector (v or d of one head): sorted insertion, coverage pop, emission.

Bit-exact with ``golden.estimator_fixed.select_fixed`` (coverage, integer gamma code, min /
max budgets) and ``select_topk_fixed`` (top-k), followed by the forced entries that
``golden.pattern.assemble_pattern`` adds (indices below ``forced_n``: the sink block 0 for the
vertical set, offsets 0..w-1 for the slash set).  Method (docs/sig.md, "Selection"):

1. **insert** (during pass 2, one score per tile, no extra cycle): a sorted list of NBMAX
   (score, index) entries, descending.  A new score goes in front of the first entry that it
   beats; all entries behind it shift down by one in the same cycle (NBMAX comparators).  Ties
   go toward the lower index: v arrives with rising indices (a new equal score goes behind the
   old ones, ``NEW_FIRST = 0``), d with falling indices (it goes in front, ``NEW_FIRST = 1``).
   The running total of the scores is kept.
2. **pop** (after pass 2, one entry per cycle): the list's head is taken while
   ``k < n``, ``k < max_budget`` (if not 0) and (``k < min_budget`` or
   ``cum * 2**GB < code * total``) (min_budget >= 1 is checked at start, so the first entry is
   always taken, as in the golden count >= 1); every taken index sets its bit in an nb-bit map.  This is the
   golden rule: the fewest leading entries whose sum covers ``code / 2**GB`` of the total,
   clamped to the budgets.  Top-k mode is ``min_budget = max_budget = k``.
3. **emit** (nb cycles): the map, or'ed with the forced entries, is scanned from index 0 up;
   each set index is written to the index memory, so the set comes out sorted ascending.

Ports
    clr                   pulse at the start of a run: empty the list, the map, the total
    ins, ins_val [ACC], ins_idx [IW]   insert one final score
    go                    pulse: select (all inserts done); code [32] gamma code,
                          minb, maxb [16] budgets (maxb = 0: no limit), forced_n [16], nb [NBW]
    idle                  no selection running (low from ``go`` to the last index written)
    cnt [NBW]             size of the selected set (valid while idle after a run)
    rd_addr [IW] -> rd_idx [IW]    the index memory (entry rd_addr of the sorted set)
    bm_out [NBMAX]        (optional) the selection map: bit c set when entry c was popped
Parameters: ``new_first`` (0 for v, 1 for d), ``cfg``, ``emit`` (False: no emission scan, the
pop ends the run, there is no index memory and ``cnt``, ``rd_addr``, ``rd_idx`` may be None: the
map is the result; the pooled estimate's heads, hdl/index/pool_head.py, use it so).
Memories: the sorted list (hdl/index/sorted_list.py) NBMAX x (ACC + IW), the index memory
NBMAX x IW, the map NBMAX bits.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.index.params import sig_widths
from hdl.index.sorted_list import sig_sorted_list

T_IDLE, T_POP, T_EMIT = range(3)


@block
def sig_select(clk, rst, clr, ins, ins_val, ins_idx, go, code, minb, maxb, forced_n, nb,
               idle, cnt, rd_addr, rd_idx, new_first, cfg, bm_out=None, emit=True):
    w = sig_widths(cfg)
    max_blocks, gamma_bits, cover_bits = w["NBMAX"], w["GB"], w["COV"]

    head_val = Signal(intbv(0)[w["ACC"]:])
    head_idx = Signal(intbv(0)[w["IW"]:])
    n_in = Signal(intbv(0, min=0, max=max_blocks + 1))
    take = Signal(bool(0))                  # pop the list's head into the map this cycle
    state = Signal(intbv(T_IDLE, min=0, max=3))
    total = Signal(intbv(0)[cover_bits:])
    cum = Signal(intbv(0)[cover_bits:])
    rhs = Signal(intbv(0)[cover_bits:])
    k = Signal(intbv(0, min=0, max=max_blocks + 1))
    bm = Signal(intbv(0)[max_blocks:])
    insts = [sig_sorted_list(clk, rst, clr, ins, ins_val, ins_idx, take, head_val, head_idx, n_in,
                             new_first=new_first, depth=max_blocks)]

    # the emission scan: its index, its last cycle, the set's size and the index memory
    if emit:
        ei = Signal(intbv(0)[w["IW"]:])
        scan_last = Signal(bool(0))
        ocnt = Signal(intbv(0, min=0, max=max_blocks + 1))
        imem = [Signal(intbv(0)[w["IW"]:]) for _ in range(max_blocks)]
        after_pop = T_EMIT
    else:
        # without emission the pop ends the run; T_EMIT is never entered
        scan_last = 1
        after_pop = T_IDLE

    @always_comb
    def pop_rule():
        # the golden rule: take while k < n, k < max (0: none) and (k < min or not yet covered)
        take.next = state == T_POP and n_in != 0 and (maxb == 0 or k < maxb) and \
            (k < minb or (cum << gamma_bits) < rhs)

    @always(clk.posedge)
    def control():
        if rst or clr:
            total.next = 0
            bm.next = 0
            state.next = T_IDLE
        elif ins:
            total.next = total + ins_val
        elif state == T_IDLE:
            if go:
                rhs.next = code * total
                cum.next = 0
                k.next = 0
                state.next = T_POP
        elif state == T_POP:
            if take:
                cum.next = cum + head_val
                bm.next[head_idx] = 1
                k.next = k + 1
            else:
                state.next = after_pop
        elif scan_last:
            state.next = T_IDLE

    @always_comb
    def status():
        idle.next = state == T_IDLE and not go

    insts += [pop_rule, control, status]

    if emit:
        @always(clk.posedge)
        def emission():
            # the map, or'ed with the forced entries, scanned from index 0 up (an insert stalls it)
            if rst or clr:
                ocnt.next = 0
            elif not ins:
                if state == T_IDLE:
                    if go:
                        ocnt.next = 0
                elif state == T_POP:
                    if not take:
                        ei.next = 0
                else:
                    if bm[ei] or ei < forced_n:
                        imem[ocnt].next = ei
                        ocnt.next = ocnt + 1
                    if not scan_last:
                        ei.next = ei + 1

        @always_comb
        def readback():
            scan_last.next = ei == nb - 1
            cnt.next = ocnt
            rd_idx.next = imem[rd_addr]

        insts += [emission, readback]

    if bm_out is not None:
        @always_comb
        def map_out():
            bm_out.next = bm

        insts.append(map_out)
    return insts
