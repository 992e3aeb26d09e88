"""Row-stream builder of the attention group datapath (``grp_attn``).

From the per-head bitmaps of the group's index sets it produces the merged key-block stream
of one KV group, in the order of ``golden.pattern.row_stream`` / ``cache_sim.access_trace``:
rows ascending, key blocks ascending inside a row, one entry per key block that some head of
the group keeps, tagged with the heads that keep it.

Block ``c`` of row ``r`` is kept by head ``h`` iff ``vbits[h*NB + c] | sbits[h*NB + r - c]``
(``NB = cfg.max_blocks``; bit ``h*NB + i`` of ``vbits`` is "i in head h's vertical set", of
``sbits`` "i in head h's slash set").  Per row the builder first scans down from the diagonal
until every active head has been seen (the head's last kept block of the row, for
``tile_last``; usually one cycle, since the diagonal offset 0 is a forced slash entry), then
up from block 0, one block per cycle: about ``r + 2`` cycles per row.  It runs ahead of the
attention through the FIFO that follows it.  Every active head must keep at least one block
in every row (``grp_attn`` checks this at load: block 0 vertical or offset 0 slash).

Pooled per-row estimate (``row_guard``): when ``pen`` is high at ``go``, the builder asks for
the pooled row of every row r before scanning it (``p_req``, until ``p_ack``: rows 0..nb-1 in
order, so the provider knows which row each request is for);
``pbits`` (bit ``h*NB + c``: block c of row r is in head h's pooled row) is then held by the
provider while the row is scanned, and a block is also kept when its ``pbits`` bit is set.

Ports (``clk`` rising edge; ``rst``/``clr`` synchronous, active high)
    go                  pulse: start a scan (samples ``nb`` and ``act``)
    nb [NBB+1]          key blocks of the run, 1..NB
    act [G]             active heads (bit h: h < g)
    vbits, sbits [G*NB] the bitmaps (stable during the scan)
    o_valid, o_ready    output handshake (a registered output stage); per entry:
    o_row, o_blk [NBB]  query row block r and key block c
    o_heads [G]         heads keeping (r, c)
    o_lastm [G]         heads for which c is the last kept block of row r
    o_vert              c is in the group's vertical set (union over the active heads)
    o_end               last entry of the whole stream
                        (o_heads, o_lastm, o_vert, o_end, busy may be None when unused)
    busy                a scan is in progress (or its last entry not yet taken)
    Optional (all None: no pooled rows):
    pen                 use pooled rows in this scan (sampled at ``go``)
    p_req               waiting for the pooled row of the next row (level, until ``p_ack``)
    p_ack               the provider has put that row on ``pbits`` (one-cycle pulse)
    pbits [G*NB]        the pooled row (stable from ``p_ack`` until the next ``p_req``)
Parameters: ``G`` (max_group), ``NB`` (max_blocks, a power of two).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv, modbv


@block
def grp_rows(clk, rst, clr, go, nb, act, vbits, sbits,
             o_valid, o_ready, o_row, o_blk, o_heads, o_lastm, o_vert, o_end, busy, G, NB,
             pen=None, p_req=None, p_ack=None, pbits=None):
    NBB = (NB - 1).bit_length()
    POOL = pbits is not None
    S_IDLE, S_PRE, S_SCAN, S_WAIT_POOL = 0, 1, 2, 3
    state = Signal(intbv(0, min=0, max=4))
    pool_on = Signal(bool(0))
    pool_in, ack_in = Signal(bool(0)), Signal(bool(0))
    row = Signal(intbv(0)[NBB:])
    blk = Signal(intbv(0)[NBB:])
    offset = Signal(modbv(0)[NBB:])
    last_row = Signal(intbv(0)[NBB:])
    heads_on = Signal(intbv(0)[G:])
    keeps = Signal(intbv(0)[G:])
    vert_union = Signal(bool(0))
    found = Signal(intbv(0)[G:])
    last_blk = [Signal(intbv(0)[NBB:]) for _ in range(G)]
    row_end = Signal(intbv(0)[NBB:])
    out_valid = Signal(bool(0))
    out_free = Signal(bool(0))

    @always_comb
    def kept():
        offset.next = row - blk

    if POOL:
        @always_comb
        def heads():
            m = intbv(0)[G:]
            for h in range(G):
                if heads_on[h]:
                    if vbits[h * NB + blk] or sbits[h * NB + offset] or (pool_on and pbits[h * NB + blk]):
                        m[h] = 1
            keeps.next = m

        @always_comb
        def pool_req():
            p_req.next = state == S_WAIT_POOL
            pool_in.next = pen
            ack_in.next = p_ack
    else:
        @always_comb
        def heads():
            m = intbv(0)[G:]
            for h in range(G):
                if heads_on[h]:
                    if vbits[h * NB + blk] or sbits[h * NB + offset]:
                        m[h] = 1
            keeps.next = m

        @always(clk.posedge)
        def pool_off():
            # no provider: the pooled path is constant off
            pool_in.next = False
            ack_in.next = False

    emit = Signal(bool(0))
    last_heads = Signal(intbv(0)[G:])
    at_end = Signal(bool(0))

    @always_comb
    def outs():
        o_valid.next = out_valid
        out_free.next = (not out_valid) or o_ready

    @always_comb
    def emits():
        emit.next = state == S_SCAN and keeps != 0 and out_free

    @always(clk.posedge)
    def scan():
        if rst or clr:
            state.next = S_IDLE
            out_valid.next = False
            found.next = 0
        else:
            if out_valid and o_ready:
                out_valid.next = False
            if state == S_IDLE:
                if go:
                    heads_on.next = act
                    last_row.next = nb - 1
                    row.next = 0
                    blk.next = 0
                    found.next = 0
                    if pool_in:
                        pool_on.next = True
                        state.next = S_WAIT_POOL
                    else:
                        pool_on.next = False
                        state.next = S_PRE
            elif state == S_WAIT_POOL:
                # the pooled row of r arrives before the row's downward pre-scan
                if ack_in:
                    state.next = S_PRE
            elif state == S_PRE:
                # downward: the first block seen for a head is its last kept block of the row
                if found == 0 and keeps != 0:
                    row_end.next = blk
                if (found | keeps) == heads_on or blk == 0:
                    found.next = 0
                    blk.next = 0
                    state.next = S_SCAN
                else:
                    found.next = found | keeps
                    blk.next = blk - 1
            elif state == S_SCAN:
                if emit:
                    out_valid.next = True
                    o_row.next = row
                    o_blk.next = blk
                    if blk == row_end:
                        if row == last_row:
                            state.next = S_IDLE
                        else:
                            row.next = row + 1
                            blk.next = row + 1
                            if pool_on:
                                state.next = S_WAIT_POOL
                            else:
                                state.next = S_PRE
                    else:
                        blk.next = blk + 1
                elif keeps == 0:
                    blk.next = blk + 1

    gens = [kept, heads, outs, emits, scan]
    gens.append(pool_req if POOL else pool_off)
    if busy is not None:
        @always_comb
        def busy_c():
            busy.next = state != S_IDLE or out_valid
        gens.append(busy_c)
    # optional tags: a consumer that does not need one passes None (no unused logic)
    if o_heads is not None:
        @always(clk.posedge)
        def tag_heads():
            if emit:
                o_heads.next = keeps
        gens.append(tag_heads)
    if o_lastm is not None:
        @always(clk.posedge)
        def last_seen():
            # downward pre-scan: the first block seen for a head is its last kept one
            if state == S_PRE:
                nf = keeps & ~found
                for h in range(G):
                    if nf[h]:
                        last_blk[h].next = blk

        @always_comb
        def last_mask():
            m = intbv(0)[G:]
            for h in range(G):
                if keeps[h] and last_blk[h] == blk:
                    m[h] = 1
            last_heads.next = m

        @always(clk.posedge)
        def tag_lastm():
            if emit:
                o_lastm.next = last_heads
        gens += [last_seen, last_mask, tag_lastm]
    if o_vert is not None:
        @always_comb
        def vert_any():
            va = False
            for h in range(G):
                if heads_on[h] and vbits[h * NB + blk]:
                    va = True
            vert_union.next = va

        @always(clk.posedge)
        def tag_vert():
            if emit:
                o_vert.next = vert_union
        gens += [vert_any, tag_vert]
    if o_end is not None:
        @always_comb
        def end_c():
            at_end.next = row == last_row and blk == row_end

        @always(clk.posedge)
        def tag_end():
            if emit:
                o_end.next = at_end
        gens += [end_c, tag_end]
    return gens
