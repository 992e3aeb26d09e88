"""Bit-exact fixed-point index estimator: the contract of the Sparse Index Generator RTL.

It computes the same :class:`golden.pattern.Pattern` as the float model
(``golden.pattern.build_pattern``) with integer arithmetic only, in the order
the hardware uses:

1. ``pass1_row_stats``: K streamed block by block; per row of ``Q_last`` (the last
   query block) a running integer max ``m`` (log2 units) and a running sum ``l`` of
   ``2**(x - m)``.  Each tile's exponentials are taken against the tile's own
   integer max ``m_t`` and merged with shifts (``l <- l >> (m_new - m) + l_t >>
   (m_new - m_t)``, round half up): no multiplier in the rescale.
2. ``pass2_scores``: K streamed again; ``p = 2**(x - m)`` recomputed against the final
   row max; per row and tile the two partial sums on either side of the tile's
   diagonal (``a``: key index <= row index, ``b``: above) are normalised by the row's
   reciprocal ``r = floor(2**(n+R) / l)`` (``n`` = bit length of ``l``) and accumulated
   into the vertical score ``v[c]`` and the two slash scores ``d[nb-1-c]`` (from ``a``)
   and ``d[nb-2-c]`` (from ``b``).
3. ``select_fixed``: coverage on integer scores with an integer gamma code, the
   same order and tie rule as the float model.
4. ``pooled_row_mask_fixed``: the per-row guardrail from integer block sums of Q
   and K (B a power of two, the mean is a shift), when ``row_gamma > 0``.

Inputs are ``golden.quant.QuantTensor``: Q quantised with ``extra=log2(e)/sqrt(D)``
folded into its scale codes (see :func:`quantize_estimator_inputs`), K plain.
Every width is declared in :class:`EstimatorWidths` (derived from the config)
and checked inside the model: a value that would not fit raises
``golden.fixedpoint.WidthError`` instead of wrapping.  docs/pattern.md lists
widths and rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from golden.fixedpoint import (WidthError, bit_length, ceil_int, check_width, exp2_neg, logit_multiplier,
                               recip, rshift_round, scale_logits)
from golden.pattern import Pattern, assemble_pattern, dense_pattern
from golden.quant import QMAX, QuantTensor, quantize_blocks
from hdl.config import AcceleratorConfig, ConfigError, SparsityConfig, num_blocks
from hdl.numerics import EstimatorParams, EstimatorWidths

__all__ = [
    "EstimatorParams", "EstimatorWidths", "RowStats", "quantize_estimator_inputs", "gamma_code",
    "pass1_row_stats", "pass2_scores", "select_fixed", "select_topk_fixed", "pooled_row_mask_fixed",
    "estimate_pattern_fixed", "WidthError",
]


@dataclass(frozen=True)
class RowStats:
    """Pass-1 result per (query head, row of Q_last): ``m`` (int, log2 units) and ``l``."""

    m: torch.Tensor
    l: torch.Tensor


# ---------------------------------------------------------------- inputs
def quantize_estimator_inputs(q: torch.Tensor, k: torch.Tensor, block: int
                              ) -> tuple[QuantTensor, QuantTensor]:
    """Host side: int8 Q (with log2(e)/sqrt(D) folded into its codes) and K, per-block scales."""
    D = q.shape[-1]
    return (quantize_blocks(q, block, extra=math.log2(math.e) / math.sqrt(D)),
            quantize_blocks(k, block))


def gamma_code(gamma: float, bits: int = 16) -> int:
    """Integer gamma register: round(gamma * 2**bits), at least 1; gamma must lie in (0, 1]."""
    if not (isinstance(gamma, (int, float)) and 0.0 < gamma <= 1.0):
        raise ValueError(f"gamma: must lie in (0, 1], got {gamma!r}")
    return max(1, int(round(gamma * (1 << bits))))


def _check_inputs(qq: QuantTensor, kq: QuantTensor, cfg: AcceleratorConfig) -> tuple[int, int, int, int]:
    if not isinstance(qq, QuantTensor) or not isinstance(kq, QuantTensor):
        raise ValueError("qq and kq must be golden.quant.QuantTensor")
    if not isinstance(cfg, AcceleratorConfig):
        raise ValueError("cfg must be an AcceleratorConfig")
    if qq.values.dim() != 3 or kq.values.dim() != 3:
        raise ValueError(f"q must be [H, L, D] and k [Hkv, L, D]; got {tuple(qq.values.shape)}, "
                         f"{tuple(kq.values.shape)}")
    H, L, D = qq.values.shape
    Hkv, Lk, Dk = kq.values.shape
    if L == 0:
        raise ValueError("seq_len: L = 0 (empty sequence)")
    if Lk != L or Dk != D:
        raise ValueError(f"shape mismatch: q {tuple(qq.values.shape)} vs k {tuple(kq.values.shape)}")
    if D != cfg.head_dim:
        raise ConfigError(f"head_dim: tensors have D={D}, config {cfg.name!r} has {cfg.head_dim}")
    if qq.block != cfg.block or kq.block != cfg.block:
        raise ConfigError(f"block: quantiser blocks ({qq.block}, {kq.block}) differ from "
                          f"config block {cfg.block}")
    cfg.check_seq_len(L)
    cfg.check_heads(H, Hkv)
    return H, Hkv, L, D


#: key blocks whose logits are formed at once (a software speed-up only: tile results do not
#: depend on it, and the online merge of pass 1 still runs tile by tile in order)
CHUNK_TILES = 64


def _tile_logits(qq: QuantTensor, kq: QuantTensor, cfg: AcceleratorConfig, p: EstimatorParams,
                 w: EstimatorWidths, c0: int, c1: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (F fraction bits) of Q_last against key blocks c0..c1-1: x [H, Bq, c1-c0, B] and
    the valid mask (causal, and keys past L of a partial last block)."""
    H, L, D = qq.values.shape
    Hkv = kq.values.shape[0]
    g = H // Hkv
    B = cfg.block
    nb = num_blocks(L, B)
    r0 = (nb - 1) * B
    nt = c1 - c0
    ql = qq.values[:, r0:].to(torch.float64)                          # [H, Bq, D]
    kt = kq.values[:, c0 * B:c1 * B].to(torch.float64)
    kt = torch.nn.functional.pad(kt, (0, 0, 0, nt * B - kt.shape[1]))  # partial block: zero keys
    kt = kt.repeat_interleave(g, dim=0)                               # [H, nt*B, D]
    # int8 dot products are exact in float64 (|S| < 2**53): a fast exact integer matmul.
    s = torch.einsum("hid,hjd->hij", ql, kt).round().to(torch.int64)
    check_width(s, w.score, True, "score")
    Bq = ql.shape[1]
    s = s.view(H, Bq, nt, B)
    kv = torch.arange(H) // g
    mult, shift = logit_multiplier(qq.scale_mant[:, nb - 1, None], qq.scale_exp[:, nb - 1, None],
                                   kq.scale_mant[kv, c0:c1], kq.scale_exp[kv, c0:c1], p.frac_bits, p.mult_bits)
    x = scale_logits(s, mult[:, None, :, None], shift[:, None, :, None], p.logit_bits)
    kpos = (torch.arange(c0, c1)[:, None] * B + torch.arange(B)).view(1, nt, B)
    valid = (kpos <= (r0 + torch.arange(Bq)).view(Bq, 1, 1)) & (kpos < L)
    return x, valid.expand(H, Bq, nt, B)


