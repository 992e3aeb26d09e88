"""Liveness-driven dual-tier KV cache with its HBM DMA (top of the cache).

One run serves one KV group: the host (or the index unit) streams the group's
merged access list, the unit computes exact next uses (:mod:`hdl.cache.liveness`),
decides hit / slot / victim per access exactly as ``golden.cache_sim`` policy
``"liveness"`` (:mod:`hdl.cache.slots`), fetches misses from HBM with AXI4 bursts
(:mod:`hdl.cache.dma`) into the two tier memories (:mod:`hdl.cache.ram`), and streams
every access's K rows then V rows to the attention engine (:mod:`hdl.cache.out`).
See docs/kv_cache.md.

HBM layout: K block ``c`` of the KV head is ``B`` token rows of ``D`` int8,
row-major, at ``k_base + c * B * D``; V likewise at ``v_base``.

Ports (``clk`` rising edge; ``rst`` synchronous, active high)
    start               begin a run (accepted while not busy); samples the settings:
    seq_len [32]        L, tokens (nb = ceil(L / B) key blocks)
    k_base, v_base [ab] byte addresses, aligned to the bus width
    resident            (optional) start with the blocks the previous run left, when that run
                        ended cleanly with the same L, k_base and v_base (the KV group's next
                        pass); else the run starts empty
    group_end           (optional, default high) the run is the group's last: a block's last
                        use frees its slot.  Low: every block stays (next use "not known")
    in_valid, in_ready  index stream handshake, then per entry:
    in_row, in_block    query row block and key block (``block <= row < nb``; rows
                        ascending, blocks ascending inside a row)
    in_vert             the block is in the group's vertical set (home tier 1);
                        must be the same on every entry of a block
    in_last             last entry of the group
    o_valid, o_ready, o_data [8D], o_kv, o_row, o_block, o_last   K/V rows (kv_out)
    m_axi_*             AXI4 read master (arid, araddr, arlen, arsize, arburst, arvalid,
                        arready, rid, rdata, rresp, rlast, rvalid, rready)
    busy, done          a run is in progress / the last run has ended (level,
                        until the next start)
    status [3]          bit 0: AXI error response; bit 1: bad settings (L = 0,
                        L > max_seq_len, a base not bus aligned); bit 2: bad index
                        entry (order or range).  A stream longer than the index memory
                        (``index_depth``) runs in windows of that many entries (hdl/cache/liveness.py)
    cnt_bytes [48], cnt_hit1, cnt_hit2, cnt_miss, cnt_stall, cnt_cycles [32]
                        HBM bytes read, hits per tier, misses, cycles the output
                        waited on HBM, cycles of the run
    dec_valid, dec_hit, dec_slot, dec_evict, dec_victim, dec_freed
                        one pulse per decision (for scoreboards and debug)
Parameters: ``cfg`` (AcceleratorConfig), see :func:`params`.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, concat, enum, intbv

from hdl.config import AcceleratorConfig, ConfigError
from hdl.cache.dma import kv_dma
from hdl.common.fifo import kv_fifo
from hdl.common.reset import sync_reset
from hdl.cache.liveness import kv_liveness
from hdl.cache.out import kv_out
from hdl.cache.ram import kv_ram
from hdl.cache.slot_addr import slot_geometry
from hdl.cache.slots import kv_slots

UNIT_NAME = "kv_cache"

SERVE_DEPTH = 64      # decisions the controller may run ahead of the output
FETCH_DEPTH = 64      # fetches queued ahead of the DMA
SEARCH_WIDTH = 8      # slots compared per cycle in the victim search
BURSTS = 4            # outstanding AXI bursts

ERR_AXI, ERR_PARAM, ERR_INDEX = 1, 2, 4


def index_depth(cfg: AcceleratorConfig) -> int:
    """Entries of the index memory (the window of the liveness pass): ``cfg.cache_index_entries``,
    or by default the dense count nb(nb+1)/2 at max_seq_len, capped at 64 * nb, rounded up to a
    power of two."""
    if cfg.cache_index_entries:
        return cfg.cache_index_entries
    nb = cfg.max_blocks
    want = min(nb * (nb + 1) // 2, 64 * nb)
    return 1 << max(1, (want - 1).bit_length())


def max_accesses(cfg: AcceleratorConfig) -> int:
    """The longest access stream of a KV group: every causal tile of a dense group."""
    nb = cfg.max_blocks
    return nb * (nb + 1) // 2


def params(cfg: AcceleratorConfig) -> dict:
    """Sizes and port widths of the cache for ``cfg``."""
    if not isinstance(cfg, AcceleratorConfig):
        raise ConfigError(f"cfg: expected an AcceleratorConfig, got {type(cfg).__name__}")
    bus = cfg.axi_bytes
    bd = cfg.kv_block_bytes
    if bd % bus:
        raise ConfigError(f"block: a K block of B*D = {bd} bytes must be a whole number of "
                          f"{bus}-byte bus words (raise block or head_dim)")
    depth = index_depth(cfg)
    # a tier-memory word holds a whole K / V row (or several), so the output reads a row per
    # cycle however many bus beats the row spans
    mw = max(cfg.axi_data_bits, 8 * cfg.head_dim)
    return dict(nbb=cfg.block_index_bits, t1=cfg.tier1_blocks, t2=cfg.tier2_blocks,
                slots=cfg.tier1_blocks + cfg.tier2_blocks, depth=depth,
                cb=max(depth, max_accesses(cfg)).bit_length(), bd=bd, bus_bytes=bus, mw=mw,
                db=cfg.axi_data_bits, ab=cfg.axi_addr_bits, dw=8 * cfg.head_dim,
                slot_bits=max(1, (cfg.tier1_blocks + cfg.tier2_blocks - 1).bit_length()),
                search_width=SEARCH_WIDTH, serve_depth=SERVE_DEPTH, fetch_depth=FETCH_DEPTH,
                bursts=BURSTS)


@block
def kv_cache(clk, rst, start, seq_len, k_base, v_base,
             in_valid, in_ready, in_row, in_block, in_vert, in_last,
             o_valid, o_ready, o_data, o_kv, o_row, o_block, o_last,
             m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst, m_axi_arvalid,
             m_axi_arready, m_axi_rid, m_axi_rdata, m_axi_rresp, m_axi_rlast, m_axi_rvalid,
             m_axi_rready, busy, done, status, cnt_bytes, cnt_hit1, cnt_hit2, cnt_miss, cnt_stall, cnt_cycles,
             dec_valid, dec_hit, dec_slot, dec_evict, dec_victim, dec_freed, cfg,
             resident=None, group_end=None):
    p = params(cfg)
    nbb, t1, t2, cb, depth = p["nbb"], p["t1"], p["t2"], p["cb"], p["depth"]
    slot_bits, db, mw = p["slot_bits"], p["db"], p["mw"]
    wps = slot_geometry(t1, t2, p["bd"], mw)["words_per_slot"]   # tier-memory words of a slot
    log_block = (cfg.block - 1).bit_length()
    tier1_addr_bits = max(1, (t1 * wps - 1).bit_length())
    tier2_addr_bits = max(1, (t2 * wps - 1).bit_length())
    tier_addr_bits = max(tier1_addr_bits, tier2_addr_bits)
    serve_bits = cb + 2 * nbb + slot_bits      # serve entry {fetch_seq, block, row, slot}
    fetch_bits = cb + slot_bits + nbb          # fetch entry {thr, slot, block}
    bus_mask = p["bus_bytes"] - 1

    St = enum("IDLE", "CLEAR", "RUN", "DRAIN", "DONE")
    state = Signal(St.IDLE)
    clr = Signal(bool(0))
    abort = Signal(bool(0))
    nb = Signal(intbv(0)[nbb + 1:])
    kb, vb = Signal(intbv(0)[p["ab"]:]), Signal(intbv(0)[p["ab"]:])
    st = Signal(intbv(0)[3:])
    cycles = Signal(intbv(0)[32:])
    # a KV group's passes: the blocks stay from one run to the next (ports optional: without
    # them every run starts empty and ends its group)
    resident = Signal(bool(0)) if resident is None else resident
    group_end = Signal(bool(1)) if group_end is None else group_end
    keep_r, end_r = Signal(bool(0)), Signal(bool(1))
    last_ok = Signal(bool(0))                  # the previous run ended without an error

    # liveness -> slots
    f_valid, f_ready, f_vert, f_has = (Signal(bool(0)) for _ in range(4))
    f_row, f_block = Signal(intbv(0)[nbb:]), Signal(intbv(0)[nbb:])
    f_next = Signal(intbv(0)[nbb + 1:])      # up to nb: the next use is past the window
    n_acc = Signal(intbv(0)[cb:])
    bad, fwd_done = Signal(bool(0)), Signal(bool(0))
    live = kv_liveness(clk, rst, clr, abort, nb, end_r, in_valid, in_ready, in_row, in_block, in_vert,
                       in_last, f_valid, f_ready, f_row, f_block, f_vert, f_has, f_next, n_acc,
                       bad, fwd_done, nbb, depth)

    # queues
    sv_push, sv_full, sv_empty, sv_pop = (Signal(bool(0)) for _ in range(4))
    sv_din, sv_dout = Signal(intbv(0)[serve_bits:]), Signal(intbv(0)[serve_bits:])
    sv_count = Signal(intbv(0, min=0, max=SERVE_DEPTH + 1))
    svq = kv_fifo(clk, rst, clr, sv_push, sv_din, sv_pop, sv_dout, None, sv_empty, sv_count,
                  SERVE_DEPTH, serve_bits)
    fq_push, fq_full, fq_empty, fq_pop = (Signal(bool(0)) for _ in range(4))
    fq_din, fq_dout = Signal(intbv(0)[fetch_bits:]), Signal(intbv(0)[fetch_bits:])
    fq_count = Signal(intbv(0, min=0, max=FETCH_DEPTH + 1))
    fq = kv_fifo(clk, rst, clr, fq_push, fq_din, fq_pop, fq_dout, None, fq_empty, fq_count,
                 FETCH_DEPTH, fetch_bits)

    hits1, hits2, misses = (Signal(intbv(0)[32:]) for _ in range(3))
    slots = kv_slots(clk, rst, clr, keep_r, abort, f_valid, f_ready, f_row, f_block, f_vert, f_has, f_next,
                     sv_push, sv_din, sv_full, fq_push, fq_din, fq_full,
                     dec_valid, dec_hit, dec_slot, dec_evict, dec_victim, dec_freed,
                     hits1, hits2, misses, nbb, t1, t2, cb, SEARCH_WIDTH)

    # tier memories: one write port (DMA), one read port (output)
    w1_en, w2_en, r1_en, r2_en = (Signal(bool(0)) for _ in range(4))
    w_addr, r_addr = Signal(intbv(0)[tier_addr_bits:]), Signal(intbv(0)[tier_addr_bits:])
    w_data = Signal(intbv(0)[mw:])
    r1_data, r2_data = Signal(intbv(0)[mw:]), Signal(intbv(0)[mw:])
    w1_addr, r1_addr = Signal(intbv(0)[tier1_addr_bits:]), Signal(intbv(0)[tier1_addr_bits:])
    w2_addr, r2_addr = Signal(intbv(0)[tier2_addr_bits:]), Signal(intbv(0)[tier2_addr_bits:])
    tier1 = kv_ram(clk, w1_en, w1_addr, w_data, r1_en, r1_addr, r1_data, t1 * wps, mw)
    tier2 = kv_ram(clk, w2_en, w2_addr, w_data, r2_en, r2_addr, r2_data, t2 * wps, mw)

    served, fetch_done, k_done = Signal(intbv(0)[cb:]), Signal(intbv(0)[cb:]), Signal(intbv(0)[cb:])
    emitted = Signal(intbv(0)[cb:])
    axi_err, dma_idle = Signal(bool(0)), Signal(bool(0))
    dma = kv_dma(clk, rst, clr, kb, vb, fq_empty, fq_dout, fq_pop, served,
                 m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst,
                 m_axi_arvalid, m_axi_arready, m_axi_rid, m_axi_rdata, m_axi_rresp, m_axi_rlast,
                 m_axi_rvalid, m_axi_rready,
                 w1_en, w2_en, w_addr, w_data, k_done, fetch_done, cnt_bytes, axi_err, dma_idle,
                 nbb, t1, t2, cb, p["bd"], p["ab"], db, BURSTS, mw)
    out = kv_out(clk, rst, clr, abort, sv_empty, sv_dout, sv_pop, k_done, fetch_done,
                 r1_en, r2_en, r_addr, r1_data, r2_data,
                 o_valid, o_ready, o_data, o_kv, o_row, o_block, o_last,
                 served, emitted, cnt_stall, nbb, t1, t2, cb, p["bd"], mw, p["dw"])

    @always_comb
    def room():
        # kv_slots pushes one cycle after it accepts an access, so it may accept only while
        # one more word than that push fits (else the push could meet a full queue)
        sv_full.next = sv_count >= SERVE_DEPTH - 1
        fq_full.next = fq_count >= FETCH_DEPTH - 1

    @always_comb
    def addrs():
        w1_addr.next = w_addr[tier1_addr_bits:]
        w2_addr.next = w_addr[tier2_addr_bits:]
        r1_addr.next = r_addr[tier1_addr_bits:]
        r2_addr.next = r_addr[tier2_addr_bits:]

    @always_comb
    def outs():
        clr.next = state == St.CLEAR          # one cycle: every sub-unit starts a new run
        abort.next = axi_err or bad
        busy.next = state == St.CLEAR or state == St.RUN or state == St.DRAIN
        done.next = state == St.DONE
        status.next = st
        cnt_hit1.next = hits1
        cnt_hit2.next = hits2
        cnt_miss.next = misses
        cnt_cycles.next = cycles

    @always(clk.posedge)
    def run():
        if rst:
            state.next = St.IDLE
            st.next = 0
            cycles.next = 0
            last_ok.next = 0
        elif state == St.CLEAR:
            cycles.next = cycles + 1
            state.next = St.RUN
        elif state == St.RUN:
            cycles.next = cycles + 1
            if axi_err or bad:
                state.next = St.DRAIN
            elif fwd_done and emitted == n_acc and dma_idle:
                last_ok.next = 1
                state.next = St.DONE
        elif state == St.DRAIN:
            # an error: wait until the DMA has drained its outstanding bursts
            cycles.next = cycles + 1
            if dma_idle and fwd_done:
                st.next = concat(bad, bool(0), axi_err)
                last_ok.next = 0
                state.next = St.DONE
        elif start:
            cycles.next = 0
            if (seq_len == 0 or seq_len > cfg.max_seq_len or (k_base & bus_mask) != 0
                    or (v_base & bus_mask) != 0):
                st.next = ERR_PARAM
                last_ok.next = 0
                state.next = St.DONE
            else:
                st.next = 0
                # blocks are kept only after a clean run of the same length (the same group)
                keep_r.next = (resident and last_ok and k_base == kb and v_base == vb
                               and nb == (seq_len + cfg.block - 1) >> log_block)
                end_r.next = group_end
                nb.next = (seq_len + cfg.block - 1) >> log_block
                kb.next = k_base
                vb.next = v_base
                state.next = St.CLEAR

    return live, svq, fq, slots, tier1, tier2, dma, out, room, addrs, outs, run


def top(cfg: AcceleratorConfig):
    """The kv_cache instance with every port sized for ``cfg`` (for conversion)."""
    p = params(cfg)
    nbb, SB = p["nbb"], p["slot_bits"]
    b = lambda: Signal(bool(0))  # noqa: E731
    u = lambda w: Signal(intbv(0)[w:])  # noqa: E731
    return kv_cache(
        b(), sync_reset(), b(), u(32), u(p["ab"]), u(p["ab"]),
        b(), b(), u(nbb), u(nbb), b(), b(),
        b(), b(), u(p["dw"]), b(), u(nbb), u(nbb), b(),
        u(1), u(p["ab"]), u(8), u(3), u(2), b(), b(),
        u(1), u(p["db"]), u(2), b(), b(), b(),
        b(), b(), u(3), u(48), u(32), u(32), u(32), u(32), u(32),
        b(), b(), u(SB), b(), u(nbb), b(), cfg, resident=b(), group_end=b())
