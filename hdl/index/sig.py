"""Sparse Index Generator (scorer + selection): two passes over one KV group's K, v / d per
head, then the sorted vertical and slash sets per head.

For one KV group (g query heads sharing one K), bit-exact with
``golden.estimator_fixed.pass1_row_stats`` and ``pass2_scores``:

1. the ``Q_last`` rows of the g heads are read from HBM into g MPU instances (hdl/mpu/mpu.py, QK
   mode: the rows stay resident in the PEs);
2. pass 1 streams K blocks 0..nb-1 from HBM (hdl/index/fetch.py over hdl/common/axi_rd.py); every
   key row goes to all g MPUs at once, one score column per head per cycle; the row lanes
   (hdl/index/lane.py) keep per-row running max / sum;
3. the row reciprocals are formed (R+2 cycles);
4. pass 2 streams K again, recomputes the scores, and each head (hdl/index/head.py) writes
   ``v[c]`` and ``d[nb-1-c]`` after every tile; each written score also enters the head's two
   sorted lists (hdl/index/select.py);
5. selection (all heads and both vectors at once): the kept entries are popped from the
   sorted lists (coverage with the gamma code and budgets, or top-k), or'ed with the forced
   entries (sink block 0; slash offsets below the local window) and written, ascending, to the
   index memories (``golden.estimator_fixed.select_fixed`` / ``select_topk_fixed`` +
   ``golden.pattern.assemble_pattern``).
On-chip state: per head 2 x (max_seq_len / B) score words, 2 sorted lists and 2 index memories
of max_seq_len / B entries, per row a 2B-logit tile buffer; no B x L buffer.  A key row wider
than one AXI beat (D = 64, 128 on 256 bits) is assembled from several beats in the fetch, so the
MPUs then get a row every 8D / AXI-width cycles.  The pooled per-row estimate is its own unit
(hdl/index/pool.py); the per-row merged stream is not built yet (docs/sig.md).

Ports (``clk`` rising edge, ``rst`` synchronous active high)
    start                  pulse: begin one KV group (ignored while busy)
    seq_len [32]           L;  group [8] g (query heads of the group)
    k_addr, q_addr [AB]    HBM byte addresses: K of the KV head ([L, D] int8 rows), Q of the
                           group's first head ([L, D] int8 rows); q_stride [32] bytes between
                           the Q of consecutive heads.  All multiples of the AXI beat.
    qc_we, qc_head [8], qc_data [32]   Q_last scale code of head qc_head: mant [15:0], exp [31:16]
    kc_we, kc_addr [IW], kc_data [32]  scale code of K block kc_addr (same format)
    busy, done             done stays high from the end of a run until the next start
    err [3]                status of the last run (hdl.index.params.ERR_*; 0 = ok)
    m_axi_ar*, m_axi_r*    AXI4 read master (64-bit address, INCR bursts, no 4 KiB crossing)
    rd_head, rd_row, rd_blk    readback selects (combinational):
    rd_m [MX] (signed bit pattern), rd_l [RS]   row statistics after pass 1
    rd_v, rd_d [ACC]       scores v[rd_blk], d[rd_blk] of head rd_head
    pv_fault               an MPU produced a PV-mode output (never expected)
    sel_mode               0 coverage, 1 top-k (sampled at start, like every sel_* input)
    sel_code [32]          gamma code (1..2**GB, golden gamma_code); sel_min, sel_max [16]
                           budgets (sel_max 0: no limit); sel_topk_v, sel_topk_s [16] top-k
                           counts; sel_win [16] local window (slash offsets 0..w-1 forced)
    rd_nv, rd_ns [NBW]     sizes of head rd_head's vertical and slash sets
    rd_vi, rd_si [IW]      entry rd_blk of head rd_head's sorted vertical / slash set
    sel_cycles [32]        cycles of the last run's selection phase (after pass 2)
Parameters: ``cfg`` (AcceleratorConfig).  Sizes: hdl.index.params.sig_widths.
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv

from hdl.config import AcceleratorConfig
from hdl.mpu.mpu import mpu, row_bits
from hdl.mpu.mpu import widths as mpu_widths
from hdl.common.axi_rd import sig_axi_rd
from hdl.index.fetch import sig_fetch
from hdl.index.head import sig_head
from hdl.index.params import ERR_ALIGN, ERR_AXI, ERR_GROUP, ERR_L_BIG, ERR_L_ZERO, ERR_SEL, sig_widths
from hdl.index.select import sig_select

UNIT_NAME = "sig"

S_IDLE, S_P1, S_DIV, S_P2, S_DONE, S_SEL = range(6)


def _s(bits: int, signed: bool = False, val: int = 0) -> Signal:
    if signed:
        return Signal(intbv(val, min=-(1 << (bits - 1)), max=1 << (bits - 1)))
    return Signal(intbv(val)[bits:])


def _cat(sigs: list) -> Signal:
    return ConcatSignal(*sigs) if len(sigs) > 1 else sigs[0]


@block
def sig(clk, rst, start, seq_len, group, k_addr, q_addr, q_stride,
        qc_we, qc_head, qc_data, kc_we, kc_addr, kc_data,
        busy, done, err,
        m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst, m_axi_arvalid,
        m_axi_arready, m_axi_rid, m_axi_rdata, m_axi_rresp, m_axi_rlast, m_axi_rvalid, m_axi_rready,
        rd_head, rd_row, rd_blk, rd_m, rd_l, rd_v, rd_d, pv_fault,
        sel_mode, sel_code, sel_min, sel_max, sel_topk_v, sel_topk_s, sel_win,
        rd_nv, rd_ns, rd_vi, rd_si, sel_cycles, cfg):
    w = sig_widths(cfg)
    mw = mpu_widths(cfg)
    B, D, G, NBMAX, AB, AXW = w["B"], w["D"], w["G"], w["NBMAX"], w["AB"], w["AXW"]
    SW, MX, RS, ACC, R, GB = w["SW"], w["MX"], w["RS"], w["ACC"], w["R"], w["GB"]
    CB, NKB, NBW, IW, HB = w["CB"], w["NKB"], w["NBW"], w["IW"], w["HB"]
    LOGB = B.bit_length() - 1
    BEAT_MASK = cfg.axi_bytes - 1
    RB = row_bits(B)
    b = lambda: Signal(bool(0))  # noqa: E731

    # ---------------------------------------------------------------- control registers
    state = Signal(intbv(S_IDLE, min=0, max=6))
    nb = _s(NBW)
    bq = Signal(intbv(0, min=0, max=B + 1))
    gr = _s(HB)
    f_start = b()
    p2_go = b()
    div_start = b()
    dcount = Signal(intbv(0, min=0, max=R + 5))
    kmem = [Signal(intbv(0)[32:]) for _ in range(NBMAX)]
    kcode = _s(32)

    # ---------------------------------------------------------------- fetch + AXI
    cmd_valid, cmd_ready = b(), b()
    cmd_addr, cmd_beats = _s(AB), _s(16)
    bt_valid, bt_ready, bt_data = b(), b(), _s(AXW)
    axi_err, axi_idle = b(), b()
    q_ld_valid, q_ld_head, q_ld_row, q_ld_data = b(), _s(w["HIW"]), _s(RB), _s(8 * D)
    k_valid, k_ready, k_data = b(), b(), _s(8 * D)
    insts = [
        sig_axi_rd(clk, rst, cmd_valid, cmd_ready, cmd_addr, cmd_beats,
                   m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst, m_axi_arvalid,
                   m_axi_arready, m_axi_rid, m_axi_rdata, m_axi_rresp, m_axi_rlast, m_axi_rvalid, m_axi_rready,
                   bt_valid, bt_ready, bt_data, axi_err, axi_idle, cfg=cfg),
        sig_fetch(clk, rst, f_start, nb, bq, gr, k_addr, q_addr, q_stride,
                  cmd_valid, cmd_ready, cmd_addr, cmd_beats, bt_valid, bt_ready, bt_data,
                  q_ld_valid, q_ld_head, q_ld_row, q_ld_data,
                  k_valid, k_ready, k_data, p2_go, cfg=cfg),
    ]

    # ---------------------------------------------------------------- MPUs (one per head)
    in_ready = [b() for _ in range(G)]
    ld_valid = [b() for _ in range(G)]
    s_valid = [b() for _ in range(G)]
    s_data = [_s(SW * B) for _ in range(G)]
    s_last = [b() for _ in range(G)]
    t_valid = [b() for _ in range(G)]
    t_data = [_s(mw["TW"] * D) for _ in range(G)]
    t_row = [_s(RB) for _ in range(G)]
    t_last = [b() for _ in range(G)]
    m_idle = [b() for _ in range(G)]
    zero_p = _s(mw["p_bits"] * B)
    mode_qk, no_last, s_ready, no_t_ready = b(), b(), b(), b()
    for h in range(G):
        insts.append(mpu(clk, rst, k_valid, in_ready[h], mode_qk, no_last, k_data, zero_p,
                         ld_valid[h], q_ld_row, q_ld_data,
                         s_valid[h], s_ready, s_data[h], s_last[h],
                         t_valid[h], no_t_ready, t_data[h], t_row[h], t_last[h], m_idle[h], cfg=cfg))
    rdy_cat = _cat(in_ready)
    sv_cat = _cat(s_valid)
    fault_cat = ConcatSignal(*(t_valid + t_data + t_row + t_last + s_last))
    idle_cat = _cat(m_idle)

    # ---------------------------------------------------------------- column control
    out_j = Signal(intbv(0, min=0, max=B))
    out_c = Signal(intbv(0, min=0, max=NBMAX))
    out_p2 = b()
    col_v = b()
    # stage-0 control, then two register stages to the lanes' logit (cycle 2)
    c1 = [b() for _ in range(7)]
    c1_j, c1_c = _s(CB), _s(IW)
    c2_v, c2_diag, c2_first, c2_last, c2_bank, c2_pass2, c2_tile0 = (b() for _ in range(7))
    c2_j, c2_c = _s(CB), _s(IW)
    dr_on, dr_bank, dr_diag, dr_tile0 = b(), b(), b(), b()
    dr_k, dr_c = _s(CB), _s(IW)
    d1_v, d1_bank, d1_diag, d1_tile0 = b(), b(), b(), b()
    d1_k, d1_c = _s(CB), _s(IW)
    e_v, e_col, e_diag, e_src, e_bank, e_first, e_last, e_pass2, e_tile0, e_c = \
        b(), _s(CB), b(), b(), b(), b(), b(), b(), b(), _s(IW)
    x_v, x_col, x_bank, x_first, x_last, x_pass2, x_tile0, x_c = \
        b(), _s(CB), b(), b(), b(), b(), b(), _s(IW)
    p_v, p_col, p_bank, p_first, p_last, p_pass2, p_tile0, p_c = \
        b(), _s(CB), b(), b(), b(), b(), b(), _s(IW)
    h1_v, hl_v = b(), b()
    h1_c, hl_c = _s(IW), _s(IW)

    # ---------------------------------------------------------------- heads
    hm = [_s(MX) for _ in range(G)]
    hl = [_s(RS) for _ in range(G)]
    hv = [_s(ACC) for _ in range(G)]
    hd = [_s(ACC) for _ in range(G)]
    wv = [_s(ACC) for _ in range(G)]   # v / d values written this cycle (to the sorters)
    wd = [_s(ACC) for _ in range(G)]
    qc_head_s = qc_head
    for h in range(G):
        insts.append(sig_head(clk, rst, s_data[h], kcode, qc_we, qc_head_s, qc_data, bq, nb,
                              c2_v, c2_j, c2_diag, c2_first, c2_last, c2_bank, c2_pass2,
                              dr_k, dr_bank, e_col, e_diag, e_src, e_bank,
                              p_v, p_col, p_first, p_last, p_pass2, p_bank, p_tile0, div_start,
                              hl_v, hl_c, rd_row, hm[h], hl[h], rd_blk, hv[h], hd[h], wv[h], wd[h],
                              head=h, cfg=cfg))
    # ---------------------------------------------------------------- selection (per head: v, d)
    d_idx = _s(IW)
    sel_go = b()
    r_code = _s(32)
    r_vmin, r_vmax, r_smin, r_smax, r_fv, r_fs = (_s(16) for _ in range(6))
    s_idle = [b() for _ in range(2 * G)]
    s_cnt = [_s(NBW) for _ in range(2 * G)]
    s_idx = [_s(IW) for _ in range(2 * G)]
    for h in range(G):
        insts.append(sig_select(clk, rst, f_start, hl_v, wv[h], hl_c, sel_go, r_code, r_vmin, r_vmax,
                                r_fv, nb, s_idle[2 * h], s_cnt[2 * h], rd_blk, s_idx[2 * h],
                                new_first=0, cfg=cfg))
        insts.append(sig_select(clk, rst, f_start, hl_v, wd[h], d_idx, sel_go, r_code, r_smin, r_smax,
                                r_fs, nb, s_idle[2 * h + 1], s_cnt[2 * h + 1], rd_blk, s_idx[2 * h + 1],
                                new_first=1, cfg=cfg))
    s_idle_cat = _cat(s_idle)
    s_cnt_cat = _cat(list(reversed(s_cnt)))
    s_idx_cat = _cat(list(reversed(s_idx)))
    sel_cnt = _s(32)

    hm_cat = _cat(list(reversed(hm)))
    hl_cat = _cat(list(reversed(hl)))
    hv_cat = _cat(list(reversed(hv)))
    hd_cat = _cat(list(reversed(hd)))

    @always_comb
    def wiring():
        k_ready.next = rdy_cat == (1 << G) - 1
        col_v.next = sv_cat != 0
        kcode.next = kmem[out_c]
        mode_qk.next = 0
        no_last.next = 0
        s_ready.next = 1
        no_t_ready.next = 1
        zero_p.next = 0
        busy.next = state == S_P1 or state == S_DIV or state == S_P2 or state == S_SEL
        d_idx.next = nb - 1 - hl_c
        sel_cycles.next = sel_cnt
        done.next = state == S_DONE

    @always_comb
    def load_q():
        for h in range(G):
            ld_valid[h].next = q_ld_valid and q_ld_head == h

    @always_comb
    def readback():
        rd_m.next = (hm_cat >> (MX * rd_head)) & ((1 << MX) - 1)
        rd_l.next = (hl_cat >> (RS * rd_head)) & ((1 << RS) - 1)
        rd_v.next = (hv_cat >> (ACC * rd_head)) & ((1 << ACC) - 1)
        rd_d.next = (hd_cat >> (ACC * rd_head)) & ((1 << ACC) - 1)
        rd_nv.next = (s_cnt_cat >> (NBW * 2 * rd_head)) & ((1 << NBW) - 1)
        rd_ns.next = (s_cnt_cat >> (NBW * (2 * rd_head + 1))) & ((1 << NBW) - 1)
        rd_vi.next = (s_idx_cat >> (IW * 2 * rd_head)) & ((1 << IW) - 1)
        rd_si.next = (s_idx_cat >> (IW * (2 * rd_head + 1))) & ((1 << IW) - 1)

    @always(clk.posedge)
    def kcodes():
        if kc_we:
            kmem[kc_addr].next = kc_data

    @always_comb
    def fault():
        # QK mode only: every PV-side output stays 0, and Q is loaded only while the MPUs idle
        pv_fault.next = fault_cat != 0 or (q_ld_valid and idle_cat != (1 << G) - 1)

    @always(clk.posedge)
    def fsm():
        nbv = intbv(0)[w["LW"] + 1:]
        f_start.next = 0
        div_start.next = 0
        sel_go.next = 0
        if rst:
            state.next = S_IDLE
            err.next = 0
            p2_go.next = 0
        elif state == S_IDLE or state == S_DONE:
            if start:
                nbv[:] = (seq_len + B - 1) >> LOGB
                nb.next = nbv[NBW:]
                bq.next = seq_len - ((nbv - 1) << LOGB)
                gr.next = group[HB:]
                p2_go.next = 0
                state.next = S_DONE
                if seq_len == 0:
                    err.next = ERR_L_ZERO
                elif seq_len > cfg.max_seq_len:
                    err.next = ERR_L_BIG
                elif group == 0 or group > G:
                    err.next = ERR_GROUP
                elif (k_addr & BEAT_MASK) != 0 or (q_addr & BEAT_MASK) != 0 or \
                        (q_stride & BEAT_MASK) != 0:
                    err.next = ERR_ALIGN
                elif sel_code == 0 or sel_code > (1 << GB) or sel_win == 0 or \
                        (sel_mode == 0 and (sel_min == 0 or (sel_max != 0 and sel_max < sel_min))) or \
                        (sel_mode == 1 and (sel_topk_v == 0 or sel_topk_s == 0)):
                    err.next = ERR_SEL
                else:
                    err.next = 0
                    f_start.next = 1
                    state.next = S_P1
                    sel_cnt.next = 0
                    # top-k is coverage with min = max = k (the coverage test never stops it)
                    r_code.next = sel_code
                    r_fv.next = 1
                    r_fs.next = sel_win
                    if sel_mode == 1:
                        r_vmin.next = sel_topk_v
                        r_vmax.next = sel_topk_v
                        r_smin.next = sel_topk_s
                        r_smax.next = sel_topk_s
                    else:
                        r_vmin.next = sel_min
                        r_vmax.next = sel_max
                        r_smin.next = sel_min
                        r_smax.next = sel_max
        elif state == S_P1:
            if p_v and p_last and not p_pass2 and p_c == nb - 1:
                div_start.next = 1
                dcount.next = R + 4
                state.next = S_DIV
        elif state == S_DIV:
            if dcount == 0:
                p2_go.next = 1
                state.next = S_P2
            else:
                dcount.next = dcount - 1
        elif state == S_P2:
            if hl_v and hl_c == nb - 1:
                p2_go.next = 0
                dcount.next = 1
            # done once the read master has nothing in flight either
            if dcount != 0 and axi_idle:
                if axi_err:
                    err.next = ERR_AXI
                    state.next = S_DONE
                else:
                    sel_go.next = 1
                    state.next = S_SEL
        elif state == S_SEL:
            sel_cnt.next = sel_cnt + 1
            if s_idle_cat == (1 << (2 * G)) - 1:
                state.next = S_DONE

    @always(clk.posedge)
    def columns():
        if rst or f_start:
            out_j.next = 0
            out_c.next = 0
            out_p2.next = 0
        elif col_v:
            if out_j == B - 1:
                out_j.next = 0
                if out_c == nb - 1:
                    out_c.next = 0
                    out_p2.next = 1
                else:
                    out_c.next = out_c + 1
            else:
                out_j.next = out_j + 1

    @always(clk.posedge)
    def pipe():
        # cycle 1
        c1[0].next = col_v
        c1[1].next = out_c == nb - 1
        c1[2].next = out_j == 0
        c1[3].next = out_j == B - 1
        c1[4].next = out_c[0]
        c1[5].next = out_p2
        c1[6].next = out_c == 0
        c1_j.next = out_j
        c1_c.next = out_c
        # cycle 2 (the lanes' logit register)
        c2_v.next = c1[0] and not rst
        c2_diag.next = c1[1]
        c2_first.next = c1[2]
        c2_last.next = c1[3]
        c2_bank.next = c1[4]
        c2_pass2.next = c1[5]
        c2_tile0.next = c1[6]
        c2_j.next = c1_j
        c2_c.next = c1_c
        # pass-1 drain: B buffer reads after each tile
        if rst:
            dr_on.next = 0
        elif c2_v and c2_last and not c2_pass2:
            dr_on.next = 1
            dr_k.next = 0
            dr_bank.next = c2_bank
            dr_diag.next = c2_diag
            dr_tile0.next = c2_tile0
            dr_c.next = c2_c
        elif dr_on:
            if dr_k == B - 1:
                dr_on.next = 0
            else:
                dr_k.next = dr_k + 1
        d1_v.next = dr_on and not rst
        d1_k.next = dr_k
        d1_bank.next = dr_bank
        d1_diag.next = dr_diag
        d1_tile0.next = dr_tile0
        d1_c.next = dr_c
        # exp input -> exp output (two cycles)
        x_v.next = e_v and not rst
        x_col.next = e_col
        x_bank.next = e_bank
        x_first.next = e_first
        x_last.next = e_last
        x_pass2.next = e_pass2
        x_tile0.next = e_tile0
        x_c.next = e_c
        p_v.next = x_v and not rst
        p_col.next = x_col
        p_bank.next = x_bank
        p_first.next = x_first
        p_last.next = x_last
        p_pass2.next = x_pass2
        p_tile0.next = x_tile0
        p_c.next = x_c
        # pass-2 tile results: hi / lo two cycles after the tile's last exp output
        h1_v.next = p_v and p_last and p_pass2 and not rst
        h1_c.next = p_c
        hl_v.next = h1_v and not rst
        hl_c.next = h1_c

    @always_comb
    def exp_ctrl():
        if d1_v:
            e_v.next = 1
            e_col.next = d1_k
            e_diag.next = d1_diag
            e_src.next = 1
            e_bank.next = d1_bank
            e_first.next = d1_k == 0
            e_last.next = d1_k == B - 1
            e_pass2.next = 0
            e_tile0.next = d1_tile0
            e_c.next = d1_c
        else:
            e_v.next = c2_v and c2_pass2
            e_col.next = c2_j
            e_diag.next = c2_diag
            e_src.next = 0
            e_bank.next = c2_bank
            e_first.next = c2_first
            e_last.next = c2_last
            e_pass2.next = 1
            e_tile0.next = c2_tile0
            e_c.next = c2_c

    return insts, wiring, load_q, readback, kcodes, fault, fsm, columns, pipe, exp_ctrl


def unsupported(cfg: AcceleratorConfig) -> str | None:
    """Sizes this unit cannot build: none of the valid configs (a key row wider than an AXI beat
    is assembled from several beats by hdl/index/fetch.py)."""
    return None


def ports(cfg: AcceleratorConfig) -> dict:
    """Fresh signals for every port of the unit (for conversion and benches)."""
    w = sig_widths(cfg)
    b = lambda: Signal(bool(0))  # noqa: E731
    AB = w["AB"]
    return dict(
        clk=b(), rst=b(), start=b(), seq_len=_s(32), group=_s(8), k_addr=_s(AB), q_addr=_s(AB),
        q_stride=_s(32), qc_we=b(), qc_head=_s(8), qc_data=_s(32), kc_we=b(), kc_addr=_s(w["IW"]),
        kc_data=_s(32), busy=b(), done=b(), err=_s(3),
        m_axi_arid=_s(1), m_axi_rid=_s(1), m_axi_araddr=_s(AB), m_axi_arlen=_s(8), m_axi_arsize=_s(3), m_axi_arburst=_s(2),
        m_axi_arvalid=b(), m_axi_arready=b(), m_axi_rdata=_s(w["AXW"]), m_axi_rresp=_s(2),
        m_axi_rlast=b(), m_axi_rvalid=b(), m_axi_rready=b(),
        rd_head=_s(w["HIW"]), rd_row=_s(w["CB"]), rd_blk=_s(w["IW"]), rd_m=_s(w["MX"]),
        rd_l=_s(w["RS"]), rd_v=_s(w["ACC"]), rd_d=_s(w["ACC"]), pv_fault=b(),
        sel_mode=b(), sel_code=_s(32), sel_min=_s(16), sel_max=_s(16), sel_topk_v=_s(16),
        sel_topk_s=_s(16), sel_win=_s(16), rd_nv=_s(w["NBW"]), rd_ns=_s(w["NBW"]),
        rd_vi=_s(w["IW"]), rd_si=_s(w["IW"]), sel_cycles=_s(32))


def top(cfg: AcceleratorConfig):
    """The unit to convert for ``cfg`` (used by :mod:`hdl.convert`)."""
    return sig(**ports(cfg), cfg=cfg)
