"""Slot control of the KV cache: presence table, slot table, free-slot choice, Belady victim search.

It takes the forward access stream of :mod:`hdl.cache.liveness` (one entry per
access, with the row of the block's next use) and makes, in stream order, the
decision of ``golden.cache_sim`` policy ``"liveness"`` for every access:

* hit: the block is present (``pres[block]``, slot ``where[block]``);
* miss: the lowest free slot of the home tier (tier 1 for vertical blocks),
  else the lowest free slot of the other tier (spill), else the valid slot
  with the largest next-use key (victim search, ``W`` slots per cycle);
* the slot's key becomes ``{next_row, block}`` (the bits of next_row above the
  bits of block: the same order as the golden ``next_row * nb + block``, because
  ``block < nb``; next_row = nb when the next use is past the liveness window), or the
  slot is freed when the access is the block's last use.

Slots are numbered globally: ``0 .. T1-1`` are tier 1, ``T1 .. T1+T2-1`` tier 2.

Every decision pushes a serve entry (the output reads the slot once the DMA has
completed ``fetch_seq`` fetches) and, for a miss, a fetch entry (the DMA writes
the slot once the output has read it for the first ``thr`` accesses: ``thr`` is
one past the last access that used the slot before; the per-slot "read done").

Ports (``clk`` rising edge; ``rst`` synchronous, active high)
    clr, abort          start a run (clears the tables) / stop taking accesses
    resident            with ``clr``: keep the blocks the previous run left (presence, slots,
                        keys: the KV group's next pass); the per-run counts start again
    f_valid, f_ready, f_row, f_block, f_vert, f_has_next, f_next [nbb + 1]   forward stream
    sv_push, sv_din, sv_full   serve queue: {fetch_seq, block, row, slot}; ``sv_full`` must
                        be high while fewer than two words are free (the push is registered)
    fq_push, fq_din, fq_full   fetch queue: {thr, slot, block}, same rule
    dec_valid           one cycle per decision, with
    dec_hit, dec_slot (global), dec_evict (a live block was displaced),
    dec_victim, dec_freed (slot released at the block's last use)
    hits1, hits2, misses   counters of the run
Parameters
    nbb, t1, t2, cb (bits of an access count), w (victim search width)
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, concat, downrange, enum, intbv


@block
def kv_slots(clk, rst, clr, resident, abort, f_valid, f_ready, f_row, f_block, f_vert, f_has_next, f_next,
             sv_push, sv_din, sv_full, fq_push, fq_din, fq_full,
             dec_valid, dec_hit, dec_slot, dec_evict, dec_victim, dec_freed,
             hits1, hits2, misses, nbb, t1, t2, cb, w):
    n_blocks = 1 << nbb
    n_slots = t1 + t2
    slot_bits = max(1, (n_slots - 1).bit_length())
    key_bits = 2 * nbb + 1                     # {next_row (up to nb), block}
    chunks = -(-n_slots // w)                  # victim search: w slots per cycle
    St = enum("TAKE", "DECIDE", "SEARCH")
    state = Signal(St.TAKE)

    pres = Signal(intbv(0)[n_blocks:])
    where = [Signal(intbv(0)[slot_bits:]) for _ in range(n_blocks)]
    sval = Signal(intbv(0)[n_slots:])                # slot holds a live block
    sused = Signal(intbv(0)[n_slots:])               # slot was read in this run (sthr valid)
    sblk = [Signal(intbv(0)[nbb:]) for _ in range(n_slots)]
    skey = [Signal(intbv(0)[key_bits:]) for _ in range(n_slots)]
    sthr = [Signal(intbv(0)[cb:]) for _ in range(n_slots)]

    # the access being decided
    a_row, a_blk = Signal(intbv(0)[nbb:]), Signal(intbv(0)[nbb:])
    a_next = Signal(intbv(0)[nbb + 1:])
    a_vert, a_has = Signal(bool(0)), Signal(bool(0))
    idx = Signal(intbv(0)[cb:])                # access index in the run
    nmiss = Signal(intbv(0)[32:])
    nh1, nh2 = Signal(intbv(0)[32:]), Signal(intbv(0)[32:])

    # free-slot priority encoders and the search registers
    free1_ok, free2_ok = Signal(bool(0)), Signal(bool(0))
    free1, free2 = Signal(intbv(0)[slot_bits:]), Signal(intbv(0)[slot_bits:])
    chunk = Signal(intbv(0, min=0, max=chunks + 1))
    best_key = Signal(intbv(0)[key_bits:])
    best_slot = Signal(intbv(0)[slot_bits:])
    best_ok = Signal(bool(0))

    @always_comb
    def encoders():
        ok1 = bool(0)
        ok2 = bool(0)
        s1 = intbv(0)[slot_bits:]
        s2 = intbv(0)[slot_bits:]
        # descending, so the lowest free slot is assigned last
        for s in downrange(t1):
            if not sval[s]:
                ok1 = bool(1)
                s1[:] = s
        for s in downrange(n_slots, t1):
            if not sval[s]:
                ok2 = bool(1)
                s2[:] = s
        free1_ok.next = ok1
        free2_ok.next = ok2
        free1.next = s1
        free2.next = s2

    @always_comb
    def outs():
        f_ready.next = state == St.TAKE and not sv_full and not fq_full and not abort
        hits1.next = nh1
        hits2.next = nh2
        misses.next = nmiss

    @always(clk.posedge)
    def fsm():
        slot = intbv(0)[slot_bits:]
        key = intbv(0)[key_bits:]
        bk = intbv(0)[key_bits:]
        bs = intbv(0)[slot_bits:]
        bo = bool(0)
        j = intbv(0, min=0, max=chunks * w + 1)
        install = bool(0)
        evict = bool(0)
        m1 = intbv(0)[cb:]
        z = intbv(0)[cb:]
        sv_push.next = 0
        fq_push.next = 0
        dec_valid.next = 0
        if rst or clr:
            state.next = St.TAKE
            if rst or not resident:
                pres.next = 0
                sval.next = 0
            # the previous run read every slot it used, so no fetch has to wait for a read
            sused.next = 0
            idx.next = 0
            nmiss.next = 0
            nh1.next = 0
            nh2.next = 0
        elif abort:
            state.next = St.TAKE
        elif state == St.TAKE:
            if f_valid and not sv_full and not fq_full:
                a_row.next = f_row
                a_blk.next = f_block
                a_vert.next = f_vert
                a_has.next = f_has_next
                a_next.next = f_next
                state.next = St.DECIDE
        else:
            key[:] = concat(a_next, a_blk)
            if state == St.DECIDE:
                if pres[a_blk]:
                    # hit: refresh the key, or free the slot at the last use
                    slot[:] = where[a_blk]
                    if slot < t1:
                        nh1.next = nh1 + 1
                    else:
                        nh2.next = nh2 + 1
                    if a_has:
                        skey[slot].next = key
                    else:
                        sval.next[slot] = 0
                        pres.next[a_blk] = 0
                    sthr[slot].next = idx + 1
                    sused.next[slot] = 1
                    sv_push.next = 1
                    sv_din.next = concat(nmiss[cb:], a_blk, a_row, slot)
                    dec_valid.next = 1
                    dec_hit.next = 1
                    dec_slot.next = slot
                    dec_evict.next = 0
                    dec_victim.next = 0
                    dec_freed.next = not a_has
                    idx.next = idx + 1
                    state.next = St.TAKE
                elif (a_vert and free1_ok) or (not a_vert and free2_ok):
                    slot[:] = free1 if a_vert else free2
                    install = bool(1)
                elif free1_ok or free2_ok:
                    slot[:] = free1 if free1_ok else free2   # spill into the other tier
                    install = bool(1)
                else:
                    chunk.next = 0
                    best_ok.next = 0
                    state.next = St.SEARCH
            else:
                # SEARCH: w slots per cycle; keys are unique, so no tie-break is needed
                bk[:] = best_key
                bs[:] = best_slot
                if best_ok:
                    bo = bool(1)
                for k in range(w):
                    j[:] = chunk * w + k
                    if j < n_slots:
                        if sval[j] and (not bo or skey[j] > bk):
                            bk[:] = skey[j]
                            bs[:] = j
                            bo = bool(1)
                best_key.next = bk
                best_slot.next = bs
                best_ok.next = bo
                chunk.next = chunk + 1
                if chunk == chunks - 1:
                    slot[:] = bs
                    install = bool(1)
                    evict = bool(1)
            if install:
                if evict:
                    pres.next[sblk[slot]] = 0
                pres.next[a_blk] = a_has
                where[a_blk].next = slot
                sblk[slot].next = a_blk
                skey[slot].next = key
                sval.next[slot] = a_has
                sthr[slot].next = idx + 1
                sused.next[slot] = 1
                nmiss.next = nmiss + 1
                sv_push.next = 1
                m1[:] = nmiss + 1
                sv_din.next = concat(m1, a_blk, a_row, slot)
                fq_push.next = 1
                if sused[slot]:
                    fq_din.next = concat(sthr[slot], slot, a_blk)
                else:
                    fq_din.next = concat(z, slot, a_blk)
                dec_valid.next = 1
                dec_hit.next = 0
                dec_slot.next = slot
                dec_evict.next = evict
                dec_victim.next = sblk[slot]
                dec_freed.next = not a_has
                idx.next = idx + 1
                state.next = St.TAKE

    return encoders, outs, fsm
