"""One head lane of the attention group datapath (``grp_attn``).

Lane ``H`` serves query head ``H`` of the group: its ``attn_engine``, its Q path (Q FIFO fed
by the shared Q read master, unpack of bus words into Q rows, the Q scale-code memory) and
its O path (sign extension of the engine's rows to int32, a FIFO of whole rows, their bus
words cut at its head, the head's O write address).  The shared AXI masters of ``grp_attn`` pick a lane by
``q_cur`` / ``o_cur``; the lane's address, burst length and data reach them through daisy
chains (``*_in`` from lane H-1, ``*_out`` to lane H+1: or-ed in when the lane is selected),
so no list of wide signals crosses the hierarchy.

HBM layout (``hdl.top.shell.Layout``): Q of head H is one contiguous region of ``nb*B`` rows of
``D`` int8 at ``q_addr + H*q_stride``; O of head H one region of ``nb*B`` rows of ``D`` int32
at ``o_addr + H*o_stride`` (element d at byte 4d).  Both are read / written front to back in
bursts of at most ``MAX_Q_BURST`` / :func:`o_max_burst` beats that never cross 4 KiB
(hdl/group/lane_bursts.py).

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
Parameters: ``cfg``, ``H`` (lane index), ``mpu_bus`` (optional: the engine's MPU outside).
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, always_seq, block, concat, intbv

from hdl.attention.engine import attn_engine, widths
from hdl.common.fifo import kv_fifo
from hdl.common.reset import either_reset, sync_reset
from hdl.common.burst_len import AXI_BOUNDARY, AXI_MAX_BURST
from hdl.group.lane_bursts import grp_lane_bursts

MAX_Q_BURST = 16       # at most; also at most half the Q FIFO, so that it prefetches
O_FIFO_MIN_DEPTH = 64
Q_FIFO_BLOCKS = 2      # Q blocks the Q FIFO holds: the engine's and the next, prefetched


def o_fifo_depth(cfg) -> int:
    """Bus words of a lane's O FIFO: one block row of the head's O (B rows of D int32), at least
    ``O_FIFO_MIN_DEPTH``; held as whole engine rows, a power of two of them.  A whole block
    row, because the engine holds only one finished block row while it computes the next:
    the first block rows of a run are shorter than their O takes to leave, and with less room
    the engine would wait for m_axi_o."""
    row_words = max(1, cfg.head_dim * 32 // cfg.axi_data_bits)
    rows = max(cfg.block, -(-O_FIFO_MIN_DEPTH // row_words))
    return (1 << (rows - 1).bit_length()) * row_words


def o_max_burst(cfg) -> int:
    """Beats of a lane's O bursts at most: 4 KiB (an aligned burst of that size crosses no
    boundary), at most half the O FIFO so the next burst fills while one leaves."""
    return min(AXI_MAX_BURST, AXI_BOUNDARY // cfg.axi_bytes, o_fifo_depth(cfg) // 2)


def lane_params(cfg) -> dict:
    w = widths(cfg)
    B, D = w["B"], w["D"]
    bus = cfg.axi_data_bits
    dw = 8 * D
    qwb = B * D // cfg.axi_bytes                 # bus words of one Q block
    qd = 1 << max(1, (Q_FIFO_BLOCKS * qwb - 1).bit_length())  # Q FIFO (a power of two)
    return dict(w=w, B=B, D=D, bus=bus, dw=dw, rpw=max(1, bus // dw), wpr=max(1, dw // bus),
                qwb=qwb, qd=qd, ow=D * 32 // bus, od=o_fifo_depth(cfg), omb=o_max_burst(cfg),
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
             dbg_p_in, dbg_p_out, idle, fault, cfg, H, mpu_bus=None):
    p = lane_params(cfg)
    w = p["w"]
    B, D, BUS, ROW_BITS = p["B"], p["D"], p["bus"], p["dw"]
    ROWS_PER_WORD, WORDS_PER_ROW = p["rpw"], p["wpr"]
    Q_WORDS_PER_BLOCK, Q_DEPTH = p["qwb"], p["qd"]
    O_WORDS_PER_ROW, O_DEPTH, O_MAX_BURST = p["ow"], p["od"], p["omb"]
    NBB, NB = p["nbb"], p["NB"]
    Q_MAX_BURST = min(MAX_Q_BURST, Q_DEPTH // 2)
    OUT_BITS = w["OB"]
    ROW_INDEX_BITS = max(1, (B - 1).bit_length())
    AB = len(q_addr)
    BUS_BYTES = BUS // 8
    b = lambda: Signal(bool(0))  # noqa: E731
    # a run starts clean: the engine and the lane's counters are reset by rst or clr
    rst_run = sync_reset()
    run_reset = either_reset(rst, clr, rst_run)

    # ------------------------------------------------------------ engine
    q_valid, q_ready = b(), b()
    q_data = Signal(intbv(0)[ROW_BITS:])
    q_mant = Signal(intbv(0)[16:])
    q_exp = Signal(intbv(0, min=-128, max=128))
    e_ovalid, e_oready, e_olast = b(), b(), b()
    e_odata = Signal(intbv(0)[OUT_BITS * D:])
    e_orow = Signal(intbv(0)[ROW_INDEX_BITS:])
    e_om = Signal(intbv(0, min=-(1 << (w["MX"] - 1)), max=1 << (w["MX"] - 1)))
    e_ol = Signal(intbv(0)[w["LW"]:])
    e_pv, e_idle = b(), b()
    e_p = Signal(intbv(0)[w["PB"] * B:])
    engine = attn_engine(clk, rst_run, tile_valid, tile_ready, tile_diag, tile_nk, tile_last,
                         tile_mant, tile_exp, q_valid, q_ready, q_data, q_mant, q_exp,
                         k_valid, k_ready, k_data, v_valid, v_ready, v_data,
                         e_ovalid, e_oready, e_odata, e_orow, e_olast, e_om, e_ol,
                         e_pv, e_p, e_idle, cfg, mpu_bus=mpu_bus)

    # ------------------------------------------------------------ Q scale codes
    # 24 bits: mantissa and the exponent's low byte (grp_attn rejects wider exponents)
    q_codes = [Signal(intbv(0)[24:]) for _ in range(NB)]
    q_block = Signal(intbv(0)[NBB:])       # the Q block the engine loads
    q_code = Signal(intbv(0)[24:])

    @always(clk.posedge)
    def code_write():
        if qc_we and qc_head == H:
            q_codes[qc_addr].next = qc_data[24:]

    @always_comb
    def code_read():
        q_code.next = q_codes[q_block]

    @always_comb
    def code_fields():
        q_mant.next = q_code[16:]
        q_exp.next = q_code[24:16].signed()

    # ------------------------------------------------------------ Q FIFO and unpack
    qf_pop, qf_empty = b(), b()
    qf_dout = Signal(intbv(0)[BUS:])
    q_fifo = kv_fifo(clk, rst, clr, q_push, q_din, qf_pop, qf_dout, None, qf_empty, None, Q_DEPTH, BUS)
    q_beat = Signal(intbv(0)[ROW_INDEX_BITS:])     # row of the Q block the engine takes next
    q_take = b()

    @always_comb
    def q_handshake():
        q_take.next = q_valid and q_ready

    @always_seq(clk.posedge, reset=rst_run)
    def q_rows():
        if q_take:
            if q_beat == B - 1:
                q_beat.next = 0
                q_block.next = q_block + 1
            else:
                q_beat.next = q_beat + 1

    insts = [engine, run_reset, code_write, code_read, code_fields, q_fifo, q_handshake, q_rows]
    if WORDS_PER_ROW == 1:
        # a bus word holds one or more rows: the engine takes them from the FIFO's head word
        q_part = Signal(intbv(0)[max(1, (ROWS_PER_WORD - 1).bit_length()):])

        @always_comb
        def q_unpack():
            q_valid.next = not qf_empty
            qf_pop.next = q_take and q_part == ROWS_PER_WORD - 1
            row = intbv(0)[ROW_BITS:]
            for i in range(ROW_BITS):
                row[i] = qf_dout[q_part * ROW_BITS + i]
            q_data.next = row

        @always_seq(clk.posedge, reset=rst_run)
        def q_next_part():
            if q_take:
                if q_part == ROWS_PER_WORD - 1:
                    q_part.next = 0
                else:
                    q_part.next = q_part + 1
        insts += [q_unpack, q_next_part]
    else:
        # a row spans several bus words: gathered into a register, the first word lowest
        q_row = Signal(intbv(0)[ROW_BITS:])
        q_words = Signal(intbv(0)[max(1, (WORDS_PER_ROW - 1).bit_length()):])
        q_row_full = b()

        @always_comb
        def q_gather_out():
            q_valid.next = q_row_full
            q_data.next = q_row
            qf_pop.next = not q_row_full and not qf_empty

        @always(clk.posedge)
        def q_gather():
            if rst or clr:
                q_row_full.next = False
                q_words.next = 0
            else:
                if q_take:
                    q_row_full.next = False
                if not q_row_full and not qf_empty:
                    q_row.next = concat(qf_dout, q_row[ROW_BITS:BUS])
                    if q_words == WORDS_PER_ROW - 1:
                        q_words.next = 0
                        q_row_full.next = True
                    else:
                        q_words.next = q_words + 1
        insts += [q_gather_out, q_gather]

    # ------------------------------------------------------------ Q burst requests
    # credit: FIFO words neither held nor requested; a burst is asked for only when it fits
    q_next_addr = Signal(intbv(0)[AB:])
    q_left = Signal(intbv(0)[32:])
    q_burst = Signal(intbv(0)[9:])
    q_credit = Signal(intbv(0, min=0, max=Q_DEPTH + 1))
    q_plan = grp_lane_bursts(clk, rst, clr, go, active, q_addr, q_stride, nb, q_issue, q_next_addr,
                             q_burst, q_left, H, Q_WORDS_PER_BLOCK, Q_MAX_BURST, BUS_BYTES)

    @always_comb
    def q_request():
        q_req.next = active and not abort and q_left != 0 and q_credit >= q_burst
        if q_cur == H:
            q_addr_out.next = q_addr_in | q_next_addr
            q_blen_out.next = q_blen_in | q_burst
        else:
            q_addr_out.next = q_addr_in
            q_blen_out.next = q_blen_in

    @always(clk.posedge)
    def q_credits():
        if rst or clr:
            q_credit.next = Q_DEPTH
        elif not go:
            if q_issue:
                if qf_pop:
                    q_credit.next = q_credit + 1 - q_burst
                else:
                    q_credit.next = q_credit - q_burst
            elif qf_pop:
                q_credit.next = q_credit + 1

    insts += [q_plan, q_request, q_credits]

    # ------------------------------------------------------------ O rows -> int32 words
    # The FIFO holds whole engine rows, so the engine hands a row over in one cycle and the
    # bus words are cut at the FIFO's head: the engine's O leaves as fast as it is made, not
    # at the bus rate, and a row in the FIFO never holds the engine back.
    o_wide = Signal(intbv(0)[32 * D:])         # the engine's row, each element sign-extended
    O_ROWS = O_DEPTH // O_WORDS_PER_ROW
    o_part = Signal(intbv(0)[max(1, (O_WORDS_PER_ROW - 1).bit_length()):])
    of_push, of_pop, of_full, of_empty = b(), b(), b(), b()
    of_count = Signal(intbv(0, min=0, max=O_ROWS + 1))
    of_dout = Signal(intbv(0)[32 * D:])
    o_word = Signal(intbv(0)[BUS:])
    o_words_held = Signal(intbv(0, min=0, max=O_DEPTH + 1))
    o_fifo = kv_fifo(clk, rst, clr, of_push, o_wide, of_pop, of_dout, of_full, of_empty, of_count,
                     O_ROWS, 32 * D)

    @always_comb
    def o_sign_extend():
        v = intbv(0)[32 * D:]
        for d in range(D):
            for j in range(32):
                if j < OUT_BITS:
                    v[32 * d + j] = e_odata[OUT_BITS * d + j]
                else:
                    v[32 * d + j] = e_odata[OUT_BITS * d + OUT_BITS - 1]
        o_wide.next = v

    o_expect = Signal(intbv(0)[ROW_INDEX_BITS:])

    @always_seq(clk.posedge, reset=rst_run)
    def o_check():
        # the engine's rows of a block leave in order 0..B-1 (never expected to fail)
        if e_ovalid and not of_full:
            if e_orow != o_expect or e_olast != (o_expect == B - 1):
                fault.next = True
            if o_expect == B - 1:
                o_expect.next = 0
            else:
                o_expect.next = o_expect + 1

    @always_comb
    def lane_idle():
        idle.next = e_idle and of_empty

    @always_comb
    def o_serialise_out():
        e_oready.next = not of_full
        of_push.next = e_ovalid and not of_full
        of_pop.next = o_pop and o_part == O_WORDS_PER_ROW - 1
        o_word.next = (of_dout >> (BUS * o_part)) & ((1 << BUS) - 1)
        o_words_held.next = of_count * O_WORDS_PER_ROW - o_part

    @always(clk.posedge)
    def o_serialise():
        if rst or clr:
            o_part.next = 0
        elif o_pop:
            if o_part == O_WORDS_PER_ROW - 1:
                o_part.next = 0
            else:
                o_part.next = o_part + 1

    # ------------------------------------------------------------ O burst requests
    o_next_addr = Signal(intbv(0)[AB:])
    o_left = Signal(intbv(0)[32:])
    o_burst = Signal(intbv(0)[9:])
    o_plan = grp_lane_bursts(clk, rst, clr, go, active, o_addr, o_stride, nb, o_issue, o_next_addr,
                             o_burst, o_left, H, B * O_WORDS_PER_ROW, O_MAX_BURST, BUS_BYTES)

    @always_comb
    def o_request():
        o_req.next = active and not abort and o_left != 0 and o_words_held >= o_burst
        o_done.next = o_left == 0
        if o_cur == H:
            o_word_out.next = o_word_in | o_word
            o_addr_out.next = o_addr_in | o_next_addr
            o_blen_out.next = o_blen_in | o_burst
        else:
            o_word_out.next = o_word_in
            o_addr_out.next = o_addr_in
            o_blen_out.next = o_blen_in

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

    insts += [o_fifo, o_check, lane_idle, o_sign_extend, o_serialise_out, o_serialise, o_plan,
              o_request, dbg]
    return insts