def _exp(x: torch.Tensor, m: torch.Tensor, valid: torch.Tensor, p: EstimatorParams) -> torch.Tensor:
    """2**(x - m) with E bits, masked entries exactly 0; m int broadcastable against x."""
    y = x - (m << p.frac_bits)
    e = exp2_neg(torch.where(valid, y, torch.zeros_like(y)), p.frac_bits, p.lut_bits, p.exp_bits)
    return torch.where(valid, e, torch.zeros_like(e))


# ---------------------------------------------------------------- pass 1
def pass1_row_stats(qq: QuantTensor, kq: QuantTensor, cfg: AcceleratorConfig,
                    params: EstimatorParams = EstimatorParams()) -> RowStats:
    """Pass 1 over K (blocks 0..nb-1 in order): per row of Q_last, integer max m and sum l.

    Per tile: x = logits, m_t = ceil(max valid x) (integer), l_t = sum 2**(x - m_t) (E bits),
    then m_new = max(m, m_t); l = rshift_round(l, m_new - m) + rshift_round(l_t, m_new - m_t);
    tile 0 initialises m = m_t, l = l_t.  Returns RowStats(m [H, Bq], l [H, Bq]).
    """
    H, Hkv, L, D = _check_inputs(qq, kq, cfg)
    w = EstimatorWidths.derive(cfg, params)
    nb = num_blocks(L, cfg.block)
    m = l = None
    for c0 in range(0, nb, CHUNK_TILES):
        c1 = min(nb, c0 + CHUNK_TILES)
        x, valid = _tile_logits(qq, kq, cfg, params, w, c0, c1)
        neg = torch.full_like(x, -(1 << 62))
        # every tile holds key c*B, which precedes every row of Q_last: each row has a valid key
        mt_all = ceil_int(torch.where(valid, x, neg).amax(dim=-1), params.frac_bits)   # [H, Bq, nt]
        lt_all = _exp(x, mt_all[..., None], valid, params).sum(dim=-1)
        check_width(lt_all, w.tile_sum, False, "tile_sum")
        for t in range(c1 - c0):
            mt, lt = mt_all[:, :, t], lt_all[:, :, t]
            if m is None:
                m, l = mt.clone(), lt.clone()
                continue
            m_new = torch.maximum(m, mt)
            l = rshift_round(l, m_new - m) + rshift_round(lt, m_new - mt)
            m = m_new
        check_width(l, w.row_sum, False, "row_sum")
    return RowStats(m=m, l=l)


