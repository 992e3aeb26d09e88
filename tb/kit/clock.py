"""Clock and reset helpers (cocotb side)."""

from __future__ import annotations

from cocotb import start_soon
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

DEFAULT_PERIOD_NS = 4


def start_clock(clk, period_ns: float = DEFAULT_PERIOD_NS):
    """Start a free-running clock on ``clk``; returns the task."""
    return start_soon(Clock(clk, period_ns, unit="ns").start())


async def reset(clk, rst, cycles: int = 3, active_high: bool = True) -> None:
    """Drive a synchronous reset for ``cycles`` rising edges, then release it."""
    if cycles < 1:
        raise ValueError(f"reset: cycles must be >= 1, got {cycles}")
    rst.value = 1 if active_high else 0
    for _ in range(cycles):
        await RisingEdge(clk)
    rst.value = 0 if active_high else 1
