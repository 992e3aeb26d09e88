"""HBM fetch sequencer of the index generator: what to read, and where each row goes.

Order (one KV group): the ``Q_last`` rows of the g query heads (head h at
``q_addr + h*q_stride + (nb-1)*B*D``, ``bq`` rows), then K blocks 0..nb-1 (block c at
``k_addr + c*B*D``, ``nk`` rows: B, or ``bq`` for the last block) for pass 1, then the same
K blocks again for pass 2.  The command side (to hdl/common/axi_rd.py) runs ahead; the data side
takes the rows of D bytes out of the beats (hdl/common/beat_rows.py: ``RPB`` rows per beat, or
one row from ``BPR`` = 8D / AXW beats, e.g. D = 64 on 256 bits, when the bus and not the MPUs
sets the pace), drops the unused rows of a block's last beat, and pads a partial last K block
with zero rows so that every K tile has B columns.  Pass-2 rows wait for ``p2_go`` (the row
statistics must be final first).

Ports (``clk`` rising edge, ``rst`` synchronous)
    start                  begin (nb, bq, g and the addresses are sampled now and held)
    nb [NBW], bq [NKB], g [HB], k_addr, q_addr [AB], q_stride [32]
    cmd_valid, cmd_ready, cmd_addr, cmd_beats   read commands
    b_valid, b_ready, b_data [AXW]              read beats
    q_ld_valid, q_ld_head, q_ld_row, q_ld_data [8D]   Q_last rows (always accepted)
    k_valid, k_ready, k_data [8D]               key rows, B per tile, valid/ready
    p2_go                  pass 2 may start
Parameters: ``cfg``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.common.beat_rows import beat_rows
from hdl.index.params import sig_widths
from hdl.index.walk import PH_IDLE, PH_K1, PH_K2, PH_Q, sig_walk


@block
def sig_fetch(clk, rst, start, nb, bq, g, k_addr, q_addr, q_stride,
              cmd_valid, cmd_ready, cmd_addr, cmd_beats,
              b_valid, b_ready, b_data,
              q_ld_valid, q_ld_head, q_ld_row, q_ld_data,
              k_valid, k_ready, k_data, p2_go, cfg):
    w = sig_widths(cfg)
    B, D = w["B"], w["D"]
    rows_per_beat, beats_per_row = w["RPB"], w["BPR"]
    addr_bits, row_bits = w["AB"], 8 * D
    addr_mask = (1 << addr_bits) - 1
    log_rows_per_beat = rows_per_beat.bit_length() - 1
    log_beats_per_row = beats_per_row.bit_length() - 1
    log_block_bytes = (B * D).bit_length() - 1
    full_block_beats = (B * beats_per_row) // rows_per_beat

    # command side
    a_ph = Signal(intbv(PH_IDLE, min=0, max=4))
    a_h = Signal(intbv(0, min=0, max=w["G"] + 1))
    a_c = Signal(intbv(0, min=0, max=w["NBMAX"] + 1))
    # data side
    d_ph = Signal(intbv(PH_IDLE, min=0, max=4))
    d_h = Signal(intbv(0, min=0, max=w["G"] + 1))
    d_c = Signal(intbv(0, min=0, max=w["NBMAX"] + 1))
    d_j = Signal(intbv(0, min=0, max=B + 1))
    nrows = Signal(intbv(0, min=0, max=B + 1))
    need = Signal(bool(0))          # row d_j is a real row (not the zero padding of a tile)
    fire = Signal(bool(0))          # row d_j moves on this cycle
    row_valid, take, row_last = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    row = Signal(intbv(0)[row_bits:])
    # the run's settings, sampled at start
    nbr = Signal(intbv(0)[w["NBW"]:])
    bqr = Signal(intbv(0)[w["NKB"]:])
    gr = Signal(intbv(0)[w["HB"]:])
    kar = Signal(intbv(0)[addr_bits:])
    qar = Signal(intbv(0)[addr_bits:])
    qsr = Signal(intbv(0)[32:])

    rows = beat_rows(clk, rst, start, b_valid, b_ready, b_data, row_valid, row, take, row_last,
                     beat_bits=w["AXW"], row_bits=row_bits)
    # the command side steps at each command, the data side at each block's last row
    a_step, block_end = Signal(bool(0)), Signal(bool(0))
    walks = [sig_walk(clk, rst, start, a_step, a_ph, a_h, a_c, gr, nbr),
             sig_walk(clk, rst, start, block_end, d_ph, d_h, d_c, gr, nbr)]

    @always(clk.posedge)
    def params():
        if start:
            nbr.next = nb
            bqr.next = bq
            gr.next = g
            kar.next = k_addr
            qar.next = q_addr
            qsr.next = q_stride

    @always_comb
    def command():
        cmd_valid.next = a_ph != PH_IDLE
        a_step.next = a_ph != PH_IDLE and cmd_ready
        if a_ph == PH_Q:
            cmd_addr.next = (qar + a_h * qsr + ((nbr - 1) << log_block_bytes)) & addr_mask
            cmd_beats.next = ((bqr << log_beats_per_row) + rows_per_beat - 1) >> log_rows_per_beat
        else:
            cmd_addr.next = (kar + (a_c << log_block_bytes)) & addr_mask
            if a_c == nbr - 1:
                cmd_beats.next = ((bqr << log_beats_per_row) + rows_per_beat - 1) >> log_rows_per_beat
            else:
                cmd_beats.next = full_block_beats

    @always_comb
    def data_rows():
        if d_ph == PH_Q or d_c == nbr - 1:
            nrows.next = bqr
        else:
            nrows.next = B

    @always_comb
    def data_comb():
        nd = d_j < nrows
        need.next = nd
        row_last.next = d_j == nrows - 1
        if d_ph == PH_Q:
            fire.next = row_valid
            take.next = row_valid
            block_end.next = row_valid and d_j == nrows - 1
        elif d_ph == PH_K1 or (d_ph == PH_K2 and p2_go):
            # a K tile always has B columns: rows past nrows are zero padding
            fire.next = (row_valid or not nd) and k_ready
            take.next = row_valid and nd and k_ready
            block_end.next = (row_valid or not nd) and k_ready and d_j == B - 1
        else:
            fire.next = 0
            take.next = 0
            block_end.next = 0

    @always_comb
    def data_out():
        q_ld_valid.next = d_ph == PH_Q and row_valid
        q_ld_head.next = d_h
        q_ld_row.next = d_j
        q_ld_data.next = row
        k_valid.next = (d_ph == PH_K1 or (d_ph == PH_K2 and p2_go)) and (row_valid or not need)
        if need:
            k_data.next = row
        else:
            k_data.next = 0

    @always(clk.posedge)
    def data_seq():
        if not rst:
            if start or block_end:
                d_j.next = 0
            elif fire:
                d_j.next = d_j + 1

    return rows, walks, params, command, data_rows, data_comb, data_out, data_seq
