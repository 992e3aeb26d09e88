"""Scheduler of ``fast_prefill_top``: argument checks, then per KV group the scale-code load, the
index generator, the index-set dump and the attention datapath.

On an accepted start (``ap_start`` while idle: ``accept`` pulses, a one-cycle soft reset
``soft_rst`` goes to every unit so that a unit left in an error state starts clean):

1. **Check** (two cycles, no HBM access): the layout of ``hdl.top.shell.Layout`` is computed in
   hardware (nb, nbp, head bytes, the size of every buffer) and the arguments are checked in the
   order of ``hdl.top.shell.STATUS_CODES``: 1 L = 0, 2 L > max_seq_len, 3 H / Hkv (H a positive
   multiple of Hkv, g = H / Hkv <= max_group), 4 a base address not a multiple of the AXI beat,
   5 the O or index buffer overlapping any other buffer, 6 bad selection settings (sel_mode > 1,
   gamma code outside 1..2**16, row_gamma_code above 2**16 (0 = no pooled rows), a budget,
   top-k count or window above 16 bits, min_budget 0, max_budget not 0 and below min_budget, a
   top-k count 0, local window 0).  A failed check ends the run at once.
2. Per KV group j = 0..Hkv-1, per pass over its heads (``cfg.head_passes(g)``: ``lanes`` heads
   at a time, the units built for ``lanes`` heads; one pass when lanes >= g):
   a. **codes**: two reads through the code loader (``ld_*``, an ``hdl.common.axi_rd`` on
      m_axi_q): the K code row of KV head j and the Q code rows of the pass's heads (``nbp`` words
      each, ``Layout.k_code_offset`` / ``q_code_offset``); every word of a block < nb is written
      to ``kc_*`` (K, to the index generator and the attention datapath) or ``qc_*`` (Q of
      (head, block), attention datapath); the Q code of block nb-1 also to ``sqc_we`` (the
      index generator's Q_last code of the head).
   b. **index generator**: ``s_start`` with the group's K and the pass's Q addresses; wait for ``s_done``.
      Then, when ``row_gamma_code`` != 0, the **pooled rows' means load**: ``p_start`` (the
      ``sig_pool`` unit reads K and the pass's Q through m_axi_idx, ``phase_pool`` high, with
      the same settings and scale codes as the index generator); wait for ``p_done``.  Its rows
      are asked for later by the attention datapath (``row_guard``).
   c. **index dump**: per head of the pass, through the write master (``wr_*`` on m_axi_o):
      the header (``idx_header_words`` words: vertical count, slash count, zeros), then the
      vertical entries and the slash entries, each rounded up to whole bus words (entries past
      a set's count within its last word are 0; words past that are not written).  The entries
      are read from the index generator's ``rd_*`` ports, one per cycle (its readback is
      combinational: the entry of the address register is sampled in the same cycle); the set
      sizes after ``rd_head`` was held two cycles.
   d. **attention** (``with_attn``): ``a_start`` with the pass's Q / O and the group's K / V addresses; wait
      for ``a_done``; its counters are added to the totals.
3. ``done`` pulses (ap_done).

Errors: a unit's error or an AXI error response ends the run after the unit drained (the code
loader and the write master are waited for until idle): status 7 (m_axi_q: code loader or the
attention's Q reader), 8 (m_axi_idx: the index generator or the pooled rows' means load), 9
(m_axi_kv), 10 (m_axi_o: index dump or O writes), 11 (internal: an index generator, pooled-row
or attention error that the checks should have prevented).  ``cnt_sig_cycles`` counts the cycles
the index generator or the pooled rows' means load is busy.  The first error wins; later groups are not run.

Ports: see :func:`fast_prefill_top` (every port name here matches the signal wired there).
Arguments are read live from the control registers during a run (the host must not change them
while ``busy``); seq_len, n_heads and n_kv_heads are latched at the start.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.top.shell import idx_header_words
from hdl.index.params import ERR_AXI

ST_Q, ST_IDX, ST_KV, ST_O, ST_INTERNAL = 7, 8, 9, 10, 11

(S_IDLE, S_CHK1, S_CHK2, S_GRP, S_LD, S_LDW, S_SIG, S_SIGW, S_IDX_HEAD, S_IDX_SEG, S_IDX_WORD,
 S_IDX_WAIT, S_ATT, S_ATTW, S_NEXT, S_DRAIN, S_FIN, S_POOL) = range(18)


@block
def top_sched(clk, rst, ap_start, accept, done_p, busy, status, soft_rst,
              q_addr, k_addr, v_addr, o_addr, scale_addr, idx_addr, seq_len, n_heads, n_kv_heads,
              sel_mode, gamma_code, row_gamma_code, min_budget, max_budget, topk_vertical, topk_slash,
              local_window,
              ld_cmd_valid, ld_cmd_ready, ld_cmd_addr, ld_cmd_beats, ld_valid, ld_ready, ld_data, ld_err,
              ld_idle,
              kc_we, kc_addr, kc_data, qc_we, qc_head, qc_addr, qc_data, sqc_we,
              s_start, s_seq_len, s_group, s_k_addr, s_q_addr, s_q_stride, s_sel_mode, s_sel_code,
              s_sel_min, s_sel_max, s_sel_topk_v, s_sel_topk_s, s_sel_win, s_busy, s_done, s_err,
              s_pv_fault, x_rd_head, x_rd_blk, s_rd_nv, s_rd_ns, s_rd_vi, s_rd_si,
              wr_cmd_valid, wr_cmd_ready, wr_cmd_addr, wr_cmd_beats, wr_d_valid, wr_d_ready, wr_d_data,
              wr_err, wr_idle,
              a_start, a_seq_len, a_group, a_q_addr, a_q_stride, a_k_addr, a_v_addr, a_o_addr,
              a_o_stride, a_busy, a_done, a_status, a_hit1, a_hit2, a_miss, a_tiles,
              phase_attn, cnt_cycles, cnt_sig_cycles, cnt_attn_cycles, cnt_hit1, cnt_hit2, cnt_miss,
              cnt_tiles, p_start, p_busy, p_done, p_err, phase_pool, cfg, with_attn=True):
    B, D, G = cfg.block, cfg.head_dim, cfg.max_group
    LN = cfg.lanes                           # heads per pass: the units hold this many
    AXW = cfg.axi_data_bits
    BYTES = AXW // 8
    BM = BYTES - 1
    WPB = BYTES // 4                         # 32-bit words per bus beat
    LOG_WPB = WPB.bit_length() - 1
    LOGB = B.bit_length() - 1
    LOG_HB = (B * D).bit_length() - 1        # head_bytes = nb << LOG_HB (int8 rows)
    HB_SLICE = min(32, 40 - LOG_HB)          # nb's bits that reach hb (nbv is 32 bits wide)
    HDR = idx_header_words(BYTES)
    if HDR % WPB:
        raise ValueError(f"top_sched: the {HDR}-word index header is not whole {AXW}-bit beats")
    GB = 16
    AW = 68                                  # sizes and ends: 64-bit bases + up to 2**60 bytes
    IWX, HWX, KAW, QAW = len(x_rd_blk), len(x_rd_head), len(kc_addr), len(qc_addr)
    b = lambda: Signal(bool(0))  # noqa: E731

    def u(n, v=0):
        return Signal(intbv(v)[n:])

    state = u(5)
    L, H, HKV = u(32), u(32), u(32)
    nb, nbp = u(32), u(32)
    g = u(8)
    gp, hp = u(8), u(8)    # heads of this pass, its first head within the group
    hb = u(40)
    q_sz, kv_sz, o_sz, sc_sz, ix_sz, ihb = u(AW), u(AW), u(AW), u(AW), u(AW), u(32)
    j = u(32)
    koff, qoff, ooff, kcoff, qcoff, ioff = u(AW), u(AW), u(AW), u(AW), u(AW), u(AW)
    # code loader
    ld_phase = u(2)        # 0 K command, 1 Q command, 2 both issued
    ld_hold = b()
    ld_beat = u(AXW)
    ld_k = u(LOG_WPB + 1)
    row = u(8)
    col = u(32)
    ld_done = b()
    ld_stop = b()
    # index dump
    ih = u(8)              # head within the group
    seg = u(2)
    nv, ns = u(32), u(32)
    ptr, nwords = u(32), u(32)
    wbv = b()
    wbeat = u(AXW)
    wk = u(LOG_WPB + 1)
    seg_end = b()
    wait = u(2)
    err_code = u(8)
    sbusy = b()

    @always_comb
    def outs():
        busy.next = sbusy
        status.next = err_code
        s_seq_len.next = L
        s_group.next = gp
        s_q_stride.next = hb
        s_sel_mode.next = sel_mode[0]
        s_sel_code.next = gamma_code
        s_sel_min.next = min_budget[16:]
        s_sel_max.next = max_budget[16:]
        s_sel_topk_v.next = topk_vertical[16:]
        s_sel_topk_s.next = topk_slash[16:]
        s_sel_win.next = local_window[16:]
        a_seq_len.next = L
        a_group.next = gp
        a_q_stride.next = hb
        a_o_stride.next = hb << 2
        ld_ready.next = not ld_hold
        wr_d_valid.next = wbv
        wr_d_data.next = wbeat
        phase_attn.next = state == S_ATT or state == S_ATTW
        phase_pool.next = state == S_POOL
        x_rd_blk.next = ptr[IWX:]
        x_rd_head.next = ih[HWX:]

    @always_comb
    def addrs():
        s_k_addr.next = k_addr + koff
        s_q_addr.next = q_addr + qoff
        a_k_addr.next = k_addr + koff
        a_v_addr.next = v_addr + koff
        a_q_addr.next = q_addr + qoff
        a_o_addr.next = o_addr + ooff

    @always(clk.posedge)
    def counters():
        if rst or accept:
            cnt_cycles.next = 0
            cnt_sig_cycles.next = 0
            cnt_attn_cycles.next = 0
        else:
            if sbusy:
                cnt_cycles.next = cnt_cycles + 1
            if s_busy or p_busy:
                cnt_sig_cycles.next = cnt_sig_cycles + 1
            if a_busy:
                cnt_attn_cycles.next = cnt_attn_cycles + 1

    @always(clk.posedge)
    def fsm():
        gf = intbv(0)[8:]
        bad = intbv(0)[8:]
        nbv = intbv(0)[32:]
        word = intbv(0)[32:]
        accept.next = 0
        done_p.next = 0
        soft_rst.next = 0
        s_start.next = 0
        p_start.next = 0
        a_start.next = 0
        ld_cmd_valid.next = 0
        wr_cmd_valid.next = 0
        kc_we.next = 0
        qc_we.next = 0
        sqc_we.next = 0
        if rst:
            state.next = S_IDLE
            sbusy.next = 0
            err_code.next = 0
            ld_hold.next = 0
            wbv.next = 0
            cnt_hit1.next = 0
            cnt_hit2.next = 0
            cnt_miss.next = 0
            cnt_tiles.next = 0
        elif state == S_IDLE:
            if ap_start:
                accept.next = 1
                soft_rst.next = 1
                sbusy.next = 1
                err_code.next = 0
                cnt_hit1.next = 0
                cnt_hit2.next = 0
                cnt_miss.next = 0
                cnt_tiles.next = 0
                L.next = seq_len
                H.next = n_heads
                HKV.next = n_kv_heads
                state.next = S_CHK1
        elif state == S_CHK1:
            # layout sizes (hdl.top.shell.Layout) and g = H / Hkv
            nbv[:] = (L + B - 1) >> LOGB
            nb.next = nbv
            nbp.next = ((nbv + WPB - 1) >> LOG_WPB) << LOG_WPB
            hb.next = nbv[HB_SLICE:] << LOG_HB
            gf[:] = 0
            for gg in range(1, G + 1):
                if HKV != 0 and HKV * gg == H:
                    gf[:] = gg
            g.next = gf
            state.next = S_CHK2
        elif state == S_CHK2:
            if wait == 0:
                # sizes from the registered nb / nbp / hb (second cycle of the check)
                q_sz.next = H * hb
                kv_sz.next = HKV * hb
                o_sz.next = (H * hb) << 2
                sc_sz.next = ((HKV + H) * nbp) << 2
                ihb.next = (HDR + (nbp << 1)) << 2
                ix_sz.next = (H * ((HDR + (nbp << 1)) << 2))
                wait.next = 1
            else:
                wait.next = 0
                bad[:] = 0
                if L == 0:
                    bad[:] = 1
                elif L > cfg.max_seq_len:
                    bad[:] = 2
                elif g == 0:
                    bad[:] = 3
                elif ((q_addr | k_addr | v_addr | o_addr | scale_addr | idx_addr) & BM) != 0:
                    bad[:] = 4
                elif (o_addr < q_addr + q_sz and q_addr < o_addr + o_sz) or \
                        (o_addr < k_addr + kv_sz and k_addr < o_addr + o_sz) or \
                        (o_addr < v_addr + kv_sz and v_addr < o_addr + o_sz) or \
                        (o_addr < scale_addr + sc_sz and scale_addr < o_addr + o_sz) or \
                        (o_addr < idx_addr + ix_sz and idx_addr < o_addr + o_sz) or \
                        (idx_addr < q_addr + q_sz and q_addr < idx_addr + ix_sz) or \
                        (idx_addr < k_addr + kv_sz and k_addr < idx_addr + ix_sz) or \
                        (idx_addr < v_addr + kv_sz and v_addr < idx_addr + ix_sz) or \
                        (idx_addr < scale_addr + sc_sz and scale_addr < idx_addr + ix_sz):
                    bad[:] = 5
                elif sel_mode > 1 or gamma_code == 0 or gamma_code > (1 << GB) or row_gamma_code > (1 << GB) or \
                        local_window == 0 or local_window > 0xFFFF or min_budget > 0xFFFF or \
                        max_budget > 0xFFFF or topk_vertical > 0xFFFF or topk_slash > 0xFFFF or \
                        (sel_mode == 0 and (min_budget == 0 or (max_budget != 0 and max_budget < min_budget))) or \
                        (sel_mode == 1 and (topk_vertical == 0 or topk_slash == 0)):
                    bad[:] = 6
                if bad != 0:
                    err_code.next = bad
                    state.next = S_FIN
                else:
                    j.next = 0
                    hp.next = 0
                    gp.next = LN if g > LN else g
                    koff.next = 0
                    qoff.next = 0
                    ooff.next = 0
                    kcoff.next = 0
                    qcoff.next = (HKV * nbp) << 2
                    ioff.next = 0
                    state.next = S_GRP
        elif state == S_GRP:
            ld_phase.next = 0
            ld_k.next = 0
            row.next = 0
            col.next = 0
            ld_done.next = 0
            ld_stop.next = 0
            state.next = S_LD
        elif state == S_LD:
            # issue the two code reads, unpack the beats one word per cycle
            if ld_phase == 0 and ld_cmd_ready and not ld_stop:
                ld_cmd_valid.next = 1
                ld_cmd_addr.next = scale_addr + kcoff
                ld_cmd_beats.next = nbp >> LOG_WPB
                ld_phase.next = 1
            elif ld_phase == 1 and ld_cmd_ready and not ld_cmd_valid and not ld_stop:
                ld_cmd_valid.next = 1
                ld_cmd_addr.next = scale_addr + qcoff
                ld_cmd_beats.next = (gp * nbp) >> LOG_WPB
                ld_phase.next = 2
            if ld_err:
                ld_stop.next = 1
            if ld_valid and not ld_hold:
                ld_hold.next = 1
                ld_beat.next = ld_data
                ld_k.next = 0
            elif ld_hold:
                word[:] = ld_beat[32:]
                ld_beat.next = ld_beat >> 32
                if col < nb:
                    if row == 0:
                        kc_we.next = 1
                        kc_addr.next = col[KAW:]
                        kc_data.next = word
                    else:
                        qc_we.next = 1
                        qc_head.next = row - 1
                        qc_addr.next = col[QAW:]
                        qc_data.next = word
                        if col == nb - 1:
                            sqc_we.next = 1
                if col == nbp - 1:
                    col.next = 0
                    if row == gp:
                        ld_done.next = 1
                    row.next = row + 1
                else:
                    col.next = col + 1
                if ld_k == WPB - 1:
                    ld_hold.next = 0
                else:
                    ld_k.next = ld_k + 1
            if (ld_done or ld_stop) and ld_idle and not ld_hold and not ld_cmd_valid:
                state.next = S_LDW
        elif state == S_LDW:
            ld_hold.next = 0
            if ld_err or ld_stop:
                err_code.next = ST_Q
                state.next = S_FIN
            else:
                s_start.next = 1
                wait.next = 2
                state.next = S_SIG
        elif state == S_SIG:
            # the index generator's done falls the cycle after its start: wait before looking
            if wait != 0:
                wait.next = wait - 1
            elif s_done:
                if s_err == ERR_AXI:
                    err_code.next = ST_IDX
                    state.next = S_FIN
                elif s_err != 0 or s_pv_fault:
                    err_code.next = ST_INTERNAL
                    state.next = S_FIN
                elif row_gamma_code != 0:
                    # the pooled rows' means of this group (m_axi_idx, after the index generator)
                    p_start.next = 1
                    wait.next = 2
                    state.next = S_POOL
                else:
                    ih.next = 0
                    wait.next = 2
                    state.next = S_IDX_HEAD
        elif state == S_POOL:
            # sig_pool's done falls the cycle after its start: wait before looking
            if wait != 0:
                wait.next = wait - 1
            elif p_done:
                if p_err == ERR_AXI:
                    err_code.next = ST_IDX
                    state.next = S_FIN
                elif p_err != 0:
                    err_code.next = ST_INTERNAL
                    state.next = S_FIN
                else:
                    ih.next = 0
                    wait.next = 2
                    state.next = S_IDX_HEAD
        elif state == S_IDX_HEAD:
            # rd_head = ih: hold two cycles, then take the set sizes
            if wait != 0:
                wait.next = wait - 1
            else:
                nv.next = s_rd_nv
                ns.next = s_rd_ns
                seg.next = 0
                if s_rd_nv == 0 or s_rd_ns == 0:
                    # never expected: block 0 and the diagonal are always in the sets
                    err_code.next = ST_INTERNAL
                    state.next = S_FIN
                else:
                    state.next = S_IDX_SEG
        elif state == S_IDX_SEG:
            if wr_cmd_ready and not wr_cmd_valid:
                wr_cmd_valid.next = 1
                if seg == 0:
                    wr_cmd_addr.next = idx_addr + ioff
                    wr_cmd_beats.next = HDR // WPB
                    nwords.next = HDR
                elif seg == 1:
                    wr_cmd_addr.next = idx_addr + ioff + HDR * 4
                    wr_cmd_beats.next = (nv + WPB - 1) >> LOG_WPB
                    nwords.next = ((nv + WPB - 1) >> LOG_WPB) << LOG_WPB
                else:
                    wr_cmd_addr.next = idx_addr + ioff + HDR * 4 + (nbp << 2)
                    wr_cmd_beats.next = (ns + WPB - 1) >> LOG_WPB
                    nwords.next = ((ns + WPB - 1) >> LOG_WPB) << LOG_WPB
                ptr.next = 0
                wk.next = 0
                seg_end.next = 0
                state.next = S_IDX_WORD
        elif state == S_IDX_WORD:
            if wbv:
                if wr_d_ready:
                    wbv.next = 0
                    if seg_end:
                        if seg == 2:
                            ioff.next = ioff + ihb
                            if ih + 1 == gp:
                                state.next = S_IDX_WAIT
                            else:
                                ih.next = ih + 1
                                wait.next = 2
                                state.next = S_IDX_HEAD
                        else:
                            seg.next = seg + 1
                            state.next = S_IDX_SEG
            else:
                # one entry per cycle: rd_blk = ptr (a register), sig's readback is combinational
                word[:] = 0
                if seg == 0:
                    if ptr == 0:
                        word[:] = nv
                    elif ptr == 1:
                        word[:] = ns
                elif seg == 1:
                    if ptr < nv:
                        word[:] = s_rd_vi
                elif ptr < ns:
                    word[:] = s_rd_si
                wbeat.next = (wbeat >> 32) | (word << (AXW - 32))
                ptr.next = ptr + 1
                if ptr == nwords - 1:
                    seg_end.next = 1
                if wk == WPB - 1:
                    wk.next = 0
                    wbv.next = 1
                else:
                    wk.next = wk + 1
        elif state == S_IDX_WAIT:
            if wr_idle and not wr_cmd_valid:
                if wr_err:
                    err_code.next = ST_O
                    state.next = S_FIN
                elif with_attn:
                    a_start.next = 1
                    wait.next = 2
                    state.next = S_ATT
                else:
                    state.next = S_NEXT
        elif state == S_ATT:
            if wait != 0:
                wait.next = wait - 1
            else:
                state.next = S_ATTW
        elif state == S_ATTW:
            if a_done:
                cnt_hit1.next = cnt_hit1 + a_hit1
                cnt_hit2.next = cnt_hit2 + a_hit2
                cnt_miss.next = cnt_miss + a_miss
                cnt_tiles.next = cnt_tiles + a_tiles
                if a_status[0]:
                    err_code.next = ST_Q
                    state.next = S_FIN
                elif a_status[1]:
                    err_code.next = ST_KV
                    state.next = S_FIN
                elif a_status[2]:
                    err_code.next = ST_O
                    state.next = S_FIN
                elif a_status != 0:
                    err_code.next = ST_INTERNAL
                    state.next = S_FIN
                else:
                    state.next = S_NEXT
        elif state == S_NEXT:
            # Q, O and the Q codes advance by the pass's heads; K, V and the K codes by a group
            if hp + gp < g:
                hp.next = hp + gp
                gf[:] = g - hp - gp
                gp.next = LN if gf > LN else gf
                qoff.next = qoff + gp * hb
                ooff.next = ooff + ((gp * hb) << 2)
                qcoff.next = qcoff + ((gp * nbp) << 2)
                state.next = S_GRP
            elif j + 1 >= HKV:
                state.next = S_FIN
            else:
                j.next = j + 1
                hp.next = 0
                gp.next = LN if g > LN else g
                koff.next = koff + hb
                qoff.next = qoff + gp * hb
                ooff.next = ooff + ((gp * hb) << 2)
                kcoff.next = kcoff + (nbp << 2)
                qcoff.next = qcoff + ((gp * nbp) << 2)
                state.next = S_GRP
        elif state == S_FIN:
            done_p.next = 1
            sbusy.next = 0
            state.next = S_IDLE

    return outs, addrs, counters, fsm
