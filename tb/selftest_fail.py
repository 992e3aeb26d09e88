"""A cocotb module whose one test fails on purpose: proves that tb.kit.runner.run reports failures."""

import cocotb
from cocotb.triggers import ClockCycles

from tb.kit.tb import TB


@cocotb.test()
async def test_must_fail(dut):
    tb = TB(dut, max_cycles=50)
    await tb.start()
    await ClockCycles(tb.clk, 2)
    assert int(dut.idle.value) == 0, "deliberate failure: the MPU is idle after reset"


@cocotb.test()
async def test_watchdog_fires(dut):
    """The watchdog must end a hanging test as a failure."""
    tb = TB(dut, max_cycles=30)
    await tb.start()
    await ClockCycles(tb.clk, 1000)