# ---------------------------------------------------------------- pass 2
def pass2_scores(qq: QuantTensor, kq: QuantTensor, cfg: AcceleratorConfig, stats: RowStats,
                 params: EstimatorParams = EstimatorParams(), return_rows: bool = False):
    """Pass 2 over K: integer vertical scores v [H, nb] and slash scores d [H, nb].

    Per row: n = bit_length(l), r = floor(2**(n+R) / l).  Per tile c and row i:
    a = sum of 2**(x - m) over keys j <= i (tile-local indices), b = over j > i;
    hi = rshift_round(a * r, n + R - PB), lo = likewise from b;
    v[c] += hi + lo, d[nb-1-c] += hi, d[nb-2-c] += lo.
    With ``return_rows``, also returns a dict: ``p_sum`` [H, Bq] (sum of all pass-2
    exponentials, l2) and ``norm_sum`` [H, Bq] (sum of all hi + lo of the row).
    """
    H, Hkv, L, D = _check_inputs(qq, kq, cfg)
    w = EstimatorWidths.derive(cfg, params)
    B = cfg.block
    nb = num_blocks(L, B)
    m, l = stats.m, stats.l
    check_width(l, w.row_sum, False, "row_sum")
    if int(l.min()) < 1:
        raise ValueError("pass2_scores: row sums l must be positive (run pass1_row_stats)")
    n = bit_length(l)
    r = check_width(_recip_norm(l, n, params.recip_bits), w.recip, False, "recip")[..., None]
    s = (n + params.recip_bits - params.prob_bits)[..., None]
    v = torch.zeros(H, nb, dtype=torch.int64)
    d = torch.zeros(H, nb + 1, dtype=torch.int64)          # d[nb] collects nothing (see below)
    p_sum = torch.zeros_like(l)
    norm_sum = torch.zeros_like(l)
    for c0 in range(0, nb, CHUNK_TILES):
        c1 = min(nb, c0 + CHUNK_TILES)
        x, valid = _tile_logits(qq, kq, cfg, params, w, c0, c1)
        e = _exp(x, m[..., None, None], valid, params)                 # [H, Bq, nt, B]
        Bq = e.shape[1]
        low = (torch.arange(B)[None, :] <= torch.arange(Bq)[:, None])[:, None, :]  # key j <= row i
        a = check_width(torch.where(low, e, 0).sum(-1), w.tile_sum, False, "tile_sum")   # [H, Bq, nt]
        b = check_width(torch.where(low, 0, e).sum(-1), w.tile_sum, False, "tile_sum")
        hi = rshift_round(check_width(a * r, w.product, False, "product"), s)
        lo = rshift_round(check_width(b * r, w.product, False, "product"), s)
        check_width(hi, w.part, False, "part")
        check_width(lo, w.part, False, "part")
        cs = torch.arange(c0, c1)
        v[:, c0:c1] += (hi + lo).sum(1)
        d[:, nb - 1 - cs] += hi.sum(1)
        # b is 0 on the diagonal tile (c = nb-1, causal); its offset -1 maps to the spare d[nb]
        d[:, (nb - 2 - cs) % (nb + 1)] += lo.sum(1)
        p_sum += (a + b).sum(-1)
        norm_sum += (hi + lo).sum(-1)
    if int(d[:, nb].abs().max()) != 0:
        raise AssertionError("pass2_scores: mass above the diagonal of the last tile")
    d = d[:, :nb].contiguous()
    check_width(v, w.score_acc, False, "score_acc v")
    check_width(d, w.score_acc, False, "score_acc d")
    if return_rows:
        return v, d, {"p_sum": p_sum, "norm_sum": norm_sum}
    return v, d


