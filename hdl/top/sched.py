"""Scheduler of ``fast_prefill_top``: argument checks, then per KV group the scale-code load, the
index generator, the index-set dump and the attention datapath.

On an accepted start (``ap_start`` while idle: ``accept`` pulses, a one-cycle soft reset
``soft_rst`` goes to every unit so that a unit left in an error state starts clean):

1. **Check** (hdl/top/args_check.py; three cycles, no HBM access): the layout of
   ``hdl.top.shell.Layout`` is computed in hardware (nb, nb_padded, head bytes, the size of every
   buffer) and the arguments are checked in the order of ``hdl.top.shell.STATUS_CODES`` (codes
   1 to 6).  A failed check ends the run at once.
2. Per KV group (``kv_group`` = 0 .. n_kv_heads - 1), per pass over its heads
   (``cfg.head_passes(group_size)``: ``lanes`` heads at a time, the units built for ``lanes``
   heads; one pass when lanes >= group_size):
   a. **codes** (hdl/top/code_loader.py): two reads through the code loader (``ld_*``, an
      ``hdl.common.axi_rd`` on m_axi_q): the K code row of the KV head and the Q code rows of
      the pass's heads (``nb_padded`` words
      each, ``Layout.k_code_offset`` / ``q_code_offset``); every word of a block < nb is written
      to ``kc_*`` (K, to the index generator and the attention datapath) or ``qc_*`` (Q of
      (head, block), attention datapath); the Q code of block nb-1 also to ``sqc_we`` (the
      index generator's Q_last code of the head).
   b. **index generator**: ``s_start`` with the group's K and the pass's Q addresses; wait for
      ``s_done``.
      Then, when ``row_gamma_code`` != 0, the **pooled rows' means load**: ``p_start`` (the
      ``sig_pool`` unit reads K and the pass's Q through m_axi_idx, ``phase_pool`` high, with
      the same settings and scale codes as the index generator); wait for ``p_done``.  Its rows
      are asked for later by the attention datapath (``row_guard``).
   c. **index dump** (hdl/top/index_dump.py): per head of the pass, through the write master
      (``wr_*`` on m_axi_o): the header (``idx_header_words`` words: vertical count, slash
      count, zeros), then the
      vertical entries and the slash entries, each rounded up to whole bus words (entries past
      a set's count within its last word are 0; words past that are not written).  The entries
      are read from the index generator's ``rd_*`` ports, one per cycle (its readback is
      combinational: the entry of the address register is sampled in the same cycle); the set
      sizes after ``rd_head`` was held two cycles.
   d. **attention** (``with_attn``): ``a_start`` with the pass's Q / O and the group's K / V
      addresses; wait for ``a_done``; its counters are added to the totals.
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

from myhdl import Signal, always, always_comb, always_seq, block, intbv

from hdl.common.reset import either_reset, sync_reset
from hdl.top.shell import idx_header_words
from hdl.index.params import ERR_AXI
from hdl.top.args_check import top_args_check
from hdl.top.code_loader import top_code_loader
from hdl.top.index_dump import top_index_dump

ST_Q, ST_IDX, ST_KV, ST_O, ST_INTERNAL = 7, 8, 9, 10, 11

(S_IDLE, S_CHK1, S_CHK2, S_GRP, S_LD, S_LDW, S_SIG, S_POOL, S_IDX, S_IDX_WAIT, S_ATT, S_ATTW, S_NEXT,
 S_FIN) = range(14)


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
              cnt_tiles, p_start, p_busy, p_done, p_err, phase_pool, cfg, with_attn=True,
              a_resident=None, a_group_end=None):
    HEADS_PER_PASS = cfg.lanes               # the units hold this many heads
    BUS_BITS = cfg.axi_data_bits
    BUS_BYTES = BUS_BITS // 8
    WORDS_PER_BEAT = BUS_BYTES // 4          # 32-bit words per bus beat
    HEADER_WORDS = idx_header_words(BUS_BYTES)
    if HEADER_WORDS % WORDS_PER_BEAT:
        raise ValueError(f"top_sched: the {HEADER_WORDS}-word index header is not whole {BUS_BITS}-bit beats")
    SIZE_BITS = 68                           # sizes and ends: 64-bit bases + up to 2**60 bytes
    b = lambda: Signal(bool(0))  # noqa: E731

    def u(n, v=0):
        return Signal(intbv(v)[n:])

    state = u(5)
    run_len, run_heads, run_kv_heads = u(32), u(32), u(32)   # seq_len, n_heads, n_kv_heads
    nb, nb_padded = u(32), u(32)             # blocks, blocks padded to whole bus words
    group_size = u(8)                        # heads per KV group
    kv_group = u(32)                         # the KV group of the pass
    pass_heads, pass_first = u(8), u(8)      # heads of this pass, its first head within the group
    head_bytes = u(40)                       # bytes of one head's Q, K or V
    idx_head_bytes = u(32)                   # bytes of one head's index sets
    # offsets of the pass from the base addresses
    k_off, q_off, o_off, kc_off, qc_off = u(SIZE_BITS), u(SIZE_BITS), u(SIZE_BITS), u(SIZE_BITS), u(SIZE_BITS)
    wait = u(2)
    err_code = u(8)
    sbusy = b()

    in_group, in_load, after_load, in_check, in_dump, in_sizes = b(), b(), b(), b(), b(), b()
    bad = u(8)
    check = top_args_check(clk, in_check, in_sizes, run_len, run_heads, run_kv_heads, q_addr, k_addr,
                           v_addr, o_addr, scale_addr, idx_addr, sel_mode, gamma_code,
                           row_gamma_code, min_budget, max_budget, topk_vertical, topk_slash,
                           local_window, nb, nb_padded, head_bytes, group_size, idx_head_bytes, bad,
                           cfg)
    unit_done, unit_axi_err, unit_fault = b(), b(), b()
    attn_code = u(8)
    codes_stopped, codes_finished = b(), b()
    codes = top_code_loader(clk, rst, in_group, in_load, after_load, scale_addr, kc_off, qc_off, nb,
                            nb_padded, pass_heads, ld_cmd_valid, ld_cmd_ready, ld_cmd_addr,
                            ld_cmd_beats, ld_valid, ld_ready, ld_data, ld_err, ld_idle, kc_we,
                            kc_addr, kc_data, qc_we, qc_head, qc_addr, qc_data, sqc_we,
                            codes_stopped, codes_finished, cfg)
    dump_fault, dump_finished = b(), b()
    dump = top_index_dump(clk, rst, in_check, in_dump, pass_heads, idx_addr, nb_padded,
                          idx_head_bytes, x_rd_head, x_rd_blk, s_rd_nv, s_rd_ns, s_rd_vi, s_rd_si,
                          wr_cmd_valid, wr_cmd_ready, wr_cmd_addr, wr_cmd_beats, wr_d_valid,
                          wr_d_ready, wr_d_data, dump_fault, dump_finished, HEADER_WORDS, cfg)

    @always_comb
    def outs():
        busy.next = sbusy
        status.next = err_code
        s_seq_len.next = run_len
        s_group.next = pass_heads
        s_q_stride.next = head_bytes
        s_sel_mode.next = sel_mode[0]
        s_sel_code.next = gamma_code
        s_sel_min.next = min_budget[16:]
        s_sel_max.next = max_budget[16:]
        s_sel_topk_v.next = topk_vertical[16:]
        s_sel_topk_s.next = topk_slash[16:]
        s_sel_win.next = local_window[16:]
        a_seq_len.next = run_len
        a_group.next = pass_heads
        a_q_stride.next = head_bytes
        a_o_stride.next = head_bytes << 2
        phase_attn.next = state == S_ATT or state == S_ATTW
        phase_pool.next = state == S_POOL
        in_check.next = state == S_CHK1
        in_sizes.next = state == S_CHK2 and wait == 0
        in_group.next = state == S_GRP
        in_load.next = state == S_LD
        after_load.next = state == S_LDW
        in_dump.next = state == S_IDX
        # the unit waited for in S_SIG / S_POOL: the index generator or the pooled rows' means load
        if state == S_POOL:
            unit_done.next = p_done
            unit_axi_err.next = p_err == ERR_AXI
            unit_fault.next = p_err != 0
        else:
            unit_done.next = s_done
            unit_axi_err.next = s_err == ERR_AXI
            unit_fault.next = s_err != 0 or s_pv_fault
        # the status of an attention run with an error: its port, or internal
        if a_status[0]:
            attn_code.next = ST_Q
        elif a_status[1]:
            attn_code.next = ST_KV
        elif a_status[2]:
            attn_code.next = ST_O
        elif a_status != 0:
            attn_code.next = ST_INTERNAL
        else:
            attn_code.next = 0

    cache_flags = []
    if a_resident is not None:
        @always_comb
        def pass_flags():
            # a later pass of the group finds the blocks the earlier ones left in the cache;
            # the group's last pass frees them
            a_resident.next = pass_first != 0
            a_group_end.next = pass_first + pass_heads >= group_size

        cache_flags.append(pass_flags)

    @always_comb
    def addrs():
        s_k_addr.next = k_addr + k_off
        s_q_addr.next = q_addr + q_off
        a_k_addr.next = k_addr + k_off
        a_v_addr.next = v_addr + k_off
        a_q_addr.next = q_addr + q_off
        a_o_addr.next = o_addr + o_off

    # the counters start again at every accepted start
    counters_clear = sync_reset()
    counters_reset = either_reset(rst, accept, counters_clear)

    @always_seq(clk.posedge, reset=counters_clear)
    def counters():
        if state == S_ATTW and a_done:
            cnt_hit1.next = cnt_hit1 + a_hit1
            cnt_hit2.next = cnt_hit2 + a_hit2
            cnt_miss.next = cnt_miss + a_miss
            cnt_tiles.next = cnt_tiles + a_tiles
        if sbusy:
            cnt_cycles.next = cnt_cycles + 1
        if s_busy or p_busy:
            cnt_sig_cycles.next = cnt_sig_cycles + 1
        if a_busy:
            cnt_attn_cycles.next = cnt_attn_cycles + 1

    @always(clk.posedge)
    def fsm():
        heads = intbv(0)[8:]
        accept.next = 0
        done_p.next = 0
        soft_rst.next = 0
        s_start.next = 0
        p_start.next = 0
        a_start.next = 0
        if rst:
            state.next = S_IDLE
            sbusy.next = 0
            err_code.next = 0
        elif state == S_IDLE:
            if ap_start:
                accept.next = 1
                soft_rst.next = 1
                sbusy.next = 1
                err_code.next = 0
                run_len.next = seq_len
                run_heads.next = n_heads
                run_kv_heads.next = n_kv_heads
                state.next = S_CHK1
        elif state == S_CHK1:
            state.next = S_CHK2
        elif state == S_CHK2:
            # the layout was computed in S_CHK1, the sizes in the first cycle here: check now
            if wait == 0:
                wait.next = 1
            else:
                wait.next = 0
                if bad != 0:
                    err_code.next = bad
                    state.next = S_FIN
                else:
                    kv_group.next = 0
                    pass_first.next = 0
                    pass_heads.next = HEADS_PER_PASS if group_size > HEADS_PER_PASS else group_size
                    k_off.next = 0
                    q_off.next = 0
                    o_off.next = 0
                    kc_off.next = 0
                    qc_off.next = (run_kv_heads * nb_padded) << 2
                    state.next = S_GRP
        elif state == S_GRP:
            state.next = S_LD
        elif state == S_LD:
            if codes_finished:
                state.next = S_LDW
        elif state == S_LDW:
            if ld_err or codes_stopped:
                err_code.next = ST_Q
                state.next = S_FIN
            else:
                s_start.next = 1
                wait.next = 2
                state.next = S_SIG
        elif state == S_SIG or state == S_POOL:
            # the unit's done falls the cycle after its start: wait before looking
            if wait != 0:
                wait.next = wait - 1
            elif unit_done:
                if unit_axi_err:
                    err_code.next = ST_IDX
                    state.next = S_FIN
                elif unit_fault:
                    err_code.next = ST_INTERNAL
                    state.next = S_FIN
                elif state == S_SIG and row_gamma_code != 0:
                    # the pooled rows' means of this group (m_axi_idx, after the index generator)
                    p_start.next = 1
                    wait.next = 2
                    state.next = S_POOL
                else:
                    state.next = S_IDX
        elif state == S_IDX:
            if dump_fault:
                err_code.next = ST_INTERNAL
                state.next = S_FIN
            elif dump_finished:
                state.next = S_IDX_WAIT
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
                if attn_code != 0:
                    err_code.next = attn_code
                    state.next = S_FIN
                else:
                    state.next = S_NEXT
        elif state == S_NEXT:
            # Q, O and the Q codes advance by the pass's heads; K, V and the K codes by a group
            if pass_first + pass_heads < group_size or kv_group + 1 < run_kv_heads:
                q_off.next = q_off + pass_heads * head_bytes
                o_off.next = o_off + ((pass_heads * head_bytes) << 2)
                qc_off.next = qc_off + ((pass_heads * nb_padded) << 2)
                state.next = S_GRP
            else:
                state.next = S_FIN
            if pass_first + pass_heads < group_size:
                pass_first.next = pass_first + pass_heads
                heads[:] = group_size - pass_first - pass_heads
                pass_heads.next = HEADS_PER_PASS if heads > HEADS_PER_PASS else heads
            elif kv_group + 1 < run_kv_heads:
                kv_group.next = kv_group + 1
                pass_first.next = 0
                pass_heads.next = HEADS_PER_PASS if group_size > HEADS_PER_PASS else group_size
                k_off.next = k_off + head_bytes
                kc_off.next = kc_off + (nb_padded << 2)
        elif state == S_FIN:
            done_p.next = 1
            sbusy.next = 0
            state.next = S_IDLE

    return check, codes, dump, outs, cache_flags, addrs, counters_reset, counters, fsm
