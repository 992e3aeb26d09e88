"""Sparse attention engine: QK on the MPU, fixed-point online softmax, PV on the MPU, normalise.

Processes a stream of (head, query block) rows, tile after tile, bit-exact with
``golden.fixed_attention.fixed_attention_tile_reference``.  docs/attention_engine.md has the
port tables, the pipeline and the cycle counts; in short:

Inputs (valid/ready streams; a beat moves when both are high)
    tile_*   one descriptor per kept tile, in processing order (key blocks ascending within
             a row): ``tile_diag`` (causal mask inside: key j valid for query i iff j <= i),
             ``tile_nk`` (valid keys 1..B; keys past the sequence end are masked),
             ``tile_last`` (the row's last tile), ``tile_mant``/``tile_exp`` (K scale code)
    q_*      the Q block of a row: B beats of ``q_data`` (D int8, element d at bits
             [8d+7:8d]), consumed before the row's first tile; ``q_mant``/``q_exp`` (the
             row's Q scale code, log2(e)/sqrt(D) folded in) are sampled on the first beat
    k_*      B key rows per tile (``k_data``), streamed into the MPU (QK mode)
    v_*      B value rows per tile (``v_data``), streamed into the MPU (PV mode)
             K/V rows past the sequence end (partial last block) are don't-care.
Outputs
    o_*      B beats per row: ``o_data`` (D signed ``out_bits`` elements, ``o_frac_bits``
             fractional bits, units of V's int8 code), ``o_row`` (0..B-1), ``o_last``,
             ``o_m`` (final row max, signed ``max_bits``), ``o_l`` (final row sum,
             ``acc_l_bits``).  Rows at or past the sequence end are padding.
    dbg_p_valid, dbg_p   the P column of every PV beat the MPU accepts (observation only)
    idle     nothing in flight
``clk`` rising edge, ``rst`` synchronous active high.  Parameters: ``cfg``.

Dataflow: QK issue (tile descriptor, Q load through the MPU's load port, B key beats) ->
score capture (logit scaling, tile max, logits into x bank b) -> softmax sweep (P = exp2,
row sums, P into P bank b) -> PV issue (P column + value row per beat) -> MPU drain ->
merge into the row state (O, m, l) -> on the row's last tile, the divider per row and the
output normalisation.  Two x banks and two P banks let the MPU run QK of tile t+1 while the
softmax of tile t runs, and mix QK and PV beats (PV first) so that it never waits in steady
state.
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv

from hdl.numerics import score_bits, tile_bits
from hdl.numerics import SCALE_MANT_BITS
from hdl.attention.div import attn_div
from hdl.attention.exp2 import attn_exp2
from hdl.attention.logit import attn_logit
from hdl.attention.norm import attn_norm
from hdl.attention.rescale import attn_rescale
from hdl.attention.rowsum import attn_rowsum
from hdl.attention.tilemax import attn_tilemax
from hdl.config import AcceleratorConfig, ConfigError
from hdl.mpu.mpu import mpu, row_bits

UNIT_NAME = "attn_engine"

#: signed width of the scale-code exponents on the ports
EXP_BITS = 8

QST_DESC, QST_PREP, QST_LOADQ, QST_ISSUE = 0, 1, 2, 3


def _sbits(lo: int, hi: int) -> int:
    n = 1
    while not (-(1 << (n - 1)) <= lo and hi <= (1 << (n - 1)) - 1):
        n += 1
    return n


def widths(cfg: AcceleratorConfig) -> dict:
    """Port and datapath widths of the engine for ``cfg``."""
    if not isinstance(cfg, AcceleratorConfig):
        raise ConfigError(f"cfg: expected an AcceleratorConfig, got {type(cfg).__name__}")
    B, N = cfg.block, cfg.norm_bits
    return {
        "B": B, "D": cfg.head_dim, "PB": cfg.p_bits, "LB": cfg.logit_bits,
        "MB": cfg.logit_mult_bits, "MX": cfg.max_bits, "TL": cfg.tile_l_bits,
        "AW": cfg.acc_o_bits, "LW": cfg.acc_l_bits, "OB": cfg.out_bits,
        "SW": score_bits(cfg.head_dim), "TW": tile_bits(B, cfg.p_bits),
        "RB": row_bits(B), "NKB": B.bit_length(), "EXP": EXP_BITS,
        "SHB": _sbits(-(cfg.acc_l_bits + N + 1), cfg.acc_l_bits + N),
        "PWL": score_bits(cfg.head_dim) + cfg.logit_mult_bits + 1,
    }


def _sig(bits: int, signed: bool = False, val: int = 0) -> Signal:
    if signed:
        return Signal(intbv(val, min=-(1 << (bits - 1)), max=1 << (bits - 1)))
    return Signal(intbv(val)[bits:])


@block
def attn_engine(clk, rst,
                tile_valid, tile_ready, tile_diag, tile_nk, tile_last, tile_mant, tile_exp,
                q_valid, q_ready, q_data, q_mant, q_exp,
                k_valid, k_ready, k_data,
                v_valid, v_ready, v_data,
                o_valid, o_ready, o_data, o_row, o_last, o_m, o_l,
                dbg_p_valid, dbg_p, idle, cfg):
    w = widths(cfg)
    B, D, PB, LB, MB = w["B"], w["D"], w["PB"], w["LB"], w["MB"]
    MX, TL, AW, LW, SW, TW, RB = w["MX"], w["TL"], w["AW"], w["LW"], w["SW"], w["TW"], w["RB"]
    NKB, SHB, PWL, OB = w["NKB"], w["SHB"], w["PWL"], w["OB"]
    F, E, SMAX, R = cfg.score_frac_bits, cfg.acc_frac_bits, cfg.rescale_shift_max, cfg.recip_bits
    DROP = 2 * SCALE_MANT_BITS - MB
    BM = B - 1
    b = lambda: Signal(bool(0))  # noqa: E731

    # ---------------------------------------------------------------- MPU
    mi_valid, mi_ready, mi_mode, mi_last = b(), b(), b(), b()
    mi_x, mi_p = _sig(8 * D), _sig(PB * B)
    ml_valid, ml_row, ml_data = b(), _sig(RB), _sig(8 * D)
    ms_valid, ms_ready, ms_data, ms_last = b(), b(), _sig(SW * B), b()
    mt_valid, mt_ready, mt_data, mt_row, mt_last = b(), b(), _sig(TW * D), _sig(RB), b()
    m_idle = b()
    insts = [mpu(clk, rst, mi_valid, mi_ready, mi_mode, mi_last, mi_x, mi_p,
                 ml_valid, ml_row, ml_data, ms_valid, ms_ready, ms_data, ms_last,
                 mt_valid, mt_ready, mt_data, mt_row, mt_last, m_idle, cfg)]

    # ---------------------------------------------------------------- QK issue state
    qst = Signal(intbv(0, min=0, max=4))
    need_q, xi_bank, d_diag, d_last, d_first = b(), b(), b(), b(), b()
    d_nk = _sig(NKB)
    qk_j, ld_cnt = _sig(RB), _sig(RB)
    kmant, qmant = _sig(SCALE_MANT_BITS, val=1 << 15), _sig(SCALE_MANT_BITS, val=1 << 15)
    kexp, qexp = _sig(EXP_BITS, True), _sig(EXP_BITS, True)
    mult_r = _sig(MB)
    lsh_r = Signal(intbv(0, min=0, max=LB + 1))
    rsh_r = Signal(intbv(0, min=0, max=PWL + 1))
    sh0, sh1 = b(), b()                     # QK beat in MPU stage 0 / 1 (they read Q)
    # x-bank info (two banks)
    xmult = [_sig(MB) for _ in range(2)]
    xlsh = [Signal(intbv(0, min=0, max=LB + 1)) for _ in range(2)]
    xrsh = [Signal(intbv(0, min=0, max=PWL + 1)) for _ in range(2)]
    xdiag, xlast, xfirst = [b() for _ in range(2)], [b() for _ in range(2)], [b() for _ in range(2)]
    xnk = [_sig(NKB) for _ in range(2)]
    xfree, xcap, pfree, pready = _sig(2, val=3), _sig(2), _sig(2, val=3), _sig(2)
    # p-bank info
    pdiag, plast, pfirst = [b() for _ in range(2)], [b() for _ in range(2)], [b() for _ in range(2)]
    pnk = [_sig(NKB) for _ in range(2)]

    # ---------------------------------------------------------------- capture
    s_reg = _sig(SW * B)
    c0v, c0bank, c0last, c1v, c1bank, c1last, c2v, c2bank, c2last = (b() for _ in range(9))
    ccol, c0col, c1col, c2col = _sig(RB), _sig(RB), _sig(RB), _sig(RB)
    cbank = b()
    mult_c0 = _sig(MB + 1, True)            # signed (never negative): a signed multiply
    lsh_c1 = Signal(intbv(0, min=0, max=LB + 1))
    rsh_c1 = Signal(intbv(0, min=0, max=PWL + 1))
    diag_c2, nk_c2 = b(), _sig(NKB)
    xs = [_sig(LB, True) for _ in range(B)]
    x_cat = ConcatSignal(*reversed(xs))
    xbuf = [_sig(B * LB) for _ in range(2 * B)]

    # ---------------------------------------------------------------- sweep
    sw_act, sw_bank = b(), b()
    sw_col = _sig(RB)
    xr = _sig(B * LB)
    s1v, s1bank, s2v, s2bank, s3v, s3bank = (b() for _ in range(6))
    s1col, s2col, s3col = _sig(RB), _sig(RB), _sig(RB)
    diag_s1, nk_s1 = b(), _sig(NKB)
    mts = [_sig(MX, True) for _ in range(B)]
    ps = [_sig(PB) for _ in range(B)]
    p_cat = ConcatSignal(*reversed(ps))
    pbuf = [_sig(B * PB) for _ in range(2 * B)]
    mt_we, rs_add, rs_first = b(), b(), b()

    # ---------------------------------------------------------------- PV issue
    pv_bank, p_ok = b(), b()
    pv_j = _sig(RB)
    p_cur = _sig(B * PB)
    pv_go = b()

    # ---------------------------------------------------------------- merge
    mb = b()
    m1v, first_rd, last_rd, mbank_rd = b(), b(), b(), b()
    mrow = _sig(RB)
    tr = _sig(TW * D)
    o_rd = _sig(AW * D)
    m_rd, mt_rd = _sig(MX, True), _sig(MX, True)
    l_rd, s_rd = _sig(LW), _sig(TL)
    ssum = [_sig(TL) for _ in range(B)]
    smt = [_sig(MX, True) for _ in range(B)]
    s_cat = ConcatSignal(*reversed(ssum))
    smt_cat = ConcatSignal(*reversed(smt))
    m_new = _sig(MX, True)
    sh_old = Signal(intbv(0, min=0, max=SMAX + 1))
    sh_t = Signal(intbv(0, min=-E - 1, max=SMAX + 1))
    onew = [_sig(AW, True) for _ in range(D)]
    onew_cat = ConcatSignal(*reversed(onew))
    l_new = _sig(LW)
    ostate = [_sig(AW * D) for _ in range(B)]
    mst = [_sig(MX, True) for _ in range(B)]
    lst = [_sig(LW) for _ in range(B)]

    # ---------------------------------------------------------------- normalise / output
    fin_v = b()
    fin_row = _sig(RB)
    fin_o = _sig(AW * D)
    fin_l = _sig(LW)
    fin_m = _sig(MX, True)
    occ = _sig(B)
    div_start = _sig(B)
    dsh = [_sig(SHB, True) for _ in range(B)]
    dr = [_sig(R + 1) for _ in range(B)]
    ddone = [b() for _ in range(B)]
    dsh_cat = ConcatSignal(*reversed(dsh))
    dr_cat = ConcatSignal(*reversed(dr))
    ddone_cat = ConcatSignal(*reversed(ddone))
    obuf = [_sig(AW * D) for _ in range(B)]
    mbuf = [_sig(MX, True) for _ in range(B)]
    lbuf = [_sig(LW) for _ in range(B)]
    optr = _sig(RB)
    o1v = b()
    o1_acc = _sig(AW * D)
    o1_sh = _sig(SHB, True)
    o1_r = _sig(R + 2, True)                # signed (never negative): a signed multiply
    o1_row = _sig(RB)
    o1_m = _sig(MX, True)
    o1_l = _sig(LW)
    outs = [_sig(OB, True) for _ in range(D)]
    out_cat = ConcatSignal(*reversed(outs))
    cand_ok, out_adv, o1_adv, t_rdy, plast_mb = b(), b(), b(), b(), b()

    # ---------------------------------------------------------------- per-row units
    for i in range(B):
        insts.append(attn_logit(clk, s_reg(SW * (i + 1), SW * i), mult_c0, lsh_c1, rsh_c1,
                                xs[i], cfg))
        insts.append(attn_tilemax(clk, c2v, c2col, c2bank, diag_c2, nk_c2, xs[i], s1bank,
                                  mts[i], row=i, cfg=cfg))
        insts.append(attn_exp2(clk, xr(LB * (i + 1), LB * i), mts[i], s1col, diag_s1, nk_s1,
                               ps[i], row=i, cfg=cfg))
        insts.append(attn_rowsum(clk, rs_add, rs_first, s3bank, ps[i], mt_we, s1bank, mts[i],
                                 mb, ssum[i], smt[i], cfg))
        insts.append(attn_div(clk, rst, div_start(i), fin_l, dsh[i], dr[i], ddone[i], cfg))
    for d in range(D):
        insts.append(attn_rescale(o_rd(AW * (d + 1), AW * d), tr(TW * (d + 1), TW * d),
                                  sh_old, sh_t, first_rd, onew[d], acc_width=AW, t_width=TW,
                                  signed=True, cfg=cfg))
        insts.append(attn_norm(o1_acc(AW * (d + 1), AW * d), o1_sh, o1_r, outs[d], cfg))
    insts.append(attn_rescale(l_rd, s_rd, sh_old, sh_t, first_rd, l_new, acc_width=LW,
                              t_width=TL, signed=False, cfg=cfg))

    # ---------------------------------------------------------------- combinational glue
    @always_comb
    def mpu_in():
        pv = p_ok and v_valid
        qk = qst == QST_ISSUE and k_valid
        pv_go.next = pv
        mi_valid.next = pv or qk
        mi_mode.next = pv
        mi_p.next = p_cur
        if pv:
            mi_x.next = v_data
            mi_last.next = pv_j == BM
        else:
            mi_x.next = k_data
            mi_last.next = qk_j == BM
        v_ready.next = p_ok and mi_ready
        k_ready.next = qst == QST_ISSUE and mi_ready and not pv
        tile_ready.next = qst == QST_DESC and xfree[xi_bank]
        q_ready.next = qst == QST_LOADQ and not sh0 and not sh1
        ml_valid.next = qst == QST_LOADQ and not sh0 and not sh1 and q_valid
        ml_row.next = ld_cnt
        ml_data.next = q_data
        ms_ready.next = 1
        dbg_p_valid.next = pv and mi_ready
        dbg_p.next = p_cur

    @always_comb
    def bank_mux():
        if c0bank:
            mult_c0.next = xmult[1]
        else:
            mult_c0.next = xmult[0]
        if c1bank:
            lsh_c1.next = xlsh[1]
            rsh_c1.next = xrsh[1]
        else:
            lsh_c1.next = xlsh[0]
            rsh_c1.next = xrsh[0]
        if c2bank:
            diag_c2.next = xdiag[1]
            nk_c2.next = xnk[1]
        else:
            diag_c2.next = xdiag[0]
            nk_c2.next = xnk[0]
        if s1bank:
            diag_s1.next = pdiag[1]
            nk_s1.next = pnk[1]
        else:
            diag_s1.next = pdiag[0]
            nk_s1.next = pnk[0]
        if mb:
            plast_mb.next = plast[1]
        else:
            plast_mb.next = plast[0]
        mt_we.next = s1v and s1col == 0
        rs_add.next = s3v
        rs_first.next = s3col == 0

    @always_comb
    def merge_comb():
        mn = intbv(0, min=-2 ** MX, max=2 ** MX)
        d1 = intbv(0, min=-2 ** (MX + 1), max=2 ** (MX + 1))
        mn[:] = mt_rd
        if not first_rd and m_rd > mt_rd:
            mn[:] = m_rd
        m_new.next = mn
        d1[:] = mn - m_rd
        if first_rd or d1 < 0:
            sh_old.next = 0
        elif d1 > SMAX:
            sh_old.next = SMAX
        else:
            sh_old.next = d1
        d1[:] = mn - mt_rd
        if d1 > SMAX:
            sh_t.next = SMAX - E
        else:
            sh_t.next = d1 - E
        if plast_mb and occ[mt_row]:
            t_rdy.next = 0
        else:
            t_rdy.next = 1

    @always_comb
    def drain_ready():
        mt_ready.next = t_rdy

    @always_comb
    def out_comb():
        if fin_v:
            div_start.next = 1 << fin_row
        else:
            div_start.next = 0
        cand_ok.next = occ[optr] and ddone_cat[optr]
        out_adv.next = not o_valid or o_ready
        o1_adv.next = not o1v or not o_valid or o_ready
        idle.next = (qst == QST_DESC and xfree == 3 and pfree == 3 and occ == 0 and not fin_v
                     and not m1v and not o1v and not o_valid and m_idle)

    # ---------------------------------------------------------------- the controller
    @always(clk.posedge)
    def ctrl():
        prod = intbv(0)[2 * SCALE_MANT_BITS + 1:]
        shv = intbv(0, min=-2 ** (EXP_BITS + 3), max=2 ** (EXP_BITS + 3))
        # per-tile logit constant from the latched codes (recomputed every cycle)
        prod[:] = qmant * kmant
        if DROP > 0:
            mult_r.next = (prod + (1 << (DROP - 1))) >> DROP
        else:
            mult_r.next = prod
        shv[:] = -(qexp + kexp + DROP + F)
        if shv > PWL:
            rsh_r.next = PWL
        elif shv > 0:
            rsh_r.next = shv
        else:
            rsh_r.next = 0
        if shv < -LB:
            lsh_r.next = LB
        elif shv < 0:
            lsh_r.next = -shv
        else:
            lsh_r.next = 0

        if rst:
            qst.next = QST_DESC
            need_q.next = 1
            xi_bank.next = 0
            qk_j.next = 0
            ld_cnt.next = 0
            sh0.next = 0
            sh1.next = 0
            xfree.next = 3
            xcap.next = 0
            pfree.next = 3
            pready.next = 0
            c0v.next = 0
            c1v.next = 0
            c2v.next = 0
            ccol.next = 0
            cbank.next = 0
            sw_act.next = 0
            sw_bank.next = 0
            sw_col.next = 0
            s1v.next = 0
            s2v.next = 0
            s3v.next = 0
            pv_bank.next = 0
            pv_j.next = 0
            p_ok.next = 0
            mb.next = 0
            m1v.next = 0
            fin_v.next = 0
            occ.next = 0
            optr.next = 0
            o1v.next = 0
            o_valid.next = 0
        else:
            # ---- shadow of the MPU's QK occupancy of stages 0 and 1
            if mi_ready:
                sh0.next = mi_valid and not mi_mode
                sh1.next = sh0

            # ---- QK issue
            if qst == QST_DESC:
                if tile_valid and xfree[xi_bank]:
                    d_diag.next = tile_diag
                    d_nk.next = tile_nk
                    d_last.next = tile_last
                    d_first.next = need_q
                    kmant.next = tile_mant
                    kexp.next = tile_exp
                    xfree.next[xi_bank] = 0
                    if need_q:
                        qst.next = QST_LOADQ
                    else:
                        qst.next = QST_PREP
            elif qst == QST_PREP:
                qst.next = QST_ISSUE
            elif qst == QST_LOADQ:
                if q_valid and not sh0 and not sh1:
                    if ld_cnt == 0:
                        qmant.next = q_mant
                        qexp.next = q_exp
                    if ld_cnt == BM:
                        ld_cnt.next = 0
                        need_q.next = 0
                        qst.next = QST_ISSUE
                    else:
                        ld_cnt.next = ld_cnt + 1
            else:
                if xi_bank:
                    xmult[1].next = mult_r
                    xlsh[1].next = lsh_r
                    xrsh[1].next = rsh_r
                    xdiag[1].next = d_diag
                    xnk[1].next = d_nk
                    xfirst[1].next = d_first
                    xlast[1].next = d_last
                else:
                    xmult[0].next = mult_r
                    xlsh[0].next = lsh_r
                    xrsh[0].next = rsh_r
                    xdiag[0].next = d_diag
                    xnk[0].next = d_nk
                    xfirst[0].next = d_first
                    xlast[0].next = d_last
                if k_valid and mi_ready and not pv_go:
                    if qk_j == BM:
                        qk_j.next = 0
                        xi_bank.next = not xi_bank
                        qst.next = QST_DESC
                        if d_last:
                            need_q.next = 1
                    else:
                        qk_j.next = qk_j + 1

            # ---- score capture: c0 (score column), c1 (products), c2 (logits)
            c0v.next = ms_valid
            if ms_valid:
                s_reg.next = ms_data
                c0col.next = ccol
                c0bank.next = cbank
                c0last.next = ms_last
                if ms_last:
                    ccol.next = 0
                    cbank.next = not cbank
                else:
                    ccol.next = ccol + 1
            c1v.next = c0v
            c1col.next = c0col
            c1bank.next = c0bank
            c1last.next = c0last
            c2v.next = c1v
            c2col.next = c1col
            c2bank.next = c1bank
            c2last.next = c1last
            if c2v:
                xbuf[c2bank * B + c2col].next = x_cat
                if c2last:
                    xcap.next[c2bank] = 1

            # ---- softmax sweep: s0 read x, s1/s2 exp2, s3 write P
            s1v.next = 0
            if sw_act:
                xr.next = xbuf[sw_bank * B + sw_col]
                s1v.next = 1
                s1col.next = sw_col
                s1bank.next = sw_bank
                if sw_col == BM:
                    sw_act.next = 0
                    sw_col.next = 0
                    sw_bank.next = not sw_bank
                    xfree.next[sw_bank] = 1
                else:
                    sw_col.next = sw_col + 1
            elif xcap[sw_bank] and pfree[sw_bank]:
                sw_act.next = 1
                xcap.next[sw_bank] = 0
                pfree.next[sw_bank] = 0
                if sw_bank:
                    pdiag[1].next = xdiag[1]
                    pnk[1].next = xnk[1]
                    pfirst[1].next = xfirst[1]
                    plast[1].next = xlast[1]
                else:
                    pdiag[0].next = xdiag[0]
                    pnk[0].next = xnk[0]
                    pfirst[0].next = xfirst[0]
                    plast[0].next = xlast[0]
            s2v.next = s1v
            s2col.next = s1col
            s2bank.next = s1bank
            s3v.next = s2v
            s3col.next = s2col
            s3bank.next = s2bank
            if s3v:
                pbuf[s3bank * B + s3col].next = p_cat
                if s3col == 0:
                    pready.next[s3bank] = 1

            # ---- PV issue: P column prefetched into p_cur
            if p_ok:
                if v_valid and mi_ready:
                    if pv_j == BM:
                        pv_j.next = 0
                        pv_bank.next = not pv_bank
                        p_ok.next = 0
                        pready.next[pv_bank] = 0
                    else:
                        pv_j.next = pv_j + 1
                        p_cur.next = pbuf[pv_bank * B + pv_j + 1]
            elif pready[pv_bank]:
                p_cur.next = pbuf[pv_bank * B + pv_j]
                p_ok.next = 1

            # ---- drain and merge: m0 reads the row state, m1 writes it back
            m1v.next = mt_valid and t_rdy
            if mt_valid and t_rdy:
                tr.next = mt_data
                mrow.next = mt_row
                o_rd.next = ostate[mt_row]
                m_rd.next = mst[mt_row]
                l_rd.next = lst[mt_row]
                mt_rd.next = (smt_cat >> (MX * mt_row)) & (2 ** MX - 1)
                s_rd.next = (s_cat >> (TL * mt_row)) & (2 ** TL - 1)
                mbank_rd.next = mb
                if mb:
                    first_rd.next = pfirst[1]
                    last_rd.next = plast[1]
                else:
                    first_rd.next = pfirst[0]
                    last_rd.next = plast[0]
                if mt_last:
                    mb.next = not mb
            fin_v.next = m1v and last_rd
            if m1v:
                ostate[mrow].next = onew_cat
                mst[mrow].next = m_new
                lst[mrow].next = l_new
                fin_row.next = mrow
                fin_o.next = onew_cat
                fin_l.next = l_new
                fin_m.next = m_new
                if mrow == BM:
                    pfree.next[mbank_rd] = 1

            # ---- finished rows: buffer, divider started by div_start
            if fin_v:
                obuf[fin_row].next = fin_o
                mbuf[fin_row].next = fin_m
                lbuf[fin_row].next = fin_l
                occ.next[fin_row] = 1

            # ---- output: o1 reads the buffer, the output register normalises
            if out_adv:
                o_valid.next = o1v
                o_data.next = out_cat
                o_row.next = o1_row
                o_last.next = o1_row == BM
                o_m.next = o1_m
                o_l.next = o1_l
            if o1_adv:
                o1v.next = cand_ok
                if cand_ok:
                    o1_acc.next = obuf[optr]
                    o1_sh.next = (dsh_cat >> (SHB * optr)) & (2 ** SHB - 1)
                    o1_r.next = (dr_cat >> ((R + 1) * optr)) & (2 ** (R + 1) - 1)
                    o1_row.next = optr
                    o1_m.next = mbuf[optr]
                    o1_l.next = lbuf[optr]
                    occ.next[optr] = 0
                    if optr == BM:
                        optr.next = 0
                    else:
                        optr.next = optr + 1

    return insts, mpu_in, bank_mux, merge_comb, drain_ready, out_comb, ctrl


def ports(cfg: AcceleratorConfig) -> dict:
    """Fresh signals for every engine port (for conversion and benches)."""
    w = widths(cfg)
    B, D = w["B"], w["D"]
    b = lambda: Signal(bool(0))  # noqa: E731
    return dict(
        clk=b(), rst=b(),
        tile_valid=b(), tile_ready=b(), tile_diag=b(), tile_nk=_sig(w["NKB"]), tile_last=b(),
        tile_mant=_sig(SCALE_MANT_BITS), tile_exp=_sig(EXP_BITS, True),
        q_valid=b(), q_ready=b(), q_data=_sig(8 * D), q_mant=_sig(SCALE_MANT_BITS),
        q_exp=_sig(EXP_BITS, True),
        k_valid=b(), k_ready=b(), k_data=_sig(8 * D),
        v_valid=b(), v_ready=b(), v_data=_sig(8 * D),
        o_valid=b(), o_ready=b(), o_data=_sig(w["OB"] * D), o_row=_sig(w["RB"]), o_last=b(),
        o_m=_sig(w["MX"], True), o_l=_sig(w["LW"]),
        dbg_p_valid=b(), dbg_p=_sig(w["PB"] * B), idle=b())


def top(cfg: AcceleratorConfig):
    """The engine instance to convert for ``cfg`` (used by :mod:`hdl.convert`)."""
    return attn_engine(**ports(cfg), cfg=cfg)
