"""Attention group datapath: one KV group's sparse attention, index sets to O in HBM.

One run serves one KV group (g query heads sharing a KV head) once the index generator
(``hdl/index/sig.py``) holds the group's vertical / slash sets:

1. **load** (about ``2 (1 + max(nv, ns))`` cycles per head, hdl/group/set_loader.py): the sets
   are read through the ``sig`` readback ports (``rd_head``, ``rd_blk`` -> ``rd_nv``, ``rd_ns``,
   ``rd_vi``, ``rd_si``; each address is held two cycles and sampled at the end, so
   combinational and one-cycle registered readback both work) into per-head bitmaps ``vbits`` /
   ``sbits`` (``G x NB`` bits each).
2. **run**: two row-stream builders (``hdl/group/rows.py``) scan the bitmaps.  Builder A feeds
   the merged access stream (with the vertical flag = union of the heads' vertical sets) to
   one ``kv_cache`` (``hdl/cache/kv_cache.py``, reused as is: it takes the whole stream, computes
   liveness, then streams K rows then V rows per access).  Builder B feeds the per-head tile
   descriptors (``hdl/group/tiles.py``) and, in the cache's access order, the head mask of every
   access.  The cache's K and V rows go to the engines of the heads that use the access
   (``hdl/group/kv_bcast.py``: a ``2B``-row FIFO each, so that the cache can deliver the next
   access's K rows while the engines still run PV on the previous one, then a broadcast where
   each engine takes a row in its own cycle).  One ``attn_engine`` per head (lanes,
   ``hdl/group/lane.py``; engines ``h >= g`` stay idle) reads its Q blocks from HBM through a
   shared AXI read master (``hdl/group/q_reader.py``; each lane prefetches the next Q block) and
   writes its O rows, as int32, through a shared AXI write master (``hdl/group/o_writer.py``).

Numerics: the O of every head equals ``golden.fixed_attention.fixed_sparse_attention`` on the
pattern of the sets; the cache's decisions equal ``golden.cache_sim`` (policy "liveness").

Ports (``clk`` rising edge; ``rst`` synchronous, active high, a ``ResetSignal``)
    start               pulse: start a run (ignored while busy); settings sampled then:
    seq_len [32]        L;  group [8]: g (1..max_group)
    q_addr [64]         Q of the group's first head; q_stride [32]: bytes between heads
    k_addr, v_addr [64] K / V of the KV head (rows of D int8, ``kv_cache`` layout)
    o_addr [64]         O of the group's first head; o_stride [32]: bytes between heads
    kc_we, kc_addr [NBB], kc_data [32]         K scale code of a block (mant [15:0], exp [31:16])
    qc_we, qc_head [8], qc_addr [NBB], qc_data [32]   Q scale code of (head, block)
    rd_head [8], rd_blk [NBB] (out); rd_nv, rd_ns [NBB+1], rd_vi, rd_si [NBB] (in)
                        index-set readback of ``sig`` (see docs/sig.md)
    busy, done          a run is in progress / the last run has ended (level until start)
    status [8]          bit 0 AXI error on q, 1 on kv, 2 on o (SLVERR/DECERR or a foreign
                        id), 3 bad settings (L = 0, L > max_seq_len, g outside 1..max_group,
                        an address or stride not aligned to the bus), 4 index error (a set
                        entry >= nb, a head with neither vertical block 0 nor slash offset 0,
                        or the cache's index check); bit 3 also when a scale code written since
                        the last start has an exponent outside the engines' [-128, 127];
                        bit 5 internal fault (an engine's O rows out of order, or the cache's
                        access order differs from builder B's: never expected)
    m_axi_q_ar*, m_axi_q_r*      AXI4 read master: Q blocks
    m_axi_kv_ar*, m_axi_kv_r*    AXI4 read master: the cache's misses (pass-through)
    m_axi_o_aw*, m_axi_o_w*, m_axi_o_b*   AXI4 write master: O rows
                        (``cfg.axi_addr_bits`` address, ``cfg.axi_data_bits`` data, id 0, INCR,
                        <= 16 beats, no 4 KiB crossing on q and o; the cache's own rules on kv)
    cnt_cycles [32]     cycles from start to done;  cnt_tiles [32]: (head, row, block)
                        tiles given to the engines
    cnt_kv_bytes, cnt_q_bytes, cnt_o_bytes [64]   HBM bytes per port
    cnt_hit1, cnt_hit2, cnt_miss [32]   cache hits per tier and misses
    Added (observation, for scoreboards and waves):
    cnt_kv_stall [32]   cycles the cache output waited on HBM
    cnt_kv_cycles [32]  cycles of the cache's run
    cnt_access [32]     accesses (union key blocks) the cache delivered
    dec_valid, dec_hit, dec_slot, dec_evict, dec_victim, dec_freed   the cache's decision port
    dbg_head [8] (in); dbg_m, dbg_l, dbg_p_valid, dbg_p   engine dbg_head's row stats / P
    eng_idle [G]        per engine: nothing in flight
Parameters: ``cfg``.  ``G = cfg.max_group``, ``NB = cfg.max_blocks``, ``NBB = log2 NB``.

The engines' MPUs (optional ``mpu_buses``: one ``hdl.mpu.share.mpu_bus`` per lane): the MPUs
then live outside, where the top shares each with the index generator's.

The cache across a KV group's passes, optional ports (held through the run; without them
every run starts with an empty cache and frees each block at its last use):
    cache_resident      the run finds the blocks the previous run of the same group left
                        (hdl/cache/kv_cache.py ``resident``)
    cache_group_end     the run is the group's last: blocks are freed at their last use

Pooled per-row estimate (``row_gamma``), optional ports (``pool_ports(cfg)``; without them
the unit runs the vertical / slash sets only, as ``row_guard = 0``):
    row_guard           1: OR the pooled rows of ``sig_pool`` (hdl/index/pool.py, an instance
                        outside this unit) into every head's rows (sampled at ``start``)
    pr_start, pr_row [IW] (out)    request one row of sig_pool (a pulse, while pr_busy is low)
    pr_busy (in)                   sig_pool's front runs a row
    pr_done, pr_err (in)           sig_pool's answer (pr_err: the row was refused)
    pr_hold (out)                  sig_pool must not publish its next row yet (a copy runs)
    pr_rd_head [HIW] (out) -> pr_word [NB] (in)   sig_pool's output row of a head (read with
                        the address held two cycles, so combinational and registered both work)
    status bit 6        sig_pool refused a row (its means not loaded or failed, or r >= nb)
``IW``, ``HIW`` as in ``hdl.index.params.sig_widths``.  Each builder asks for row r's pooled row
before scanning row r (A rows 0..nb-1, then B); the provider (hdl/group/pool_provider.py)
computes that sequence ahead, one row in each stage of sig_pool's row pipeline, and copies the
rows of the g heads into the builder's ``G x NB``-bit row register.  The K/V broadcast takes each access's head mask from a FIFO filled
by builder B (same order as the cache's accesses), so no pooled row is needed a third time.
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv

from hdl.attention.engine import widths
from hdl.cache.kv_cache import kv_cache
from hdl.cache.kv_cache import params as kv_params
from hdl.common.reset import sync_reset
from hdl.config import AcceleratorConfig, ConfigError
from hdl.group.kv_bcast import grp_kv_bcast
from hdl.group.lane import grp_lane, lane_params
from hdl.group.o_writer import grp_o_writer
from hdl.group.pool_provider import grp_pool_provider
from hdl.group.q_reader import grp_q_reader
from hdl.group.rows import grp_rows
from hdl.group.set_loader import grp_set_loader
from hdl.group.tiles import grp_tiles
from hdl.index.params import sig_widths

UNIT_NAME = "grp_attn"

ERR_Q, ERR_KV, ERR_O, ERR_PARAM, ERR_INDEX = 1, 2, 4, 8, 16
ERR_POOL = 64


def _vector(bits: list):
    """One signal whose bit h is ``bits[h]`` (the signal itself when there is one)."""
    return ConcatSignal(*reversed(bits)) if len(bits) > 1 else bits[0]


def params(cfg: AcceleratorConfig) -> dict:
    """Sizes of the unit for ``cfg`` (raises ConfigError for sizes it cannot build)."""
    if not isinstance(cfg, AcceleratorConfig):
        raise ConfigError(f"cfg: expected an AcceleratorConfig, got {type(cfg).__name__}")
    reason = unsupported(cfg)
    if reason:
        raise ConfigError(f"grp_attn: {reason}")
    kv = kv_params(cfg)
    lp = lane_params(cfg)
    return dict(G=cfg.max_group, NB=cfg.max_blocks, NBB=cfg.block_index_bits, kv=kv, lane=lp,
                w=widths(cfg), AB=cfg.axi_addr_bits, DB=cfg.axi_data_bits,
                bus_bytes=cfg.axi_bytes)


def unsupported(cfg: AcceleratorConfig) -> str | None:
    """Sizes this unit cannot build yet."""
    bus = cfg.axi_data_bits
    row = 8 * cfg.head_dim
    if row % bus and bus % row:
        return f"a Q row of {row} bits neither divides nor is a multiple of the {bus}-bit bus"
    if (32 * cfg.head_dim) % bus:
        return f"an O row of {32 * cfg.head_dim} bits is not a whole number of bus words"
    if cfg.max_group > 255:
        return "max_group above 255"
    return None


@block
def grp_attn(clk, rst, start, seq_len, group, q_addr, q_stride, k_addr, v_addr, o_addr,
             o_stride, kc_we, kc_addr, kc_data, qc_we, qc_head, qc_addr, qc_data,
             rd_head, rd_blk, rd_nv, rd_ns, rd_vi, rd_si, busy, done, status,
             m_axi_q_arid, m_axi_q_araddr, m_axi_q_arlen, m_axi_q_arsize, m_axi_q_arburst,
             m_axi_q_arvalid, m_axi_q_arready, m_axi_q_rid, m_axi_q_rdata, m_axi_q_rresp,
             m_axi_q_rlast, m_axi_q_rvalid, m_axi_q_rready,
             m_axi_kv_arid, m_axi_kv_araddr, m_axi_kv_arlen, m_axi_kv_arsize, m_axi_kv_arburst,
             m_axi_kv_arvalid, m_axi_kv_arready, m_axi_kv_rid, m_axi_kv_rdata, m_axi_kv_rresp,
             m_axi_kv_rlast, m_axi_kv_rvalid, m_axi_kv_rready,
             m_axi_o_awid, m_axi_o_awaddr, m_axi_o_awlen, m_axi_o_awsize, m_axi_o_awburst,
             m_axi_o_awvalid, m_axi_o_awready, m_axi_o_wdata, m_axi_o_wstrb, m_axi_o_wlast,
             m_axi_o_wvalid, m_axi_o_wready, m_axi_o_bid, m_axi_o_bresp, m_axi_o_bvalid,
             m_axi_o_bready,
             cnt_cycles, cnt_tiles, cnt_kv_bytes, cnt_q_bytes, cnt_o_bytes, cnt_hit1, cnt_hit2,
             cnt_miss, cnt_kv_stall, cnt_kv_cycles, cnt_access, dec_valid, dec_hit, dec_slot, dec_evict, dec_victim,
             dec_freed, dbg_head, dbg_m, dbg_l, dbg_p_valid, dbg_p, eng_idle, cfg,
             cache_resident=None, cache_group_end=None, mpu_buses=None,
             row_guard=None, pr_start=None, pr_row=None, pr_busy=None, pr_done=None, pr_err=None,
             pr_hold=None, pr_rd_head=None, pr_word=None):
    p = params(cfg)
    G, NB, NBB, AB = p["G"], p["NB"], p["NBB"], p["AB"]
    w = p["w"]
    B, D = cfg.block, cfg.head_dim
    LOG_B = (B - 1).bit_length()
    NKB = w["NKB"]
    BUS_BYTES = p["bus_bytes"]
    ALIGN = BUS_BYTES - 1
    LANE_BITS = max(1, (G - 1).bit_length())
    POOL = pr_word is not None
    b = lambda: Signal(bool(0))  # noqa: E731
    u = lambda n, v=0: Signal(intbv(v)[n:])  # noqa: E731

    # ------------------------------------------------------------ run control state
    S_IDLE, S_CLEAR, S_GO, S_LOAD, S_RUN, S_DONE = range(6)
    state = Signal(intbv(0, min=0, max=6))
    run_status = u(8)
    accept, clr, go, loading, running = b(), b(), b(), b(), b()
    seq_len_r = u(32)
    nb = u(NBB + 1)
    last_nk = u(NKB)                # valid keys of the last block
    group_r = u(8)
    active = u(G)                   # bit h: head h < g takes part
    q_base, k_base, v_base, o_base = u(AB), u(AB), u(AB), u(AB)
    q_step, o_step = u(32), u(32)
    cycles = u(32)
    abort = b()
    q_err, o_err, cache_err = b(), b(), b()
    check_wait = u(2)               # 3: the run's first cycle checks the sets; 2, 1: cache start
    code_bad = b()                  # a scale code with an exponent outside [-128, 127] was written

    # ------------------------------------------------------------ the index sets
    vbits, sbits = u(G * NB), u(G * NB)
    size_err, entry_err, sets_loaded = b(), b(), b()
    loader = grp_set_loader(clk, rst, clr, go, loading, group_r, nb, rd_head, rd_blk, rd_nv, rd_ns,
                            rd_vi, rd_si, vbits, sbits, size_err, entry_err, sets_loaded, NB)

    # ------------------------------------------------------------ builder A -> kv cache
    scan_go, cache_start = b(), b()
    a_valid, a_ready, a_vert, a_end = b(), b(), b(), b()
    a_row, a_blk = u(NBB), u(NBB)
    # pooled rows (row_guard): one G x NB row register per builder, filled by the provider
    pool_on, pool_idle, pool_err = b(), Signal(bool(1)), b()
    a_preq, a_pack, b_preq, b_pack = b(), b(), b(), b()
    a_pbits, b_pbits = u(G * NB), u(G * NB)
    pool_a = dict(pen=pool_on, p_req=a_preq, p_ack=a_pack, pbits=a_pbits) if POOL else {}
    pool_b = dict(pen=pool_on, p_req=b_preq, p_ack=b_pack, pbits=b_pbits) if POOL else {}
    rows_a = grp_rows(clk, rst, clr, scan_go, nb, active, vbits, sbits, a_valid, a_ready, a_row,
                      a_blk, None, None, a_vert, a_end, None, G, NB, **pool_a)

    c_valid, c_ready, c_kv, c_last = b(), b(), b(), b()
    c_data = u(8 * D)
    c_row, c_blk = u(NBB), u(NBB)
    c_busy, c_done = b(), b()
    c_status = u(3)
    c_bytes = u(48)
    c_hit1, c_hit2, c_miss, c_cycles = u(32), u(32), u(32), u(32)
    cache = kv_cache(clk, rst, cache_start, seq_len_r, k_base, v_base,
                     a_valid, a_ready, a_row, a_blk, a_vert, a_end,
                     c_valid, c_ready, c_data, c_kv, c_row, c_blk, c_last,
                     m_axi_kv_arid, m_axi_kv_araddr, m_axi_kv_arlen, m_axi_kv_arsize,
                     m_axi_kv_arburst, m_axi_kv_arvalid, m_axi_kv_arready, m_axi_kv_rid,
                     m_axi_kv_rdata, m_axi_kv_rresp, m_axi_kv_rlast, m_axi_kv_rvalid,
                     m_axi_kv_rready, c_busy, c_done, c_status, c_bytes, c_hit1, c_hit2, c_miss,
                     cnt_kv_stall, c_cycles, dec_valid, dec_hit, dec_slot, dec_evict, dec_victim,
                     dec_freed, cfg, resident=cache_resident, group_end=cache_group_end)

    # ------------------------------------------------------------ builder B -> tiles, head masks
    b_valid, b_ready = b(), b()
    b_row, b_blk = u(NBB), u(NBB)
    b_heads, b_lastm = u(G), u(G)
    rows_b = grp_rows(clk, rst, clr, scan_go, nb, active, vbits, sbits, b_valid, b_ready, b_row,
                      b_blk, b_heads, b_lastm, None, None, None, G, NB, **pool_b)
    tile_push, tile_full, mask_push, mask_full = b(), b(), b(), b()
    t_valid, t_lastm = u(G), u(G)
    t_diag = b()
    t_nk = u(NKB)
    t_mant = u(16)
    t_exp = Signal(intbv(0, min=-128, max=128))
    t_ready_lane = [b() for _ in range(G)]
    tiles = u(32)
    tile_path = grp_tiles(clk, rst, clr, tile_push, b_row, b_blk, b_heads, b_lastm, tile_full, nb,
                          last_nk, kc_we, kc_addr, kc_data, abort, t_valid, _vector(t_ready_lane),
                          t_diag, t_nk, t_lastm, t_mant, t_exp, tiles, G, NBB, NB, B)

    @always_comb
    def split_b():
        # every entry of builder B is a tile entry and the head mask of the cache's access
        tile_push.next = b_valid and not tile_full and not mask_full
        mask_push.next = b_valid and not tile_full and not mask_full
        b_ready.next = not tile_full and not mask_full

    # ------------------------------------------------------------ K / V broadcast
    k_valid, v_valid = u(G), u(G)
    k_data, v_data = u(8 * D), u(8 * D)
    k_ready_lane, v_ready_lane = [b() for _ in range(G)], [b() for _ in range(G)]
    order_err = b()
    bcast = grp_kv_bcast(clk, rst, clr, mask_push, b_heads, b_row, b_blk, mask_full,
                         c_valid, c_ready, c_kv, c_last, c_data, c_row, c_blk, abort,
                         k_valid, _vector(k_ready_lane), k_data, v_valid, _vector(v_ready_lane),
                         v_data, order_err, G, NBB, B, D)

    # ------------------------------------------------------------ lanes
    # the AXI masters see the selected lane's burst through daisy chains: element h is lane h's
    # input, element G what reaches the master
    q_req_lane, o_req_lane = [b() for _ in range(G)], [b() for _ in range(G)]
    o_done_lane, idle_lane, fault_lane = [b() for _ in range(G)], [b() for _ in range(G)], [b() for _ in range(G)]
    q_push, q_issue, o_issue, o_pop = u(G), u(G), u(G), u(G)
    q_cur, o_cur = u(LANE_BITS), u(LANE_BITS)
    q_addr_chain = [u(AB) for _ in range(G + 1)]
    q_blen_chain = [u(9) for _ in range(G + 1)]
    o_word_chain = [u(p["DB"]) for _ in range(G + 1)]
    o_addr_chain = [u(AB) for _ in range(G + 1)]
    o_blen_chain = [u(9) for _ in range(G + 1)]
    dbg_m_chain = [u(w["MX"]) for _ in range(G)] + [dbg_m]
    dbg_l_chain = [u(w["LW"]) for _ in range(G)] + [dbg_l]
    dbg_pv_chain = [b() for _ in range(G)] + [dbg_p_valid]
    dbg_p_chain = [u(w["PB"] * B) for _ in range(G)] + [dbg_p]
    o_done_all, fault_any = _vector(o_done_lane), _vector(fault_lane)
    lanes = []
    for h in range(G):
        lanes.append(grp_lane(
            clk, rst, clr, go, abort, active(h), q_base, q_step, o_base, o_step, nb,
            qc_we, qc_head, qc_addr, qc_data,
            t_valid(h), t_ready_lane[h], t_diag, t_nk, t_lastm(h), t_mant, t_exp,
            k_valid(h), k_ready_lane[h], k_data, v_valid(h), v_ready_lane[h], v_data,
            q_push(h), m_axi_q_rdata, q_issue(h), q_req_lane[h], q_cur, q_addr_chain[h],
            q_addr_chain[h + 1], q_blen_chain[h], q_blen_chain[h + 1],
            o_issue(h), o_pop(h), o_req_lane[h], o_cur, o_word_chain[h], o_word_chain[h + 1],
            o_addr_chain[h], o_addr_chain[h + 1], o_blen_chain[h], o_blen_chain[h + 1],
            o_done_lane[h], dbg_head, dbg_m_chain[h], dbg_m_chain[h + 1], dbg_l_chain[h],
            dbg_l_chain[h + 1], dbg_pv_chain[h], dbg_pv_chain[h + 1], dbg_p_chain[h],
            dbg_p_chain[h + 1], idle_lane[h], fault_lane[h], cfg, h,
            mpu_bus=None if mpu_buses is None else mpu_buses[h]))
    idle_all = _vector(idle_lane)

    @always_comb
    def engines_idle():
        eng_idle.next = idle_all

    # ------------------------------------------------------------ the AXI masters of Q and O
    q_idle, o_idle = b(), b()
    q_bytes, o_bytes = u(64), u(64)
    q_master = grp_q_reader(clk, rst, clr, running, _vector(q_req_lane), q_cur, q_addr_chain[G],
                            q_blen_chain[G], q_issue, q_push, q_idle, q_err, q_bytes,
                            m_axi_q_arid, m_axi_q_araddr, m_axi_q_arlen, m_axi_q_arsize,
                            m_axi_q_arburst, m_axi_q_arvalid, m_axi_q_arready, m_axi_q_rid,
                            m_axi_q_rdata, m_axi_q_rresp, m_axi_q_rlast, m_axi_q_rvalid,
                            m_axi_q_rready, G, BUS_BYTES)
    o_master = grp_o_writer(clk, rst, clr, running, _vector(o_req_lane), o_cur, o_addr_chain[G],
                            o_blen_chain[G], o_word_chain[G], o_issue, o_pop, o_idle, o_err, o_bytes,
                            m_axi_o_awid, m_axi_o_awaddr, m_axi_o_awlen, m_axi_o_awsize,
                            m_axi_o_awburst, m_axi_o_awvalid, m_axi_o_awready, m_axi_o_wdata,
                            m_axi_o_wstrb, m_axi_o_wlast, m_axi_o_wvalid, m_axi_o_wready,
                            m_axi_o_bid, m_axi_o_bresp, m_axi_o_bvalid, m_axi_o_bready,
                            G, BUS_BYTES)

    # ------------------------------------------------------------ pooled-row provider
    pool = []
    if POOL:
        if len(pr_word) != NB or len(pr_row) != NBB:
            raise ConfigError(f"grp_attn: pr_word must have {NB} bits and pr_row {NBB}")
        pool.append(grp_pool_provider(clk, rst, clr, accept, row_guard, pool_on, go, abort, nb,
                                      a_preq, a_pack, a_pbits, b_preq, b_pack,
                                      b_pbits, pr_start, pr_row, pr_busy, pr_done, pr_err, pr_hold,
                                      pr_rd_head, pr_word, pool_idle, pool_err, G, NB))

    # ------------------------------------------------------------ counters, outputs
    accesses = u(32)

    @always(clk.posedge)
    def access_count():
        if rst or clr:
            accesses.next = 0
        elif c_valid and c_ready and c_last and not abort:
            accesses.next = accesses + 1

    @always_comb
    def outs():
        busy.next = state != S_IDLE and state != S_DONE
        done.next = state == S_DONE
        status.next = run_status
        cnt_cycles.next = cycles
        cnt_tiles.next = tiles
        cnt_kv_bytes.next = c_bytes
        cnt_q_bytes.next = q_bytes
        cnt_o_bytes.next = o_bytes
        cnt_hit1.next = c_hit1
        cnt_hit2.next = c_hit2
        cnt_miss.next = c_miss
        cnt_access.next = accesses
        cnt_kv_cycles.next = c_cycles
        accept.next = (state == S_IDLE or state == S_DONE) and start
        clr.next = state == S_CLEAR
        go.next = state == S_GO
        loading.next = state == S_LOAD
        # bursts only once the run is past its last check (check_wait 3: a set error ends it)
        running.next = state == S_RUN and check_wait != 3
        abort.next = (run_status != 0 or q_err or o_err or cache_err or fault_any != 0 or pool_err
                      or order_err)

    # ------------------------------------------------------------ run FSM
    @always(clk.posedge)
    def fsm():
        if rst:
            state.next = S_IDLE
            run_status.next = 0
            cycles.next = 0
            cache_start.next = False
            scan_go.next = False
            cache_err.next = False
            code_bad.next = False
        else:
            if ((kc_we and kc_data[32:23] != 0 and kc_data[32:23] != 0x1FF)
                    or (qc_we and qc_data[32:23] != 0 and qc_data[32:23] != 0x1FF)):
                code_bad.next = True
            cache_start.next = False
            scan_go.next = False
            if state == S_IDLE or state == S_DONE:
                if start:
                    cycles.next = 0
                    code_bad.next = False
                    if (code_bad or seq_len == 0 or seq_len > cfg.max_seq_len or group == 0
                            or group > G or (q_addr & ALIGN) != 0 or (k_addr & ALIGN) != 0
                            or (v_addr & ALIGN) != 0 or (o_addr & ALIGN) != 0
                            or (q_stride & ALIGN) != 0 or (o_stride & ALIGN) != 0):
                        run_status.next = ERR_PARAM
                        state.next = S_DONE
                    else:
                        run_status.next = 0
                        seq_len_r.next = seq_len
                        nb.next = (seq_len + B - 1) >> LOG_B
                        last_nk.next = seq_len - (((seq_len + B - 1) >> LOG_B) - 1) * B
                        group_r.next = group
                        heads = intbv(0)[G:]
                        for h in range(G):
                            if h < group:
                                heads[h] = 1
                        active.next = heads
                        q_base.next = q_addr
                        k_base.next = k_addr
                        v_base.next = v_addr
                        o_base.next = o_addr
                        q_step.next = q_stride
                        o_step.next = o_stride
                        state.next = S_CLEAR
            else:
                cycles.next = cycles + 1
                if state == S_CLEAR:
                    cache_err.next = False
                    state.next = S_GO
                elif state == S_GO:
                    state.next = S_LOAD
                elif state == S_LOAD:
                    if size_err:
                        # the pooled rows started at go: the run ends once none is in flight
                        run_status.next = ERR_INDEX
                        if pool_idle:
                            state.next = S_DONE
                    else:
                        if entry_err:
                            run_status.next = ERR_INDEX
                        if sets_loaded:
                            state.next = S_RUN
                            check_wait.next = 3
                elif state == S_RUN:
                    if check_wait == 3:
                        # every head must keep a block in every row: vertical block 0 or
                        # slash offset 0 (forced entries) guarantees it
                        bad = False
                        for h in range(G):
                            if active[h] and not (vbits[h * NB] or sbits[h * NB]):
                                bad = True
                        if bad or run_status != 0:
                            run_status.next = run_status | ERR_INDEX
                            if pool_idle:
                                state.next = S_DONE
                        else:
                            cache_start.next = True
                            scan_go.next = True
                            check_wait.next = 2
                    elif check_wait != 0:
                        check_wait.next = check_wait - 1
                    else:
                        drained = c_done and not c_busy and q_idle and o_idle and pool_idle
                        if c_done and c_status != 0:
                            cache_err.next = True
                        if abort:
                            # no new bursts since abort rose: wait for the ports to drain
                            if drained:
                                if q_err:
                                    run_status.next[0] = 1
                                if c_status[0]:
                                    run_status.next[1] = 1
                                if o_err:
                                    run_status.next[2] = 1
                                if c_status[1]:
                                    run_status.next[3] = 1
                                if c_status[2]:
                                    run_status.next[4] = 1
                                if fault_any != 0 or order_err:
                                    run_status.next[5] = 1
                                if pool_err:
                                    run_status.next[6] = 1
                                state.next = S_DONE
                        elif drained and o_done_all == (1 << G) - 1 and c_status == 0:
                            state.next = S_DONE

    return (loader, rows_a, cache, rows_b, tile_path, split_b, bcast, lanes, engines_idle,
            q_master, o_master, pool, access_count, outs, fsm)


def ports(cfg: AcceleratorConfig) -> dict:
    """Fresh signals for every port of the unit (for conversion and benches)."""
    p = params(cfg)
    G, NBB, AB, DB = p["G"], p["NBB"], p["AB"], p["DB"]
    kv, w = p["kv"], p["w"]
    b = lambda: Signal(bool(0))  # noqa: E731
    u = lambda n: Signal(intbv(0)[n:])  # noqa: E731
    d = dict(clk=b(), rst=sync_reset(), start=b(), seq_len=u(32), group=u(8), q_addr=u(AB),
             q_stride=u(32), k_addr=u(AB), v_addr=u(AB), o_addr=u(AB), o_stride=u(32),
             kc_we=b(), kc_addr=u(NBB), kc_data=u(32), qc_we=b(), qc_head=u(8),
             qc_addr=u(NBB), qc_data=u(32), rd_head=u(8), rd_blk=u(NBB), rd_nv=u(NBB + 1),
             rd_ns=u(NBB + 1), rd_vi=u(NBB), rd_si=u(NBB), busy=b(), done=b(), status=u(8))
    for port in ("q", "kv"):
        d.update({f"m_axi_{port}_arid": u(1), f"m_axi_{port}_araddr": u(AB),
                  f"m_axi_{port}_arlen": u(8), f"m_axi_{port}_arsize": u(3),
                  f"m_axi_{port}_arburst": u(2), f"m_axi_{port}_arvalid": b(),
                  f"m_axi_{port}_arready": b(), f"m_axi_{port}_rid": u(1),
                  f"m_axi_{port}_rdata": u(DB), f"m_axi_{port}_rresp": u(2),
                  f"m_axi_{port}_rlast": b(), f"m_axi_{port}_rvalid": b(),
                  f"m_axi_{port}_rready": b()})
    d.update(m_axi_o_awid=u(1), m_axi_o_awaddr=u(AB), m_axi_o_awlen=u(8), m_axi_o_awsize=u(3),
             m_axi_o_awburst=u(2), m_axi_o_awvalid=b(), m_axi_o_awready=b(),
             m_axi_o_wdata=u(DB), m_axi_o_wstrb=u(DB // 8), m_axi_o_wlast=b(),
             m_axi_o_wvalid=b(), m_axi_o_wready=b(), m_axi_o_bid=u(1), m_axi_o_bresp=u(2),
             m_axi_o_bvalid=b(), m_axi_o_bready=b())
    d.update(cnt_cycles=u(32), cnt_tiles=u(32), cnt_kv_bytes=u(64), cnt_q_bytes=u(64),
             cnt_o_bytes=u(64), cnt_hit1=u(32), cnt_hit2=u(32), cnt_miss=u(32),
             cnt_kv_stall=u(32), cnt_kv_cycles=u(32), cnt_access=u(32), dec_valid=b(), dec_hit=b(), dec_slot=u(kv["slot_bits"]),
             dec_evict=b(), dec_victim=u(NBB), dec_freed=b(), dbg_head=u(8),
             dbg_m=u(w["MX"]), dbg_l=u(w["LW"]), dbg_p_valid=b(), dbg_p=u(w["PB"] * cfg.block),
             eng_idle=u(G))
    return d


def pool_ports(cfg: AcceleratorConfig) -> dict:
    """Fresh signals for the optional pooled-row ports (``row_guard`` and the ``sig_pool`` side:
    widths as ``hdl.index.pool.ports``)."""
    params(cfg)
    pw = sig_widths(cfg)
    b = lambda: Signal(bool(0))  # noqa: E731
    u = lambda n: Signal(intbv(0)[n:])  # noqa: E731
    return dict(row_guard=b(), pr_start=b(), pr_row=u(pw["IW"]), pr_busy=b(), pr_done=b(),
                pr_err=b(), pr_hold=b(), pr_rd_head=u(pw["HIW"]), pr_word=u(pw["NBMAX"]))


def top(cfg: AcceleratorConfig):
    """The grp_attn instance with every port sized for ``cfg``, the pooled-row ports included
    (for conversion and the bench)."""
    return grp_attn(**ports(cfg), **pool_ports(cfg), cfg=cfg)
