"""Pooled per-row estimate of the index generator (``row_gamma``): block means of Q and K, pooled
logits, and per query block r the fewest key blocks c <= r that cover ``row_gamma`` of the row.

Bit-exact with ``golden.estimator_fixed.pooled_row_mask_fixed`` for one KV group (g query heads):

1. **means** (after ``start``): an own AXI read master (hdl/common/axi_rd.py) reads K blocks
   0..nb-1, then every block of the Q of the g heads (``q_addr + h*q_stride``), one command per
   block; each row is added into D block-sum registers (one row per cycle; a row wider than a
   beat is assembled from several beats first, as in hdl/index/fetch.py), and at a block's last
   row the means ``rshift_round(sum, log2 B - pool_bits)`` go into the K mean memory or the
   head's Q mean memory (a partial last block sums its rows only: the golden zero padding);
2. **one row** (``pr_start`` with ``pr_row`` = r, any order, once the means are in): every head
   at once, (a) for c = 0..r the pooled score ``qmean[h, r] . kmean[c]`` (D products), the
   logit ``scale_logits(s, mult, shift + 2*pool_bits)`` from the blocks' scale codes, into a
   logit buffer while the row max runs; (b) for c = 0..r, ``p = exp2_neg(x - ceil(max))``
   (hdl/attention/exp2.py with the estimator's widths) enters a sorted list (hdl/index/select.py,
   rising c, ties to the lower index: the golden stable order); (c) the list pops the fewest
   leading entries whose sum covers ``code / 2**GB`` of the row mass (min 1, no max) into an
   nb_max-bit map; the map is copied to the head's output row (the second buffer) and
   ``pr_done`` pulses.  (a) and (b) are the front, (c) the back of a two-stage row pipeline:
   the front takes the next row (``pr_busy`` low) while the back still pops, and waits for the
   back only before its own inserts.  A row's result replaces the output rows at its own
   ``pr_done``, so a reader has until the next ``pr_done`` to read row r.

Cycles per row: about ``2 (r + 1) + 12`` back to back (the pop hides under the next row's
score sweep), latency ``2 (r + 1) + kept + ~16``; the same for every head (heads in parallel).

Memories: K means ``nb_max x D*PMW`` bits, Q means ``g_max x nb_max x D*PMW``, scale codes
``(g_max + 1) x nb_max x 32``, per head a logit buffer ``nb_max x LB`` and the selector's sorted
list ``nb_max x (ACC + IW)``; all O(nb) per head, no B x L buffer.

Ports (``clk`` rising edge, ``rst`` synchronous active high)
    start                  pulse: load the means of one KV group (ignored while busy)
    seq_len [32], group [8], k_addr, q_addr [AB], q_stride [32]   as in hdl/index/sig.py
    pr_code [32]           the row_gamma code (1..2**GB, golden gamma_code), sampled at start
    pq_we, pq_head [8], pq_blk [IW], pq_data [32]   Q scale code of (head, block):
                           mant [15:0], exp [31:16] signed (golden.quant codes)
    pk_we, pk_blk [IW], pk_data [32]                 K scale code of a block
    busy, done, err [3]    the means load (done stays high until the next start); err as
                           hdl.index.params.ERR_* (L = 0, L too big, g, alignment, AXI, and
                           ERR_SEL for a code outside 1..2**GB); rows are refused unless
                           done and err = 0
    m_axi_ar*, m_axi_r*    AXI4 read master (64-bit address, INCR, as hdl/index/sig.py)
    pr_start, pr_row [IW]  pulse: compute row r for all g heads (ignored while a row runs)
    pr_busy, pr_done       the front of a row runs (pr_start is taken while low, possibly
                           before the previous row's pr_done); pulse when a row's result is in
                           the output rows (one pulse per request, in request order)
    pr_err                 the last pr_start was refused (means not loaded, or r >= nb);
                           pr_done still pulses (after the previous row's), the output rows
                           are then left unchanged
    pr_rd_head [HIW], pr_rd_blk [IW] -> pr_bit   output row of a head (combinational)
    pr_word [NBMAX]        the whole output row of head pr_rd_head (bit c = block c; combinational)
    pr_cycles [32]         latency of the last finished row (pr_start to pr_done)
Parameters: ``cfg`` (AcceleratorConfig).
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv

from hdl.attention.exp2 import attn_exp2
from hdl.config import AcceleratorConfig
from hdl.common.axi_rd import sig_axi_rd
from hdl.index.params import (ERR_ALIGN, ERR_AXI, ERR_GROUP, ERR_L_BIG, ERR_L_ZERO, ERR_SEL, exp_cfg,
                            params_for, sig_widths)
from hdl.index.select import sig_select

UNIT_NAME = "sig_pool"

L_IDLE, L_RUN, L_DRAIN, L_DONE = range(4)
R_IDLE, R_SCORE, R_WAIT, R_EXP, R_REFUSE = range(5)
B_IDLE, B_SEL, B_COPY = range(3)


def _s(bits: int, signed: bool = False, val: int = 0) -> Signal:
    if signed:
        return Signal(intbv(val, min=-(1 << (bits - 1)), max=1 << (bits - 1)))
    return Signal(intbv(val)[bits:])


def pool_widths(cfg: AcceleratorConfig) -> dict:
    """sig_widths plus the pooled-estimate widths (golden EstimatorWidths pool_mean/pool_score)."""
    from hdl.numerics import EstimatorWidths
    w = dict(sig_widths(cfg))
    p = params_for(cfg)
    ew = EstimatorWidths.derive(cfg, p)
    LOGB = cfg.block.bit_length() - 1
    w.update(POOL=p.pool_bits, PMW=ew.pool_mean, PSW=ew.pool_score,
             MSH=LOGB - p.pool_bits,                 # mean = rshift_round(sum, MSH) (< 0: left)
             BSW=8 + LOGB + 1)                       # signed block sum of B int8 values
    return w


@block
def _qmem(clk, wr, wr_t, wr_c, wr_word, rd_c, rd_word, mem, t):
    """One mean memory (tensor ``t``: 0 = K, h + 1 = Q of head h): write port, registered read."""
    @always(clk.posedge)
    def port():
        if wr and wr_t == t:
            mem[wr_c].next = wr_word
        rd_word.next = mem[rd_c]
    return port


@block
def _codes(clk, we, sel, addr, data, rd_a, rd_d, mem, t):
    """One scale-code memory (sel == t), registered read."""
    @always(clk.posedge)
    def port():
        if we and sel == t:
            mem[addr].next = data
        rd_d.next = mem[rd_a]
    return port


@block
def _head(clk, rst, qrow, kmean, qcode, kcode, a_v, a_c, a_first, b_v, b_c, sel_clr, sel_go,
          code, sel_idle, bm, cfg):
    """One head's row datapath: pooled score, logit, logit buffer + row max, exp2, selector.

    ``a_v``/``a_c``: the K mean word ``kmean`` and code ``kcode`` of block a_c are on their
    inputs (registered reads); ``b_v``/``b_c``: read the logit buffer at b_c (exp phase).
    """
    w = pool_widths(cfg)
    D, PMW, PSW, MB, LB, F, E, MX = w["D"], w["PMW"], w["PSW"], w["MB"], w["LB"], w["F"], w["E"], w["MX"]
    NBMAX, IW, ACC, NBW, POOL = w["NBMAX"], w["IW"], w["ACC"], w["NBW"], w["POOL"]
    DROP = 32 - MB
    PW = PSW + MB + 2                     # signed product s * mult
    YW = PW + LB + 2                      # after a left shift (absurd scales)
    LMAX, LMIN = (1 << (LB - 1)) - 1, -(1 << (LB - 1))
    PMASK = (1 << PMW) - 1
    PHALF = 1 << (PMW - 1)
    XMASK = (1 << LB) - 1
    FM = (1 << F) - 1

    dot = _s(PSW, True)
    mult = _s(MB + 1, True)
    shf = _s(w["SHW"] + 1, True)
    s2_v, s3_v = Signal(bool(0)), Signal(bool(0))
    s2_c, s3_c = _s(IW), _s(IW)
    s2_f, s3_f = Signal(bool(0)), Signal(bool(0))
    prod = _s(PW, True)
    sh2 = _s(w["SHW"] + 1, True)
    xbuf = [Signal(intbv(0)[LB:]) for _ in range(NBMAX)]
    xmax = _s(LB, True)
    mrow = _s(MX, True)
    xr = _s(LB)
    e1_v, e2_v = Signal(bool(0)), Signal(bool(0))
    e1_c, e2_c = _s(IW), _s(IW)
    zero_col, zero_diag = _s(1), Signal(bool(0))
    one_nk = Signal(intbv(1, min=0, max=2))
    pe = _s(E)
    ins_val = _s(ACC)
    one, zero16 = _s(16, val=1), _s(16)

    @always(clk.posedge)
    def score():
        # stage a -> s2: D products of the means, the tile-scale multiplier and shift
        acc = intbv(0, min=-(1 << (PSW - 1)), max=1 << (PSW - 1))
        qv = intbv(0, min=-PHALF, max=PHALF)
        kv = intbv(0, min=-PHALF, max=PHALF)
        qm = intbv(0)[16:]
        km = intbv(0)[16:]
        qe = intbv(0, min=-(1 << 15), max=1 << 15)
        ke = intbv(0, min=-(1 << 15), max=1 << 15)
        pr = intbv(0)[33:]
        for d in range(D):
            qv[:] = ((qrow >> (PMW * d)) & PMASK) - (((qrow >> (PMW * d + PMW - 1)) & 1) << PMW)
            kv[:] = ((kmean >> (PMW * d)) & PMASK) - (((kmean >> (PMW * d + PMW - 1)) & 1) << PMW)
            acc[:] = acc + qv * kv
        dot.next = acc
        qm[:] = qcode[16:0]
        km[:] = kcode[16:0]
        qe[:] = qcode[32:16].signed()
        ke[:] = kcode[32:16].signed()
        pr[:] = qm * km
        mult.next = ((pr >> (DROP - 1)) + 1) >> 1
        # the means carry pool_bits extra fraction bits each: the golden lowers both exponents
        shf.next = -(qe + ke + DROP + F) + 2 * POOL
        s2_v.next = a_v and not rst
        s2_c.next = a_c
        s2_f.next = a_first

    @always(clk.posedge)
    def logit1():
        prod.next = dot * mult
        sh2.next = shf
        s3_v.next = s2_v and not rst
        s3_c.next = s2_c
        s3_f.next = s2_f

    @always(clk.posedge)
    def logit2():
        y = intbv(0, min=-(1 << (YW - 1)), max=1 << (YW - 1))
        if sh2 >= 0:
            if sh2 == 0:
                y[:] = prod
            elif sh2 >= PW:
                y[:] = 0
            else:
                y[:] = ((prod >> (sh2 - 1)) + 1) >> 1
        else:
            if -sh2 > LB:
                y[:] = prod << LB
            else:
                y[:] = prod << (-sh2)
        if y > LMAX:
            y[:] = LMAX
        elif y < LMIN:
            y[:] = LMIN
        if s3_v:
            xbuf[s3_c].next = y & XMASK
            if s3_f or y > xmax:
                xmax.next = y

    @always_comb
    def rowmax():
        mrow.next = (xmax + FM) >> F

    @always(clk.posedge)
    def exp_read():
        xr.next = xbuf[b_c]
        e1_v.next = b_v and not rst
        e1_c.next = b_c
        e2_v.next = e1_v and not rst
        e2_c.next = e1_c

    @always_comb
    def consts():
        zero_col.next = 0
        zero_diag.next = 0
        one_nk.next = 1
        one.next = 1
        zero16.next = 0
        ins_val.next = pe

    # xr is valid in the cycle after b_v (e1_v); the exp2 unit registers twice: p in e1 + 2
    e3_v, e3_c = Signal(bool(0)), _s(IW)

    @always(clk.posedge)
    def exp_out():
        e3_v.next = e2_v and not rst
        e3_c.next = e2_c

    ex = attn_exp2(clk, xr, mrow, zero_col, zero_diag, one_nk, pe, row=cfg.block - 1, cfg=exp_cfg(cfg))
    sel = sig_select(clk, rst, sel_clr, e3_v, ins_val, e3_c, sel_go, code, one, zero16, zero16, None,
                     sel_idle, None, None, None, new_first=0, cfg=cfg, bm_out=bm, emit=False)
    return score, logit1, logit2, rowmax, exp_read, consts, exp_out, ex, sel


@block
def sig_pool(clk, rst, start, seq_len, group, k_addr, q_addr, q_stride, pr_code,
             pq_we, pq_head, pq_blk, pq_data, pk_we, pk_blk, pk_data,
             busy, done, err,
             m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst, m_axi_arvalid,
             m_axi_arready, m_axi_rid, m_axi_rdata, m_axi_rresp, m_axi_rlast, m_axi_rvalid, m_axi_rready,
             pr_start, pr_row, pr_busy, pr_done, pr_err, pr_rd_head, pr_rd_blk, pr_bit, pr_word, pr_cycles, cfg):
    w = pool_widths(cfg)
    B, D, G, NBMAX, AB, AXW = w["B"], w["D"], w["G"], w["NBMAX"], w["AB"], w["AXW"]
    RPB, BPR, NBW, IW, HB, GB = w["RPB"], w["BPR"], w["NBW"], w["IW"], w["HB"], w["GB"]
    PMW, BSW, MSH = w["PMW"], w["BSW"], w["MSH"]
    RW = 8 * D
    BW = max(AXW, RW)
    LOGB = B.bit_length() - 1
    LOG_RPB = RPB.bit_length() - 1
    LOG_BPR = BPR.bit_length() - 1
    LOG_BLK = (B * D).bit_length() - 1
    AMASK = (1 << AB) - 1
    RMASK = (1 << RW) - 1
    BEAT_MASK = cfg.axi_bytes - 1
    BSMASK = (1 << BSW) - 1
    PMASK = (1 << PMW) - 1
    b = lambda: Signal(bool(0))  # noqa: E731

    # ------------------------------------------------------------ registers of a load
    lstate = Signal(intbv(L_DONE, min=0, max=4))
    okr = b()                       # means loaded without error
    nb = _s(NBW)
    bq = Signal(intbv(0, min=0, max=B + 1))
    gr = _s(HB)
    kar, qar, qsr = _s(AB), _s(AB), _s(32)
    coder = _s(32)

    # ------------------------------------------------------------ AXI + command side
    cmd_valid, cmd_ready = b(), b()
    cmd_addr, cmd_beats = _s(AB), _s(16)
    bt_valid, bt_ready, bt_data = b(), b(), _s(AXW)
    axi_err, axi_idle = b(), b()
    insts = [sig_axi_rd(clk, rst, cmd_valid, cmd_ready, cmd_addr, cmd_beats,
                        m_axi_arid, m_axi_araddr, m_axi_arlen, m_axi_arsize, m_axi_arburst, m_axi_arvalid,
                        m_axi_arready, m_axi_rid, m_axi_rdata, m_axi_rresp, m_axi_rlast, m_axi_rvalid,
                        m_axi_rready, bt_valid, bt_ready, bt_data, axi_err, axi_idle, cfg=cfg)]
    a_on = b()
    a_t = Signal(intbv(0, min=0, max=G + 2))
    a_c = Signal(intbv(0, min=0, max=NBMAX + 1))

    # ------------------------------------------------------------ data side
    w_valid, w_ready, w_data = b(), b(), _s(BW)
    acc_w = _s(BW)
    acnt = Signal(intbv(0, min=0, max=BPR + 1))
    bv = b()
    bdata = _s(BW)
    sub = Signal(intbv(0, min=0, max=RPB + 1))
    d_on = b()
    d_t = Signal(intbv(0, min=0, max=G + 2))
    d_c = Signal(intbv(0, min=0, max=NBMAX + 1))
    d_j = Signal(intbv(0, min=0, max=B + 1))
    nrows = Signal(intbv(0, min=0, max=B + 1))
    free = b()
    row = _s(RW)
    sums = [Signal(intbv(0, min=-(1 << (BSW - 1)), max=1 << (BSW - 1))) for _ in range(D)]
    wr, wr_t, wr_c, wr_word = b(), Signal(intbv(0, min=0, max=G + 2)), _s(IW), _s(D * PMW)
    last_wr = b()

    # ------------------------------------------------------------ memories
    rd_c = _s(IW)                   # K mean / K code read address (row phase a)
    kword = _s(D * PMW)
    kcode = _s(32)
    qwords = [_s(D * PMW) for _ in range(G)]
    qcodes = [_s(32) for _ in range(G)]
    rr = _s(IW)                     # the row being computed
    mems = [[Signal(intbv(0)[D * PMW:]) for _ in range(NBMAX)] for _ in range(G + 1)]
    cmems = [[Signal(intbv(0)[32:]) for _ in range(NBMAX)] for _ in range(G + 1)]
    pq_sel = Signal(intbv(0, min=0, max=256 + 1))
    kc_sel = Signal(intbv(0, min=0, max=1))
    insts.append(_qmem(clk, wr, wr_t, wr_c, wr_word, rd_c, kword, mems[0], t=0))
    insts.append(_codes(clk, pk_we, kc_sel, pk_blk, pk_data, rd_c, kcode, cmems[0], t=0))
    for h in range(G):
        insts.append(_qmem(clk, wr, wr_t, wr_c, wr_word, rr, qwords[h], mems[h + 1], t=h + 1))
        insts.append(_codes(clk, pq_we, pq_sel, pq_blk, pq_data, rr, qcodes[h], cmems[h + 1], t=h + 1))

    # ------------------------------------------------------------ row control + heads
    rstate = Signal(intbv(R_IDLE, min=0, max=5))
    bstate = Signal(intbv(B_IDLE, min=0, max=3))
    fcyc, bcyc = _s(32), _s(32)
    a_on_r = b()                     # phase a issuing (address rd_c)
    a_v = b()
    a_cr = _s(IW)
    a_first = b()
    b_v = b()
    b_c = _s(IW)
    wcnt = Signal(intbv(0, min=0, max=16))
    sel_clr, sel_go = b(), b()
    sel_idle = [b() for _ in range(G)]
    bms = [_s(NBMAX) for _ in range(G)]
    outs = [_s(NBMAX) for _ in range(G)]
    cyc = _s(32)
    for h in range(G):
        insts.append(_head(clk, rst, qwords[h], kword, qcodes[h], kcode, a_v, a_cr, a_first, b_v, b_c,
                           sel_clr, sel_go, coder, sel_idle[h], bms[h], cfg=cfg))
    idle_cat = ConcatSignal(*sel_idle) if G > 1 else sel_idle[0]
    out_cat = ConcatSignal(*reversed(outs)) if G > 1 else outs[0]

    @always_comb
    def wiring():
        busy.next = lstate == L_RUN or lstate == L_DRAIN
        done.next = lstate == L_DONE
        pr_busy.next = rstate != R_IDLE
        pr_bit.next = (out_cat >> (NBMAX * pr_rd_head + pr_rd_blk)) & 1
        pr_word.next = (out_cat >> (NBMAX * pr_rd_head)) & ((1 << NBMAX) - 1)
        pr_cycles.next = cyc
        pq_sel.next = pq_head + 1
        kc_sel.next = 0

    # ------------------------------------------------------------ load: command side
    @always_comb
    def command():
        cmd_valid.next = a_on
        if a_t == 0:
            cmd_addr.next = (kar + (a_c << LOG_BLK)) & AMASK
        else:
            cmd_addr.next = (qar + (a_t - 1) * qsr + (a_c << LOG_BLK)) & AMASK
        if a_c == nb - 1:
            cmd_beats.next = ((bq << LOG_BPR) + RPB - 1) >> LOG_RPB
        else:
            cmd_beats.next = (B * BPR) // RPB

    @always(clk.posedge)
    def command_seq():
        if rst:
            a_on.next = 0
        elif lstate == L_IDLE:
            a_t.next = 0
            a_c.next = 0
            a_on.next = 1
        elif lstate != L_RUN:
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

    # ------------------------------------------------------------ load: beats -> rows
    @always_comb
    def beat_pass():
        w_valid.next = bt_valid
        w_data.next = bt_data
        bt_ready.next = w_ready

    @always_comb
    def asm_comb():
        w_valid.next = acnt == BPR
        w_data.next = acc_w
        bt_ready.next = acnt != BPR or w_ready

    @always(clk.posedge)
    def asm_seq():
        if rst or lstate != L_RUN:
            acnt.next = 0
        else:
            if bt_valid and (acnt != BPR or w_ready):
                acc_w.next = (bt_data << (BW - AXW)) | (acc_w >> AXW)
                if acnt == BPR:
                    acnt.next = 1
                else:
                    acnt.next = acnt + 1
            elif acnt == BPR and w_ready:
                acnt.next = 0

    @always_comb
    def data_comb():
        if d_c == nb - 1:
            nrows.next = bq
        else:
            nrows.next = B
        free.next = bv and (sub == RPB - 1 or d_j == nrows - 1)
        w_ready.next = not bv or free
        row.next = (bdata >> (RW * sub)) & RMASK

    @always(clk.posedge)
    def data_seq():
        ev = intbv(0, min=-128, max=128)
        sm = intbv(0, min=-(1 << (BSW - 1)), max=1 << (BSW - 1))
        mn = intbv(0, min=-(1 << (BSW + 8)), max=1 << (BSW + 8))
        word = intbv(0)[D * PMW:]
        wr.next = 0
        if rst or lstate != L_RUN:
            bv.next = 0
            d_on.next = lstate == L_IDLE and not rst
            d_t.next = 0
            d_c.next = 0
            d_j.next = 0
            sub.next = 0
            last_wr.next = 0
        else:
            if w_valid and (not bv or free):
                bv.next = 1
                bdata.next = w_data
            elif free:
                bv.next = 0
            if bv and d_on:
                # one row per cycle: add it into the block sums; the block's last row writes means
                for d in range(D):
                    ev[:] = ((row >> (8 * d)) & 0xFF) - (((row >> (8 * d + 7)) & 1) << 8)
                    if d_j == 0:
                        sm[:] = ev
                    else:
                        sm[:] = sums[d] + ev
                    sums[d].next = sm
                    if MSH > 0:
                        mn[:] = (sm + (1 << (MSH - 1))) >> MSH
                    elif MSH == 0:
                        mn[:] = sm
                    else:
                        mn[:] = sm << (-MSH)
                    word[:] = word | ((mn & PMASK) << (PMW * d))
                wr_word.next = word
                wr_t.next = d_t
                wr_c.next = d_c
                if free:
                    sub.next = 0
                else:
                    sub.next = sub + 1
                if d_j == nrows - 1:
                    wr.next = 1
                    d_j.next = 0
                    sub.next = 0
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

    # ------------------------------------------------------------ load FSM
    @always(clk.posedge)
    def load_fsm():
        nbv = intbv(0)[33:]
        if rst:
            lstate.next = L_DONE
            okr.next = 0
            err.next = 0
        elif lstate == L_IDLE:
            lstate.next = L_RUN
        elif lstate == L_RUN:
            if last_wr:
                lstate.next = L_DRAIN
        elif lstate == L_DRAIN:
            if axi_idle:
                lstate.next = L_DONE
                if axi_err:
                    err.next = ERR_AXI
                else:
                    okr.next = 1
        elif start and rstate == R_IDLE:
            nbv[:] = (seq_len + B - 1) >> LOGB
            nb.next = nbv[NBW:]
            bq.next = seq_len - ((nbv - 1) << LOGB)
            gr.next = group[HB:]
            kar.next = k_addr
            qar.next = q_addr
            qsr.next = q_stride
            coder.next = pr_code
            okr.next = 0
            lstate.next = L_DONE
            if seq_len == 0:
                err.next = ERR_L_ZERO
            elif seq_len > cfg.max_seq_len:
                err.next = ERR_L_BIG
            elif group == 0 or group > G:
                err.next = ERR_GROUP
            elif (k_addr & BEAT_MASK) != 0 or (q_addr & BEAT_MASK) != 0 or (q_stride & BEAT_MASK) != 0:
                err.next = ERR_ALIGN
            elif pr_code == 0 or pr_code > (1 << GB):
                err.next = ERR_SEL
            else:
                err.next = 0
                lstate.next = L_IDLE

    # ------------------------------------------------------------ row FSM
    @always(clk.posedge)
    def row_fsm():
        sel_clr.next = 0
        sel_go.next = 0
        pr_done.next = 0
        a_v.next = a_on_r and not rst
        a_cr.next = rd_c
        a_first.next = rd_c == 0
        if rst:
            rstate.next = R_IDLE
            bstate.next = B_IDLE
            a_on_r.next = 0
            b_v.next = 0
            pr_err.next = 0
            cyc.next = 0
        else:
            # ---- front: score sweep, exp sweep (the selector's inserts) of the row rr
            if rstate != R_IDLE:
                fcyc.next = fcyc + 1
            if rstate == R_IDLE:
                if pr_start:
                    fcyc.next = 1
                    if lstate == L_DONE and okr and pr_row < nb:
                        rr.next = pr_row
                        pr_err.next = 0
                        rd_c.next = 0
                        a_on_r.next = 1
                        rstate.next = R_SCORE
                    else:
                        rstate.next = R_REFUSE
            elif rstate == R_SCORE:
                # rd_c walks 0..r (the Q mean/code of row r were read at the previous edge)
                if rd_c == rr:
                    a_on_r.next = 0
                    wcnt.next = 4
                    rstate.next = R_WAIT
                else:
                    rd_c.next = rd_c + 1
            elif rstate == R_WAIT:
                # the last logit lands in the buffer and the row max settles; the selector must
                # have handed the previous row's map to the output rows (back idle) before clr
                if wcnt != 0:
                    wcnt.next = wcnt - 1
                elif bstate == B_IDLE:
                    sel_clr.next = 1
                    b_c.next = 0
                    b_v.next = 1
                    rstate.next = R_EXP
            elif rstate == R_EXP:
                if b_v:
                    if b_c == rr:
                        b_v.next = 0
                        wcnt.next = 5
                    else:
                        b_c.next = b_c + 1
                elif wcnt == 0:
                    # hand the row to the back (pop + copy); the front takes the next row
                    sel_go.next = 1
                    bcyc.next = fcyc + 1
                    bstate.next = B_SEL
                    rstate.next = R_IDLE
                else:
                    wcnt.next = wcnt - 1
            else:
                # a refused request answers after the row in the back has answered
                if bstate == B_IDLE:
                    pr_err.next = 1
                    pr_done.next = 1
                    rstate.next = R_IDLE
            # ---- back: pop the kept blocks, copy the map to the output rows
            if bstate != B_IDLE:
                bcyc.next = bcyc + 1
            if bstate == B_SEL:
                if idle_cat == (1 << G) - 1 and not sel_go:
                    bstate.next = B_COPY
            elif bstate == B_COPY:
                for h in range(G):
                    outs[h].next = bms[h]
                pr_done.next = 1
                cyc.next = bcyc
                bstate.next = B_IDLE

    return (insts, wiring, command, command_seq, beat_pass if BPR == 1 else asm_comb,
            asm_seq, data_comb, data_seq, load_fsm, row_fsm)


def ports(cfg: AcceleratorConfig) -> dict:
    """Fresh signals for every port of the unit (for conversion and benches)."""
    w = pool_widths(cfg)
    b = lambda: Signal(bool(0))  # noqa: E731
    AB = w["AB"]
    return dict(
        clk=b(), rst=b(), start=b(), seq_len=_s(32), group=_s(8), k_addr=_s(AB), q_addr=_s(AB),
        q_stride=_s(32), pr_code=_s(32), pq_we=b(), pq_head=_s(8), pq_blk=_s(w["IW"]), pq_data=_s(32),
        pk_we=b(), pk_blk=_s(w["IW"]), pk_data=_s(32), busy=b(), done=b(), err=_s(3),
        m_axi_arid=_s(1), m_axi_rid=_s(1), m_axi_araddr=_s(AB), m_axi_arlen=_s(8), m_axi_arsize=_s(3),
        m_axi_arburst=_s(2), m_axi_arvalid=b(), m_axi_arready=b(), m_axi_rdata=_s(w["AXW"]),
        m_axi_rresp=_s(2), m_axi_rlast=b(), m_axi_rvalid=b(), m_axi_rready=b(),
        pr_start=b(), pr_row=_s(w["IW"]), pr_busy=b(), pr_done=b(), pr_err=b(),
        pr_rd_head=_s(w["HIW"]), pr_rd_blk=_s(w["IW"]), pr_bit=b(), pr_word=_s(w["NBMAX"]),
        pr_cycles=_s(32))


def top(cfg: AcceleratorConfig):
    """The unit to convert for ``cfg`` (used by :mod:`hdl.convert`)."""
    return sig_pool(**ports(cfg), cfg=cfg)
