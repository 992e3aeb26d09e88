"""One head lane of the attention group datapath (``grp_attn``, issue 7).

Lane ``H`` serves query head ``H`` of the group: its ``attn_engine``, its Q path (Q FIFO fed
by the shared Q read master, unpack of bus words into Q rows, the Q scale-code memory) and
its O path (sign extension of the engine's rows to int32, serialisation into bus words, O
FIFO, the head's O write address).  The shared AXI masters of ``grp_attn`` pick a lane by
``q_cur`` / ``o_cur``; the lane's address, burst length and data reach them through daisy
chains (``*_in`` from lane H-1, ``*_out`` to lane H+1: or-ed in when the lane is selected),
so no list of wide signals crosses the hierarchy.

HBM layout (``hdl.top.shell.Layout``): Q of head H is one contiguous region of ``nb*B`` rows of
``D`` int8 at ``q_addr + H*q_stride``; O of head H one region of ``nb*B`` rows of ``D`` int32
at ``o_addr + H*o_stride`` (element d at byte 4d).  Both are read / written front to back in
bursts of at most ``MAX_Q_BURST`` / ``MAX_O_BURST`` beats that never cross 4 KiB.

Ports (``clk`` rising edge; ``rst``, ``clr`` synchronous, active high; ``clr`` = a new run
and also resets the engine)
    go                  settings valid (pulse after clr): q_addr, q_stride, o_addr, o_stride,
                        nb, active (H < g)
    abort               the run is aborted: request no more bursts
    qc_we, qc_head, qc_addr, qc_data   Q scale-code write (this lane when qc_head == H)
    tile_valid/ready, tile_diag, tile_nk, tile_last, tile_mant, tile_exp   engine descriptor
    k_valid/ready, k_data, v_valid/ready, v_data   K / V rows for the engine
    q_push, q_din       a Q read beat for this lane
    q_issue             the Q burst this lane requested was accepted (AR handshake)
    q_req               the lane wants a Q burst (room for it in the Q FIFO)
    q_cur; q_addr_in/out, q_blen_in/out    the Q chain
    o_issue, o_pop      the O burst was accepted (AW); one O word was written (W)
    o_req               the lane holds a whole O burst
    o_cur; o_word_in/out, o_addr_in/out, o_blen_in/out   the O chain
    o_done              every O word of the head has been requested (AW) (inactive: always)
    dbg_sel; dbg_*_in/out   chain of the engine's observation outputs (m, l, P column)
    idle                the lane holds nothing (engine idle, O path empty)
    fault               the engine's O rows left out of order (never expected)
Parameters: ``cfg``, ``H`` (lane index).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, concat, intbv

from hdl.attention.engine import attn_engine, widths
from hdl.common.fifo import kv_fifo

MAX_Q_BURST = 16       # at most; also at most half the Q FIFO, so that it prefetches
MAX_O_BURST = 16
O_FIFO_DEPTH = 64
Q_FIFO_BLOCKS = 2      # Q blocks the Q FIFO holds: the engine's and the next, prefetched


def lane_params(cfg) -> dict:
    w = widths(cfg)
    B, D = w["B"], w["D"]
    bus = cfg.axi_data_bits
    dw = 8 * D
    qwb = B * D // cfg.axi_bytes                 # bus words of one Q block
    qd = 1 << max(1, (Q_FIFO_BLOCKS * qwb - 1).bit_length())  # Q FIFO (a power of two)
    return dict(w=w, B=B, D=D, bus=bus, dw=dw, rpw=max(1, bus // dw), wpr=max(1, dw // bus),
                qwb=qwb, qd=qd, ow=D * 32 // bus, od=O_FIFO_DEPTH,
                nbb=cfg.block_index_bits, NB=cfg.max_blocks)


@block
def grp_lane(clk, rst, clr, go, abort, active, q_addr, q_stride, o_addr, o_stride, nb,
             qc_we, qc_head, qc_addr, qc_data,
             tile_valid, tile_ready, tile_diag, tile_nk, tile_last, tile_mant, tile_exp,
             k_valid, k_ready, k_data, v_valid, v_ready, v_data,
             q_push, q_din, q_issue, q_req, q_cur, q_addr_in, q_addr_out, q_blen_in, q_blen_out,
             o_issue, o_pop, o_req, o_cur, o_word_in, o_word_out, o_addr_in, o_addr_out,
             o_blen_in, o_blen_out, o_done,
             dbg_sel, dbg_m_in, dbg_m_out, dbg_l_in, dbg_l_out, dbg_pv_in, dbg_pv_out,
             dbg_p_in, dbg_p_out, idle, fault, cfg, H):
    p = lane_params(cfg)
    w = p["w"]
    B, D, BUS, DW, RPW, WPR = p["B"], p["D"], p["bus"], p["dw"], p["rpw"], p["wpr"]
    QWB, QD, OW, OD, NBB, NB = p["qwb"], p["qd"], p["ow"], p["od"], p["nbb"], p["NB"]
    QMAXB = min(MAX_Q_BURST, QD // 2)
    OB = w["OB"]
    RB = (B - 1).bit_length()
    AB = len(q_addr)
    LO = (BUS // 8 - 1).bit_length()
    PAGE_BEATS = 4096 // (BUS // 8)
    b = lambda: Signal(bool(0))  # noqa: E731
    rst_e = b()

    # ------------------------------------------------------------ engine
    q_valid, q_ready = b(), b()
    q_data = Signal(intbv(0)[DW:])
    q_mant = Signal(intbv(0)[16:])
    q_exp = Signal(intbv(0, min=-128, max=128))
    e_ovalid, e_oready, e_olast = b(), b(), b()
    e_odata = Signal(intbv(0)[OB * D:])
    e_orow = Signal(intbv(0)[max(1, RB):])
    e_om = Signal(intbv(0, min=-(1 << (w["MX"] - 1)), max=1 << (w["MX"] - 1)))
    e_ol = Signal(intbv(0)[w["LW"]:])
    e_pv, e_idle = b(), b()
    e_p = Signal(intbv(0)[w["PB"] * B:])
    eng = attn_engine(clk, rst_e, tile_valid, tile_ready, tile_diag, tile_nk, tile_last,
                      tile_mant, tile_exp, q_valid, q_ready, q_data, q_mant, q_exp,
                      k_valid, k_ready, k_data, v_valid, v_ready, v_data,
                      e_ovalid, e_oready, e_odata, e_orow, e_olast, e_om, e_ol,
                      e_pv, e_p, e_idle, cfg)

    @always_comb
    def erst():
        rst_e.next = rst or clr

    # ------------------------------------------------------------ Q scale codes
    # 24 bits: mantissa and the exponent's low byte (grp_attn rejects wider exponents)
    qcmem = [Signal(intbv(0)[24:]) for _ in range(NB)]
    qrow = Signal(intbv(0)[NBB:])
    qcw = Signal(intbv(0)[24:])

    @always(clk.posedge)
    def qc_write():
        if qc_we and qc_head == H:
            qcmem[qc_addr].next = qc_data[24:]

    @always_comb
    def qc_read():
        qcw.next = qcmem[qrow]

    @always_comb
    def qc_fields():
        q_mant.next = qcw[16:]
        q_exp.next = qcw[24:16].signed()

    # ------------------------------------------------------------ Q FIFO and unpack
    qf_pop, qf_empty = b(), b()
    qf_dout = Signal(intbv(0)[BUS:])
    qf = kv_fifo(clk, rst, clr, q_push, q_din, qf_pop, qf_dout, None, qf_empty, None, QD, BUS)
    beat = Signal(intbv(0)[max(1, RB):])
    hs = b()

    @always_comb
    def q_hs():
        hs.next = q_valid and q_ready

    @always(clk.posedge)
    def q_rows():
        if rst or clr:
            beat.next = 0
            qrow.next = 0
        elif hs:
            if beat == B - 1:
                beat.next = 0
                qrow.next = qrow + 1
            else:
                beat.next = beat + 1

    insts = [eng, erst, qc_write, qc_read, qc_fields, qf, q_hs, q_rows]
    if WPR == 1:
        sub = Signal(intbv(0)[max(1, (RPW - 1).bit_length()):])

        @always_comb
        def q_unpack():
            q_valid.next = not qf_empty
            qf_pop.next = hs and sub == RPW - 1
            qd = intbv(0)[DW:]
            for i in range(DW):
                qd[i] = qf_dout[sub * DW + i]
            q_data.next = qd

        @always(clk.posedge)
        def q_sub():
            if rst or clr:
                sub.next = 0
            elif hs:
                if sub == RPW - 1:
                    sub.next = 0
                else:
                    sub.next = sub + 1
        insts += [q_unpack, q_sub]
    else:
        qbuf = Signal(intbv(0)[DW:])
        qk = Signal(intbv(0)[max(1, (WPR - 1).bit_length()):])
        qhold = b()

        @always_comb
        def q_gather_c():
            q_valid.next = qhold
            q_data.next = qbuf
            qf_pop.next = not qhold and not qf_empty

        @always(clk.posedge)
        def q_gather():
            if rst or clr:
                qhold.next = False
                qk.next = 0
            else:
                if hs:
                    qhold.next = False
                if not qhold and not qf_empty:
                    qbuf.next = concat(qf_dout, qbuf[DW:BUS])
                    if qk == WPR - 1:
                        qk.next = 0
                        qhold.next = True
                    else:
                        qk.next = qk + 1
        insts += [q_gather_c, q_gather]

    # ------------------------------------------------------------ Q burst requests
    qa = Signal(intbv(0)[AB:])
    qrem = Signal(intbv(0)[32:])
    qcred = Signal(intbv(0, min=0, max=QD + 1))
    qblen = Signal(intbv(0)[9:])

    qpl = Signal(intbv(0)[9:])

    @always_comb
    def q_page():
        qpl.next = PAGE_BEATS - qa[12:LO]

    @always_comb
    def q_len():
        if qrem < QMAXB and qrem < qpl:
            qblen.next = qrem
        elif qpl < QMAXB:
            qblen.next = qpl
        else:
            qblen.next = QMAXB

    @always_comb
    def q_reqc():
        q_req.next = active and not abort and qrem != 0 and qcred >= qblen
        if q_cur == H:
            q_addr_out.next = q_addr_in | qa
            q_blen_out.next = q_blen_in | qblen
        else:
            q_addr_out.next = q_addr_in
            q_blen_out.next = q_blen_in

    @always(clk.posedge)
    def q_track():
        if rst or clr:
            qrem.next = 0
            qcred.next = QD
        elif go:
            qa.next = q_addr + H * q_stride
            if active:
                qrem.next = nb * QWB
        else:
            if q_issue:
                qa.next = qa + qblen * (BUS // 8)
                qrem.next = qrem - qblen
                if qf_pop:
                    qcred.next = qcred + 1 - qblen
                else:
                    qcred.next = qcred - qblen
            elif qf_pop:
                qcred.next = qcred + 1

    insts += [q_page, q_len, q_reqc, q_track]

    # ------------------------------------------------------------ O rows -> int32 words
    sx = Signal(intbv(0)[32 * D:])
    orow = Signal(intbv(0)[32 * D:])
    ohold = b()
    ok = Signal(intbv(0)[max(1, (OW - 1).bit_length()):])
    of_push, of_full, of_empty = b(), b(), b()
    of_din = Signal(intbv(0)[BUS:])
    of_count = Signal(intbv(0, min=0, max=OD + 1))
    of_dout = Signal(intbv(0)[BUS:])
    of = kv_fifo(clk, rst, clr, of_push, of_din, o_pop, of_dout, of_full, of_empty, of_count,
                 OD, BUS)

    @always_comb
    def o_sext():
        v = intbv(0)[32 * D:]
        for d in range(D):
            for j in range(32):
                if j < OB:
                    v[32 * d + j] = e_odata[OB * d + j]
                else:
                    v[32 * d + j] = e_odata[OB * d + OB - 1]
        sx.next = v

    oexp = Signal(intbv(0)[max(1, RB):])

    @always(clk.posedge)
    def o_check():
        # the engine's rows of a block leave in order 0..B-1 (never expected to fail)
        if rst or clr:
            oexp.next = 0
            fault.next = False
        elif e_ovalid and not ohold:
            if e_orow != oexp or e_olast != (oexp == B - 1):
                fault.next = True
            if oexp == B - 1:
                oexp.next = 0
            else:
                oexp.next = oexp + 1

    @always_comb
    def lane_idle():
        idle.next = e_idle and of_empty and not ohold

    @always_comb
    def o_ser_c():
        e_oready.next = not ohold
        of_push.next = ohold and not of_full
        of_din.next = orow[BUS:]

    @always(clk.posedge)
    def o_ser():
        if rst or clr:
            ohold.next = False
            ok.next = 0
        elif ohold:
            if not of_full:
                orow.next = orow >> BUS
                if ok == OW - 1:
                    ok.next = 0
                    ohold.next = False
                else:
                    ok.next = ok + 1
        elif e_ovalid:
            orow.next = sx
            ohold.next = True

    # ------------------------------------------------------------ O burst requests
    oa = Signal(intbv(0)[AB:])
    orem = Signal(intbv(0)[32:])
    oblen = Signal(intbv(0)[9:])

    opl = Signal(intbv(0)[9:])

    @always_comb
    def o_page():
        opl.next = PAGE_BEATS - oa[12:LO]

    @always_comb
    def o_len():
        if orem < MAX_O_BURST and orem < opl:
            oblen.next = orem
        elif opl < MAX_O_BURST:
            oblen.next = opl
        else:
            oblen.next = MAX_O_BURST

    @always_comb
    def o_reqc():
        o_req.next = active and not abort and orem != 0 and of_count >= oblen
        o_done.next = orem == 0
        if o_cur == H:
            o_word_out.next = o_word_in | of_dout
            o_addr_out.next = o_addr_in | oa
            o_blen_out.next = o_blen_in | oblen
        else:
            o_word_out.next = o_word_in
            o_addr_out.next = o_addr_in
            o_blen_out.next = o_blen_in

    @always(clk.posedge)
    def o_track():
        if rst or clr:
            orem.next = 0
        elif go:
            oa.next = o_addr + H * o_stride
            if active:
                orem.next = nb * (B * OW)
        elif o_issue:
            oa.next = oa + oblen * (BUS // 8)
            orem.next = orem - oblen

    # ------------------------------------------------------------ observation chain
    @always_comb
    def dbg():
        if dbg_sel == H:
            dbg_m_out.next = dbg_m_in | e_om[len(e_om):]
            dbg_l_out.next = dbg_l_in | e_ol
            dbg_pv_out.next = dbg_pv_in or e_pv
            dbg_p_out.next = dbg_p_in | e_p
        else:
            dbg_m_out.next = dbg_m_in
            dbg_l_out.next = dbg_l_in
            dbg_pv_out.next = dbg_pv_in
            dbg_p_out.next = dbg_p_in

    insts += [of, o_check, lane_idle, o_sext, o_ser_c, o_ser, o_page, o_len, o_reqc, o_track, dbg]
    return insts
