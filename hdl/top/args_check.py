"""Argument check of the scheduler (hdl/top/sched.py): the layout of ``hdl.top.shell.Layout`` in
hardware, and the first argument that is out of range.

Two steps, no HBM access: ``layout`` computes nb, nb_padded (nb rounded up to whole bus words),
the bytes of one head's Q / K / V and group_size = n_heads / n_kv_heads; ``sizes`` (a later
cycle) the size of every buffer.  From then on ``bad`` is the status code of the first failed
check, in the order of ``hdl.top.shell.STATUS_CODES`` (0: the arguments are fine): 1 seq_len =
0, 2 seq_len > max_seq_len, 3 n_heads / n_kv_heads (n_heads a positive multiple of n_kv_heads,
group_size <= max_group), 4 a base address not a multiple of the AXI beat, 5 the O or index
buffer overlapping any other buffer, 6 bad selection settings (sel_mode > 1, gamma code outside
1..2**16, row_gamma_code above 2**16, a budget, top-k count or window above 16 bits, min_budget
0, max_budget not 0 and below min_budget, a top-k count 0, local window 0).

Ports (``clk`` rising edge)
    layout, sizes       the two steps (one cycle each, ``sizes`` after ``layout``)
    run_len, run_heads, run_kv_heads [32]      seq_len, n_heads, n_kv_heads of the run
    q_addr ... idx_addr [64], sel_mode ... local_window [32]   the argument registers
    nb, nb_padded [32], head_bytes [40], group_size [8], idx_head_bytes [32] (out)
                        the layout (held until the next ``layout``)
    bad [8] (out)       the status code of the first failed check
Parameter: ``cfg``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.top.shell import idx_header_words


@block
def top_args_check(clk, layout, sizes, run_len, run_heads, run_kv_heads, q_addr, k_addr, v_addr,
                   o_addr, scale_addr, idx_addr,
                   sel_mode, gamma_code, row_gamma_code, min_budget, max_budget, topk_vertical,
                   topk_slash, local_window, nb, nb_padded, head_bytes, group_size, idx_head_bytes, bad, cfg):
    B, D, G = cfg.block, cfg.head_dim, cfg.max_group
    BUS_BYTES = cfg.axi_bytes
    WORDS_PER_BEAT = BUS_BYTES // 4
    LOG_WORDS_PER_BEAT = WORDS_PER_BEAT.bit_length() - 1
    LOG_B = B.bit_length() - 1
    LOG_HEAD_BYTES = (B * D).bit_length() - 1    # head bytes = nb << LOG_HEAD_BYTES (int8 rows)
    NB_BITS = min(32, len(head_bytes) - LOG_HEAD_BYTES)   # nb's bits that reach the head bytes
    HEADER_WORDS = idx_header_words(BUS_BYTES)
    CODE_LIMIT = 1 << 16                     # the largest gamma code (2**16: gamma = 1)
    SIZE_BITS = 68                           # sizes and ends: 64-bit bases + up to 2**60 bytes
    q_size, kv_size, o_size = Signal(intbv(0)[SIZE_BITS:]), Signal(intbv(0)[SIZE_BITS:]), Signal(intbv(0)[SIZE_BITS:])
    code_size, idx_size = Signal(intbv(0)[SIZE_BITS:]), Signal(intbv(0)[SIZE_BITS:])

    @always(clk.posedge)
    def compute():
        heads = intbv(0)[8:]
        nbv = intbv(0)[32:]
        if layout:
            # layout sizes (hdl.top.shell.Layout) and group_size = run_heads / Hkv
            nbv[:] = (run_len + B - 1) >> LOG_B
            nb.next = nbv
            nb_padded.next = ((nbv + WORDS_PER_BEAT - 1) >> LOG_WORDS_PER_BEAT) << LOG_WORDS_PER_BEAT
            head_bytes.next = nbv[NB_BITS:] << LOG_HEAD_BYTES
            heads[:] = 0
            for gg in range(1, G + 1):
                if run_kv_heads != 0 and run_kv_heads * gg == run_heads:
                    heads[:] = gg
            group_size.next = heads
        elif sizes:
            # sizes from the registered nb / nb_padded / head_bytes
            q_size.next = run_heads * head_bytes
            kv_size.next = run_kv_heads * head_bytes
            o_size.next = (run_heads * head_bytes) << 2
            code_size.next = ((run_kv_heads + run_heads) * nb_padded) << 2
            idx_head_bytes.next = (HEADER_WORDS + (nb_padded << 1)) << 2
            idx_size.next = (run_heads * ((HEADER_WORDS + (nb_padded << 1)) << 2))

    @always_comb
    def check():
        if run_len == 0:
            bad.next = 1
        elif run_len > cfg.max_seq_len:
            bad.next = 2
        elif group_size == 0:
            bad.next = 3
        elif ((q_addr | k_addr | v_addr | o_addr | scale_addr | idx_addr) & (BUS_BYTES - 1)) != 0:
            bad.next = 4
        elif (o_addr < q_addr + q_size and q_addr < o_addr + o_size) or \
                (o_addr < k_addr + kv_size and k_addr < o_addr + o_size) or \
                (o_addr < v_addr + kv_size and v_addr < o_addr + o_size) or \
                (o_addr < scale_addr + code_size and scale_addr < o_addr + o_size) or \
                (o_addr < idx_addr + idx_size and idx_addr < o_addr + o_size) or \
                (idx_addr < q_addr + q_size and q_addr < idx_addr + idx_size) or \
                (idx_addr < k_addr + kv_size and k_addr < idx_addr + idx_size) or \
                (idx_addr < v_addr + kv_size and v_addr < idx_addr + idx_size) or \
                (idx_addr < scale_addr + code_size and scale_addr < idx_addr + idx_size):
            bad.next = 5
        elif sel_mode > 1 or gamma_code == 0 or gamma_code > CODE_LIMIT or row_gamma_code > CODE_LIMIT or \
                local_window == 0 or local_window > 0xFFFF or min_budget > 0xFFFF or \
                max_budget > 0xFFFF or topk_vertical > 0xFFFF or topk_slash > 0xFFFF or \
                (sel_mode == 0 and (min_budget == 0 or (max_budget != 0 and max_budget < min_budget))) or \
                (sel_mode == 1 and (topk_vertical == 0 or topk_slash == 0)):
            bad.next = 6
        else:
            bad.next = 0

    return compute, check
