"""Output side of the KV cache: reads each access's slot and streams its K rows then its V rows.

Serve entries ``{fetch_seq, block, row, slot}`` arrive in stream order.  The
head entry starts once the DMA has written the K block of ``fetch_seq`` fetches (its V words
are read once the whole fetch is in, so the K rows of a miss leave while its V block arrives); its
``2 * KW`` memory words are read from the tier memory holding the slot, one per cycle,
into a small word queue (credit-counted so a read never overflows it), and the
converter turns words into token rows of ``D`` int8: ``B`` K rows, then ``B``
V rows.  A memory word holds one row or several (the DMA packs bus beats into words
of at least a row), so the output gives a row per cycle.

``served`` counts the accesses whose reads have all been issued: from then on
the DMA may overwrite the slot (the read register has the old word).
``stall`` counts cycles in which the head entry waits for its fetch (its K block, or the
rest of it before the V words).

Ports (``clk`` rising edge; ``rst`` synchronous, active high)
    clr, abort          start a run / stop issuing (``o_valid`` drops)
    sv_empty, sv_dout, sv_pop   the serve queue (FWFT)
    k_done, fetch_done  fetches whose K block / whole K and V are written by the DMA
    r1_en, r2_en, r_addr, r1_data, r2_data   read ports of the tier memories
    o_valid, o_ready    output beat handshake
    o_data [8D]         one token row, element d at bits [8d+7:8d]
    o_kv                0: a K row, 1: a V row
    o_row, o_block      the access: query row block and key block
    o_last              last V row of the access
    served, emitted     accesses read / fully delivered
    stall               cycles waiting on HBM
Parameters
    nbb, t1, t2, cb, bd (bytes of one K block), db (tier-memory word bits, at least a row: the
    cache makes it max(bus, 8D)), dw (row bits, 8D), qdepth
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, always_seq, block, concat, intbv

from hdl.cache.slot_addr import kv_slot_addr, slot_geometry
from hdl.common.fifo import kv_fifo
from hdl.common.reset import either_reset, sync_reset

#: slot words read ahead of the row converter (the default ``qdepth``)
WORD_QUEUE_DEPTH = 4


@block
def kv_out(clk, rst, clr, abort, sv_empty, sv_dout, sv_pop, k_done, fetch_done,
           r1_en, r2_en, r_addr, r1_data, r2_data,
           o_valid, o_ready, o_data, o_kv, o_row, o_block, o_last,
           served, emitted, stall, nbb, t1, t2, cb, bd, db, dw, qdepth=WORD_QUEUE_DEPTH):
    geo = slot_geometry(t1, t2, bd, db)
    words_per_block, words_per_slot = geo["words_per_block"], geo["words_per_slot"]
    slot_bits, tier_addr_bits = geo["slot_bits"], geo["tier_addr_bits"]
    if dw > db:
        raise ValueError(f"kv_out: a {dw}-bit row spans several {db}-bit memory words")
    rows_per_word = db // dw
    tag_bits = 2 + 2 * nbb                  # word tags: {last word, kv, block, row}
    entry_bits = tag_bits + db

    # the serve entry at the head of the queue: {fetch_seq, block, row, slot}; where its slot lives
    sv_slot = sv_dout(slot_bits, 0)
    slot_tier2, slot_base = Signal(bool(0)), Signal(intbv(0)[tier_addr_bits:])
    place = kv_slot_addr(sv_slot, slot_tier2, slot_base, t1=t1, words_per_slot=words_per_slot)

    busy = Signal(bool(0))
    wc = Signal(intbv(0, min=0, max=words_per_slot + 1))
    base = Signal(intbv(0)[tier_addr_bits:])
    tier2 = Signal(bool(0))
    t_row, t_blk = Signal(intbv(0)[nbb:]), Signal(intbv(0)[nbb:])
    t_seq = Signal(intbv(0)[cb:])       # the access's fetch: its V words wait for all of it
    issue = Signal(bool(0))
    inflight = Signal(bool(0))
    in_tier2 = Signal(bool(0))
    in_tags = Signal(intbv(0)[tag_bits:])
    start = Signal(bool(0))
    nserved = Signal(intbv(0)[cb:])
    nemit = Signal(intbv(0)[cb:])
    nstall = Signal(intbv(0)[32:])

    q_push, q_pop, q_empty = (Signal(bool(0)) for _ in range(3))
    q_din, q_dout = Signal(intbv(0)[entry_bits:]), Signal(intbv(0)[entry_bits:])
    q_count = Signal(intbv(0, min=0, max=qdepth + 1))
    wq = kv_fifo(clk, rst, clr, q_push, q_din, q_pop, q_dout, None, q_empty, q_count, qdepth, entry_bits)
    rst_run = sync_reset()                 # rst or clr: a run starts with clean counters
    run_reset = either_reset(rst, clr, rst_run)

    @always_comb
    def control():
        # the next access starts in the cycle of the current one's last read, so the reads of
        # consecutive accesses follow each other without a gap
        reading = busy and not abort and q_count + inflight < qdepth \
            and (wc < words_per_block or fetch_done >= t_seq)
        issue.next = reading
        start.next = ((not busy or (reading and wc == words_per_slot - 1)) and not sv_empty
                      and not abort
                      and k_done >= sv_dout[cb + 2 * nbb + slot_bits:2 * nbb + slot_bits])

    @always_comb
    def ports():
        sv_pop.next = start
        r1_en.next = issue and not tier2
        r2_en.next = issue and tier2
        r_addr.next = (base + wc) % (1 << tier_addr_bits)
        q_push.next = inflight
        if in_tier2:
            q_din.next = concat(in_tags, r2_data)
        else:
            q_din.next = concat(in_tags, r1_data)
        served.next = nserved
        emitted.next = nemit
        stall.next = nstall

    @always(clk.posedge)
    def reader():
        inflight.next = issue
        in_tier2.next = tier2
        if issue:
            in_tags.next = concat(wc == words_per_slot - 1, wc >= words_per_block, t_blk, t_row)
        if rst or clr:
            busy.next = 0
            inflight.next = 0
            nserved.next = 0
            nstall.next = 0
        else:
            if ((not busy and not sv_empty and not start)
                    or (busy and wc >= words_per_block and fetch_done < t_seq)) and not abort:
                nstall.next = nstall + 1
            if issue and wc == words_per_slot - 1:
                nserved.next = nserved + 1
            if start:
                t_row.next = sv_dout[nbb + slot_bits:slot_bits]
                t_blk.next = sv_dout[2 * nbb + slot_bits:nbb + slot_bits]
                t_seq.next = sv_dout[cb + 2 * nbb + slot_bits:2 * nbb + slot_bits]
                tier2.next = slot_tier2
                base.next = slot_base
                wc.next = 0
                busy.next = 1
            elif issue:
                if wc == words_per_slot - 1:
                    busy.next = 0
                wc.next = wc + 1

    piece = Signal(intbv(0, min=0, max=rows_per_word))
    obeat = Signal(bool(0))

    @always_comb
    def convert():
        t = intbv(0)[dw:]
        t[:] = q_dout[db:] >> (piece * dw)   # keeps the low dw bits
        o_data.next = t
        o_valid.next = not q_empty and not abort
        o_row.next = q_dout[db + nbb:db]
        o_block.next = q_dout[db + 2 * nbb:db + nbb]
        o_kv.next = q_dout[db + 2 * nbb]
        o_last.next = q_dout[db + 2 * nbb + 1] and piece == rows_per_word - 1
        obeat.next = not q_empty and not abort and o_ready
        q_pop.next = not q_empty and not abort and o_ready and piece == rows_per_word - 1

    @always_seq(clk.posedge, reset=rst_run)
    def count():
        if obeat:
            if piece == rows_per_word - 1:
                piece.next = 0
                if q_dout[db + 2 * nbb + 1]:
                    nemit.next = nemit + 1
            else:
                piece.next = piece + 1

    return wq, place, control, ports, reader, convert, run_reset, count
