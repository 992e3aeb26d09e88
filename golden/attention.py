"""Float reference models of causal attention: dense and block-sparse, GQA-aware.

These are the yardsticks that the fixed-point model (golden.fixed_attention) and the
sparsity pattern are measured against.  All functions work in chunks of query rows so that
8K-token sequences never build an [H, L, L] score tensor (except
``block_mask_to_token_mask``, which by its contract returns one).

Shapes: q [H, L, D], k and v [Hkv, L, D]; query head h reads kv head h // (H / Hkv).
A block mask is bool [H, nb, nb] with nb = ceil(L / block); ``mask[h, r, c]`` keeps the
tile of query block r and key block c (only c <= r is meaningful; the causal mask applies
inside the diagonal tile).
"""

from __future__ import annotations

import math

import torch

from hdl.config import ConfigError, num_blocks

__all__ = ["check_sizes", "check_qkv", "check_block_mask", "dense_attention", "block_mask_to_token_mask",
           "sparse_attention", "relative_error"]

_CHUNK = 512  # query rows per chunk: bounds memory at H * 512 * L scores


def check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
              max_seq_len: int | None = None) -> tuple[int, int, int, int]:
    """Validate q [H, L, D], k and v [Hkv, L, D]; returns (H, Hkv, L, D).

    Raises ValueError naming the problem (shape mismatch, H not a multiple of Hkv,
    L = 0, non-finite values) and ConfigError for L > max_seq_len.
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{name} must be a torch tensor, got {type(t).__name__}")
        if t.dim() != 3:
            raise ValueError(f"{name} must be 3-D [heads, L, D], got shape {tuple(t.shape)}")
    if k.shape != v.shape:
        raise ValueError(f"shape mismatch: k {tuple(k.shape)} vs v {tuple(v.shape)}")
    if k.shape[1] == 0:
        raise ValueError("seq_len: L = 0 (empty sequence)")
    return check_sizes(q.shape, k.shape, "k/v", max_seq_len)


def check_sizes(q_shape, k_shape, k_name: str = "k",
                max_seq_len: int | None = None) -> tuple[int, int, int, int]:
    """(H, Hkv, L, D) of a query shape [H, L, D] and a key (``k_name``) shape [Hkv, L, D]:
    L > 0, the same L and D, H a multiple of Hkv (ValueError), L <= max_seq_len (ConfigError)."""
    H, L, D = q_shape
    Hkv, Lk, Dk = k_shape
    if L == 0:
        raise ValueError("seq_len: L = 0 (empty sequence)")
    if Lk != L or Dk != D:
        raise ValueError(f"shape mismatch: q {tuple(q_shape)} vs {k_name} {tuple(k_shape)} "
                         "(L and D must agree)")
    if H == 0 or Hkv == 0 or H % Hkv:
        raise ValueError(f"heads: H={H} is not a multiple of Hkv={Hkv}")
    if max_seq_len is not None and L > max_seq_len:
        raise ConfigError(f"seq_len: {L} exceeds max_seq_len={max_seq_len}")
    return H, Hkv, L, D


def check_block_mask(mask: torch.Tensor, H: int, L: int, block: int) -> int:
    """Validate a block mask for H heads and L tokens; returns nb.

    Requires bool [H, nb, nb], nothing above the diagonal (c > r) and every diagonal tile
    kept (a query row with no key would have an undefined softmax).
    """
    if not isinstance(block, int) or block <= 0:
        raise ValueError(f"block must be a positive integer, got {block!r}")
    nb = num_blocks(L, block)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise ValueError("mask must be a bool tensor [H, nb, nb]")
    if tuple(mask.shape) != (H, nb, nb):
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match (H, nb, nb) = "
                         f"({H}, {nb}, {nb}) for L={L}, block={block}")
    if bool(torch.triu(mask, diagonal=1).any()):
        raise ValueError("mask is not causal: it keeps a tile with key block c > query block r")
    if not bool(torch.diagonal(mask, dim1=1, dim2=2).all()):
        raise ValueError("mask is missing a diagonal tile (every query block must keep c = r)")
    return nb


def _attend_rows(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, allowed: torch.Tensor,
                 scale: float) -> torch.Tensor:
    """softmax(q k^T * scale, masked by ``allowed``) @ v for one chunk of rows."""
    s = torch.einsum("hid,hjd->hij", q, k) * scale
    s = s.masked_fill(~allowed, float("-inf"))
    return torch.einsum("hij,hjd->hid", torch.softmax(s, dim=-1), v)


def _expand_kv(t: torch.Tensor, H: int) -> torch.Tensor:
    return t.repeat_interleave(H // t.shape[0], dim=0)


def _run(q, k, v, row_mask_fn, dtype) -> torch.Tensor:
    H, Hkv, L, D = check_qkv(q, k, v)
    ke, ve = _expand_kv(k.to(dtype), H), _expand_kv(v.to(dtype), H)
    qd = q.to(dtype)
    out = torch.empty(H, L, D, dtype=dtype)
    scale = 1.0 / math.sqrt(D)
    for i0 in range(0, L, _CHUNK):
        i1 = min(L, i0 + _CHUNK)
        allowed = row_mask_fn(i0, i1)  # [H or 1, i1-i0, i1]
        out[:, i0:i1] = _attend_rows(qd[:, i0:i1], ke[:, :i1], ve[:, :i1], allowed, scale)
    return out


def _causal(i0: int, i1: int) -> torch.Tensor:
    rows = torch.arange(i0, i1)[:, None]
    return (torch.arange(i1)[None, :] <= rows)[None]


def dense_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                    dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Dense causal softmax(q k^T / sqrt(D)) v with GQA.

    q [H, L, D], k and v [Hkv, L, D] -> o [H, L, D] in ``dtype`` (float64 by default:
    the reference the other models are measured against).
    """
    return _run(q, k, v, _causal, dtype)


