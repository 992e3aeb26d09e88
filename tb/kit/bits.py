"""Packing of element vectors into wide bus integers (element i at bits [w*(i+1)-1 : w*i])."""

from __future__ import annotations

from typing import Iterable


def pack(values: Iterable[int], width: int) -> int:
    """Pack integers (signed or unsigned, each must fit ``width`` bits) into one bus value."""
    out = 0
    lo, hi = -(1 << (width - 1)), (1 << width) - 1
    for i, v in enumerate(values):
        v = int(v)
        if not lo <= v <= hi:
            raise ValueError(f"pack: element {i} = {v} does not fit {width} bits")
        out |= (v & ((1 << width) - 1)) << (width * i)
    return out


def unpack(bus: int, count: int, width: int, signed: bool = True) -> list[int]:
    """Split a bus value into ``count`` elements of ``width`` bits."""
    mask = (1 << width) - 1
    out = []
    for i in range(count):
        v = (int(bus) >> (width * i)) & mask
        if signed and v >> (width - 1):
            v -= 1 << width
        out.append(v)
    return out
