"""Sizes and widths of the Sparse Index Generator (hdl/index/), derived from the config.

No block here: the numeric widths come from :class:`hdl.numerics.EstimatorWidths`
(the bit-exact contract), the rest from :class:`hdl.config.AcceleratorConfig`.

Error codes of the ``err`` status port (0 = ok):
    ERR_L_ZERO   L = 0
    ERR_L_BIG    L > max_seq_len (the index memories hold max_seq_len / B blocks)
    ERR_GROUP    g = 0 or g > max_group (the unit holds max_group query heads per KV group)
    ERR_ALIGN    an HBM address or the Q head stride is not a multiple of the AXI beat
    ERR_AXI      the HBM answered a read with SLVERR / DECERR
    ERR_SEL      bad selection settings: gamma code outside 1..2**GB, min_budget 0,
                 max_budget not 0 and below min_budget, a top-k count 0, local window 0
"""

from __future__ import annotations

from hdl.numerics import EstimatorParams, EstimatorWidths
from hdl.numerics import score_bits
from hdl.config import AcceleratorConfig, ConfigError

ERR_OK, ERR_L_ZERO, ERR_L_BIG, ERR_GROUP, ERR_ALIGN, ERR_AXI, ERR_SEL = range(7)
ERR_NAMES = {ERR_OK: "ok", ERR_L_ZERO: "L = 0", ERR_L_BIG: "L over the index memory",
             ERR_GROUP: "g outside 1..max_group", ERR_ALIGN: "unaligned address",
             ERR_AXI: "AXI read error", ERR_SEL: "bad selection settings"}

#: most beats of one AXI INCR burst issued by the read master
MAX_BURST = 16
#: most bursts in flight
MAX_OUTSTANDING = 8


def params_for(cfg: AcceleratorConfig) -> EstimatorParams:
    """The estimator parameters the RTL implements (the golden defaults)."""
    return EstimatorParams()


def _bits(x: int) -> int:
    return max(1, int(x).bit_length())


def sig_widths(cfg: AcceleratorConfig) -> dict:
    """Every size and width of the index generator for ``cfg`` (bits unless said otherwise);
    raises ConfigError for unsupported sizes.  The keys:

    B, D, G         block, head_dim, max_group;  NBMAX  key blocks at max_seq_len
    RPB, BPR        key rows per AXI beat, AXI beats per key row (one of them is 1)
    AXW, AB         AXI data and address width
    SW              MPU score (signed);  LB, F  logit register and its fraction bits
    LUT, E          exp2 table index, exp2 output;  MB  tile logit multiplier
    R, PB           reciprocal and probability fraction bits;  MX  integer row max (signed)
    TS, RS, RC, PR, PT   tile sum, row sum, reciprocal, sum x reciprocal, partial sum (hi / lo)
    ACC             v / d score accumulator;  GB, COV  gamma code fraction, coverage products
    SHW             signed logit shift;  CB  column / row index in a tile;  NKB  0..B
    NBW, IW         0..nb_max, a block index;  LW  the L register
    HB, HIW         0..max_group, a head index
    """
    if not isinstance(cfg, AcceleratorConfig):
        raise ConfigError(f"cfg: expected an AcceleratorConfig, got {type(cfg).__name__}")
    p = params_for(cfg)
    w = EstimatorWidths.derive(cfg, p)
    B, D = cfg.block, cfg.head_dim
    row_bytes = D * cfg.data_bits // 8
    if row_bytes % cfg.axi_bytes and cfg.axi_bytes % row_bytes:
        raise ConfigError(f"head_dim: a key row ({row_bytes} bytes) must pack evenly into "
                          f"{cfg.axi_bytes}-byte AXI beats")
    nbmax = cfg.max_blocks
    return {
        "B": B, "D": D, "G": cfg.max_group, "NBMAX": nbmax,
        "RPB": max(1, cfg.axi_bytes // row_bytes),  # key rows per AXI beat (1 for wide rows)
        "BPR": max(1, row_bytes // cfg.axi_bytes),  # AXI beats per key row (1 for narrow rows)
        "AXW": cfg.axi_data_bits, "AB": cfg.axi_addr_bits,
        "SW": score_bits(D),                        # MPU score (signed)
        "LB": p.logit_bits, "F": p.frac_bits, "LUT": p.lut_bits, "E": p.exp_bits,
        "MB": p.mult_bits, "R": p.recip_bits, "PB": p.prob_bits,
        "MX": p.logit_bits - p.frac_bits + 1,       # integer row max (signed)
        "TS": w.tile_sum, "RS": w.row_sum, "RC": w.recip, "PR": w.product, "PT": w.part,
        "ACC": w.score_acc,
        "GB": p.gamma_bits, "COV": w.cover,         # gamma code fraction; coverage products
        "SHW": 20,                                  # signed logit shift -(qe + ke + drop + F)
        "CB": _bits(B - 1),                         # column / row index in a tile
        "NKB": B.bit_length(),                      # 0..B
        "NBW": _bits(nbmax),                        # 0..nbmax
        "IW": _bits(nbmax - 1),                     # block index
        "LW": 32,                                   # the L register
        "HB": _bits(cfg.max_group),                 # 0..max_group
        "HIW": _bits(cfg.max_group - 1),            # head index
    }


def pool_widths(cfg: AcceleratorConfig) -> dict:
    """sig_widths plus the pooled-estimate widths (golden EstimatorWidths pool_mean/pool_score):
    POOL extra mean fraction bits, PMW mean width, PSW pooled score width, MSH the mean's shift
    of the block sum, BSW the block sum width."""
    w = dict(sig_widths(cfg))
    p = params_for(cfg)
    ew = EstimatorWidths.derive(cfg, p)
    log_block = cfg.block.bit_length() - 1
    w.update(POOL=p.pool_bits, PMW=ew.pool_mean, PSW=ew.pool_score,
             MSH=log_block - p.pool_bits,            # mean = rshift_round(sum, MSH) (< 0: left)
             BSW=8 + log_block + 1)                  # signed block sum of B int8 values
    return w


def exp_cfg(cfg: AcceleratorConfig) -> AcceleratorConfig:
    """The config handed to hdl.attention.exp2 so that it computes the estimator's exp2_neg."""
    p = params_for(cfg)
    return cfg.replace(p_bits=p.exp_bits, score_frac_bits=p.frac_bits, exp_lut_bits=p.lut_bits,
                       logit_bits=p.logit_bits)
