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
             [8d+7:8d]), taken up to one row ahead (the MPU's two Q banks); ``q_mant`` /
             ``q_exp`` (the row's Q scale code, log2(e)/sqrt(D) folded in) are sampled on the
             first beat
    k_*      B key rows per tile (``k_data``), streamed into the MPU (QK mode)
    v_*      B value rows per tile (``v_data``), streamed into the MPU (PV mode)
             K/V rows past the sequence end (partial last block) are don't-care.
Outputs
    o_*      B beats per row: ``o_data`` (D signed ``out_bits`` elements, ``o_frac_bits``
             fractional bits, units of V's int8 code), ``o_row`` (0..B-1), ``o_last``,
             ``o_m`` (final row max, signed ``max_bits``), ``o_l`` (final row sum,
             ``acc_l_bits``).  Rows at or past the sequence end are padding.
    dbg_p_valid, dbg_p   the P row of every PV beat the MPU accepts (observation only)
    idle     nothing in flight
``clk`` rising edge, ``rst`` synchronous active high (a ``ResetSignal``).  Parameters: ``cfg``; ``mpu_bus``
(optional, ``hdl.mpu.share.mpu_bus``): the MPU lives outside (the top shares it with the index
generator).

Dataflow: QK issue (hdl/attention/qk_issue.py: tile descriptor, Q load through the MPU's load
port, B key beats) -> score capture (logit scaling, tile max, logits into x bank b) -> softmax
sweep (P = exp2, row sums, P into P bank b) -> PV issue (P column + value row per beat) -> MPU
drain -> merge into the row state (hdl/attention/merge.py: O, m, l) -> on the row's last tile,
the divider per row and the output normalisation (hdl/attention/output.py).  Capture, sweep
and PV issue are this block's controller, which also owns the bank flags (x bank free /
captured, P bank free / ready): the other stages report their events to it.  Two x banks and two P banks let the MPU run QK of tile t+1 while the
softmax of tile t runs, and mix QK and PV beats (PV first) so that it never waits in steady
state.
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv

from hdl.numerics import score_bits, tile_bits
from hdl.numerics import SCALE_MANT_BITS
from hdl.attention.exp2 import attn_exp2
from hdl.attention.logit import attn_logit
from hdl.attention.merge import attn_merge
from hdl.attention.output import attn_output
from hdl.attention.p_store import attn_p_store
from hdl.attention.qk_issue import QST_DESC, QST_ISSUE, X_BANKS, attn_qk_issue
from hdl.attention.rowsum import attn_rowsum
from hdl.attention.signals import sig as _sig
from hdl.attention.tilemax import attn_tilemax
from hdl.common.reset import sync_reset
from hdl.config import AcceleratorConfig, ConfigError
from hdl.mpu.mpu import mpu, row_bits
from hdl.mpu.share import mpu_socket

UNIT_NAME = "attn_engine"

#: signed width of the scale-code exponents on the ports
EXP_BITS = 8



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


@block
def attn_engine(clk, rst,
                tile_valid, tile_ready, tile_diag, tile_nk, tile_last, tile_mant, tile_exp,
                q_valid, q_ready, q_data, q_mant, q_exp,
                k_valid, k_ready, k_data,
                v_valid, v_ready, v_data,
                o_valid, o_ready, o_data, o_row, o_last, o_m, o_l,
                dbg_p_valid, dbg_p, idle, cfg, mpu_bus=None):
    w = widths(cfg)
    B, D, PB, LB, MB = w["B"], w["D"], w["PB"], w["LB"], w["MB"]
    MX, TL, AW, LW, SW, TW, RB = w["MX"], w["TL"], w["AW"], w["LW"], w["SW"], w["TW"], w["RB"]
    NKB, SHB, PWL, OB = w["NKB"], w["SHB"], w["PWL"], w["OB"]
    BM = B - 1
    b = lambda: Signal(bool(0))  # noqa: E731

    # ---------------------------------------------------------------- MPU
    mi_valid, mi_ready, mi_mode, mi_last, mi_bank = b(), b(), b(), b(), b()
    mi_x, mi_p = _sig(8 * D), _sig(PB * B)
    ml_valid, ml_bank, ml_row, ml_data = b(), b(), _sig(RB), _sig(8 * D)
    vl_valid, vl_bank, vl_row = b(), b(), _sig(RB)
    ms_valid, ms_ready, ms_data, ms_last = b(), b(), _sig(SW * B), b()
    mt_valid, mt_ready, mt_data, mt_row, mt_last = b(), b(), _sig(TW * D), _sig(RB), b()
    m_vbusy, m_idle = _sig(2), b()
    mpu_ports = (mi_valid, mi_ready, mi_mode, mi_last, mi_x, mi_p, mi_bank,
                 ml_valid, ml_bank, ml_row, ml_data, vl_valid, vl_bank, vl_row, v_data,
                 ms_valid, ms_ready, ms_data, ms_last,
                 mt_valid, mt_ready, mt_data, mt_row, mt_last, m_vbusy, m_idle)
    if mpu_bus is None:
        insts = [mpu(clk, rst, *mpu_ports, cfg)]
    else:                                       # the top's MPU, shared with the index generator
        insts = [mpu_socket(mpu_bus, rst, *mpu_ports)]

    # ---------------------------------------------------------------- QK issue, bank flags
    qst = Signal(intbv(0, min=0, max=3))
    xb = lambda: Signal(intbv(0, min=0, max=X_BANKS))  # noqa: E731  an x bank index
    claim, qbank, q_held = b(), b(), b()
    xi_bank = xb()
    qk_j, ld_cnt = _sig(RB), _sig(RB)
    # the tile's constants, per x bank (written at QK issue) and per P bank (copied at the sweep)
    xmult = [_sig(MB) for _ in range(X_BANKS)]
    xlsh = [Signal(intbv(0, min=0, max=LB + 1)) for _ in range(X_BANKS)]
    xrsh = [Signal(intbv(0, min=0, max=PWL + 1)) for _ in range(X_BANKS)]
    xdiag, xlast, xfirst = ([b() for _ in range(X_BANKS)] for _ in range(3))
    xnk = [_sig(NKB) for _ in range(X_BANKS)]
    pdiag, plast, pfirst = [b() for _ in range(2)], [b() for _ in range(2)], [b() for _ in range(2)]
    pnk = [_sig(NKB) for _ in range(2)]
    # bank flags: x bank free for a tile / holding captured logits; P bank free / holding P
    X_ALL = 2 ** X_BANKS - 1
    xfree, xcap, pfree, pready = _sig(X_BANKS, val=X_ALL), _sig(X_BANKS), _sig(2, val=3), _sig(2)
    pv_go = b()
    insts.append(attn_qk_issue(clk, rst, tile_valid, tile_ready, tile_diag, tile_nk, tile_last, tile_mant,
                               tile_exp, q_valid, q_ready, q_mant, q_exp, ml_valid, ml_bank, k_valid,
                               mi_valid, mi_mode, mi_bank, mi_ready, pv_go, xfree,
                               qst, claim, xi_bank, qk_j, ld_cnt, qbank, q_held,
                               xmult, xlsh, xrsh, xdiag, xnk, xfirst, xlast, PWL, EXP_BITS, cfg))

    # ---------------------------------------------------------------- capture
    s_reg = _sig(SW * B)
    c0v, c0last, c1v, c1last, c2v, c2last = (b() for _ in range(6))
    ccol, c0col, c1col, c2col = _sig(RB), _sig(RB), _sig(RB), _sig(RB)
    cbank, c0bank, c1bank, c2bank = xb(), xb(), xb(), xb()
    mult_c0 = _sig(MB + 1, True)            # signed (never negative): a signed multiply
    lsh_c1 = Signal(intbv(0, min=0, max=LB + 1))
    rsh_c1 = Signal(intbv(0, min=0, max=PWL + 1))
    diag_c2, nk_c2 = b(), _sig(NKB)
    xs = [_sig(LB, True) for _ in range(B)]
    x_cat = ConcatSignal(*reversed(xs))
    xbuf = [_sig(B * LB) for _ in range(X_BANKS * B)]

    # ---------------------------------------------------------------- sweep
    sw_act, sw_bank = b(), b()         # sw_bank: the P bank the sweep writes
    sw_xbank, s1xbank = xb(), xb()     # the x bank it reads
    sw_col = _sig(RB)
    xr = _sig(B * LB)
    s1v, s1bank, s2v, s2bank, s3v, s3bank = (b() for _ in range(6))
    s1col, s2col, s3col = _sig(RB), _sig(RB), _sig(RB)
    diag_s1, nk_s1 = b(), _sig(NKB)
    mts = [_sig(MX, True) for _ in range(B)]
    ps = [_sig(PB) for _ in range(B)]
    p_cat = ConcatSignal(*reversed(ps))
    mt_we, rs_add, rs_first = b(), b(), b()

    # ---------------------------------------------------------------- PV issue, V tiles
    pv_bank, p_ok, pv = b(), b(), b()
    pv_j = _sig(RB)
    p_cur = _sig(B * PB)            # the P row of the next PV beat (the store's read port)
    p_re, p_rrow = b(), _sig(RB)
    # V banks: free to load / loaded for their tile / last beat issued, waiting for the MPU
    vfree, vready, vdone = _sig(2, val=3), _sig(2), _sig(2)
    v_lbank = b()
    insts.append(attn_p_store(clk, s3v, s3bank, s3col, p_cat, p_re, pv_bank, p_rrow, p_cur, B, PB))

    # ---------------------------------------------------------------- merge, output stage
    mb, merged, merged_bank, m1v = b(), b(), b(), b()
    ssum = [_sig(TL) for _ in range(B)]
    smt = [_sig(MX, True) for _ in range(B)]
    fin_v = b()
    fin_row = _sig(RB)
    fin_o = _sig(AW * D)
    fin_l = _sig(LW)
    fin_m = _sig(MX, True)
    occ = _sig(B)
    out_drained = b()
    insts.append(attn_merge(clk, rst, mt_valid, mt_ready, mt_data, mt_row, mt_last,
                            ConcatSignal(*reversed(smt)), ConcatSignal(*reversed(ssum)), pfirst, plast,
                            occ, mb, merged, merged_bank, m1v, fin_v, fin_row, fin_o, fin_l, fin_m, TW, cfg))
    insts.append(attn_output(clk, rst, fin_v, fin_row, fin_o, fin_l, fin_m, o_valid, o_ready, o_data,
                             o_row, o_last, o_m, o_l, occ, out_drained, SHB, cfg))

    # ---------------------------------------------------------------- per-row units
    for i in range(B):
        insts.append(attn_logit(clk, s_reg(SW * (i + 1), SW * i), mult_c0, lsh_c1, rsh_c1,
                                xs[i], cfg))
        insts.append(attn_tilemax(clk, c2v, c2col, c2bank, diag_c2, nk_c2, xs[i], s1xbank,
                                  mts[i], row=i, banks=X_BANKS, cfg=cfg))
        insts.append(attn_exp2(clk, xr(LB * (i + 1), LB * i), mts[i], s1col, diag_s1, nk_s1,
                               ps[i], row=i, cfg=cfg))
        insts.append(attn_rowsum(clk, rs_add, rs_first, s3bank, ps[i], mt_we, s1bank, mts[i],
                                 mb, ssum[i], smt[i], cfg))

    # ---------------------------------------------------------------- combinational glue
    @always_comb
    def mpu_in():
        pv_beat = p_ok and vready[pv_bank]
        qk = qst == QST_ISSUE and k_valid
        pv.next = pv_beat
        pv_go.next = pv_beat
        mi_valid.next = pv_beat or qk
        mi_mode.next = pv_beat
        if pv_beat:
            mi_bank.next = pv_bank
        else:
            mi_bank.next = qbank
        mi_p.next = p_cur
        mi_x.next = k_data
        if pv_beat:
            mi_last.next = pv_j == BM
        else:
            mi_last.next = qk_j == BM
        # the V rows go straight into a free V bank of the MPU
        v_ready.next = vfree[v_lbank]
        vl_valid.next = v_valid and vfree[v_lbank]
        vl_bank.next = v_lbank
        k_ready.next = qst == QST_ISSUE and mi_ready and not pv_beat
        ml_row.next = ld_cnt
        ml_data.next = q_data
        ms_ready.next = 1
        dbg_p_valid.next = pv_beat and mi_ready
        dbg_p.next = p_cur

    @always_comb
    def p_read():
        # the store reads the first row of a ready P bank, then the next one as each beat goes
        if p_ok:
            p_re.next = pv and mi_ready and pv_j != BM
            if pv_j != BM:
                p_rrow.next = pv_j + 1
            else:
                p_rrow.next = 0
        else:
            p_re.next = pready[pv_bank]
            p_rrow.next = pv_j

    @always_comb
    def bank_mux():
        mult_c0.next = xmult[c0bank]
        lsh_c1.next = xlsh[c1bank]
        rsh_c1.next = xrsh[c1bank]
        diag_c2.next = xdiag[c2bank]
        nk_c2.next = xnk[c2bank]
        diag_s1.next = pdiag[s1bank]
        nk_s1.next = pnk[s1bank]
        mt_we.next = s1v and s1col == 0
        rs_add.next = s3v
        rs_first.next = s3col == 0

    @always_comb
    def idle_comb():
        idle.next = (qst == QST_DESC and not q_held and xfree == X_ALL and pfree == 3 and not fin_v
                     and not m1v and out_drained and m_idle and vfree == 3 and vl_row == 0)

    # ---------------------------------------------------------------- capture, sweep, PV issue
    @always(clk.posedge)
    def ctrl():
        if rst:
            xfree.next = X_ALL
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
            sw_xbank.next = 0
            sw_col.next = 0
            s1v.next = 0
            s2v.next = 0
            s3v.next = 0
            pv_bank.next = 0
            pv_j.next = 0
            p_ok.next = 0
            vfree.next = 3
            vready.next = 0
            vdone.next = 0
            v_lbank.next = 0
            vl_row.next = 0
        else:
            # ---- the x bank taken by QK issue
            if claim:
                xfree.next[xi_bank] = 0

            # ---- score capture: c0 (score column), c1 (products), c2 (logits)
            c0v.next = ms_valid
            if ms_valid:
                s_reg.next = ms_data
                c0col.next = ccol
                c0bank.next = cbank
                c0last.next = ms_last
                if ms_last:
                    ccol.next = 0
                    if cbank == X_BANKS - 1:
                        cbank.next = 0
                    else:
                        cbank.next = cbank + 1
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
                xr.next = xbuf[sw_xbank * B + sw_col]
                s1v.next = 1
                s1col.next = sw_col
                s1bank.next = sw_bank
                s1xbank.next = sw_xbank
                if sw_col == BM:
                    sw_act.next = 0
                    sw_col.next = 0
                    sw_bank.next = not sw_bank
                    if sw_xbank == X_BANKS - 1:
                        sw_xbank.next = 0
                    else:
                        sw_xbank.next = sw_xbank + 1
                    xfree.next[sw_xbank] = 1
                else:
                    sw_col.next = sw_col + 1
            elif xcap[sw_xbank] and pfree[sw_bank]:
                sw_act.next = 1
                xcap.next[sw_xbank] = 0
                pfree.next[sw_bank] = 0
                pdiag[sw_bank].next = xdiag[sw_xbank]
                pnk[sw_bank].next = xnk[sw_xbank]
                pfirst[sw_bank].next = xfirst[sw_xbank]
                plast[sw_bank].next = xlast[sw_xbank]
            s2v.next = s1v
            s2col.next = s1col
            s2bank.next = s1bank
            s3v.next = s2v
            s3col.next = s2col
            s3bank.next = s2bank
            # the store takes the column (attn_p_store); a PV beat needs the whole bank
            if s3v and s3col == BM:
                pready.next[s3bank] = 1

            # ---- PV issue: P rows read ahead into p_cur
            if p_ok:
                if pv and mi_ready:
                    if pv_j == BM:
                        pv_j.next = 0
                        pv_bank.next = not pv_bank
                        p_ok.next = 0
                        pready.next[pv_bank] = 0
                        vready.next[pv_bank] = 0
                        vdone.next[pv_bank] = 1
                    else:
                        pv_j.next = pv_j + 1
            elif pready[pv_bank]:
                p_ok.next = 1

            # ---- V tiles: a bank loads a row per cycle; it is free again once its tile's
            # last beat has left the MPU's stage 0
            if v_valid and vfree[v_lbank]:
                if vl_row == BM:
                    vl_row.next = 0
                    vfree.next[v_lbank] = 0
                    vready.next[v_lbank] = 1
                    v_lbank.next = not v_lbank
                else:
                    vl_row.next = vl_row + 1
            for k in range(2):
                if vdone[k] and not m_vbusy[k]:
                    vdone.next[k] = 0
                    vfree.next[k] = 1

            # ---- the P bank freed by the merge
            if merged:
                pfree.next[merged_bank] = 1

    return insts, mpu_in, p_read, bank_mux, idle_comb, ctrl


def ports(cfg: AcceleratorConfig) -> dict:
    """Fresh signals for every engine port (for conversion and benches)."""
    w = widths(cfg)
    B, D = w["B"], w["D"]
    b = lambda: Signal(bool(0))  # noqa: E731
    return dict(
        clk=b(), rst=sync_reset(),
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
