"""HBM fetch sequencer of the index generator: what to read, and where each row goes.

Order (one KV group): the ``Q_last`` rows of the g query heads (head h at
``q_addr + h*q_stride + (nb-1)*B*D``, ``bq`` rows), then K blocks 0..nb-1 (block c at
``k_addr + c*B*D``, ``nk`` rows: B, or ``bq`` for the last block) for pass 1, then the same
K blocks again for pass 2.  The command side (to hdl/common/axi_rd.py) runs ahead; the data side
unpacks each beat into ``RPB`` rows of D bytes, drops the unused rows of a block's last beat,
and pads a partial last K block with zero rows so that every K tile has B columns.  A row wider
than a beat (``BPR`` = 8D / AXW > 1 beats per row, e.g. D = 64 on 256 bits) is first assembled
from BPR consecutive beats (lowest address in the low bits); the assembler takes one beat per
cycle, so the rows then come at one per BPR cycles at best (the bus, not the MPUs, sets the pace).
Pass-2 rows wait for ``p2_go`` (the row statistics must be final first).

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

from hdl.index.params import sig_widths


@block
def sig_fetch(clk, rst, start, nb, bq, g, k_addr, q_addr, q_stride,
              cmd_valid, cmd_ready, cmd_addr, cmd_beats,
              b_valid, b_ready, b_data,
              q_ld_valid, q_ld_head, q_ld_row, q_ld_data,
              k_valid, k_ready, k_data, p2_go, cfg):
    w = sig_widths(cfg)
    B, D, RPB, BPR, AB, AXW = w["B"], w["D"], w["RPB"], w["BPR"], w["AB"], w["AXW"]
    RW = 8 * D
    BW = max(AXW, RW)             # one (assembled) beat: at least one row
    LOG_RPB = RPB.bit_length() - 1
    LOG_BPR = BPR.bit_length() - 1
    BLK_BYTES = B * D
    LOG_BLK = BLK_BYTES.bit_length() - 1
    RMASK = (1 << RW) - 1
    NBW, NKB, HB = w["NBW"], w["NKB"], w["HB"]

    # command side
    a_ph = Signal(intbv(3, min=0, max=4))
    a_h = Signal(intbv(0, min=0, max=w["G"] + 1))
    a_c = Signal(intbv(0, min=0, max=w["NBMAX"] + 1))
    # data side
    d_ph = Signal(intbv(3, min=0, max=4))
    d_h = Signal(intbv(0, min=0, max=w["G"] + 1))
    d_c = Signal(intbv(0, min=0, max=w["NBMAX"] + 1))
    d_j = Signal(intbv(0, min=0, max=B + 1))
    sub = Signal(intbv(0, min=0, max=RPB + 1))
    bv = Signal(bool(0))
    bdata = Signal(intbv(0)[BW:])
    nrows = Signal(intbv(0, min=0, max=B + 1))
    need = Signal(bool(0))
    fire = Signal(bool(0))
    free = Signal(bool(0))
    row = Signal(intbv(0)[RW:])
    nbr = Signal(intbv(0)[NBW:])
    bqr = Signal(intbv(0)[NKB:])
    gr = Signal(intbv(0)[HB:])
    kar = Signal(intbv(0)[AB:])
    qar = Signal(intbv(0)[AB:])
    qsr = Signal(intbv(0)[32:])

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
        cmd_valid.next = a_ph != 3
        if a_ph == 0:
            cmd_addr.next = (qar + a_h * qsr + ((nbr - 1) << LOG_BLK)) & ((1 << AB) - 1)
            cmd_beats.next = ((bqr << LOG_BPR) + RPB - 1) >> LOG_RPB
        else:
            cmd_addr.next = (kar + (a_c << LOG_BLK)) & ((1 << AB) - 1)
            if a_c == nbr - 1:
                cmd_beats.next = ((bqr << LOG_BPR) + RPB - 1) >> LOG_RPB
            else:
                cmd_beats.next = (B * BPR) // RPB

    @always(clk.posedge)
    def command_seq():
        if rst:
            a_ph.next = 3
        elif start:
            a_ph.next = 0
            a_h.next = 0
            a_c.next = 0
        elif a_ph != 3 and cmd_ready:
            if a_ph == 0:
                if a_h == gr - 1:
                    a_ph.next = 1
                    a_c.next = 0
                else:
                    a_h.next = a_h + 1
            else:
                if a_c == nbr - 1:
                    a_ph.next = a_ph + 1
                    a_c.next = 0
                else:
                    a_c.next = a_c + 1

    # beat assembly: w_* is one row-or-wider word (the AXI beat itself when BPR = 1)
    w_valid = Signal(bool(0))
    w_ready = Signal(bool(0))
    w_data = Signal(intbv(0)[BW:])
    acc = Signal(intbv(0)[BW:])
    acnt = Signal(intbv(0, min=0, max=BPR + 1))

    @always_comb
    def beat_pass():
        w_valid.next = b_valid
        w_data.next = b_data
        b_ready.next = w_ready

    @always_comb
    def asm_comb():
        w_valid.next = acnt == BPR
        w_data.next = acc
        # a full row leaving this cycle frees the register for the next row's first beat
        b_ready.next = acnt != BPR or w_ready

    @always(clk.posedge)
    def asm_seq():
        if rst or start:
            acnt.next = 0
        else:
            if b_valid and (acnt != BPR or w_ready):
                # the newest beat enters at the top: after BPR beats the first one is lowest
                acc.next = (b_data << (BW - AXW)) | (acc >> AXW)
                if acnt == BPR:
                    acnt.next = 1
                else:
                    acnt.next = acnt + 1
            elif acnt == BPR and w_ready:
                acnt.next = 0

    @always_comb
    def data_rows():
        if d_ph == 0 or d_c == nbr - 1:
            nrows.next = bqr
        else:
            nrows.next = B

    @always_comb
    def data_comb():
        nd = d_j < nrows
        need.next = nd
        if d_ph == 0:
            fire.next = bv
            free.next = bv and (sub == RPB - 1 or d_j == nrows - 1)
        elif d_ph == 1 or (d_ph == 2 and p2_go):
            fire.next = (bv or not nd) and k_ready
            free.next = bv and nd and k_ready and (sub == RPB - 1 or d_j == nrows - 1)
        else:
            fire.next = 0
            free.next = 0
        row.next = (bdata >> (RW * sub)) & RMASK

    @always_comb
    def data_out():
        w_ready.next = not bv or free
        q_ld_valid.next = d_ph == 0 and bv
        q_ld_head.next = d_h
        q_ld_row.next = d_j
        q_ld_data.next = row
        k_valid.next = (d_ph == 1 or (d_ph == 2 and p2_go)) and (bv or not need)
        if need:
            k_data.next = row
        else:
            k_data.next = 0

    @always(clk.posedge)
    def data_seq():
        if rst:
            d_ph.next = 3
            bv.next = 0
        elif start:
            d_ph.next = 0
            d_h.next = 0
            d_c.next = 0
            d_j.next = 0
            sub.next = 0
            bv.next = 0
        else:
            if w_valid and (not bv or free):
                bv.next = 1
                bdata.next = w_data
            elif free:
                bv.next = 0
            if fire:
                if free:
                    sub.next = 0
                elif need:
                    sub.next = sub + 1
                if d_ph == 0:
                    if d_j == nrows - 1:
                        d_j.next = 0
                        sub.next = 0
                        if d_h == gr - 1:
                            d_ph.next = 1
                            d_c.next = 0
                        else:
                            d_h.next = d_h + 1
                    else:
                        d_j.next = d_j + 1
                else:
                    if d_j == B - 1:
                        d_j.next = 0
                        sub.next = 0
                        if d_c == nbr - 1:
                            d_ph.next = d_ph + 1
                            d_c.next = 0
                        else:
                            d_c.next = d_c + 1
                    else:
                        d_j.next = d_j + 1

    if BPR == 1:
        return params, command, command_seq, data_rows, data_comb, data_out, data_seq, beat_pass
    return params, command, command_seq, data_rows, data_comb, data_out, data_seq, asm_comb, asm_seq
