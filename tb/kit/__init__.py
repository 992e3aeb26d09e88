"""Shared verification kit for every cocotb bench.

runner      convert + build once per (unit, config) + run a cocotb module; fail on any failed test
clock       clock and reset helpers
stream      valid/ready stream driver and monitor, idle and backpressure generators
scoreboard  exact comparison against the golden model, first mismatch with its coordinates
watchdog    cycle watchdog: a hang becomes a test failure
tb          the ``TB`` base class that ties them together
bits        packing of element vectors into wide bus integers

The simulator-side modules (clock, stream, watchdog, tb) import cocotb; the
runner and scoreboard do not need a simulator.
"""
