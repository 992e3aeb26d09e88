"""Merge of the attention engine (hdl/attention/engine.py): the MPU's PV results into the row state.

The MPU drains one PV row of the tile per beat (``mt_*``: the row's O term).  Stage m0 reads the
row's state (O accumulator, max m, sum l) with the tile's max m_t and row sum s (from
hdl/attention/rowsum.py, bank ``mb``); stage m1 writes the merged state back: ``m' = max(m,
m_t)``, O and l rescaled to m' and added (hdl/attention/rescale.py, one per element and one for
l); the row's first tile takes the tile terms alone.  On the tile's last tile of a row the row
leaves finished (``fin_*``) to the output stage.  The drain waits while the output stage still
holds the same row of the previous block (``occ``).

Ports (``clk`` rising edge, ``rst`` synchronous active high, a ``ResetSignal``)
    mt_valid, mt_ready (out), mt_data [TW*D], mt_row [RB], mt_last   the MPU's PV drain
    smt_cat [B*MX], s_cat [B*TL]   every row's tile max and tile row sum of bank ``mb``
    pfirst, plast                  per P bank (lists of 2): the tile is the row's first / last
    occ [B]                        rows held by the output stage
    mb (out)                       the P bank being merged
    merged (out), merged_bank (out)   the tile's last row is written back: its P bank is free
    m1v (out)                      a row in stage m1
    fin_v, fin_row [RB], fin_o [AW*D], fin_l [LW], fin_m [MX signed] (out)   a finished row
Parameters: ``cfg``.
"""

from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, always_seq, block, intbv

from hdl.attention.rescale import attn_rescale
from hdl.attention.signals import sig as _sig


@block
def attn_merge(clk, rst, mt_valid, mt_ready, mt_data, mt_row, mt_last, smt_cat, s_cat, pfirst, plast,
               occ, mb, merged, merged_bank, m1v, fin_v, fin_row, fin_o, fin_l, fin_m, tile_bits, cfg):
    B, D = cfg.block, cfg.head_dim
    MX, TL, AW, LW, TW = cfg.max_bits, cfg.tile_l_bits, cfg.acc_o_bits, cfg.acc_l_bits, tile_bits
    E, SMAX = cfg.acc_frac_bits, cfg.rescale_shift_max
    RB = len(mt_row)
    LAST = B - 1
    b = lambda: Signal(bool(0))  # noqa: E731
    first_rd, last_rd, mbank_rd = b(), b(), b()
    mrow = _sig(RB)
    tr = _sig(TW * D)
    o_rd = _sig(AW * D)
    m_rd, mt_rd = _sig(MX, True), _sig(MX, True)
    l_rd, s_rd = _sig(LW), _sig(TL)
    m_new = _sig(MX, True)
    sh_old = Signal(intbv(0, min=0, max=SMAX + 1))
    sh_t = Signal(intbv(0, min=-E - 1, max=SMAX + 1))
    onew = [_sig(AW, True) for _ in range(D)]
    onew_cat = ConcatSignal(*reversed(onew))
    l_new = _sig(LW)
    ostate = [_sig(AW * D) for _ in range(B)]
    mst = [_sig(MX, True) for _ in range(B)]
    lst = [_sig(LW) for _ in range(B)]
    drain_ok = b()

    insts = [attn_rescale(o_rd(AW * (d + 1), AW * d), tr(TW * (d + 1), TW * d), sh_old, sh_t, first_rd,
                          onew[d], acc_width=AW, t_width=TW, signed=True, cfg=cfg) for d in range(D)]
    insts.append(attn_rescale(l_rd, s_rd, sh_old, sh_t, first_rd, l_new, acc_width=LW, t_width=TL,
                              signed=False, cfg=cfg))

    @always_comb
    def shifts():
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

    @always_comb
    def drain():
        # the row's last tile finishes row mt_row: the output stage must have let go of the
        # previous row block's row mt_row
        if plast[mb] and occ[mt_row]:
            drain_ok.next = 0
        else:
            drain_ok.next = 1
        merged.next = m1v and mrow == LAST
        merged_bank.next = mbank_rd

    @always_comb
    def drain_ready():
        mt_ready.next = drain_ok

    @always_seq(clk.posedge, reset=rst)
    def merge():
        # the P bank being merged and the valids of m1 and of the finished row
        m1v.next = mt_valid and drain_ok
        if mt_valid and drain_ok and mt_last:
            mb.next = not mb
        fin_v.next = m1v and last_rd

    @always(clk.posedge)
    def merge_data():
        # the row state and the stages' data: no reset (read only under the valids above),
        # they hold through one
        if not rst:
            # m0 reads the row state, m1 writes it back
            if mt_valid and drain_ok:
                tr.next = mt_data
                mrow.next = mt_row
                o_rd.next = ostate[mt_row]
                m_rd.next = mst[mt_row]
                l_rd.next = lst[mt_row]
                mt_rd.next = (smt_cat >> (MX * mt_row)) & (2 ** MX - 1)
                s_rd.next = (s_cat >> (TL * mt_row)) & (2 ** TL - 1)
                mbank_rd.next = mb
                first_rd.next = pfirst[mb]
                last_rd.next = plast[mb]
            if m1v:
                ostate[mrow].next = onew_cat
                mst[mrow].next = m_new
                lst[mrow].next = l_new
                fin_row.next = mrow
                fin_o.next = onew_cat
                fin_l.next = l_new
                fin_m.next = m_new

    return insts, shifts, drain, drain_ready, merge, merge_data
