"""Float model of the dynamic block vertical-slash sparsity pattern (the researcher's model).

The pattern of one layer is estimated per query head from the prompt itself:

* ``vertical_slash_scores``: softmax of the last query block against all keys,
  summed per key block (vertical score ``v[c]``) and per token-distance band
  (slash score ``d[k]``: distance in ``[k*B, (k+1)*B)``).
* ``select_coverage`` / ``select_topk``: which blocks / offsets to keep.
* ``build_pattern``: the union of the vertical-slash tiles with the guardrails
  of :class:`hdl.config.SparsityConfig` (per-row pooled estimate, local window,
  dense layers, dense below a length).  Key block 0 (the sink) and offset 0
  (the diagonal) are always kept.

Definitions owned by this module (the fixed-point model in
``golden.estimator_fixed`` follows them, with integer arithmetic):

* ``Q_last`` is the last query block, rows ``(nb-1)*B .. L-1`` (a partial block
  when ``L`` is not a multiple of ``B``): it is aligned to the key blocks, so a
  ``B x B`` tile splits its mass between exactly two slash offsets.
* Selection order: scores descending, equal scores broken toward the lower
  index.  Coverage keeps the fewest leading entries of that order whose sum is
  ``>= gamma * total``; ``gamma == 1`` keeps every entry with a nonzero score
  (in float, a cumulative sum can round up to the total before the smallest
  entries are added).  The count is then clamped to ``[min_budget,
  max_budget]`` (``max_budget == 0``: no upper limit) and to the entries that
  exist.  The forced entries (sink, diagonal, local window) are added after
  selection and do not count against the budget.
* Pooled per-row estimate: block means are zero-padded means (block sum / B,
  also for a partial last block), so that hardware divides by a shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from golden.attention import check_sizes
from hdl.config import SparsityConfig, num_blocks

__all__ = [
    "Pattern", "vertical_slash_scores", "select_coverage", "select_topk", "build_pattern",
    "dense_pattern", "recall", "row_stream", "pooled_row_mask", "pattern_from_sets",
    "check_qk",
]


@dataclass(frozen=True)
class Pattern:
    """A per-head block pattern of one layer.

    mask      bool [H, nb, nb]; ``mask[h, r, c]``: tile (query block r, key block c) kept;
              only ``c <= r`` can be set.  The mask is the source of truth (it includes the
              guardrail tiles that the vertical / slash lists do not describe).
    vertical  per head, sorted kept vertical key blocks (sink 0 included).
    slash     per head, sorted kept slash offsets (0 and the local window included).
    block     B; seq_len: L.
    """

    mask: torch.Tensor
    vertical: list[list[int]]
    slash: list[list[int]]
    block: int
    seq_len: int

    @property
    def num_blocks(self) -> int:
        return self.mask.shape[-1]

    def density(self) -> torch.Tensor:
        """Per head: kept tiles / causal tiles (float64 [H])."""
        nb = self.num_blocks
        return self.mask.sum(dim=(1, 2)).double() / (nb * (nb + 1) / 2)

    def mean_density(self) -> float:
        return float(self.density().mean())


# ---------------------------------------------------------------- validation
def check_qk(q: torch.Tensor, k: torch.Tensor, max_seq_len: int | None = None) -> tuple[int, int, int, int]:
    """Validate ``q [H, L, D]`` and ``k [Hkv, L, D]``; returns (H, Hkv, L, D)."""
    if not isinstance(q, torch.Tensor) or not isinstance(k, torch.Tensor):
        raise ValueError("q and k must be torch tensors")
    if q.dim() != 3 or k.dim() != 3:
        raise ValueError(f"q must be [H, L, D] and k [Hkv, L, D]; got q {tuple(q.shape)}, "
                         f"k {tuple(k.shape)}")
    return check_sizes(q.shape, k.shape, "k", max_seq_len)


def _check_block(block: int) -> None:
    if not isinstance(block, int) or block <= 0:
        raise ValueError(f"block must be a positive integer, got {block!r}")


def _check_gamma(gamma: float, name: str = "gamma") -> None:
    if not (isinstance(gamma, (int, float)) and 0.0 < gamma <= 1.0):
        raise ValueError(f"{name}: must lie in (0, 1], got {gamma!r}")


# ---------------------------------------------------------------- scores
def vertical_slash_scores(q_last: torch.Tensor, k: torch.Tensor, block: int
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Vertical and slash scores of each query head (float64).

    q_last  [H, B', D], the last ``B'`` query rows (positions ``L-B' .. L-1``).
    k       [Hkv, L, D].
    Returns ``v [H, nb]`` (mass per key block) and ``d [H, nb]`` (mass per token-distance
    band ``[k*B, (k+1)*B)``), each summing to ``B'`` per head (one per row).
    """
    _check_block(block)
    if q_last.dim() != 3 or k.dim() != 3:
        raise ValueError(f"q_last must be [H, B', D] and k [Hkv, L, D]; got {tuple(q_last.shape)}, "
                         f"{tuple(k.shape)}")
    H, Bq, D = q_last.shape
    Hkv, L, Dk = k.shape
    if Dk != D:
        raise ValueError(f"shape mismatch: head dim of q_last ({D}) and k ({Dk})")
    if L == 0 or Bq == 0 or Bq > L:
        raise ValueError(f"need 1 <= B' <= L, got B'={Bq}, L={L}")
    if H % Hkv:
        raise ValueError(f"heads: H={H} is not a multiple of Hkv={Hkv}")
    g = H // Hkv
    nb = num_blocks(L, block)
    kk = k.double().repeat_interleave(g, dim=0)                     # [H, L, D]
    s = torch.einsum("hid,hjd->hij", q_last.double(), kk) / math.sqrt(D)
    qpos = torch.arange(L - Bq, L)
    kpos = torch.arange(L)
    dist = qpos[:, None] - kpos[None, :]                             # [B', L]
    s = s.masked_fill(dist[None] < 0, float("-inf"))
    p = torch.softmax(s, dim=-1)                                     # [H, B', L]
    kb = kpos // block
    v = torch.zeros(H, nb, dtype=torch.float64).index_add_(1, kb, p.sum(dim=1))
    band = (dist.clamp(min=0) // block).reshape(-1)                  # masked entries carry p = 0
    d = torch.zeros(H, nb, dtype=torch.float64).index_add_(1, band, p.reshape(H, -1))
    return v, d


# ---------------------------------------------------------------- selection
def _order(scores: torch.Tensor) -> torch.Tensor:
    """Indices by score descending, ties toward the lower index (stable sort)."""
    return torch.sort(scores, descending=True, stable=True).indices


def select_coverage(scores: torch.Tensor, gamma: float, min_budget: int = 1,
                    max_budget: int = 0) -> list[int]:
    """Fewest top entries of ``scores [n]`` covering ``gamma`` of their sum, sorted ascending.

    Order: score descending, ties to the lower index.  ``gamma == 1`` keeps every nonzero
    entry.  The count is clamped to ``[min_budget, max_budget or n]`` and to ``n``.
    """
    _check_gamma(gamma)
    if scores.dim() != 1 or scores.numel() == 0:
        raise ValueError(f"scores must be a non-empty vector, got shape {tuple(scores.shape)}")
    if min_budget < 1 or (max_budget and max_budget < min_budget):
        raise ValueError(f"budgets: need 1 <= min_budget <= max_budget (or 0), got "
                         f"{min_budget}, {max_budget}")
    s = scores.double()
    if torch.any(s < 0) or not torch.all(torch.isfinite(s)):
        raise ValueError("scores must be finite and non-negative")
    n = s.numel()
    order = _order(s)
    count = _coverage_count(s[order][None], gamma)[0].item()
    count = max(count, min_budget)
    if max_budget:
        count = min(count, max_budget)
    count = min(count, n)
    return sorted(order[:count].tolist())


def _coverage_count(sorted_desc: torch.Tensor, gamma: float) -> torch.Tensor:
    """Per row of ``sorted_desc [R, n]`` (descending): fewest leading entries covering gamma."""
    if gamma >= 1.0:
        return (sorted_desc > 0).sum(dim=-1).clamp(min=1)
    cum = torch.cumsum(sorted_desc, dim=-1)
    thr = gamma * cum[:, -1:]
    return ((cum < thr).sum(dim=-1) + 1).clamp(max=sorted_desc.shape[-1])


def select_topk(scores: torch.Tensor, k: int) -> list[int]:
    """The ``min(k, n)`` highest entries (ties to the lower index), sorted ascending."""
    if scores.dim() != 1 or scores.numel() == 0:
        raise ValueError(f"scores must be a non-empty vector, got shape {tuple(scores.shape)}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return sorted(_order(scores.double())[:k].tolist())


def _select(scores: torch.Tensor, sp: SparsityConfig, kind: str) -> list[int]:
    if sp.mode == "topk":
        return select_topk(scores, sp.topk_vertical if kind == "v" else sp.topk_slash)
    return select_coverage(scores, sp.gamma, sp.min_budget, sp.max_budget)


# ---------------------------------------------------------------- patterns
def _causal_blocks(nb: int) -> torch.Tensor:
    return torch.ones(nb, nb, dtype=torch.bool).tril()


def pattern_from_sets(vertical: list[list[int]], slash: list[list[int]], nb: int) -> torch.Tensor:
    """The tile mask [H, nb, nb] of per-head vertical and slash sets."""
    H = len(vertical)
    r = torch.arange(nb)[:, None]
    c = torch.arange(nb)[None, :]
    mask = torch.zeros(H, nb, nb, dtype=torch.bool)
    for h in range(H):
        vs = torch.zeros(nb, dtype=torch.bool)
        vs[torch.tensor(vertical[h], dtype=torch.long)] = True
        ss = torch.zeros(nb, dtype=torch.bool)
        ss[torch.tensor(slash[h], dtype=torch.long)] = True
        off = (r - c).clamp(min=0)
        mask[h] = (vs[None, :].expand(nb, nb) | ss[off]) & (c <= r)
    return mask


def dense_pattern(H: int, L: int, block: int) -> Pattern:
    """Every causal tile kept."""
    _check_block(block)
    if H <= 0 or L <= 0:
        raise ValueError(f"need H > 0 and L > 0, got H={H}, L={L}")
    nb = num_blocks(L, block)
    full = list(range(nb))
    return Pattern(mask=_causal_blocks(nb)[None].repeat(H, 1, 1), vertical=[full[:] for _ in range(H)],
                   slash=[full[:] for _ in range(H)], block=block, seq_len=L)


def pooled_row_mask(q: torch.Tensor, k: torch.Tensor, block: int, row_gamma: float) -> torch.Tensor:
    """Per-row pooled estimate: bool [H, nb, nb].

    Block means (zero-padded: sum / B) of Q and K, scores ``mean(Q_r) . mean(K_c) / sqrt(D)``
    over ``c <= r``, softmax per row, and per row the fewest blocks covering ``row_gamma``
    (same order and tie rule as :func:`select_coverage`).
    """
    _check_gamma(row_gamma, "row_gamma")
    H, Hkv, L, D = check_qk(q, k)
    g = H // Hkv
    nb = num_blocks(L, block)
    pad = nb * block - L
    qm = torch.nn.functional.pad(q.double(), (0, 0, 0, pad)).view(H, nb, block, D).sum(2) / block
    km = torch.nn.functional.pad(k.double(), (0, 0, 0, pad)).view(Hkv, nb, block, D).sum(2) / block
    s = torch.einsum("hrd,hcd->hrc", qm, km.repeat_interleave(g, dim=0)) / math.sqrt(D)
    causal = _causal_blocks(nb)
    p = torch.softmax(s.masked_fill(~causal, float("-inf")), dim=-1)
    return _row_coverage_mask(p, row_gamma)


def _row_coverage_mask(p: torch.Tensor, gamma: float) -> torch.Tensor:
    """For each row of ``p [H, nb, nb]``: the fewest entries covering gamma of the row."""
    H, nb, _ = p.shape
    order = torch.sort(p, dim=-1, descending=True, stable=True).indices
    sp = torch.gather(p, -1, order)
    count = _coverage_count(sp.reshape(H * nb, nb), gamma).view(H, nb, 1)
    keep_sorted = torch.arange(nb)[None, None, :] < count
    mask = torch.zeros_like(keep_sorted).scatter_(-1, order, keep_sorted)
    return mask & _causal_blocks(nb)


def _forced(nb: int, local_window: int) -> tuple[list[int], list[int]]:
    return [0], list(range(min(local_window, nb)))


def assemble_pattern(vertical: list[list[int]], slash: list[list[int]], nb: int, block: int, L: int,
                     sparsity: SparsityConfig, row_mask: torch.Tensor | None = None) -> Pattern:
    """Add the forced entries (sink, diagonal, local window) and the row guardrail to the
    selected sets.  Shared by the float and the fixed-point estimators."""
    fv, fs = _forced(nb, sparsity.local_window)
    vertical = [sorted(set(v) | set(fv)) for v in vertical]
    slash = [sorted(set(s) | set(fs)) for s in slash]
    mask = pattern_from_sets(vertical, slash, nb)
    if row_mask is not None:
        mask = mask | row_mask
    return Pattern(mask=mask, vertical=vertical, slash=slash, block=block, seq_len=L)


def build_pattern(q: torch.Tensor, k: torch.Tensor, block: int, sparsity: SparsityConfig,
                  layer: int | None = None, max_seq_len: int | None = None) -> Pattern:
    """The float pattern of one layer.

    q [H, L, D] and k [Hkv, L, D] post-RoPE; block B; sparsity the run-time settings;
    layer (0-based, optional) for ``sparsity.dense_layers``; max_seq_len (optional) bounds L.
    Dense layers and ``L < dense_below`` give :func:`dense_pattern`.
    """
    _check_block(block)
    if not isinstance(sparsity, SparsityConfig):
        raise ValueError("sparsity must be a SparsityConfig")
    H, Hkv, L, D = check_qk(q, k, max_seq_len)
    if (layer is not None and layer in sparsity.dense_layers) or L < sparsity.dense_below:
        return dense_pattern(H, L, block)
    nb = num_blocks(L, block)
    v, d = vertical_slash_scores(q[:, (nb - 1) * block:], k, block)
    vertical = [_select(v[h], sparsity, "v") for h in range(H)]
    slash = [_select(d[h], sparsity, "s") for h in range(H)]
    row_mask = pooled_row_mask(q, k, block, sparsity.row_gamma) if sparsity.row_gamma > 0 else None
    return assemble_pattern(vertical, slash, nb, block, L, sparsity, row_mask)


# ---------------------------------------------------------------- consumers
def block_token_mask(mask: torch.Tensor, L: int, block: int) -> torch.Tensor:
    """Expand a tile mask [H, nb, nb] to a causal token mask [H, L, L] (True = attend)."""
    tok = mask.repeat_interleave(block, dim=1).repeat_interleave(block, dim=2)[:, :L, :L]
    return tok & torch.ones(L, L, dtype=torch.bool).tril()


def recall(pattern: Pattern, q: torch.Tensor, k: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """Per head: share of the dense causal softmax mass on kept tiles, averaged over rows."""
    H, Hkv, L, D = check_qk(q, k)
    if pattern.mask.shape[0] != H or pattern.seq_len != L:
        raise ValueError(f"pattern is for H={pattern.mask.shape[0]}, L={pattern.seq_len}; "
                         f"tensors have H={H}, L={L}")
    B = pattern.block
    g = H // Hkv
    kk = k.float().repeat_interleave(g, dim=0)
    kb = torch.arange(L) // B
    total = torch.zeros(H, dtype=torch.float64)
    for i0 in range(0, L, chunk):
        i1 = min(L, i0 + chunk)
        s = torch.einsum("hid,hjd->hij", q[:, i0:i1].float(), kk) / math.sqrt(D)
        qi = torch.arange(i0, i1)
        causal = qi[:, None] >= torch.arange(L)[None, :]
        p = torch.softmax(s.masked_fill(~causal, float("-inf")), dim=-1)
        keep = pattern.mask[:, (qi // B)][:, :, kb]                  # [H, rows, L]
        total += (p * keep).sum(dim=(1, 2)).double()
    return total / L


def row_stream(pattern: Pattern, kv_head: int, group: int) -> list[tuple[int, int, int]]:
    """The merged key-block stream of KV head ``kv_head`` (query heads ``kv_head*group ..``).

    Returns ``(r, c, heads)`` for every tile that some head of the group keeps, rows ascending
    then key blocks ascending; bit ``i`` of ``heads`` is query head ``kv_head*group + i``.
    """
    H = pattern.mask.shape[0]
    if group < 1 or H % group:
        raise ValueError(f"group: H={H} is not a multiple of group={group}")
    if not 0 <= kv_head < H // group:
        raise ValueError(f"kv_head must lie in [0, {H // group}), got {kv_head}")
    m = pattern.mask[kv_head * group:(kv_head + 1) * group]           # [g, nb, nb]
    weights = (1 << torch.arange(group, dtype=torch.long))[:, None, None]
    bits = (m.long() * weights).sum(0)                                # [nb, nb]
    rs, cs = torch.nonzero(bits, as_tuple=True)                       # row-major: r then c
    return [(int(r), int(c), int(bits[r, c])) for r, c in zip(rs.tolist(), cs.tolist())]
