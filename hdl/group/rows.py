"""Row-stream builder of the attention group datapath (``grp_attn``, issue 7).

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
the pooled row of every row r before scanning it (``p_req`` with ``p_row`` = r, until ``p_ack``);
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
    p_req, p_row [NBB]  waiting for the pooled row of row ``p_row`` (level, until ``p_ack``)
    p_ack               the provider has put row ``p_row`` on ``pbits`` (one-cycle pulse)
    pbits [G*NB]        the pooled row (stable from ``p_ack`` until the next ``p_req``)
Parameters: ``G`` (max_group), ``NB`` (max_blocks, a power of two).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv, modbv


@block
def grp_rows(clk, rst, clr, go, nb, act, vbits, sbits,
             o_valid, o_ready, o_row, o_blk, o_heads, o_lastm, o_vert, o_end, busy, G, NB,
             pen=None, p_req=None, p_row=None, p_ack=None, pbits=None):
    NBB = (NB - 1).bit_length()
    POOL = pbits is not None
    IDLE, PRE, SCAN, WAITP = 0, 1, 2, 3
    st = Signal(intbv(0, min=0, max=4))
    penr = Signal(bool(0))
    pen_i, ack_i = Signal(bool(0)), Signal(bool(0))
    r = Signal(intbv(0)[NBB:])
    c = Signal(intbv(0)[NBB:])
    off = Signal(modbv(0)[NBB:])
    nbm1 = Signal(intbv(0)[NBB:])
    actr = Signal(intbv(0)[G:])
    hv = Signal(intbv(0)[G:])
    vany = Signal(bool(0))
    found = Signal(intbv(0)[G:])
    lastc = [Signal(intbv(0)[NBB:]) for _ in range(G)]
    rowmax = Signal(intbv(0)[NBB:])
    ov = Signal(bool(0))
    free = Signal(bool(0))

    @always_comb
    def kept():
        off.next = r - c

    if POOL:
        @always_comb
        def heads():
            m = intbv(0)[G:]
            for h in range(G):
                if actr[h]:
                    if vbits[h * NB + c] or sbits[h * NB + off] or (penr and pbits[h * NB + c]):
                        m[h] = 1
            hv.next = m

        @always_comb
        def pool_req():
            p_req.next = st == WAITP
            p_row.next = r
            pen_i.next = pen
            ack_i.next = p_ack
    else:
        @always_comb
        def heads():
            m = intbv(0)[G:]
            for h in range(G):
                if actr[h]:
                    if vbits[h * NB + c] or sbits[h * NB + off]:
                        m[h] = 1
            hv.next = m

        @always(clk.posedge)
        def pool_off():
            # no provider: the pooled path is constant off
            pen_i.next = False
            ack_i.next = False

    emit = Signal(bool(0))
    lm = Signal(intbv(0)[G:])
    endc = Signal(bool(0))

    @always_comb
    def outs():
        o_valid.next = ov
        free.next = (not ov) or o_ready

    @always_comb
    def emits():
        emit.next = st == SCAN and hv != 0 and free

    @always(clk.posedge)
    def scan():
        if rst or clr:
            st.next = IDLE
            ov.next = False
            found.next = 0
        else:
            if ov and o_ready:
                ov.next = False
            if st == IDLE:
                if go:
                    actr.next = act
                    nbm1.next = nb - 1
                    r.next = 0
                    c.next = 0
                    found.next = 0
                    if pen_i:
                        penr.next = True
                        st.next = WAITP
                    else:
                        penr.next = False
                        st.next = PRE
            elif st == WAITP:
                # the pooled row of r arrives before the row's downward pre-scan
                if ack_i:
                    st.next = PRE
            elif st == PRE:
                # downward: the first block seen for a head is its last kept block of the row
                if found == 0 and hv != 0:
                    rowmax.next = c
                if (found | hv) == actr or c == 0:
                    found.next = 0
                    c.next = 0
                    st.next = SCAN
                else:
                    found.next = found | hv
                    c.next = c - 1
            elif st == SCAN:
                if emit:
                    ov.next = True
                    o_row.next = r
                    o_blk.next = c
                    if c == rowmax:
                        if r == nbm1:
                            st.next = IDLE
                        else:
                            r.next = r + 1
                            c.next = r + 1
                            if penr:
                                st.next = WAITP
                            else:
                                st.next = PRE
                    else:
                        c.next = c + 1
                elif hv == 0:
                    c.next = c + 1

    gens = [kept, heads, outs, emits, scan]
    gens.append(pool_req if POOL else pool_off)
    if busy is not None:
        @always_comb
        def busy_c():
            busy.next = st != IDLE or ov
        gens.append(busy_c)
    # optional tags: a consumer that does not need one passes None (no unused logic)
    if o_heads is not None:
        @always(clk.posedge)
        def tag_heads():
            if emit:
                o_heads.next = hv
        gens.append(tag_heads)
    if o_lastm is not None:
        @always(clk.posedge)
        def last_seen():
            # downward pre-scan: the first block seen for a head is its last kept one
            if st == PRE:
                nf = hv & ~found
                for h in range(G):
                    if nf[h]:
                        lastc[h].next = c

        @always_comb
        def last_mask():
            m = intbv(0)[G:]
            for h in range(G):
                if hv[h] and lastc[h] == c:
                    m[h] = 1
            lm.next = m

        @always(clk.posedge)
        def tag_lastm():
            if emit:
                o_lastm.next = lm
        gens += [last_seen, last_mask, tag_lastm]
    if o_vert is not None:
        @always_comb
        def vert_any():
            va = False
            for h in range(G):
                if actr[h] and vbits[h * NB + c]:
                    va = True
            vany.next = va

        @always(clk.posedge)
        def tag_vert():
            if emit:
                o_vert.next = vany
        gens += [vert_any, tag_vert]
    if o_end is not None:
        @always_comb
        def end_c():
            endc.next = r == nbm1 and c == rowmax

        @always(clk.posedge)
        def tag_end():
            if emit:
                o_end.next = endc
        gens += [end_c, tag_end]
    return gens