def _recip_norm(l: torch.Tensor, n: torch.Tensor, R: int) -> torch.Tensor:
    """floor(2**(n+R) / l) per row, n = bit_length(l): a restoring divider of R+2 steps."""
    out = torch.empty_like(l)
    for nv in torch.unique(n).tolist():
        sel = n == nv
        out[sel] = recip(l[sel], int(nv) + R)
    return out


# ---------------------------------------------------------------- selection
def _coverage_count_int(sorted_desc: torch.Tensor, code: int, gbits: int, wbits: int) -> torch.Tensor:
    """Per row of ``sorted_desc [R, n]``: fewest leading entries with cum * 2**GB >= code * total."""
    cum = torch.cumsum(sorted_desc, dim=-1)
    lhs = check_width(cum << gbits, wbits, False, "cover")
    rhs = check_width(code * cum[:, -1:], wbits, False, "cover")
    return ((lhs < rhs).sum(dim=-1) + 1).clamp(max=sorted_desc.shape[-1])


def _order_int(scores: torch.Tensor) -> torch.Tensor:
    """Score descending, ties toward the lower index (a stable sort)."""
    return torch.sort(scores, descending=True, stable=True).indices


def select_fixed(scores: torch.Tensor, code: int, min_budget: int = 1, max_budget: int = 0,
                 gamma_bits: int = 16) -> list[int]:
    """Coverage selection on integer scores [n] (sorted ascending result).

    Order: score descending, ties to the lower index.  Keep the fewest leading entries with
    ``cum * 2**gamma_bits >= code * total``; clamp to ``[min_budget, max_budget or n]`` and n.
    ``code = 2**gamma_bits`` (gamma 1) keeps every nonzero entry.
    """
    s = torch.as_tensor(scores)
    if s.dtype.is_floating_point or s.dim() != 1 or s.numel() == 0:
        raise ValueError(f"scores must be a non-empty integer vector, got {s.dtype} {tuple(s.shape)}")
    s = s.to(torch.int64)
    if int(s.min()) < 0:
        raise ValueError("scores must be non-negative")
    if not (1 <= code <= (1 << gamma_bits)):
        raise ValueError(f"gamma code must lie in [1, 2**{gamma_bits}], got {code}")
    if min_budget < 1 or (max_budget and max_budget < min_budget):
        raise ValueError(f"budgets: need 1 <= min_budget <= max_budget (or 0), got "
                         f"{min_budget}, {max_budget}")
    order = _order_int(s)
    wbits = int(s.sum()).bit_length() + gamma_bits + 2
    count = int(_coverage_count_int(s[order][None], code, gamma_bits, max(wbits, 2))[0])
    count = max(count, min_budget)
    if max_budget:
        count = min(count, max_budget)
    return sorted(order[:min(count, s.numel())].tolist())


def select_topk_fixed(scores: torch.Tensor, k: int) -> list[int]:
    """The ``min(k, n)`` highest integer scores (ties to the lower index), sorted ascending."""
    s = torch.as_tensor(scores).to(torch.int64)
    if s.dim() != 1 or s.numel() == 0 or k < 1:
        raise ValueError(f"need a non-empty vector and k >= 1, got {tuple(s.shape)}, k={k}")
    return sorted(_order_int(s)[:k].tolist())


