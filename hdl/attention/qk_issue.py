"""QK issue of the attention engine (hdl/attention/engine.py): tile descriptors and Q blocks in,
the tile's B key beats to the MPU, the tile's constants into its x bank.

A tile descriptor is taken (``claim``) when its x bank (``xi_bank``, in turn) is free.  The
row's first tile first loads the row's Q block into the MPU through its load port (B beats,
``ld_cnt``; the Q scale code sampled on the first), waiting while a QK beat still in MPU stage 0
or 1 reads the old Q (``sh0``, ``sh1``: a shadow of the MPU's occupancy).  Then the B key beats
go to the MPU (``qk_j``), a PV beat taking precedence (``pv_go``); meanwhile the tile's logit
constant (hdl/attention/tile_scale.py) and its mask fields are written into the x bank, read by
the score capture.

Ports (``clk`` rising edge, ``rst`` synchronous active high)
    tile_valid, tile_diag, tile_nk, tile_last, tile_mant, tile_exp   the engine's tile input
    q_valid, q_mant, q_exp        the engine's Q input (its data goes to the MPU directly)
    k_valid                       a key row is offered
    mi_valid, mi_mode, mi_ready   the MPU's input handshake (mode 1: PV)
    pv_go                         a PV beat is offered to the MPU this cycle
    xfree [X_BANKS]               the x banks that are free
    qst (out)                     QST_DESC, QST_PREP, QST_LOADQ or QST_ISSUE
    claim (out)                   a tile descriptor is taken (its bank: ``xi_bank``)
    xi_bank (out), qk_j, ld_cnt [RB] (out), sh0, sh1 (out)   see above
    xmult, xlsh, xrsh, xdiag, xnk, xfirst, xlast   per x bank (lists of X_BANKS, written here): the
                                  logit constant, the causal mask, the valid keys, the row's
                                  first / last tile
Parameters: ``cfg``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.attention.tile_scale import attn_tile_scale
from hdl.numerics import SCALE_MANT_BITS

QST_DESC, QST_PREP, QST_LOADQ, QST_ISSUE = 0, 1, 2, 3

#: x banks (captured logits): QK runs up to two tiles ahead of the tile waiting for its sweep,
#: which covers the sweep's B cycles between a tile's last score and its first PV beat
X_BANKS = 3


@block
def attn_qk_issue(clk, rst, tile_valid, tile_diag, tile_nk, tile_last, tile_mant, tile_exp,
                  q_valid, q_mant, q_exp, k_valid, mi_valid, mi_mode, mi_ready, pv_go, xfree,
                  qst, claim, xi_bank, qk_j, ld_cnt, sh0, sh1,
                  xmult, xlsh, xrsh, xdiag, xnk, xfirst, xlast, pwl, exp_bits, cfg):
    LAST = cfg.block - 1
    b = lambda: Signal(bool(0))  # noqa: E731
    need_q, d_diag, d_last, d_first = b(), b(), b(), b()
    d_nk = Signal(intbv(0)[len(tile_nk):])
    kmant = Signal(intbv(1 << 15)[SCALE_MANT_BITS:])
    qmant = Signal(intbv(1 << 15)[SCALE_MANT_BITS:])
    kexp = Signal(intbv(0, min=-(1 << (exp_bits - 1)), max=1 << (exp_bits - 1)))
    qexp = Signal(intbv(0, min=-(1 << (exp_bits - 1)), max=1 << (exp_bits - 1)))
    mult_r = Signal(intbv(0)[len(xmult[0]):])
    lsh_r = Signal(intbv(0, min=0, max=cfg.logit_bits + 1))
    rsh_r = Signal(intbv(0, min=0, max=pwl + 1))
    scale = attn_tile_scale(clk, qmant, qexp, kmant, kexp, mult_r, lsh_r, rsh_r, pwl, exp_bits, cfg)

    @always_comb
    def take():
        claim.next = qst == QST_DESC and tile_valid and xfree[xi_bank]

    @always(clk.posedge)
    def issue():
        if rst:
            qst.next = QST_DESC
            need_q.next = 1
            xi_bank.next = 0
            qk_j.next = 0
            ld_cnt.next = 0
            sh0.next = 0
            sh1.next = 0
        else:
            # shadow of the MPU's QK occupancy of stages 0 and 1
            if mi_ready:
                sh0.next = mi_valid and not mi_mode
                sh1.next = sh0

            if qst == QST_DESC:
                if claim:
                    d_diag.next = tile_diag
                    d_nk.next = tile_nk
                    d_last.next = tile_last
                    d_first.next = need_q
                    kmant.next = tile_mant
                    kexp.next = tile_exp
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
                    if ld_cnt == LAST:
                        ld_cnt.next = 0
                        need_q.next = 0
                        qst.next = QST_ISSUE
                    else:
                        ld_cnt.next = ld_cnt + 1
            else:
                xmult[xi_bank].next = mult_r
                xlsh[xi_bank].next = lsh_r
                xrsh[xi_bank].next = rsh_r
                xdiag[xi_bank].next = d_diag
                xnk[xi_bank].next = d_nk
                xfirst[xi_bank].next = d_first
                xlast[xi_bank].next = d_last
                if k_valid and mi_ready and not pv_go:
                    if qk_j == LAST:
                        qk_j.next = 0
                        if xi_bank == X_BANKS - 1:
                            xi_bank.next = 0
                        else:
                            xi_bank.next = xi_bank + 1
                        qst.next = QST_DESC
                        if d_last:
                            need_q.next = 1
                    else:
                        qk_j.next = qk_j + 1

    return scale, take, issue
