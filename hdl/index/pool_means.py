"""Means load of the pooled estimate (hdl/index/pool.py): block means of one KV group's K and Q.

After ``start`` (settings checked as in hdl/index/run_check.py, plus the row_gamma code) an own
AXI read master (hdl/common/axi_rd.py) reads K blocks 0..nb-1, then every block of the Q of the
g heads (``q_addr + h*q_stride``), one command per block.  The rows come out of the beats
(hdl/common/beat_rows.py); each row is added into D block-sum registers (one row per cycle), and
at a block's last row the means ``rshift_round(sum, log2 B - pool_bits)`` go out on the mean
write bus (tensor 0 = K, h + 1 = Q of head h); a partial last block sums its rows only (the
golden zero padding).

Ports (``clk`` rising edge, ``rst`` synchronous active high)
    start                  pulse: load (ignored while busy or while ``rows_busy``)
    seq_len [32], group [8], k_addr, q_addr [AB], q_stride [32], pr_code [32]   as in
                           hdl/index/pool.py, sampled at start
    rows_busy              a row of the estimate is running (a load waits for it)
    busy, done, err [3]    the load runs / has ended (until the next start) / its status
    m_axi_ar*, m_axi_r*    AXI4 read master
    nb [NBW], code [32]    the run's key blocks and row_gamma code (held from start)
    loaded                 done without error: the means may be used
    wr, wr_t, wr_c [IW], wr_word [D*PMW]   mean write bus: tensor wr_t, block wr_c
Parameters: ``cfg``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.common.axi_rd import sig_axi_rd
from hdl.common.beat_rows import beat_rows
from hdl.index.params import ERR_AXI, ERR_SEL, pool_widths
from hdl.index.run_check import sig_run_check

L_IDLE, L_RUN, L_DRAIN, L_DONE = range(4)


def _s(bits: int, signed: bool = False) -> Signal:
    if signed:
        return Signal(intbv(0, min=-(1 << (bits - 1)), max=1 << (bits - 1)))
    return Signal(intbv(0)[bits:])


@block
def sig_pool_means(clk, rst, start, seq_len, group, k_addr, q_addr, q_stride, pr_code, rows_busy,
                   busy, done, err,
                   m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst, m_axi_arvalid,
                   m_axi_arready, m_axi_rid, m_axi_rdata, m_axi_rresp, m_axi_rlast, m_axi_rvalid,
                   m_axi_rready, nb, code, loaded, wr, wr_t, wr_c, wr_word, cfg):
    w = pool_widths(cfg)
    B, D, G, max_blocks = w["B"], w["D"], w["G"], w["NBMAX"]
    rows_per_beat, beats_per_row = w["RPB"], w["BPR"]
    addr_bits, gamma_bits = w["AB"], w["GB"]
    mean_bits, sum_bits, mean_shift = w["PMW"], w["BSW"], w["MSH"]
    mean_mask = (1 << mean_bits) - 1
    addr_mask = (1 << addr_bits) - 1
    log_rows_per_beat = rows_per_beat.bit_length() - 1
    log_beats_per_row = beats_per_row.bit_length() - 1
    log_block_bytes = (B * D).bit_length() - 1
    full_block_beats = (B * beats_per_row) // rows_per_beat
    b = lambda: Signal(bool(0))  # noqa: E731

    # ------------------------------------------------------------ the run's settings
    state = Signal(intbv(L_DONE, min=0, max=4))
    ok = b()                        # means loaded without error
    bq = Signal(intbv(0, min=0, max=B + 1))
    group_bits = w["HB"]
    gr = _s(group_bits)
    kar, qar, qsr = _s(addr_bits), _s(addr_bits), _s(32)
    chk_nb = _s(w["NBW"])
    chk_bq = Signal(intbv(0, min=0, max=B + 1))
    chk_err = _s(3)
    insts = [sig_run_check(seq_len, group, k_addr, q_addr, q_stride, chk_nb, chk_bq, chk_err, cfg=cfg)]

    # ------------------------------------------------------------ AXI: one command per block
    cmd_valid, cmd_ready = b(), b()
    cmd_addr, cmd_beats = _s(addr_bits), _s(16)
    bt_valid, bt_ready, bt_data = b(), b(), _s(w["AXW"])
    axi_err, axi_idle = b(), b()
    insts.append(sig_axi_rd(clk, rst, cmd_valid, cmd_ready, cmd_addr, cmd_beats,
                            m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst,
                            m_axi_arvalid, m_axi_arready, m_axi_rid, m_axi_rdata, m_axi_rresp,
                            m_axi_rlast, m_axi_rvalid, m_axi_rready, bt_valid, bt_ready, bt_data,
                            axi_err, axi_idle, cfg=cfg))
    a_on = b()
    a_t = Signal(intbv(0, min=0, max=G + 2))          # tensor: 0 = K, h + 1 = Q of head h
    a_c = Signal(intbv(0, min=0, max=max_blocks + 1))

    # ------------------------------------------------------------ rows -> block sums -> means
    rows_clr, row_valid, take, row_last = b(), b(), b(), b()
    row = _s(8 * D)
    insts.append(beat_rows(clk, rst, rows_clr, bt_valid, bt_ready, bt_data, row_valid, row, take,
                           row_last, beat_bits=w["AXW"], row_bits=8 * D))
    d_on = b()
    d_t = Signal(intbv(0, min=0, max=G + 2))
    d_c = Signal(intbv(0, min=0, max=max_blocks + 1))
    d_j = Signal(intbv(0, min=0, max=B + 1))
    nrows = Signal(intbv(0, min=0, max=B + 1))
    sums = [Signal(intbv(0, min=-(1 << (sum_bits - 1)), max=1 << (sum_bits - 1))) for _ in range(D)]
    last_wr = b()

    @always_comb
    def status():
        busy.next = state == L_RUN or state == L_DRAIN
        done.next = state == L_DONE
        loaded.next = state == L_DONE and ok
        rows_clr.next = state != L_RUN

    @always_comb
    def command():
        cmd_valid.next = a_on
        if a_t == 0:
            cmd_addr.next = (kar + (a_c << log_block_bytes)) & addr_mask
        else:
            cmd_addr.next = (qar + (a_t - 1) * qsr + (a_c << log_block_bytes)) & addr_mask
        if a_c == nb - 1:
            cmd_beats.next = ((bq << log_beats_per_row) + rows_per_beat - 1) >> log_rows_per_beat
        else:
            cmd_beats.next = full_block_beats

    @always(clk.posedge)
    def command_seq():
        if rst:
            a_on.next = 0
        elif state == L_IDLE:
            a_t.next = 0
            a_c.next = 0
            a_on.next = 1
        elif state != L_RUN:
            a_on.next = 0
        elif a_on and cmd_ready:
            if a_c == nb - 1:
                a_c.next = 0
                if a_t == gr:
                    a_on.next = 0
                else:
                    a_t.next = a_t + 1
            else:
                a_c.next = a_c + 1

    @always_comb
    def data_comb():
        if d_c == nb - 1:
            nrows.next = bq
        else:
            nrows.next = B
        take.next = row_valid and d_on
        row_last.next = d_j == nrows - 1

    @always(clk.posedge)
    def data_seq():
        ev = intbv(0, min=-128, max=128)
        sm = intbv(0, min=-(1 << (sum_bits - 1)), max=1 << (sum_bits - 1))
        mn = intbv(0, min=-(1 << (sum_bits + 8)), max=1 << (sum_bits + 8))
        word = intbv(0)[D * mean_bits:]
        wr.next = 0
        if rst or state != L_RUN:
            d_on.next = state == L_IDLE and not rst
            d_t.next = 0
            d_c.next = 0
            d_j.next = 0
            last_wr.next = 0
        elif take:
            # one row per cycle: add it into the block sums; the block's last row writes means
            for d in range(D):
                ev[:] = ((row >> (8 * d)) & 0xFF) - (((row >> (8 * d + 7)) & 1) << 8)
                if d_j == 0:
                    sm[:] = ev
                else:
                    sm[:] = sums[d] + ev
                sums[d].next = sm
                if mean_shift > 0:
                    mn[:] = (sm + (1 << (mean_shift - 1))) >> mean_shift
                elif mean_shift == 0:
                    mn[:] = sm
                else:
                    mn[:] = sm << (-mean_shift)
                word[:] = word | ((mn & mean_mask) << (mean_bits * d))
            wr_word.next = word
            wr_t.next = d_t
            wr_c.next = d_c
            if d_j == nrows - 1:
                wr.next = 1
                d_j.next = 0
                if d_c == nb - 1:
                    d_c.next = 0
                    if d_t == gr:
                        d_on.next = 0
                        last_wr.next = 1
                    else:
                        d_t.next = d_t + 1
                else:
                    d_c.next = d_c + 1
            else:
                d_j.next = d_j + 1

    @always(clk.posedge)
    def load_fsm():
        if rst:
            state.next = L_DONE
            ok.next = 0
            err.next = 0
        elif state == L_IDLE:
            state.next = L_RUN
        elif state == L_RUN:
            if last_wr:
                state.next = L_DRAIN
        elif state == L_DRAIN:
            if axi_idle:
                state.next = L_DONE
                if axi_err:
                    err.next = ERR_AXI
                else:
                    ok.next = 1
        elif start and not rows_busy:
            nb.next = chk_nb
            bq.next = chk_bq
            gr.next = group[group_bits:]
            kar.next = k_addr
            qar.next = q_addr
            qsr.next = q_stride
            code.next = pr_code
            ok.next = 0
            state.next = L_DONE
            if chk_err != 0:
                err.next = chk_err
            elif pr_code == 0 or pr_code > (1 << gamma_bits):
                err.next = ERR_SEL
            else:
                err.next = 0
                state.next = L_IDLE

    return insts, status, command, command_seq, data_comb, data_seq, load_fsm
