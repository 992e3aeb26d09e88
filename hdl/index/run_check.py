"""Settings check of an index-generator run (hdl/index/sig.py, hdl/index/pool.py) at ``start``.

Ports (combinational)
    seq_len [32], group [8], k_addr, q_addr [AB], q_stride [32]   the run's settings
    nb [NBW]            key blocks ``ceil(L / B)``
    bq [0..B]           rows of the last block (``L - (nb - 1) B``)
    err [3]             the first failed check (hdl.index.params.ERR_*; 0 = all pass): L = 0,
                        L > max_seq_len, g outside 1..max_group, an address or the Q stride
                        not a multiple of the AXI beat
Parameters: ``cfg``.
"""

from __future__ import annotations

from myhdl import always_comb, block, intbv

from hdl.index.params import ERR_ALIGN, ERR_GROUP, ERR_L_BIG, ERR_L_ZERO, sig_widths


@block
def sig_run_check(seq_len, group, k_addr, q_addr, q_stride, nb, bq, err, cfg):
    w = sig_widths(cfg)
    B, block_index_bits = w["B"], w["NBW"]
    log_block = B.bit_length() - 1
    beat_mask = cfg.axi_bytes - 1
    max_seq_len, max_group = cfg.max_seq_len, w["G"]
    len_bits = w["LW"] + 1                # L + B - 1 without overflow

    @always_comb
    def check():
        blocks = intbv(0)[len_bits:]
        blocks[:] = (seq_len + B - 1) >> log_block
        nb.next = blocks[block_index_bits:]
        bq.next = seq_len - ((blocks - 1) << log_block)
        if seq_len == 0:
            err.next = ERR_L_ZERO
        elif seq_len > max_seq_len:
            err.next = ERR_L_BIG
        elif group == 0 or group > max_group:
            err.next = ERR_GROUP
        elif (k_addr & beat_mask) != 0 or (q_addr & beat_mask) != 0 or (q_stride & beat_mask) != 0:
            err.next = ERR_ALIGN
        else:
            err.next = 0

    return check
