"""Sparse Index Generator (scorer + selection): two passes over one KV group's K, v / d per
head, then the sorted vertical and slash sets per head.

For one KV group (g query heads sharing one K), bit-exact with
``golden.estimator_fixed.pass1_row_stats`` and ``pass2_scores``:

1. the ``Q_last`` rows of the g heads are read from HBM into g MPU instances (hdl/index/scorers.py
   over hdl/mpu/mpu.py, QK mode: the rows stay resident in the PEs);
2. pass 1 streams K blocks 0..nb-1 from HBM (hdl/index/fetch.py over hdl/common/axi_rd.py); every
   key row goes to all g MPUs at once, one score column per head per cycle; the query rows
   (hdl/index/row.py, their control from hdl/index/columns.py) keep per-row running max / sum;
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
(hdl/index/pool.py); the merged key-block stream of the sets is built by the attention group
(hdl/group/rows.py).

Ports (``clk`` rising edge, ``rst`` synchronous active high, a ``ResetSignal``)
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
Parameters: ``cfg`` (AcceleratorConfig); ``mpu_buses`` (optional, one ``hdl.mpu.share.mpu_bus``
per lane: the score MPUs live outside, where the top shares them with the engines).  Sizes:
hdl.index.params.sig_widths.
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv

from hdl.common.axi_rd import sig_axi_rd
from hdl.common.reset import sync_reset
from hdl.config import AcceleratorConfig
from hdl.index.columns import sig_columns
from hdl.index.fetch import sig_fetch
from hdl.index.head import sig_head
from hdl.index.params import ERR_AXI, ERR_SEL, sig_widths
from hdl.index.run_check import sig_run_check
from hdl.index.scorers import sig_scorers
from hdl.index.select import sig_select
from hdl.mpu.mpu import row_bits

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
        rd_nv, rd_ns, rd_vi, rd_si, sel_cycles, cfg, mpu_buses=None):
    w = sig_widths(cfg)
    B, D, max_group, max_blocks = w["B"], w["D"], w["G"], w["NBMAX"]
    addr_bits, beat_bits, gamma_bits, recip_bits = w["AB"], w["AXW"], w["GB"], w["R"]
    score_bits, max_bits, row_sum_bits, acc_bits = w["SW"], w["MX"], w["RS"], w["ACC"]
    col_bits, nb_bits, block_index_bits, group_bits = w["CB"], w["NBW"], w["IW"], w["HB"]
    mpu_row_bits = row_bits(B)
    acc_mask, nb_mask, index_mask = (1 << acc_bits) - 1, (1 << nb_bits) - 1, (1 << block_index_bits) - 1
    b = lambda: Signal(bool(0))  # noqa: E731

    # ---------------------------------------------------------------- control registers
    state = Signal(intbv(S_IDLE, min=0, max=6))
    nb = _s(nb_bits)
    bq = Signal(intbv(0, min=0, max=B + 1))
    gr = _s(group_bits)
    f_start = b()
    p2_go = b()
    div_start = b()
    dcount = Signal(intbv(0, min=0, max=recip_bits + 5))
    kmem = [Signal(intbv(0)[32:]) for _ in range(max_blocks)]
    kcode = _s(32)
    chk_nb, chk_bq, chk_err = _s(nb_bits), Signal(intbv(0, min=0, max=B + 1)), _s(3)

    # ---------------------------------------------------------------- fetch + AXI
    cmd_valid, cmd_ready = b(), b()
    cmd_addr, cmd_beats = _s(addr_bits), _s(16)
    bt_valid, bt_ready, bt_data = b(), b(), _s(beat_bits)
    axi_err, axi_idle = b(), b()
    q_ld_valid, q_ld_head, q_ld_row, q_ld_data = b(), _s(w["HIW"]), _s(mpu_row_bits), _s(8 * D)
    k_valid, k_ready, k_data = b(), b(), _s(8 * D)
    insts = [
        sig_run_check(seq_len, group, k_addr, q_addr, q_stride, chk_nb, chk_bq, chk_err, cfg=cfg),
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
    s_data = [_s(score_bits * B) for _ in range(max_group)]
    col_v = b()
    insts.append(sig_scorers(clk, rst, k_valid, k_ready, k_data, q_ld_valid, q_ld_head, q_ld_row,
                             q_ld_data, s_data, col_v, pv_fault, cfg=cfg, mpu_buses=mpu_buses))

    # ---------------------------------------------------------------- column control
    out_c = _s(block_index_bits)
    c2_v, c2_diag, c2_first, c2_last, c2_bank, c2_pass2 = (b() for _ in range(6))
    c2_j, dr_k, e_col, p_col = _s(col_bits), _s(col_bits), _s(col_bits), _s(col_bits)
    dr_bank, e_diag, e_src, e_bank = b(), b(), b(), b()
    p_v, p_bank, p_first, p_last, p_pass2, p_tile0 = (b() for _ in range(6))
    p_c = _s(block_index_bits)
    hl_v, hl_c = b(), _s(block_index_bits)
    insts.append(sig_columns(clk, rst, f_start, col_v, nb, out_c,
                             c2_v, c2_j, c2_diag, c2_first, c2_last, c2_bank, c2_pass2,
                             dr_k, dr_bank, e_col, e_diag, e_src, e_bank,
                             p_v, p_col, p_first, p_last, p_pass2, p_bank, p_tile0, p_c, hl_v, hl_c,
                             cfg=cfg))

    # ---------------------------------------------------------------- heads
    hm = [_s(max_bits) for _ in range(max_group)]
    hl = [_s(row_sum_bits) for _ in range(max_group)]
    hv = [_s(acc_bits) for _ in range(max_group)]
    hd = [_s(acc_bits) for _ in range(max_group)]
    wv = [_s(acc_bits) for _ in range(max_group)]   # v / d values written this cycle (to the sorters)
    wd = [_s(acc_bits) for _ in range(max_group)]
    qc_head_s = qc_head
    for h in range(max_group):
        insts.append(sig_head(clk, rst, s_data[h], kcode, qc_we, qc_head_s, qc_data, bq, nb,
                              c2_v, c2_j, c2_diag, c2_first, c2_last, c2_bank, c2_pass2,
                              dr_k, dr_bank, e_col, e_diag, e_src, e_bank,
                              p_v, p_col, p_first, p_last, p_pass2, p_bank, p_tile0, div_start,
                              hl_v, hl_c, rd_row, hm[h], hl[h], rd_blk, hv[h], hd[h], wv[h], wd[h],
                              head=h, cfg=cfg))
    # ---------------------------------------------------------------- selection (per head: v, d)
    d_idx = _s(block_index_bits)
    sel_go = b()
    r_code = _s(32)
    r_vmin, r_vmax, r_smin, r_smax, r_fv, r_fs = (_s(16) for _ in range(6))
    s_idle = [b() for _ in range(2 * max_group)]
    s_cnt = [_s(nb_bits) for _ in range(2 * max_group)]
    s_idx = [_s(block_index_bits) for _ in range(2 * max_group)]
    for h in range(max_group):
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
        kcode.next = kmem[out_c]
        busy.next = state == S_P1 or state == S_DIV or state == S_P2 or state == S_SEL
        d_idx.next = nb - 1 - hl_c
        sel_cycles.next = sel_cnt
        done.next = state == S_DONE

    @always_comb
    def readback():
        rd_m.next = (hm_cat >> (max_bits * rd_head)) & ((1 << max_bits) - 1)
        rd_l.next = (hl_cat >> (row_sum_bits * rd_head)) & ((1 << row_sum_bits) - 1)
        rd_v.next = (hv_cat >> (acc_bits * rd_head)) & acc_mask
        rd_d.next = (hd_cat >> (acc_bits * rd_head)) & acc_mask
        rd_nv.next = (s_cnt_cat >> (nb_bits * 2 * rd_head)) & nb_mask
        rd_ns.next = (s_cnt_cat >> (nb_bits * (2 * rd_head + 1))) & nb_mask
        rd_vi.next = (s_idx_cat >> (block_index_bits * 2 * rd_head)) & index_mask
        rd_si.next = (s_idx_cat >> (block_index_bits * (2 * rd_head + 1))) & index_mask

    @always(clk.posedge)
    def kcodes():
        if kc_we:
            kmem[kc_addr].next = kc_data

    @always(clk.posedge)
    def fsm():
        f_start.next = 0
        div_start.next = 0
        sel_go.next = 0
        if rst:
            state.next = S_IDLE
            err.next = 0
            p2_go.next = 0
        elif state == S_IDLE or state == S_DONE:
            if start:
                nb.next = chk_nb
                bq.next = chk_bq
                gr.next = group[group_bits:]
                p2_go.next = 0
                state.next = S_DONE
                if chk_err != 0:
                    err.next = chk_err
                elif sel_code == 0 or sel_code > (1 << gamma_bits) or sel_win == 0 or \
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
                dcount.next = recip_bits + 4
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
            if s_idle_cat == (1 << (2 * max_group)) - 1:
                state.next = S_DONE

    return insts, wiring, readback, kcodes, fsm


def unsupported(cfg: AcceleratorConfig) -> str | None:
    """Sizes this unit cannot build: none of the valid configs (a key row wider than an AXI beat
    is assembled from several beats by hdl/index/fetch.py)."""
    return None


def ports(cfg: AcceleratorConfig) -> dict:
    """Fresh signals for every port of the unit (for conversion and benches)."""
    w = sig_widths(cfg)
    b = lambda: Signal(bool(0))  # noqa: E731
    addr_bits = w["AB"]
    return dict(
        clk=b(), rst=sync_reset(), start=b(), seq_len=_s(32), group=_s(8), k_addr=_s(addr_bits), q_addr=_s(addr_bits),
        q_stride=_s(32), qc_we=b(), qc_head=_s(8), qc_data=_s(32), kc_we=b(), kc_addr=_s(w["IW"]),
        kc_data=_s(32), busy=b(), done=b(), err=_s(3),
        m_axi_arid=_s(1), m_axi_rid=_s(1), m_axi_araddr=_s(addr_bits), m_axi_arlen=_s(8), m_axi_arsize=_s(3), m_axi_arburst=_s(2),
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
