"""Cycle watchdog: fail the running test when it takes more than a cycle budget."""

from __future__ import annotations

from cocotb import start_soon
from cocotb.triggers import ClockCycles


class WatchdogTimeout(AssertionError):
    """The bench ran past its cycle budget (a hang or a lost beat)."""


class Watchdog:
    """Counts ``clk`` cycles in the background and raises after ``max_cycles``.

    An exception in a background task fails the cocotb test, so a hang ends
    as a failure with this message instead of a CI timeout.  ``stop()`` it at
    the end of a test phase, or let the test end (cocotb cancels its tasks).
    """

    def __init__(self, clk, max_cycles: int, what: str = "bench"):
        if max_cycles < 1:
            raise ValueError(f"Watchdog: max_cycles must be >= 1, got {max_cycles}")
        self.clk, self.max_cycles, self.what = clk, max_cycles, what
        self._task = start_soon(self._run())

    async def _run(self) -> None:
        await ClockCycles(self.clk, self.max_cycles)
        raise WatchdogTimeout(f"watchdog: {self.what} did not finish within {self.max_cycles} cycles")

    def stop(self) -> None:
        if not self._task.done():
            self._task.cancel()
