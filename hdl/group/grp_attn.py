"""Attention group datapath: one KV group's sparse attention, index sets to O in HBM (issue 7).

One run serves one KV group (g query heads sharing a KV head) once the index generator
(``hdl/index/sig.py``) holds the group's vertical / slash sets:

1. **load** (about ``2 (1 + max(nv, ns))`` cycles per head): the sets are read through the
   ``sig`` readback ports (``rd_head``, ``rd_blk`` -> ``rd_nv``, ``rd_ns``, ``rd_vi``,
   ``rd_si``; each address is held two cycles and sampled at the end, so combinational and
   one-cycle registered readback both work) into per-head bitmaps ``vbits`` / ``sbits``
   (``G x NB`` bits each).
2. **run**: two row-stream builders (``hdl/group/rows.py``) scan the bitmaps.  Builder A feeds
   the merged access stream (with the vertical flag = union of the heads' vertical sets) to
   one ``kv_cache`` (``hdl/cache/kv_cache.py``, reused as is: it takes the whole stream, computes
   liveness, then streams K rows then V rows per access).  Builder B feeds the per-head tile
   descriptors through a FIFO.  The cache's K rows go to the engines of the heads that use the
   access (``hdl/group/fork.py``: a broadcast where each engine takes a beat in its own cycle);
   its V rows go through a ``2B``-row FIFO, so that the cache can deliver the next access's K
   rows while the engines still run PV on the previous one.  One ``attn_engine`` per head
   (lanes, ``hdl/group/lane.py``; engines ``h >= g`` stay idle) reads its Q blocks from HBM
   through a shared AXI read master (each lane prefetches the next Q block) and writes its O
   rows, as int32, through a shared AXI write master.

Numerics: the O of every head equals ``golden.fixed_attention.fixed_sparse_attention`` on the
pattern of the sets; the cache's decisions equal ``golden.cache_sim`` (policy "liveness").

Ports (``clk`` rising edge; ``rst`` synchronous, active high)
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
                        (64-bit address, 256-bit data, id 0, INCR, <= 16 beats, no 4 KiB
                        crossing on q and o; the cache's own rules on kv)
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

Pooled per-row estimate (``row_gamma``), optional ports (``pool_ports(cfg)``; without them
the unit runs the vertical / slash sets only, as ``row_guard = 0``):
    row_guard           1: OR the pooled rows of ``sig_pool`` (hdl/index/pool.py, an instance
                        outside this unit) into every head's rows (sampled at ``start``)
    pr_start, pr_row [IW] (out)    request one row of sig_pool (a pulse; one request at a time)
    pr_done, pr_err (in)           sig_pool's answer (pr_err: the row was refused)
    pr_rd_head [HIW] (out) -> pr_word [NB] (in)   sig_pool's output row of a head (read with
                        the address held two cycles, so combinational and registered both work)
    status bit 6        sig_pool refused a row (its means not loaded or failed, or r >= nb)
``IW``, ``HIW`` as in ``hdl.index.params.sig_widths``.  Each builder asks for row r's pooled row
before scanning row r (builder A first); the rows of the g heads are copied into the builder's
``G x NB``-bit row register.  The K/V broadcast takes each access's head mask from a FIFO filled
by builder B (same order as the cache's accesses), so no pooled row is needed a third time.
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, concat, intbv, modbv

from hdl.attention.engine import widths
from hdl.config import AcceleratorConfig, ConfigError
from hdl.group.fork import grp_fork
from hdl.group.lane import grp_lane, lane_params
from hdl.group.rows import grp_rows
from hdl.cache.kv_cache import kv_cache
from hdl.cache.kv_cache import params as kv_params
from hdl.common.arbiter import rr_arbiter
from hdl.common.fifo import kv_fifo
from hdl.index.params import sig_widths

UNIT_NAME = "grp_attn"

ERR_Q, ERR_KV, ERR_O, ERR_PARAM, ERR_INDEX = 1, 2, 4, 8, 16
ERR_POOL = 64
DESC_DEPTH = 16
MASK_DEPTH = 32
INFLIGHT = 8


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
             row_guard=None, pr_start=None, pr_row=None, pr_done=None, pr_err=None,
             pr_rd_head=None, pr_word=None):
    p = params(cfg)
    G, NB, NBB, AB, DB = p["G"], p["NB"], p["NBB"], p["AB"], p["DB"]
    w, lp = p["w"], p["lane"]
    B, D = cfg.block, cfg.head_dim
    LB = (B - 1).bit_length()
    NKB = w["NKB"]
    BUSB = p["bus_bytes"]
    ALIGN = BUSB - 1
    SIZE = (BUSB - 1).bit_length()
    GB = max(1, (G - 1).bit_length())
    POOL = pr_word is not None
    b = lambda: Signal(bool(0))  # noqa: E731
    u = lambda n, v=0: Signal(intbv(v)[n:])  # noqa: E731

    # ------------------------------------------------------------ run control state
    S_IDLE, S_CLEAR, S_GO, S_LOAD, S_RUN, S_DONE = range(6)
    state = Signal(intbv(0, min=0, max=6))
    st = u(8)
    clr, go = b(), b()
    L = u(32)
    nb = u(NBB + 1)
    lastnk = u(NKB)
    g_r = u(8)
    act = u(G)
    qa_r, ka_r, va_r, oa_r = u(AB), u(AB), u(AB), u(AB)
    qs_r, os_r = u(32), u(32)
    cycles = u(32)
    abort = b()
    q_err, o_err, c_err = b(), b(), b()
    cwait = u(2)
    running = b()

    # bitmaps of the sets
    vbits, sbits = u(G * NB), u(G * NB)

    # ------------------------------------------------------------ builder A -> kv cache
    sa_go = b()
    c_start = b()
    ca_valid, ca_ready, ca_vert, ca_end = b(), b(), b(), b()
    ca_row, ca_blk = u(NBB), u(NBB)
    # pooled rows (row_guard): one G x NB register per builder, filled by the provider below
    pg_r = b()
    pa_req, pa_ack, pb_req, pb_ack = b(), b(), b(), b()
    pa_row, pb_row = u(NBB), u(NBB)
    pa_bits, pb_bits = u(G * NB), u(G * NB)
    pool_a = dict(pen=pg_r, p_req=pa_req, p_row=pa_row, p_ack=pa_ack, pbits=pa_bits) if POOL else {}
    pool_b = dict(pen=pg_r, p_req=pb_req, p_row=pb_row, p_ack=pb_ack, pbits=pb_bits) if POOL else {}
    rows_a = grp_rows(clk, rst, clr, sa_go, nb, act, vbits, sbits, ca_valid, ca_ready, ca_row,
                      ca_blk, None, None, ca_vert, ca_end, None, G, NB, **pool_a)

    c_ovalid, c_oready, c_okv, c_olast = b(), b(), b(), b()
    c_odata = u(8 * D)
    c_orow, c_oblk = u(NBB), u(NBB)
    c_busy, c_done = b(), b()
    c_status = u(3)
    c_bytes = u(48)
    c_h1, c_h2, c_miss, c_cyc = u(32), u(32), u(32), u(32)
    cache = kv_cache(clk, rst, c_start, L, ka_r, va_r,
                     ca_valid, ca_ready, ca_row, ca_blk, ca_vert, ca_end,
                     c_ovalid, c_oready, c_odata, c_okv, c_orow, c_oblk, c_olast,
                     m_axi_kv_arid, m_axi_kv_araddr, m_axi_kv_arlen, m_axi_kv_arsize,
                     m_axi_kv_arburst, m_axi_kv_arvalid, m_axi_kv_arready, m_axi_kv_rid,
                     m_axi_kv_rdata, m_axi_kv_rresp, m_axi_kv_rlast, m_axi_kv_rvalid,
                     m_axi_kv_rready, c_busy, c_done, c_status, c_bytes, c_h1, c_h2, c_miss,
                     cnt_kv_stall, c_cyc, dec_valid, dec_hit, dec_slot, dec_evict, dec_victim,
                     dec_freed, cfg)

    # ------------------------------------------------------------ builder B -> descriptors
    sb_valid, sb_ready = b(), b()
    sb_row, sb_blk = u(NBB), u(NBB)
    sb_heads, sb_lastm = u(G), u(G)
    rows_b = grp_rows(clk, rst, clr, sa_go, nb, act, vbits, sbits, sb_valid, sb_ready, sb_row,
                      sb_blk, sb_heads, sb_lastm, None, None, None, G, NB, **pool_b)
    DW_DESC = 2 * NBB + 2 * G
    df_push, df_full, df_empty, df_pop = b(), b(), b(), b()
    df_din, df_dout = u(DW_DESC), u(DW_DESC)
    dfifo = kv_fifo(clk, rst, clr, df_push, df_din, df_pop, df_dout, df_full, df_empty, None,
                    DESC_DEPTH, DW_DESC)
    d_row, d_blk, d_heads, d_lastm = u(NBB), u(NBB), u(G), u(G)
    d_valid, d_ready = b(), b()
    t_valid = u(G)
    t_diag = b()
    t_nk = u(NKB)
    t_mant = u(16)
    t_exp = Signal(intbv(0, min=-128, max=128))
    kcmem = [u(24) for _ in range(NB)]     # mantissa and the exponent's low byte
    kcw = u(24)

    # the head mask of every access, in the cache's order, for the K/V broadcast
    # (with the access's row and block: checked against the cache's tags, a mismatch is an
    # internal fault)
    MFW = G + 2 * NBB
    mf_push, mf_full, mf_empty, mf_pop = b(), b(), b(), b()
    mf_din, mf_dout = u(MFW), u(MFW)
    mf_heads = u(G)
    mf_row, mf_blk = u(NBB), u(NBB)
    mfifo = kv_fifo(clk, rst, clr, mf_push, mf_din, mf_pop, mf_dout, mf_full, mf_empty, None,
                    MASK_DEPTH, MFW)
    order_err = b()

    @always_comb
    def desc_in():
        df_push.next = sb_valid and not df_full and not mf_full
        mf_push.next = sb_valid and not df_full and not mf_full
        sb_ready.next = not df_full and not mf_full
        df_din.next = concat(sb_lastm, sb_heads, sb_blk, sb_row)
        mf_din.next = concat(sb_heads, sb_blk, sb_row)
        mf_row.next = mf_dout[NBB:]
        mf_blk.next = mf_dout[2 * NBB:NBB]
        mf_heads.next = mf_dout[MFW:2 * NBB]

    @always_comb
    def desc_out():
        d_row.next = df_dout[NBB:]
        d_blk.next = df_dout[2 * NBB:NBB]
        d_heads.next = df_dout[2 * NBB + G:2 * NBB]
        d_lastm.next = df_dout[2 * NBB + 2 * G:2 * NBB + G]
        d_valid.next = not df_empty
        df_pop.next = d_ready and not df_empty

    @always(clk.posedge)
    def kc_write():
        if kc_we:
            kcmem[kc_addr].next = kc_data[24:]

    @always_comb
    def kc_read():
        kcw.next = kcmem[d_blk]

    @always_comb
    def desc_fields():
        t_diag.next = d_blk == d_row
        if d_blk == nb - 1:
            t_nk.next = lastnk
        else:
            t_nk.next = B
        t_mant.next = kcw[16:]
        t_exp.next = kcw[24:16].signed()

    t_ready_l = [b() for _ in range(G)]
    t_ready = ConcatSignal(*reversed(t_ready_l)) if G > 1 else t_ready_l[0]
    dfork = grp_fork(clk, rst, clr, d_valid, d_ready, d_heads, abort, t_valid, t_ready, G)

    # ------------------------------------------------------------ K / V broadcast
    # K and V rows each go through a 2B-row FIFO tagged with the access's head mask: the
    # cache then streams K(t+1), V(t+1), K(t+2)... at one row per cycle while an engine's MPU
    # interleaves QK(t+1) with PV(t) (PV first), so neither side waits on the other.
    VW = 8 * D + G
    kf_push, kf_full, kf_empty, kf_pop = b(), b(), b(), b()
    kf_din, kf_dout = u(VW), u(VW)
    kfifo = kv_fifo(clk, rst, clr, kf_push, kf_din, kf_pop, kf_dout, kf_full, kf_empty, None,
                    2 * B, VW)
    k_data = u(8 * D)
    k_mask = u(G)
    k_valid = u(G)
    k_ready_l = [b() for _ in range(G)]
    k_ready = ConcatSignal(*reversed(k_ready_l)) if G > 1 else k_ready_l[0]
    ki_valid, ki_ready = b(), b()
    kfork = grp_fork(clk, rst, clr, ki_valid, ki_ready, k_mask, abort, k_valid, k_ready, G)
    vf_push, vf_full, vf_empty, vf_pop = b(), b(), b(), b()
    vf_din, vf_dout = u(VW), u(VW)
    vfifo = kv_fifo(clk, rst, clr, vf_push, vf_din, vf_pop, vf_dout, vf_full, vf_empty, None,
                    2 * B, VW)
    v_data = u(8 * D)
    v_mask = u(G)
    v_valid = u(G)
    v_ready_l = [b() for _ in range(G)]
    v_ready = ConcatSignal(*reversed(v_ready_l)) if G > 1 else v_ready_l[0]
    vi_valid, vi_ready = b(), b()
    vfork = grp_fork(clk, rst, clr, vi_valid, vi_ready, v_mask, abort, v_valid, v_ready, G)

    @always_comb
    def kv_route():
        # an aborted run drops the cache's rows (the cache still runs to its end); the access's
        # head mask is the head of the mask FIFO (builder B, same order as the cache)
        kf_push.next = c_ovalid and not c_okv and not kf_full and not mf_empty and not abort
        vf_push.next = c_ovalid and c_okv and not vf_full and not mf_empty and not abort
        mf_pop.next = c_ovalid and c_olast and not mf_empty and (abort or (c_okv and not vf_full))
        kf_din.next = concat(mf_heads, c_odata)
        vf_din.next = concat(mf_heads, c_odata)
        if c_okv:
            c_oready.next = abort or (not vf_full and not mf_empty)
        else:
            c_oready.next = abort or (not kf_full and not mf_empty)
        k_data.next = kf_dout[8 * D:]
        k_mask.next = kf_dout[VW:8 * D]
        ki_valid.next = not kf_empty
        kf_pop.next = ki_ready and not kf_empty
        v_data.next = vf_dout[8 * D:]
        v_mask.next = vf_dout[VW:8 * D]
        vi_valid.next = not vf_empty
        vf_pop.next = vi_ready and not vf_empty

    @always(clk.posedge)
    def order_check():
        if rst or clr:
            order_err.next = False
        elif c_ovalid and not mf_empty and not abort and (c_orow != mf_row or c_oblk != mf_blk):
            order_err.next = True

    # ------------------------------------------------------------ lanes
    q_req_l = [b() for _ in range(G)]
    o_req_l = [b() for _ in range(G)]
    o_done_l = [b() for _ in range(G)]
    idle_l = [b() for _ in range(G)]
    # the arbiters index these by head: a [0:0] vector when G = 1 (a bare 1-bit reg has no bits)
    if G > 1:
        q_req, o_req = ConcatSignal(*reversed(q_req_l)), ConcatSignal(*reversed(o_req_l))
        one_lane = []
    else:
        q_req, o_req = u(1), u(1)
        q_req0, o_req0 = q_req_l[0], o_req_l[0]

        @always_comb
        def req_vec():
            q_req.next = q_req0
            o_req.next = o_req0

        one_lane = [req_vec]
    o_done_v = ConcatSignal(*reversed(o_done_l)) if G > 1 else o_done_l[0]
    idle_v = ConcatSignal(*reversed(idle_l)) if G > 1 else idle_l[0]
    q_push, q_issue, o_issue, o_pop = u(G), u(G), u(G), u(G)
    q_cur, o_cur = u(GB), u(GB)
    q_addr_c = [u(AB) for _ in range(G + 1)]
    q_blen_c = [u(9) for _ in range(G + 1)]
    o_word_c = [u(DB) for _ in range(G + 1)]
    o_addr_c = [u(AB) for _ in range(G + 1)]
    o_blen_c = [u(9) for _ in range(G + 1)]
    MXW, LW, PW = w["MX"], w["LW"], w["PB"] * B
    dm_c = [u(MXW) for _ in range(G)] + [dbg_m]
    dl_c = [u(LW) for _ in range(G)] + [dbg_l]
    dpv_c = [b() for _ in range(G)] + [dbg_p_valid]
    dp_c = [u(PW) for _ in range(G)] + [dbg_p]
    fault_l = [b() for _ in range(G)]
    fault_v = ConcatSignal(*reversed(fault_l)) if G > 1 else fault_l[0]
    lanes = []
    for h in range(G):
        lanes.append(grp_lane(
            clk, rst, clr, go, abort, act(h), qa_r, qs_r, oa_r, os_r, nb,
            qc_we, qc_head, qc_addr, qc_data,
            t_valid(h), t_ready_l[h], t_diag, t_nk, d_lastm(h), t_mant, t_exp,
            k_valid(h), k_ready_l[h], k_data, v_valid(h), v_ready_l[h], v_data,
            q_push(h), m_axi_q_rdata, q_issue(h), q_req_l[h], q_cur, q_addr_c[h],
            q_addr_c[h + 1], q_blen_c[h], q_blen_c[h + 1],
            o_issue(h), o_pop(h), o_req_l[h], o_cur, o_word_c[h], o_word_c[h + 1],
            o_addr_c[h], o_addr_c[h + 1], o_blen_c[h], o_blen_c[h + 1], o_done_l[h],
            dbg_head, dm_c[h], dm_c[h + 1], dl_c[h], dl_c[h + 1], dpv_c[h], dpv_c[h + 1],
            dp_c[h], dp_c[h + 1], idle_l[h], fault_l[h], cfg, h))
    q_addr_x, q_blen_x = q_addr_c[G], q_blen_c[G]
    o_word_x, o_addr_x, o_blen_x = o_word_c[G], o_addr_c[G], o_blen_c[G]

    @always_comb
    def dbg_out():
        eng_idle.next = idle_v

    # ------------------------------------------------------------ Q read master
    QI, QA = 0, 1
    qst = b()
    if_push, if_pop, if_empty = b(), b(), b()
    if_din, if_dout = u(GB), u(GB)
    if_count = Signal(intbv(0, min=0, max=INFLIGHT + 1))
    inflight = kv_fifo(clk, rst, clr, if_push, if_din, if_pop, if_dout, None, if_empty, if_count,
                       INFLIGHT, GB)
    q_take = Signal(bool(0))        # QI: a lane's Q burst is picked now (round robin)

    @always_comb
    def q_take_c():
        q_take.next = qst == QI and running and q_req != 0 and if_count < INFLIGHT - 1

    q_pick = rr_arbiter(clk, rst, clr, q_req, q_take, q_cur, G)
    q_bytes = u(64)

    @always_comb
    def q_axi_c():
        m_axi_q_arid.next = 0
        m_axi_q_arsize.next = SIZE
        m_axi_q_arburst.next = 1
        m_axi_q_arvalid.next = qst == QA
        m_axi_q_araddr.next = q_addr_x
        m_axi_q_arlen.next = q_blen_x - 1
        m_axi_q_rready.next = True
        hs = qst == QA and m_axi_q_arready
        iss = intbv(0)[G:]
        for h in range(G):
            if hs and q_cur == h:
                iss[h] = 1
        q_issue.next = iss
        if_push.next = hs
        if_din.next = q_cur
        pu = intbv(0)[G:]
        for h in range(G):
            if m_axi_q_rvalid and not if_empty and if_dout == h:
                pu[h] = 1
        q_push.next = pu
        if_pop.next = m_axi_q_rvalid and m_axi_q_rlast and not if_empty

    @always(clk.posedge)
    def q_axi():
        if rst or clr:
            qst.next = QI
            q_err.next = False
            q_bytes.next = 0
        else:
            if m_axi_q_rvalid:
                q_bytes.next = q_bytes + BUSB
                if m_axi_q_rresp != 0 or m_axi_q_rid != 0 or if_empty:
                    q_err.next = True
            if qst == QI:
                if q_take:
                    qst.next = QA
            elif m_axi_q_arready:
                qst.next = QI

    # ------------------------------------------------------------ O write master
    OI, OA, OWR = 0, 1, 2
    ost = Signal(intbv(0, min=0, max=3))
    o_take = Signal(bool(0))        # OI: a lane's whole O burst is picked now (round robin)

    @always_comb
    def o_take_c():
        o_take.next = ost == OI and running and o_req != 0

    o_pick = rr_arbiter(clk, rst, clr, o_req, o_take, o_cur, G)
    wcnt = u(9)
    bout = u(16)
    o_bytes = u(64)

    @always_comb
    def o_axi_c():
        m_axi_o_awid.next = 0
        m_axi_o_awsize.next = SIZE
        m_axi_o_awburst.next = 1
        m_axi_o_awvalid.next = ost == OA
        m_axi_o_awaddr.next = o_addr_x
        m_axi_o_awlen.next = o_blen_x - 1
        m_axi_o_wvalid.next = ost == OWR
        m_axi_o_wdata.next = o_word_x
        m_axi_o_wstrb.next = (1 << BUSB) - 1
        m_axi_o_wlast.next = wcnt == 1
        m_axi_o_bready.next = True
        ai = ost == OA and m_axi_o_awready
        wp = ost == OWR and m_axi_o_wready
        iss = intbv(0)[G:]
        pop = intbv(0)[G:]
        for h in range(G):
            if o_cur == h:
                if ai:
                    iss[h] = 1
                if wp:
                    pop[h] = 1
        o_issue.next = iss
        o_pop.next = pop

    @always(clk.posedge)
    def o_axi():
        if rst or clr:
            ost.next = OI
            o_err.next = False
            o_bytes.next = 0
            bout.next = 0
        else:
            ai = ost == OA and m_axi_o_awready
            bh = m_axi_o_bvalid
            if ai and not bh:
                bout.next = bout + 1
            elif bh and not ai:
                bout.next = bout - 1
            if bh and (m_axi_o_bresp != 0 or m_axi_o_bid != 0):
                o_err.next = True
            if ost == OI:
                if o_take:
                    ost.next = OA
            elif ost == OA:
                if m_axi_o_awready:
                    wcnt.next = o_blen_x
                    ost.next = OWR
            elif m_axi_o_wready:
                o_bytes.next = o_bytes + BUSB
                wcnt.next = wcnt - 1
                if wcnt == 1:
                    ost.next = OI

    # ------------------------------------------------------------ pooled-row provider
    # Serves the builders' requests one at a time (A first: the cache waits for A's whole
    # stream): pr_start, wait pr_done, copy the G heads' rows (pr_rd_head held two cycles,
    # sampled at the end of the second) into the builder's row register, ack.  sig_pool's
    # output rows stay until its next pr_done, so the provider remembers which row they hold
    # (hv_row): a request for that row is only a copy (the second builder asking for the same
    # row), and while nothing is asked it prefetches the next row of builder A (of B once A
    # has its last row), so the row is computed while the builder scans.  Once the run
    # aborts, requests are acked at once without asking sig_pool, so the builders (and the
    # cache behind A) run to their end and no request is left in flight at done.
    P_IDLE, P_WAIT, P_COPY = 0, 1, 2
    pst = Signal(intbv(0, min=0, max=3))
    p_to_b = b()            # the request in service is builder B's
    p_pf = b()              # the request in flight is a prefetch (no builder waits on it)
    p_err = b()             # sticky: sig_pool refused a row in this run
    pool_gens = []
    if POOL:
        if len(pr_word) != NB or len(pr_row) != NBB:
            raise ConfigError(f"grp_attn: pr_word must have {NB} bits and pr_row {NBB}")
        pw = sig_widths(cfg)
        HIW = pw["HIW"]
        ph = u(HIW)
        phold = b()
        hv_ok = b()             # sig_pool's output rows hold row hv_row of this run
        hv_row = u(NBB)
        a_live, b_live = b(), b()   # the builder has rows left to ask for (prefetch target)
        pa_nx, pb_nx = u(G * NB), u(G * NB)
        if G > 1:
            @always_comb
            def shift_in():
                pa_nx.next = concat(pr_word, pa_bits[G * NB:NB])
                pb_nx.next = concat(pr_word, pb_bits[G * NB:NB])
        else:
            @always_comb
            def shift_in():
                pa_nx.next = pr_word
                pb_nx.next = pr_word
        pool_gens.append(shift_in)

        @always(clk.posedge)
        def provider():
            pr_start.next = False
            pa_ack.next = False
            pb_ack.next = False
            if (state == S_IDLE or state == S_DONE) and start:
                pg_r.next = row_guard
            if rst or clr:
                pst.next = P_IDLE
                p_err.next = False
                hv_ok.next = False
                a_live.next = False
                b_live.next = False
            else:
                if sa_go:
                    a_live.next = pg_r
                    b_live.next = pg_r
                if pst == P_IDLE:
                    # an ack is still high in the cycle after it: that request is served
                    wa = pa_req and not pa_ack
                    wb = pb_req and not pb_ack
                    ph.next = 0
                    pr_rd_head.next = 0
                    phold.next = False
                    if wa or wb:
                        if abort:
                            if wa:
                                pa_ack.next = True
                            else:
                                pb_ack.next = True
                        else:
                            p_to_b.next = not wa
                            p_pf.next = False
                            if wa:
                                if hv_ok and hv_row == pa_row:
                                    pst.next = P_COPY
                                else:
                                    pr_row.next = pa_row
                                    pr_start.next = True
                                    pst.next = P_WAIT
                            else:
                                if hv_ok and hv_row == pb_row:
                                    pst.next = P_COPY
                                else:
                                    pr_row.next = pb_row
                                    pr_start.next = True
                                    pst.next = P_WAIT
                    elif not abort and a_live and not pa_ack:
                        if pa_row + 1 < nb and not (hv_ok and hv_row == pa_row + 1):
                            p_pf.next = True
                            pr_row.next = pa_row + 1
                            pr_start.next = True
                            pst.next = P_WAIT
                    elif not abort and b_live and not a_live and not pb_ack:
                        if pb_row + 1 < nb and not (hv_ok and hv_row == pb_row + 1):
                            p_pf.next = True
                            pr_row.next = pb_row + 1
                            pr_start.next = True
                            pst.next = P_WAIT
                elif pst == P_WAIT:
                    if pr_done:
                        hv_ok.next = not pr_err
                        hv_row.next = pr_row
                        if p_pf:
                            # a refused prefetch is asked again by the builder (and refused)
                            pst.next = P_IDLE
                        elif pr_err:
                            # refused: the output rows are stale; the run aborts (status bit 6)
                            p_err.next = True
                            if p_to_b:
                                pb_ack.next = True
                            else:
                                pa_ack.next = True
                            pst.next = P_IDLE
                        else:
                            pst.next = P_COPY
                else:
                    if not phold:
                        phold.next = True
                    else:
                        phold.next = False
                        # the rows of heads 0..G-1 shift in from the top: head h ends at h*NB
                        if p_to_b:
                            pb_bits.next = pb_nx
                        else:
                            pa_bits.next = pa_nx
                        if ph == G - 1:
                            if p_to_b:
                                pb_ack.next = True
                                if pb_row + 1 == nb:
                                    b_live.next = False
                            else:
                                pa_ack.next = True
                                if pa_row + 1 == nb:
                                    a_live.next = False
                            pst.next = P_IDLE
                        else:
                            ph.next = ph + 1
                            pr_rd_head.next = ph + 1
        pool_gens.append(provider)

    # ------------------------------------------------------------ counters
    tiles = u(32)
    accs = u(32)

    @always(clk.posedge)
    def acc_count():
        if rst or clr:
            accs.next = 0
        elif c_ovalid and c_oready and c_olast and not abort:
            accs.next = accs + 1

    @always(clk.posedge)
    def tile_count():
        if rst or clr:
            tiles.next = 0
        elif d_valid and d_ready and not abort:
            n = 0
            for h in range(G):
                if d_heads[h]:
                    n = n + 1
            tiles.next = tiles + n

    @always_comb
    def outs():
        busy.next = state != S_IDLE and state != S_DONE
        done.next = state == S_DONE
        status.next = st
        cnt_cycles.next = cycles
        cnt_tiles.next = tiles
        cnt_kv_bytes.next = c_bytes
        cnt_q_bytes.next = q_bytes
        cnt_o_bytes.next = o_bytes
        cnt_hit1.next = c_h1
        cnt_hit2.next = c_h2
        cnt_miss.next = c_miss
        cnt_access.next = accs
        cnt_kv_cycles.next = c_cyc
        clr.next = state == S_CLEAR
        # bursts only once the run is past its last check (cwait 3: a set error ends it)
        running.next = state == S_RUN and cwait != 3
        go.next = state == S_GO
        abort.next = st != 0 or q_err or o_err or c_err or fault_v != 0 or p_err or order_err

    # ------------------------------------------------------------ load of the sets, run FSM
    lh = u(8)
    li = u(NBB + 1)
    ln = u(NBB + 1)
    lnv, lns = u(NBB + 1), u(NBB + 1)
    lph = b()
    code_bad = b()      # a scale code with an exponent outside [-128, 127] was written
    lsub = b()          # 0: sizes of head lh, 1: entries

    @always(clk.posedge)
    def fsm():
        if rst:
            state.next = S_IDLE
            st.next = 0
            cycles.next = 0
            c_start.next = False
            sa_go.next = False
            rd_head.next = 0
            rd_blk.next = 0
            c_err.next = False
            code_bad.next = False
        else:
            if ((kc_we and kc_data[32:23] != 0 and kc_data[32:23] != 0x1FF)
                    or (qc_we and qc_data[32:23] != 0 and qc_data[32:23] != 0x1FF)):
                code_bad.next = True
            c_start.next = False
            sa_go.next = False
            if state == S_IDLE or state == S_DONE:
                if start:
                    cycles.next = 0
                    code_bad.next = False
                    if (code_bad or seq_len == 0 or seq_len > cfg.max_seq_len or group == 0
                            or group > G or (q_addr & ALIGN) != 0 or (k_addr & ALIGN) != 0
                            or (v_addr & ALIGN) != 0 or (o_addr & ALIGN) != 0
                            or (q_stride & ALIGN) != 0 or (o_stride & ALIGN) != 0):
                        st.next = ERR_PARAM
                        state.next = S_DONE
                    else:
                        st.next = 0
                        L.next = seq_len
                        nb.next = (seq_len + B - 1) >> LB
                        lastnk.next = seq_len - (((seq_len + B - 1) >> LB) - 1) * B
                        g_r.next = group
                        a = intbv(0)[G:]
                        for h in range(G):
                            if h < group:
                                a[h] = 1
                        act.next = a
                        qa_r.next = q_addr
                        ka_r.next = k_addr
                        va_r.next = v_addr
                        oa_r.next = o_addr
                        qs_r.next = q_stride
                        os_r.next = o_stride
                        state.next = S_CLEAR
            else:
                cycles.next = cycles + 1
                if state == S_CLEAR:
                    c_err.next = False
                    vbits.next = 0
                    sbits.next = 0
                    state.next = S_GO
                elif state == S_GO:
                    rd_head.next = 0
                    rd_blk.next = 0
                    lh.next = 0
                    lph.next = False
                    lsub.next = False
                    state.next = S_LOAD
                elif state == S_LOAD:
                    if not lph:
                        lph.next = True
                    elif not lsub:
                        # sizes of head lh (address held two cycles)
                        lph.next = False
                        lnv.next = rd_nv
                        lns.next = rd_ns
                        if rd_nv > NB or rd_ns > NB:
                            st.next = ERR_INDEX
                            state.next = S_DONE
                        elif rd_nv == 0 and rd_ns == 0:
                            if lh == g_r - 1:
                                state.next = S_RUN
                                cwait.next = 3
                            else:
                                lh.next = lh + 1
                                rd_head.next = lh + 1
                        else:
                            if rd_nv > rd_ns:
                                ln.next = rd_nv
                            else:
                                ln.next = rd_ns
                            li.next = 0
                            lsub.next = True
                    else:
                        lph.next = False
                        if li < lnv:
                            if rd_vi >= nb:
                                st.next = ERR_INDEX
                            vbits.next[lh * NB + rd_vi] = 1
                        if li < lns:
                            if rd_si >= nb:
                                st.next = ERR_INDEX
                            sbits.next[lh * NB + rd_si] = 1
                        if li + 1 == ln:
                            lsub.next = False
                            rd_blk.next = 0
                            if lh == g_r - 1:
                                state.next = S_RUN
                                cwait.next = 3
                            else:
                                lh.next = lh + 1
                                rd_head.next = lh + 1
                        else:
                            li.next = li + 1
                            rd_blk.next = li + 1
                elif state == S_RUN:
                    if cwait == 3:
                        # every head must keep a block in every row: vertical block 0 or
                        # slash offset 0 (forced entries) guarantees it
                        bad = False
                        for h in range(G):
                            if act[h] and not (vbits[h * NB] or sbits[h * NB]):
                                bad = True
                        if bad or st != 0:
                            st.next = st | ERR_INDEX
                            state.next = S_DONE
                        else:
                            c_start.next = True
                            sa_go.next = True
                            cwait.next = 2
                    elif cwait != 0:
                        cwait.next = cwait - 1
                    else:
                        fin = (c_done and not c_busy and qst == QI and if_empty and ost == OI and bout == 0
                               and pst == P_IDLE)
                        if c_done and c_status != 0:
                            c_err.next = True
                        if abort:
                            # no new bursts since abort rose: wait for the ports to drain
                            if fin:
                                if q_err:
                                    st.next[0] = 1
                                if c_status[0]:
                                    st.next[1] = 1
                                if o_err:
                                    st.next[2] = 1
                                if c_status[1]:
                                    st.next[3] = 1
                                if c_status[2]:
                                    st.next[4] = 1
                                if fault_v != 0 or order_err:
                                    st.next[5] = 1
                                if p_err:
                                    st.next[6] = 1
                                state.next = S_DONE
                        elif fin and o_done_v == (1 << G) - 1 and c_status == 0:
                            state.next = S_DONE

    return (rows_a, cache, rows_b, dfifo, mfifo, desc_in, desc_out, kc_write, kc_read, desc_fields,
            dfork, kfifo, kfork, vfifo, vfork, kv_route, order_check, lanes, dbg_out, inflight,
            q_axi_c, q_axi, q_take_c, q_pick, o_axi_c, o_axi, o_take_c, o_pick, acc_count, tile_count, outs, fsm, pool_gens, one_lane)


def ports(cfg: AcceleratorConfig) -> dict:
    """Fresh signals for every port of the unit (for conversion and benches)."""
    p = params(cfg)
    G, NBB, AB, DB = p["G"], p["NBB"], p["AB"], p["DB"]
    kv, w = p["kv"], p["w"]
    b = lambda: Signal(bool(0))  # noqa: E731
    u = lambda n: Signal(intbv(0)[n:])  # noqa: E731
    d = dict(clk=b(), rst=b(), start=b(), seq_len=u(32), group=u(8), q_addr=u(AB),
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
    return dict(row_guard=b(), pr_start=b(), pr_row=u(pw["IW"]), pr_done=b(), pr_err=b(),
                pr_rd_head=u(pw["HIW"]), pr_word=u(pw["NBMAX"]))


def top(cfg: AcceleratorConfig):
    """The grp_attn instance with every port sized for ``cfg``, the pooled-row ports included
    (for conversion and the bench)."""
    return grp_attn(**ports(cfg), **pool_ports(cfg), cfg=cfg)