# ---------------------------------------------------------------- pooled guardrail
def pooled_row_mask_fixed(qq: QuantTensor, kq: QuantTensor, cfg: AcceleratorConfig, code: int,
                          params: EstimatorParams = EstimatorParams()) -> torch.Tensor:
    """Per-row pooled estimate in fixed point: bool [H, nb, nb].

    Block means: rshift_round(block sum of int8 rows, log2(B) - pool_bits) (zero-padded
    partial block); pooled score = mean_q . mean_k (int), logit through the blocks' scale
    codes (exponents lowered by pool_bits each); per row r, over c <= r: m = ceil(max),
    p = 2**(x - m) (E bits), keep the fewest c covering code / 2**GB of the row's p mass.
    """
    H, Hkv, L, D = _check_inputs(qq, kq, cfg)
    w = EstimatorWidths.derive(cfg, params)
    B = cfg.block
    g = H // Hkv
    nb = num_blocks(L, B)
    lb = B.bit_length() - 1
    pad = nb * B - L

    def means(t: QuantTensor) -> torch.Tensor:
        vals = torch.nn.functional.pad(t.values.to(torch.int64), (0, 0, 0, pad))
        sums = vals.view(vals.shape[0], nb, B, D).sum(2)
        return check_width(rshift_round(sums, lb - params.pool_bits), w.pool_mean, True, "pool_mean")

    qm = means(qq)
    km = means(kq).repeat_interleave(g, dim=0)
    s = torch.einsum("hrd,hcd->hrc", qm.double(), km.double()).round().to(torch.int64)
    check_width(s, w.pool_score, True, "pool_score")
    kv = torch.arange(H) // g
    mult, shift = logit_multiplier(qq.scale_mant[:, :, None], qq.scale_exp[:, :, None] - params.pool_bits,
                                   kq.scale_mant[kv][:, None, :], kq.scale_exp[kv][:, None, :] - params.pool_bits,
                                   params.frac_bits, params.mult_bits)
    x = scale_logits(s, mult, shift, params.logit_bits)
    causal = torch.ones(nb, nb, dtype=torch.bool).tril().expand(H, nb, nb)
    mrow = ceil_int(torch.where(causal, x, torch.full_like(x, -(1 << 62))).amax(-1), params.frac_bits)
    e = _exp(x, mrow[..., None], causal, params)
    order = torch.sort(e, dim=-1, descending=True, stable=True).indices
    se = torch.gather(e, -1, order).reshape(H * nb, nb)
    count = _coverage_count_int(se, code, params.gamma_bits, w.cover).view(H, nb, 1)
    keep_sorted = torch.arange(nb)[None, None, :] < count
    return torch.zeros_like(keep_sorted).scatter_(-1, order, keep_sorted) & causal


# ---------------------------------------------------------------- top level
def estimate_pattern_fixed(qq: QuantTensor, kq: QuantTensor, cfg: AcceleratorConfig,
                           sparsity: SparsityConfig | None = None, layer: int | None = None,
                           params: EstimatorParams = EstimatorParams()) -> Pattern:
    """The fixed-point pattern of one layer (what the index generator writes).

    qq [H, L, D] (codes with log2(e)/sqrt(D) folded in), kq [Hkv, L, D]; cfg sizes the
    datapath; sparsity defaults to cfg.sparsity; layer selects dense layers.
    """
    H, Hkv, L, D = _check_inputs(qq, kq, cfg)
    sp = cfg.sparsity if sparsity is None else sparsity
    if not isinstance(sp, SparsityConfig):
        raise ValueError("sparsity must be a SparsityConfig")
    B = cfg.block
    if (layer is not None and layer in sp.dense_layers) or L < sp.dense_below:
        return dense_pattern(H, L, B)
    nb = num_blocks(L, B)
    stats = pass1_row_stats(qq, kq, cfg, params)
    v, d = pass2_scores(qq, kq, cfg, stats, params)
    if sp.mode == "topk":
        vertical = [select_topk_fixed(v[h], sp.topk_vertical) for h in range(H)]
        slash = [select_topk_fixed(d[h], sp.topk_slash) for h in range(H)]
    else:
        code = gamma_code(sp.gamma, params.gamma_bits)
        vertical = [select_fixed(v[h], code, sp.min_budget, sp.max_budget, params.gamma_bits)
                    for h in range(H)]
        slash = [select_fixed(d[h], code, sp.min_budget, sp.max_budget, params.gamma_bits)
                 for h in range(H)]
    row_mask = None
    if sp.row_gamma > 0:
        row_mask = pooled_row_mask_fixed(qq, kq, cfg, gamma_code(sp.row_gamma, params.gamma_bits), params)
    return assemble_pattern(vertical, slash, nb, B, L, sp, row_mask)
