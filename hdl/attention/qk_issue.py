"""QK issue of the attention engine (hdl/attention/engine.py): tile descriptors and Q blocks in,
the tile's B key beats to the MPU, the tile's constants into its x bank.

Q blocks go into the MPU's two Q banks in turn through its load port (B beats, ``ld_cnt``; the
block's Q scale code sampled on the first), as soon as they arrive and a bank is free: a bank
is free again once the last key beat of its row has left MPU stages 0 and 1 (``sh0``/``sh1``
and their banks: a shadow of the MPU's occupancy).  So the next row's Q loads while the
current row's key beats run, and a row's first tile does not wait for it.

Descriptors are taken one ahead: while a tile issues its key beats, the next descriptor is
taken (``claim``) into a second register (``nd_*``) once its x bank (``xi_bank``, in turn) is
free and, for a row's first tile, the row's Q bank (``cl_bank``) is loaded; its codes feed the
registered tile scale (hdl/attention/tile_scale.py).  At the current tile's last key beat the
next one enters issue (``go``), so the key beats of consecutive tiles follow each other without
a gap; its logit constant and mask fields are written into its x bank one cycle later, before
the score capture reads them.  The B key beats go to the MPU (``qk_j``, Q bank ``qbank``), a
PV beat taking precedence (``pv_go``).

Ports (``clk`` rising edge, ``rst`` synchronous active high)
    tile_valid, tile_ready (out), tile_diag, tile_nk, tile_last, tile_mant, tile_exp   the
                                  engine's tile input
    q_valid, q_ready (out), q_mant, q_exp   the engine's Q input (its data goes to the MPU directly)
    ml_valid, ml_bank (out)       a Q row write into the MPU (its row: ``ld_cnt``)
    k_valid                       a key row is offered
    mi_valid, mi_mode, mi_bank, mi_ready   the MPU's input handshake (mode 1: PV) and bank
    pv_go                         a PV beat is offered to the MPU this cycle
    xfree [X_BANKS]               the x banks that are free
    qst (out)                     QST_ISSUE (a tile issues), QST_PREP (only a taken descriptor
                                  waits) or QST_DESC (neither)
    claim (out)                   a tile descriptor is taken (its x bank: ``xi_bank``)
    xi_bank (out), qk_j, ld_cnt [RB] (out)   see above
    qbank (out)                   the Q bank of the row being issued
    q_held (out)                  a Q block is loaded or loading (for the engine's ``idle``)
    xmult, xlsh, xrsh, xdiag, xnk, xfirst, xlast   per x bank (lists of X_BANKS, written here): the
                                  logit constant, the causal mask, the valid keys, the row's
                                  first / last tile
Parameters: ``cfg``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.attention.tile_scale import attn_tile_scale
from hdl.numerics import SCALE_MANT_BITS

QST_DESC, QST_PREP, QST_ISSUE = 0, 1, 2

#: x banks (captured logits): QK runs up to two tiles ahead of the tile waiting for its sweep,
#: which covers the sweep's B cycles between a tile's last score and its first PV beat
X_BANKS = 3


@block
def attn_qk_issue(clk, rst, tile_valid, tile_ready, tile_diag, tile_nk, tile_last, tile_mant, tile_exp,
                  q_valid, q_ready, q_mant, q_exp, ml_valid, ml_bank, k_valid,
                  mi_valid, mi_mode, mi_bank, mi_ready, pv_go, xfree,
                  qst, claim, xi_bank, qk_j, ld_cnt, qbank, q_held,
                  xmult, xlsh, xrsh, xdiag, xnk, xfirst, xlast, pwl, exp_bits, cfg):
    LAST = cfg.block - 1
    b = lambda: Signal(bool(0))  # noqa: E731
    need_q, d_diag, d_last, d_first = b(), b(), b(), b()
    # the tile issuing key beats (``cur_v``) and the next descriptor (``nd_*``, taken ahead)
    cur_v, nd_v, nd_diag, nd_last, nd_first, nd_qbank = b(), b(), b(), b(), b(), b()
    cl_bank = b()                   # the Q bank of the next descriptor's row
    go, key_beat, fire_last, wr_x = b(), b(), b(), b()
    xbank = lambda: Signal(intbv(0, min=0, max=X_BANKS))  # noqa: E731
    nd_xbank, cur_xbank = xbank(), xbank()
    sh0, sh1, shb0, shb1 = b(), b(), b(), b()   # a QK beat in MPU stage 0 / 1, and its Q bank
    lbank, qfull0, qfull1, q_free = b(), b(), b(), b()
    d_nk = Signal(intbv(0)[len(tile_nk):])
    nd_nk = Signal(intbv(0)[len(tile_nk):])
    kmant = Signal(intbv(1 << 15)[SCALE_MANT_BITS:])
    exp_range = dict(min=-(1 << (exp_bits - 1)), max=1 << (exp_bits - 1))
    kexp = Signal(intbv(0, **exp_range))
    # the Q scale code of each bank's block, and of the row being issued
    qmant = Signal(intbv(1 << 15)[SCALE_MANT_BITS:])
    qexp = Signal(intbv(0, **exp_range))
    qmant_b = [Signal(intbv(1 << 15)[SCALE_MANT_BITS:]) for _ in range(2)]
    qexp_b = [Signal(intbv(0, **exp_range)) for _ in range(2)]
    mult_r = Signal(intbv(0)[len(xmult[0]):])
    lsh_r = Signal(intbv(0, min=0, max=cfg.logit_bits + 1))
    rsh_r = Signal(intbv(0, min=0, max=pwl + 1))
    scale = attn_tile_scale(clk, qmant, qexp, kmant, kexp, mult_r, lsh_r, rsh_r, pwl, exp_bits, cfg)

    @always_comb
    def take():
        # the loader's bank takes a Q block once its row has left MPU stages 0 and 1
        free = ((lbank and not qfull1) or (not lbank and not qfull0)) \
            and not (sh0 and shb0 == lbank) and not (sh1 and shb1 == lbank)
        q_free.next = free
        q_ready.next = free
        ml_valid.next = free and q_valid
        ml_bank.next = lbank
        # the next descriptor is taken while the current tile issues; a row's first tile needs
        # its Q bank loaded
        ready = not nd_v and xfree[xi_bank] \
            and (not need_q or (cl_bank and qfull1) or (not cl_bank and qfull0))
        tile_ready.next = ready
        claim.next = ready and tile_valid
        q_held.next = qfull0 or qfull1 or ld_cnt != 0
        # the current tile's last key beat, and the move of the next descriptor into issue
        beat = cur_v and k_valid and mi_ready and not pv_go
        key_beat.next = beat
        fire_last.next = beat and qk_j == LAST
        go.next = nd_v and (not cur_v or (beat and qk_j == LAST))
        if cur_v:
            qst.next = QST_ISSUE
        elif nd_v:
            qst.next = QST_PREP
        else:
            qst.next = QST_DESC

    @always(clk.posedge)
    def load():
        if rst:
            lbank.next = 0
            ld_cnt.next = 0
            qfull0.next = 0
            qfull1.next = 0
        else:
            if q_free and q_valid:
                if ld_cnt == 0:
                    qmant_b[lbank].next = q_mant
                    qexp_b[lbank].next = q_exp
                if ld_cnt == LAST:
                    ld_cnt.next = 0
                    lbank.next = not lbank
                    if lbank:
                        qfull1.next = 1
                    else:
                        qfull0.next = 1
                else:
                    ld_cnt.next = ld_cnt + 1
            # the row's last key beat retires its Q bank (the loader cannot be filling that
            # bank: it is full until now)
            if fire_last and d_last:
                if qbank:
                    qfull1.next = 0
                else:
                    qfull0.next = 0

    @always(clk.posedge)
    def issue():
        if rst:
            cur_v.next = 0
            nd_v.next = 0
            wr_x.next = 0
            need_q.next = 1
            cl_bank.next = 0
            qbank.next = 0
            xi_bank.next = 0
            qk_j.next = 0
            sh0.next = 0
            sh1.next = 0
            shb0.next = 0
            shb1.next = 0
        else:
            # shadow of the MPU's QK occupancy of stages 0 and 1
            if mi_ready:
                sh0.next = mi_valid and not mi_mode
                shb0.next = mi_bank
                sh1.next = sh0
                shb1.next = shb0

            # take the next descriptor: its codes feed the tile scale (one cycle)
            if claim:
                nd_v.next = 1
                nd_diag.next = tile_diag
                nd_nk.next = tile_nk
                nd_last.next = tile_last
                nd_first.next = need_q
                nd_qbank.next = cl_bank
                nd_xbank.next = xi_bank
                kmant.next = tile_mant
                kexp.next = tile_exp
                if need_q:
                    qmant.next = qmant_b[cl_bank]
                    qexp.next = qexp_b[cl_bank]
                if tile_last:
                    need_q.next = 1
                    cl_bank.next = not cl_bank
                else:
                    need_q.next = 0
                if xi_bank == X_BANKS - 1:
                    xi_bank.next = 0
                else:
                    xi_bank.next = xi_bank + 1

            # the tile's constants go into its x bank one cycle after it enters issue (the
            # scale is registered; no later claim changes it before then)
            wr_x.next = go
            if wr_x:
                xmult[cur_xbank].next = mult_r
                xlsh[cur_xbank].next = lsh_r
                xrsh[cur_xbank].next = rsh_r
                xdiag[cur_xbank].next = d_diag
                xnk[cur_xbank].next = d_nk
                xfirst[cur_xbank].next = d_first
                xlast[cur_xbank].next = d_last

            if go:
                nd_v.next = 0
                cur_v.next = 1
                cur_xbank.next = nd_xbank
                qbank.next = nd_qbank
                d_diag.next = nd_diag
                d_nk.next = nd_nk
                d_last.next = nd_last
                d_first.next = nd_first
            elif fire_last:
                cur_v.next = 0
            if key_beat:
                if qk_j == LAST:
                    qk_j.next = 0
                else:
                    qk_j.next = qk_j + 1

    return scale, take, load, issue
