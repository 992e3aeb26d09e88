"""One query head's row datapath of the pooled estimate (hdl/index/pool.py).

For the row r being computed, per key block c = 0..r (bit-exact with
``golden.estimator_fixed.pooled_row_mask_fixed``):

* score sweep (``a_v``, block ``a_c``): the pooled score ``qmean[r] . kmean[c]`` (D products of
  the means), the tile scale from the two blocks' scale codes (hdl/index/tile_scale.py), the
  saturating logit (hdl/index/logit.py) into the logit buffer while the row max runs;
* exp sweep (``b_v``, block ``b_c``): ``p = exp2_neg(x - ceil(max))`` (hdl/attention/exp2.py
  with the estimator's widths) enters the selector's sorted list (rising c);
* the selector (hdl/index/select.py without emission) pops the fewest leading blocks that
  cover ``code / 2**GB`` of the row mass into the map ``bm``.

Ports (``clk`` rising edge, ``rst`` synchronous)
    qrow [D*PMW]            the Q mean of row r (held during the row)
    kmean [D*PMW], kcode [32]   K mean word and scale code of block ``a_c`` (registered reads,
                            on the inputs in the cycle of ``a_v``)
    qcode [32]              the Q scale code of row r
    a_v, a_c, a_first       score sweep: block a_c is on the inputs; a_first: c = 0
    b_v, b_c                exp sweep: read the logit buffer at b_c
    sel_clr, sel_go, code, sel_idle, bm   the selector: clear, go, gamma code, idle, the map
Parameters: ``cfg``.
"""

from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from hdl.attention.exp2 import attn_exp2
from hdl.index.logit import sig_logit
from hdl.index.params import exp_cfg, pool_widths
from hdl.index.select import sig_select
from hdl.index.tile_scale import sig_tile_scale


def _s(bits: int, signed: bool = False, val: int = 0) -> Signal:
    if signed:
        return Signal(intbv(val, min=-(1 << (bits - 1)), max=1 << (bits - 1)))
    return Signal(intbv(val)[bits:])


@block
def sig_pool_head(clk, rst, qrow, kmean, qcode, kcode, a_v, a_c, a_first, b_v, b_c, sel_clr, sel_go,
                  code, sel_idle, bm, cfg):
    w = pool_widths(cfg)
    D, mean_bits, score_bits = w["D"], w["PMW"], w["PSW"]
    logit_bits, frac_bits, block_index_bits = w["LB"], w["F"], w["IW"]
    prod_bits = score_bits + w["MB"] + 2           # signed product s * mult
    mean_mask = (1 << mean_bits) - 1
    mean_half = 1 << (mean_bits - 1)
    frac_mask = (1 << frac_bits) - 1

    # score sweep: stage s2 (score, scale), s3 (product), then the logit into the buffer
    dot = _s(score_bits, True)
    scale_mult, mult = _s(w["MB"] + 1, True), _s(w["MB"] + 1, True)
    scale_shift, shf = _s(w["SHW"] + 1, True), _s(w["SHW"] + 1, True)
    s2_v, s3_v = Signal(bool(0)), Signal(bool(0))
    s2_c, s3_c = _s(block_index_bits), _s(block_index_bits)
    s2_f, s3_f = Signal(bool(0)), Signal(bool(0))
    prod = _s(prod_bits, True)
    sh2 = _s(w["SHW"] + 1, True)
    logit = _s(logit_bits, True)
    xbuf = [Signal(intbv(0)[logit_bits:]) for _ in range(w["NBMAX"])]
    xmax = _s(logit_bits, True)
    mrow = _s(w["MX"], True)
    # exp sweep: the buffer read (e1), the exp2 unit's two registers (e2, e3)
    xr = _s(logit_bits)
    e1_v, e2_v, e3_v = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    e1_c, e2_c, e3_c = _s(block_index_bits), _s(block_index_bits), _s(block_index_bits)
    zero_col, zero_diag = _s(1), Signal(bool(0))
    one_nk = Signal(intbv(1, min=0, max=2))
    pe = _s(w["E"])
    ins_val = _s(w["ACC"])
    one, zero16 = _s(16, val=1), _s(16)

    scale = sig_tile_scale(qcode, kcode, scale_mult, scale_shift, cfg=cfg,
                           extra_shift=2 * w["POOL"])
    saturate = sig_logit(prod, sh2, logit)

    @always(clk.posedge)
    def score():
        # D products of the means, the tile-scale multiplier and shift
        acc = intbv(0, min=-(1 << (score_bits - 1)), max=1 << (score_bits - 1))
        qv = intbv(0, min=-mean_half, max=mean_half)
        kv = intbv(0, min=-mean_half, max=mean_half)
        for d in range(D):
            qv[:] = ((qrow >> (mean_bits * d)) & mean_mask) - \
                (((qrow >> (mean_bits * d + mean_bits - 1)) & 1) << mean_bits)
            kv[:] = ((kmean >> (mean_bits * d)) & mean_mask) - \
                (((kmean >> (mean_bits * d + mean_bits - 1)) & 1) << mean_bits)
            acc[:] = acc + qv * kv
        dot.next = acc
        mult.next = scale_mult
        shf.next = scale_shift
        s2_v.next = a_v and not rst
        s2_c.next = a_c
        s2_f.next = a_first

    @always(clk.posedge)
    def product():
        prod.next = dot * mult
        sh2.next = shf
        s3_v.next = s2_v and not rst
        s3_c.next = s2_c
        s3_f.next = s2_f

    @always(clk.posedge)
    def buffer():
        if s3_v:
            xbuf[s3_c].next = logit[logit_bits:]
            if s3_f or logit > xmax:
                xmax.next = logit

    @always_comb
    def rowmax():
        mrow.next = (xmax + frac_mask) >> frac_bits

    @always(clk.posedge)
    def exp_read():
        xr.next = xbuf[b_c]
        e1_v.next = b_v and not rst
        e1_c.next = b_c
        e2_v.next = e1_v and not rst
        e2_c.next = e1_c
        # xr is valid in the cycle after b_v (e1); the exp2 unit registers twice: p in e1 + 2
        e3_v.next = e2_v and not rst
        e3_c.next = e2_c

    @always_comb
    def consts():
        zero_col.next = 0
        zero_diag.next = 0
        one_nk.next = 1
        one.next = 1
        zero16.next = 0
        ins_val.next = pe

    ex = attn_exp2(clk, xr, mrow, zero_col, zero_diag, one_nk, pe, row=cfg.block - 1, cfg=exp_cfg(cfg))
    sel = sig_select(clk, rst, sel_clr, e3_v, ins_val, e3_c, sel_go, code, one, zero16, zero16, None,
                     sel_idle, None, None, None, new_first=0, cfg=cfg, bm_out=bm, emit=False)
    return scale, saturate, score, product, buffer, rowmax, exp_read, consts, ex, sel
