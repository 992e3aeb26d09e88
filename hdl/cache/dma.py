"""HBM read DMA of the KV cache: AXI4 INCR bursts that fill cache slots with K and V blocks.

For each fetch entry ``{thr, slot, block}`` (in decision order) the DMA waits
until the output has finished reading the slot's previous occupant
(``served >= thr``), then reads the K block at ``k_base + block * B*D`` and the
V block at ``v_base + block * B*D`` into the slot: words ``0 .. KW-1`` hold K,
``KW .. 2KW-1`` hold V (``KW = B*D / bus bytes``).  Each part is cut into INCR
bursts of at most 256 beats that never cross a 4 KiB boundary (hdl/common/burst_len.py).  Address
requests run ahead of the data: up to ``bursts`` bursts are outstanding.

An error response (``rresp`` SLVERR or DECERR, or a beat with an ID other than
the single ID 0 that the DMA uses) on any beat sets ``err``: no new
burst is issued, the outstanding bursts are drained (AXI gives no way to
cancel them), then ``idle`` rises.

Ports (``clk`` rising edge; ``rst`` synchronous, active high)
    clr                 start a run (clears counters, error, queues)
    k_base, v_base      byte addresses of block 0 of the KV head's K and V (bus aligned)
    fq_empty, fq_dout, fq_pop   the fetch queue (FWFT)
    served              accesses whose reads the output has issued
    m_axi_ar*, m_axi_r*  AXI4 read address and data channels (arid = 0, arsize = bus
                        width, INCR; one ID, so the data returns in order)
    w1_en, w2_en, w_addr, w_data [mw]   write port of the tier 1 / tier 2 memories (one
                        memory word per ``mw / db`` beats)
    k_done              fetches whose K block is written (the output may read the K words)
    fetch_done          fetches completed (every beat of K and V written)
    nbytes              bytes received from HBM
    err                 an error response was seen (level, until ``clr``)
    idle                no fetch in progress and nothing outstanding
Parameters
    nbb, t1, t2, cb, bd (bytes of one K block), ab (address bits), db (data bits), bursts,
    mw (tier-memory word bits, a power-of-two multiple of db; default db)
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, always_seq, block, concat, enum, intbv

from hdl.cache.slot_addr import kv_slot_addr, slot_geometry
from hdl.common.burst_len import axi_burst_len
from hdl.common.fifo import kv_fifo
from hdl.common.reset import either_reset, sync_reset


def _log2(x: int) -> int:
    return (x - 1).bit_length()


@block
def kv_dma(clk, rst, clr, k_base, v_base, fq_empty, fq_dout, fq_pop, served,
           m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst, m_axi_arvalid,
           m_axi_arready, m_axi_rid, m_axi_rdata, m_axi_rresp, m_axi_rlast, m_axi_rvalid,
           m_axi_rready,
           w1_en, w2_en, w_addr, w_data, k_done, fetch_done, nbytes, err, idle,
           nbb, t1, t2, cb, bd, ab, db, bursts=4, mw=None):
    bus_bytes = db // 8
    mw = mw or db
    beats_per_word = mw // db            # bus beats per tier-memory word (a power of two)
    log_beats_per_word = _log2(beats_per_word)
    geo = slot_geometry(t1, t2, bd, db)  # addresses below count bus words
    words_per_block, slot_bits = geo["words_per_block"], geo["slot_bits"]
    tier_addr_bits = geo["tier_addr_bits"]
    log_block_bytes, log_bus_bytes = _log2(bd), _log2(bus_bytes)
    entry_bits = 3 + tier_addr_bits      # burst entry: {last of K, last of fetch, tier2, word address}
    St = enum("IDLE", "SETUP", "AR")
    state = Signal(St.IDLE)

    # the fetch at the head of the queue: {thr, slot, block}, and where its slot lives
    fq_slot = fq_dout(slot_bits + nbb, nbb)
    slot_tier2, slot_base = Signal(bool(0)), Signal(intbv(0)[tier_addr_bits:])
    place = kv_slot_addr(fq_slot, slot_tier2, slot_base, t1=t1, words_per_slot=geo["words_per_slot"])

    f_blk = Signal(intbv(0)[nbb:])
    part = Signal(bool(0))               # 0: the K block, 1: the V block
    tier2 = Signal(bool(0))
    addr = Signal(intbv(0)[ab:])
    left = Signal(intbv(0, min=0, max=words_per_block + 1))
    waddr = Signal(intbv(0)[tier_addr_bits:])
    blen = Signal(intbv(0, min=0, max=257))
    burst = Signal(intbv(0, min=0, max=257))
    length = axi_burst_len(addr, left, burst, beat_bytes=bus_bytes, max_burst=256)

    # bursts in flight, in order: where their beats go
    b_push, b_pop, b_empty = (Signal(bool(0)) for _ in range(3))
    b_din, b_dout = Signal(intbv(0)[entry_bits:]), Signal(intbv(0)[entry_bits:])
    b_count = Signal(intbv(0, min=0, max=bursts + 1))
    bq = kv_fifo(clk, rst, clr, b_push, b_din, b_pop, b_dout, None, b_empty, b_count, bursts,
                 entry_bits)

    rst_run = sync_reset()                 # rst or clr: a run starts with clean counters
    run_reset = either_reset(rst, clr, rst_run)
    rcnt = Signal(intbv(0, min=0, max=257))
    ndone, nk_done = Signal(intbv(0)[cb:]), Signal(intbv(0)[cb:])
    nb_bytes = Signal(intbv(0)[48:])
    err_r = Signal(bool(0))
    beat = Signal(bool(0))
    start_ok = Signal(bool(0))

    @always_comb
    def comb():
        m_axi_arid.next = 0
        m_axi_arsize.next = log_bus_bytes
        m_axi_arburst.next = 1
        m_axi_rready.next = not b_empty
        beat.next = m_axi_rvalid and not b_empty
        b_pop.next = m_axi_rvalid and not b_empty and m_axi_rlast
        start_ok.next = (state == St.IDLE and not fq_empty and not err_r
                         and served >= fq_dout[cb + slot_bits + nbb:slot_bits + nbb])
        fetch_done.next = ndone
        k_done.next = nk_done
        nbytes.next = nb_bytes
        err.next = err_r
        idle.next = state == St.IDLE and b_empty

    @always_comb
    def pop():
        fq_pop.next = start_ok

    if beats_per_word == 1:
        @always_comb
        def wport():
            w1_en.next = beat and not b_dout[tier_addr_bits]
            w2_en.next = beat and b_dout[tier_addr_bits]
            w_addr.next = (b_dout[tier_addr_bits:] + rcnt) % (1 << tier_addr_bits)
            w_data.next = m_axi_rdata

        writer = [wport]
    else:
        # a memory word spans several beats: the earlier beats wait in ``held`` (the oldest
        # lowest) and the word is written with its last beat.  Slots start on a word, and a
        # part's beats arrive in order across its bursts, so the word lane is the address's
        # low bits.
        held = Signal(intbv(0)[mw - db:])
        bus_word = Signal(intbv(0)[tier_addr_bits:])
        word_end = Signal(bool(0))

        @always_comb
        def lane():
            bus_word.next = (b_dout[tier_addr_bits:] + rcnt) % (1 << tier_addr_bits)

        @always_comb
        def wport():
            word_end.next = bus_word[log_beats_per_word:] == beats_per_word - 1
            w1_en.next = beat and not b_dout[tier_addr_bits] and word_end
            w2_en.next = beat and b_dout[tier_addr_bits] and word_end
            w_addr.next = bus_word[tier_addr_bits:log_beats_per_word]
            w_data.next = concat(m_axi_rdata, held)

        @always(clk.posedge)
        def gather():
            h = intbv(0)[mw - db:]
            if beat:
                h[:] = (held >> db) | (m_axi_rdata << (mw - 2 * db))
                held.next = h

        writer = [lane, wport, gather]

    @always(clk.posedge)
    def issue():
        b_push.next = 0
        if rst or clr:
            state.next = St.IDLE
            m_axi_arvalid.next = 0
        elif state == St.IDLE:
            if start_ok:
                f_blk.next = fq_dout[nbb:]
                addr.next = k_base + (fq_dout[nbb:] << log_block_bytes)
                left.next = words_per_block
                part.next = 0
                tier2.next = slot_tier2
                waddr.next = slot_base
                state.next = St.SETUP
        elif state == St.SETUP:
            if err_r:
                state.next = St.IDLE
            elif b_count + b_push < bursts:
                # b_push is registered: the previous burst's entry may still be on its way
                # into the queue (checking only "not full" lost it with 4 bursts in flight)
                blen.next = burst
                m_axi_araddr.next = addr
                m_axi_arlen.next = burst - 1
                m_axi_arvalid.next = 1
                state.next = St.AR
        elif state == St.AR:
            if m_axi_arready:
                m_axi_arvalid.next = 0
                b_push.next = 1
                addr.next = addr + (blen << log_bus_bytes)
                waddr.next = waddr + blen
                left.next = left - blen
                if left == blen and part:
                    b_din.next = concat(bool(0), bool(1), tier2, waddr)
                    state.next = St.IDLE
                else:
                    b_din.next = concat(left == blen, bool(0), tier2, waddr)
                    state.next = St.SETUP
                    if left == blen:
                        part.next = 1
                        left.next = words_per_block
                        addr.next = v_base + (f_blk << log_block_bytes)

    @always_seq(clk.posedge, reset=rst_run)
    def receive():
        if beat:
            nb_bytes.next = nb_bytes + bus_bytes
            if m_axi_rresp != 0 or m_axi_rid != 0:
                err_r.next = 1
            if m_axi_rlast:
                rcnt.next = 0
                if b_dout[tier_addr_bits + 1]:
                    ndone.next = ndone + 1
                if b_dout[tier_addr_bits + 2]:
                    nk_done.next = nk_done + 1
            else:
                rcnt.next = rcnt + 1

    return bq, place, length, comb, pop, writer, issue, run_reset, receive
