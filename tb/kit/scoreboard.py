"""Exact comparison with the golden model; a mismatch names its first coordinates.

``check_exact(what, expected, got, axes)`` compares two integer arrays of the
same shape and raises :class:`Mismatch` naming the first differing element
(in row-major order) with one coordinate per axis, the two values and the
mismatch count.  :class:`Scoreboard` keeps a tally over many checks.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


class Mismatch(AssertionError):
    """The DUT differs from the golden model."""


def _as_array(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.int64)


def first_mismatch(expected, got) -> tuple | None:
    """Coordinates of the first differing element, or None when equal."""
    e, g = _as_array(expected), _as_array(got)
    if e.shape != g.shape:
        raise Mismatch(f"shape mismatch: expected {e.shape}, got {g.shape}")
    diff = np.argwhere(e != g)
    return tuple(int(i) for i in diff[0]) if len(diff) else None


def check_exact(what: str, expected, got, axes: Sequence[str] | None = None) -> None:
    """Raise :class:`Mismatch` unless ``got`` equals ``expected`` element for element."""
    e, g = _as_array(expected), _as_array(got)
    if e.shape != g.shape:
        raise Mismatch(f"{what}: shape mismatch: expected {e.shape}, got {g.shape}")
    where = first_mismatch(e, g)
    if where is None:
        return
    names = list(axes) if axes else [f"dim{i}" for i in range(e.ndim)]
    if len(names) != e.ndim:
        raise ValueError(f"check_exact: {len(names)} axis names for a {e.ndim}-D array")
    coords = ", ".join(f"{n}={i}" for n, i in zip(names, where))
    count = int((e != g).sum())
    raise Mismatch(f"{what}: first mismatch at {coords}: expected {int(e[where])}, "
                   f"got {int(g[where])} ({count} of {e.size} elements differ)")


class Scoreboard:
    """Counts exact checks; ``check`` raises on the first mismatch."""

    def __init__(self, name: str):
        self.name = name
        self.checked = 0
        self.elements = 0

    def check(self, what: str, expected, got, axes: Sequence[str] | None = None) -> None:
        check_exact(f"{self.name}: {what}", expected, got, axes)
        self.checked += 1
        self.elements += _as_array(expected).size

    def summary(self) -> str:
        return f"{self.name}: {self.checked} checks, {self.elements} elements bit-exact"
