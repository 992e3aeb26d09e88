"""Integer golden model of the Matrix Processing Unit (the MPU's bit-exact contract).

Both modes are exact integer matrix products, computed in int64 with torch:

* QK mode: ``S = Q @ K^T`` with ``Q`` [R, D] int8 (resident) and ``K`` [n, D]
  int8 (streamed one row per beat); beat ``j`` yields column ``S[:, j]``.
* PV mode: ``T = P @ V`` with ``P`` [R, n] unsigned ``p_bits`` (one column per
  beat) and ``V`` [n, D] int8 (one row per beat); a tile has at most ``block``
  beats and its accumulators start from zero.

The widths the hardware uses are derived from exact value bounds in ``hdl.numerics``
(re-exported here), so the RTL and the benches agree on them:

``operand_bits(p_bits)``        signed width of the resident/broadcast PE operand
``product_bits(p_bits)``        signed width of one PE product (both modes)
``score_bits(head_dim)``        signed width of one QK score
``tile_bits(block, p_bits)``    signed width of one PV tile element
"""

from __future__ import annotations

# torch is imported inside the functions that need it.
from hdl.numerics import (INT8_MAX, INT8_MIN, check_p_bits, operand_bits, product_bits,  # noqa: F401
                           score_bits, signed_bits, tile_bits)


def _as_int64(name: str, x, lo: int, hi: int, dims: int):
    import torch

    t = torch.as_tensor(x)
    if t.dim() != dims:
        raise ValueError(f"{name}: expected a {dims}-D array, got shape {tuple(t.shape)}")
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{name}: expected integers, got dtype {t.dtype}")
    t = t.to(torch.int64)
    if t.numel() and (int(t.min()) < lo or int(t.max()) > hi):
        raise ValueError(f"{name}: values must lie in [{lo}, {hi}], "
                         f"got [{int(t.min())}, {int(t.max())}]")
    return t


def qk(q, k):
    """Scores ``Q @ K^T`` [R, n] int64 for ``q`` [R, D] and ``k`` [n, D] int8 values."""
    qt = _as_int64("q", q, INT8_MIN, INT8_MAX, 2)
    kt = _as_int64("k", k, INT8_MIN, INT8_MAX, 2)
    if qt.shape[1] != kt.shape[1]:
        raise ValueError(f"k: head_dim {kt.shape[1]} differs from q's {qt.shape[1]}")
    return qt @ kt.T


def pv(p, v, p_bits: int, block: int | None = None):
    """Tile ``P @ V`` [R, D] int64 for ``p`` [R, n] unsigned p_bits and ``v`` [n, D] int8.

    ``block`` (when given) is the most beats a tile may have (the width bound).
    """
    check_p_bits(p_bits)
    pt = _as_int64("p", p, 0, (1 << p_bits) - 1, 2)
    vt = _as_int64("v", v, INT8_MIN, INT8_MAX, 2)
    if pt.shape[1] != vt.shape[0]:
        raise ValueError(f"v: {vt.shape[0]} rows but p has {pt.shape[1]} columns (beats)")
    if block is not None and pt.shape[1] > block:
        raise ValueError(f"p: a tile has at most block={block} beats, got {pt.shape[1]}")
    return pt @ vt


def probabilities(scores, p_bits: int):
    """Unsigned p_bits probabilities from float scores [R, n]: round(2**(s - rowmax) * pmax).

    A simple, monotone P for MPU tests (the attention engine has its own
    fixed-point softmax); the row maximum maps to ``2**p_bits - 1``.
    """
    import torch

    check_p_bits(p_bits)
    s = torch.as_tensor(scores, dtype=torch.float64)
    if s.dim() != 2:
        raise ValueError(f"scores: expected [R, n], got shape {tuple(s.shape)}")
    pmax = (1 << p_bits) - 1
    return torch.round(torch.exp2(s - s.amax(dim=1, keepdim=True)) * pmax).to(torch.int64)
