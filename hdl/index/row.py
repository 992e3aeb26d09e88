"""One query row of the index generator: logit, pass-1 row statistics, pass-2 row partial sums.

A ``sig_row`` owns row ``row`` of one head's ``Q_last``.  All rows of the unit run in lock step;
the control (column index, tile flags, drain and exp timing) comes from hdl/index/head.py and
hdl/index/columns.py.  Bit-exact with golden/estimator_fixed.py:

* stage 1/2: ``x = scale_logits(S, mult, shift)`` (24-bit saturating logit, F fraction bits,
  hdl/index/logit.py).
* pass 1: ``x`` goes into a two-bank tile buffer (2B logits: the only per-row memory) while the
  tile max runs; after the tile, the bank is drained through the exp2 unit against the tile's
  integer max ``m_t = ceil(max)``, giving ``l_t``, then merged: ``m' = max(m, m_t)``,
  ``l = rsr(l, m' - m) + rsr(l_t, m' - m_t)`` (tile 0 initialises).  rsr = round-half-up shift.
* between the passes: ``n = bit_length(l)``, ``r = floor(2**(n+R) / l)`` by a restoring divider
  of R+2 cycles (``div_start``), ``s = n + R - PB``.
* pass 2: ``p = exp2(x - m)`` per column; ``a`` sums keys ``j <= row``, ``b`` keys ``j > row``;
  after the tile ``hi = rsr(a*r, s)`` and ``lo = rsr(b*r, s)`` (valid two cycles after the
  tile's last exp output).

Ports (``clk`` rising edge, ``rst`` synchronous)
    s [SW]             score of this row (signed bit pattern) for the column (cycle 0, the MPU output cycle)
    mult [MB+1] signed (>= 0), shf [SHW] signed   the tile's logit multiplier and shift (cycle 0)
    bq [NKB]           rows of Q_last (L - (nb-1) B); rows >= bq are disabled
    c2_*               cycle-2 control: v (column valid), j, diag, first/last column, bank, pass2
    dr_k, dr_bank      pass-1 drain read address (buffer read, registered)
    e_col, e_diag, e_src, e_bank   exp-input control (e_src: 1 = drained logit, 0 = fresh logit)
    p_*                exp-output control (two cycles after e_*): v, col, first, last, pass2,
                       bank, tile0 (the pass-1 tile is tile 0)
    div_start          start the reciprocal (after the last pass-1 merge)
    m [MX] signed, l [RS]   row statistics (final after pass 1)
    hi, lo [PT]        normalised partial sums of the last pass-2 tile
Parameters: ``row`` (0..B-1), ``cfg``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.attention.exp2 import attn_exp2
from hdl.config import ConfigError
from hdl.index.logit import sig_logit
from hdl.index.params import exp_cfg, sig_widths


def _s(bits: int, signed: bool = False) -> Signal:
    if signed:
        return Signal(intbv(0, min=-(1 << (bits - 1)), max=1 << (bits - 1)))
    return Signal(intbv(0)[bits:])


@block
def sig_row(clk, rst, s, mult, shf, bq,
            c2_v, c2_j, c2_diag, c2_first, c2_last, c2_bank, c2_pass2,
            dr_k, dr_bank,
            e_col, e_diag, e_src, e_bank,
            p_v, p_col, p_first, p_last, p_pass2, p_bank, p_tile0,
            div_start, m, l, hi, lo, row, cfg):
    w = sig_widths(cfg)
    B, logit_bits, frac_bits = w["B"], w["LB"], w["F"]
    max_bits, row_sum_bits, recip_bits, prob_bits = w["MX"], w["RS"], w["R"], w["PB"]
    part_bits, product_bits, tile_sum_bits = w["PT"], w["PR"], w["TS"]
    if recip_bits < prob_bits:
        raise ConfigError("recip_bits must be >= prob_bits for the index generator")
    logit_min = -(1 << (logit_bits - 1))
    frac_mask = (1 << frac_bits) - 1
    shift_cap = row_sum_bits + 1          # a shift of l by this much already gives 0
    norm_shift_bits = (row_sum_bits + recip_bits).bit_length()

    prod = _s(w["SW"] + w["MB"] + 2, True)   # signed product S * mult
    sh1 = _s(w["SHW"], True)
    logit = _s(logit_bits, True)
    xu = _s(logit_bits)                   # the logit's bit pattern (cycle 2)
    bufm = [Signal(intbv(0)[logit_bits:]) for _ in range(2 * B)]
    dx = _s(logit_bits)
    tmax = _s(logit_bits, True)
    mt0, mt1 = _s(max_bits, True), _s(max_bits, True)
    ex = _s(logit_bits)
    emt = _s(max_bits, True)
    enk = Signal(intbv(0, min=0, max=B + 1))
    pe = _s(w["E"])
    lt = _s(tile_sum_bits)
    a, b = _s(tile_sum_bits), _s(tile_sum_bits)
    at, bt = _s(tile_sum_bits), _s(tile_sum_bits)
    rr = _s(w["RC"])
    s2 = _s(norm_shift_bits)
    ph, pl = _s(product_bits + 1), _s(product_bits + 1)
    rem = _s(row_sum_bits + 2)
    q = _s(w["RC"])
    dcnt = Signal(intbv(0, min=0, max=recip_bits + 3))
    row_en = Signal(bool(0))
    causal = row < B - 1                  # the last row needs no (constant) compare
    rowlim = row if causal else 0

    saturate = sig_logit(prod, sh1, logit)

    @always_comb
    def en():
        row_en.next = row < bq

    @always(clk.posedge)
    def logit1():
        prod.next = s.signed() * mult
        sh1.next = shf

    @always(clk.posedge)
    def logit2():
        xu.next = logit[logit_bits:]

    @always(clk.posedge)
    def pass1_fill():
        t = intbv(0, min=-(1 << (logit_bits - 1)), max=1 << (logit_bits - 1))
        cur = intbv(0, min=-(1 << (logit_bits - 1)), max=1 << (logit_bits - 1))
        if c2_v and not c2_pass2:
            bufm[c2_bank * B + c2_j].next = xu
            cur[:] = logit_min
            if row_en and (not causal or not c2_diag or c2_j <= rowlim):
                cur[:] = xu.signed()
            if c2_first or cur > tmax:
                t[:] = cur
            else:
                t[:] = tmax
            tmax.next = t
            if c2_last:
                if c2_bank:
                    mt1.next = (t + frac_mask) >> frac_bits
                else:
                    mt0.next = (t + frac_mask) >> frac_bits

    @always(clk.posedge)
    def drain_read():
        dx.next = bufm[dr_bank * B + dr_k]

    @always_comb
    def exp_in():
        if e_src:
            ex.next = dx
            if e_bank:
                emt.next = mt1
            else:
                emt.next = mt0
        else:
            ex.next = xu
            emt.next = m
        if row_en:
            enk.next = B
        else:
            enk.next = 0

    exp_unit = attn_exp2(clk, ex, emt, e_col, e_diag, enk, pe, row=row, cfg=exp_cfg(cfg))

    @always(clk.posedge)
    def accumulate():
        ls = intbv(0)[tile_sum_bits:]
        mtp = intbv(0, min=-(1 << (max_bits - 1)), max=1 << (max_bits - 1))
        mn = intbv(0, min=-(1 << (max_bits - 1)), max=1 << (max_bits - 1))
        sa = intbv(0, min=0, max=shift_cap + 1)
        sb = intbv(0, min=0, max=shift_cap + 1)
        la = intbv(0)[row_sum_bits + 1:]
        lb = intbv(0)[row_sum_bits + 1:]
        an = intbv(0)[tile_sum_bits:]
        bn = intbv(0)[tile_sum_bits:]
        if rst:
            m.next = 0
            l.next = 0
        elif p_v and not p_pass2:
            if p_first:
                ls[:] = pe
            else:
                ls[:] = lt + pe
            lt.next = ls
            if p_last:
                if p_bank:
                    mtp[:] = mt1
                else:
                    mtp[:] = mt0
                if p_tile0:
                    m.next = mtp
                    l.next = ls
                else:
                    mn[:] = m
                    if mtp > m:
                        mn[:] = mtp
                    if mn - m > shift_cap:
                        sa[:] = shift_cap
                    else:
                        sa[:] = mn - m
                    if mn - mtp > shift_cap:
                        sb[:] = shift_cap
                    else:
                        sb[:] = mn - mtp
                    la[:] = l
                    if sa != 0:
                        la[:] = ((la >> (sa - 1)) + 1) >> 1
                    lb[:] = ls
                    if sb != 0:
                        lb[:] = ((lb >> (sb - 1)) + 1) >> 1
                    m.next = mn
                    l.next = la + lb
        elif p_v and p_pass2:
            an[:] = a
            bn[:] = b
            if p_first:
                an[:] = 0
                bn[:] = 0
            if not causal or p_col <= rowlim:
                an[:] = an + pe
            else:
                bn[:] = bn + pe
            a.next = an
            b.next = bn
            if p_last:
                at.next = an
                bt.next = bn

    @always(clk.posedge)
    def normalise():
        ph.next = at * rr
        pl.next = bt * rr

    @always_comb
    def outputs():
        h = intbv(0)[product_bits + 1:]
        lw = intbv(0)[product_bits + 1:]
        h[:] = ph
        lw[:] = pl
        if s2 != 0:
            h[:] = ((h >> (s2 - 1)) + 1) >> 1
            lw[:] = ((lw >> (s2 - 1)) + 1) >> 1
        hi.next = h[part_bits:]
        lo.next = lw[part_bits:]

    @always(clk.posedge)
    def divider():
        n = intbv(0, min=0, max=row_sum_bits + 1)
        msb = intbv(0)[row_sum_bits + 2:]
        rn = intbv(0)[row_sum_bits + 2:]
        if rst:
            dcnt.next = 0
        elif div_start:
            # floor(2**(n+R) / l): the partial remainder starts at 2**(n-1), the top bit of l
            n[:] = 0
            msb[:] = 0
            for k in range(row_sum_bits):
                if l[k]:
                    n[:] = k + 1
                    msb[:] = 0
                    msb[k] = 1
            rem.next = msb
            q.next = 0
            s2.next = n + recip_bits - prob_bits
            dcnt.next = recip_bits + 2
        elif dcnt != 0:
            rn[:] = rem
            if rn >= l:
                rn[:] = rn - l
                q.next = (q << 1) | 1
            else:
                q.next = q << 1
            rem.next = (rn << 1) & ((1 << (row_sum_bits + 2)) - 1)
            dcnt.next = dcnt - 1
        else:
            rr.next = q

    return saturate, en, logit1, logit2, pass1_fill, drain_read, exp_in, exp_unit, accumulate, \
        normalise, outputs, divider
