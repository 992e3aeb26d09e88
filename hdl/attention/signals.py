"""Signal constructor shared by the attention engine's blocks (hdl/attention/engine.py)."""

from __future__ import annotations

from myhdl import Signal, intbv


def sig(bits: int, signed: bool = False, val: int = 0) -> Signal:
    """A ``bits``-bit signal: unsigned, or two's complement when ``signed``."""
    if signed:
        return Signal(intbv(val, min=-(1 << (bits - 1)), max=1 << (bits - 1)))
    return Signal(intbv(val)[bits:])
