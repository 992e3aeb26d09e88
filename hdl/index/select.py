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
map is the result; the per-row pooled selector of hdl/index/pool.py uses it so).
Memories: scores NBMAX x ACC, indices NBMAX x IW (sorted list), index memory NBMAX x IW,
the map NBMAX bits.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.index.params import sig_widths

T_IDLE, T_POP, T_EMIT = range(3)


@block
def sig_select(clk, rst, clr, ins, ins_val, ins_idx, go, code, minb, maxb, forced_n, nb,
               idle, cnt, rd_addr, rd_idx, new_first, cfg, bm_out=None, emit=True):
    w = sig_widths(cfg)
    N, ACC, IW, NBW, GB, COV = w["NBMAX"], w["ACC"], w["IW"], w["NBW"], w["GB"], w["COV"]
    # an old entry stays ahead of a new one if old + TIE > new (TIE = 1: ties keep the old first)
    TIE = 0 if new_first else 1

    vals = [Signal(intbv(0)[ACC:]) for _ in range(N)]
    idxs = [Signal(intbv(0)[IW:]) for _ in range(N)]
    imem = [Signal(intbv(0)[IW:]) for _ in range(N)]
    n_in = Signal(intbv(0, min=0, max=N + 1))
    state = Signal(intbv(T_IDLE, min=0, max=3))
    total = Signal(intbv(0)[COV:])
    cum = Signal(intbv(0)[COV:])
    rhs = Signal(intbv(0)[COV:])
    k = Signal(intbv(0, min=0, max=N + 1))
    bm = Signal(intbv(0)[N:])
    ei = Signal(intbv(0)[IW:])
    ocnt = Signal(intbv(0, min=0, max=N + 1))

    @always_comb
    def outs():
        idle.next = state == T_IDLE and not go
        cnt.next = ocnt
        rd_idx.next = imem[rd_addr]

    @always_comb
    def idle_only():
        idle.next = state == T_IDLE and not go

    @always(clk.posedge)
    def seq():
        if rst or clr:
            n_in.next = 0
            total.next = 0
            bm.next = 0
            ocnt.next = 0
            state.next = T_IDLE
        elif ins:
            total.next = total + ins_val
            n_in.next = n_in + 1
            prev = n_in > 0 and vals[0] + TIE > ins_val
            if not prev:
                vals[0].next = ins_val
                idxs[0].next = ins_idx
            for p in range(1, N):
                ahead = p < n_in and vals[p] + TIE > ins_val
                if not ahead:
                    if prev:
                        vals[p].next = ins_val
                        idxs[p].next = ins_idx
                    else:
                        vals[p].next = vals[p - 1]
                        idxs[p].next = idxs[p - 1]
                prev = ahead
        elif state == T_IDLE:
            if go:
                rhs.next = code * total
                cum.next = 0
                k.next = 0
                ocnt.next = 0
                state.next = T_POP
        elif state == T_POP:
            if n_in != 0 and (maxb == 0 or k < maxb) and \
                    (k < minb or (cum << GB) < rhs):
                cum.next = cum + vals[0]
                bm.next[idxs[0]] = 1
                k.next = k + 1
                n_in.next = n_in - 1
                for p in range(N - 1):
                    vals[p].next = vals[p + 1]
                    idxs[p].next = idxs[p + 1]
            else:
                ei.next = 0
                state.next = T_EMIT
        else:
            if bm[ei] or ei < forced_n:
                imem[ocnt].next = ei
                ocnt.next = ocnt + 1
            if ei == nb - 1:
                state.next = T_IDLE
            else:
                ei.next = ei + 1

    @always(clk.posedge)
    def seq_pop_only():
        if rst or clr:
            n_in.next = 0
            total.next = 0
            bm.next = 0
            state.next = T_IDLE
        elif ins:
            total.next = total + ins_val
            n_in.next = n_in + 1
            prev = n_in > 0 and vals[0] + TIE > ins_val
            if not prev:
                vals[0].next = ins_val
                idxs[0].next = ins_idx
            for p in range(1, N):
                ahead = p < n_in and vals[p] + TIE > ins_val
                if not ahead:
                    if prev:
                        vals[p].next = ins_val
                        idxs[p].next = ins_idx
                    else:
                        vals[p].next = vals[p - 1]
                        idxs[p].next = idxs[p - 1]
                prev = ahead
        elif state == T_IDLE:
            if go:
                rhs.next = code * total
                cum.next = 0
                k.next = 0
                state.next = T_POP
        elif state == T_POP:
            if n_in != 0 and (maxb == 0 or k < maxb) and \
                    (k < minb or (cum << GB) < rhs):
                cum.next = cum + vals[0]
                bm.next[idxs[0]] = 1
                k.next = k + 1
                n_in.next = n_in - 1
                for p in range(N - 1):
                    vals[p].next = vals[p + 1]
                    idxs[p].next = idxs[p + 1]
            else:
                state.next = T_IDLE

    gens = [outs, seq] if emit else [idle_only, seq_pop_only]
    if bm_out is None:
        return gens

    @always_comb
    def map_out():
        bm_out.next = bm

    return gens + [map_out]
