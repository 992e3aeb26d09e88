"""Where the MPU keeps each operand: the cell layout of an R x D array (R = block) in both modes.

QK mode: cell ``(r, c)`` holds ``Q[r, c]`` and multiplies the streamed key element ``K[j, c]``;
row ``r`` sums its ``D`` products into the score ``S[r, j]``.

PV mode: the value tile is resident too, and a beat streams one row ``i`` of ``P``.  Cell
``(r, c)`` holds ``V[key(r, c), out(r, c)]`` and multiplies ``P[i, key(r, c)]``; the products
of a row are summed in groups of ``G = min(B, D)`` consecutive columns, and output column ``d``
of the tile row ``T[i, :]`` is the sum of the group partials :func:`out_parts` lists.  So both
modes are dot products along a row: no per-cell accumulator and no drain register.

* ``D >= B``: row ``r`` holds output columns ``r, r + B, ...``, one per group; the group's
  ``B`` columns are the ``B`` keys.
* ``D < B``: row ``r`` holds output column ``r % D`` for the keys ``[t D, (t + 1) D)``,
  ``t = r // D``; column ``d`` is the sum of the ``B / D`` rows ``d, d + D, ...``.
"""

from __future__ import annotations


def group_size(block: int, head_dim: int) -> int:
    """Columns per PV partial (``G``)."""
    return min(block, head_dim)


def groups(block: int, head_dim: int) -> int:
    """PV partials per row."""
    return max(1, head_dim // block)


def key_offset(row: int, block: int, head_dim: int) -> int:
    """``key(r, c) = key_offset(r) + c % G``."""
    return 0 if head_dim >= block else (row // head_dim) * head_dim


def out_offset(row: int, block: int, head_dim: int) -> int:
    """``out(r, c) = out_offset(r) + (c // G) * B``."""
    return row if head_dim >= block else row % head_dim


def key(row: int, col: int, block: int, head_dim: int) -> int:
    return key_offset(row, block, head_dim) + col % group_size(block, head_dim)


def out(row: int, col: int, block: int, head_dim: int) -> int:
    return out_offset(row, block, head_dim) + (col // group_size(block, head_dim)) * block


def out_parts(d: int, block: int, head_dim: int) -> list[tuple[int, int]]:
    """The (row, group) partials whose sum is tile column ``d``."""
    if head_dim >= block:
        return [(d % block, d // block)]
    return [(d + t * head_dim, 0) for t in range(block // head_dim)]