def block_mask_to_token_mask(mask: torch.Tensor, L: int, block: int) -> torch.Tensor:
    """Token-level mask [H, L, L] of a block mask [H, nb, nb]: the kept tiles AND causality."""
    if not isinstance(L, int) or L <= 0:
        raise ValueError(f"seq_len: L must be a positive integer, got {L!r}")
    if not isinstance(mask, torch.Tensor) or mask.dim() != 3:
        raise ValueError("mask must be a bool tensor [H, nb, nb]")
    check_block_mask(mask, mask.shape[0], L, block)
    blk = torch.arange(L) // block
    tok = mask[:, blk][:, :, blk]
    return tok & torch.tril(torch.ones(L, L, dtype=torch.bool))[None]


def sparse_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor,
                     block: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Block-sparse causal attention: only the tiles kept by ``mask`` [H, nb, nb] (bool).

    q [H, L, D], k and v [Hkv, L, D] -> o [H, L, D] in ``dtype``.  With a full causal mask
    this equals ``dense_attention``.
    """
    H, _, L, _ = check_qkv(q, k, v)
    check_block_mask(mask, H, L, block)
    blk = torch.arange(L) // block

    def rows(i0: int, i1: int) -> torch.Tensor:
        tiles = mask[:, blk[i0:i1]][:, :, blk[:i1]]
        return tiles & _causal(i0, i1)

    return _run(q, k, v, rows, dtype)


def relative_error(o: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Per head ||o - ref|| / ||ref|| (Frobenius over [L, D]), float64 [H]."""
    if o.shape != ref.shape or o.dim() != 3:
        raise ValueError(f"relative_error: shapes must match and be [H, L, D], got "
                         f"{tuple(o.shape)} vs {tuple(ref.shape)}")
    o, ref = o.double(), ref.double()
    num = (o - ref).flatten(1).norm(dim=1)
    den = ref.flatten(1).norm(dim=1)
    return num / den.clamp(min=torch.finfo(torch.float64).tiny)
