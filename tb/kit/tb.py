"""The ``TB`` base class: clock, reset, watchdog and the DUT handle, for every bench."""

from __future__ import annotations

from cocotb.triggers import ClockCycles, RisingEdge

from tb.kit.clock import DEFAULT_PERIOD_NS, reset, start_clock
from tb.kit.watchdog import Watchdog


class TB:
    """Subclass per unit; call ``await tb.start()`` first in each cocotb test.

    ``clk``/``rst`` name the DUT's clock and synchronous active-high reset.
    ``max_cycles`` arms the cycle watchdog for the whole test.
    """

    clk_name = "clk"
    rst_name = "rst"

    def __init__(self, dut, max_cycles: int = 200_000, period_ns: float = DEFAULT_PERIOD_NS):
        self.dut = dut
        self.clk = getattr(dut, self.clk_name)
        self.rst = getattr(dut, self.rst_name)
        self.period_ns = period_ns
        self.max_cycles = max_cycles
        self.watchdog: Watchdog | None = None

    async def start(self) -> None:
        start_clock(self.clk, self.period_ns)
        self.watchdog = Watchdog(self.clk, self.max_cycles, what=type(self).__name__)
        await self.reset()

    async def reset(self, cycles: int = 3) -> None:
        await reset(self.clk, self.rst, cycles)

    async def cycles(self, n: int) -> None:
        await ClockCycles(self.clk, n)

    async def write_entries(self, we, signals, entries) -> None:
        """One write per cycle into a table port: for each entry (a tuple of values, one per
        signal of ``signals``) ``we`` high with the values; ``we`` low after the last one."""
        for values in entries:
            we.value = 1
            for sig, value in zip(signals, values, strict=True):
                sig.value = value
            await RisingEdge(self.clk)
        we.value = 0

    async def wait_until(self, cond, max_cycles: int, what: str) -> int:
        """Wait (at rising edges) until ``cond()`` holds; returns the cycles waited."""
        for n in range(max_cycles):
            if cond():
                return n
            await RisingEdge(self.clk)
        raise AssertionError(f"{what}: not reached within {max_cycles} cycles")
