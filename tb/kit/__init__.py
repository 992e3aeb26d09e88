"""Shared verification kit for every cocotb bench.

runner           convert + build once per (unit, config) + run a cocotb module; fail on any
                 failed test; the files that carry cases in and results out of a bench
clock            clock and reset helpers
stream           valid/ready stream driver and monitor, idle and backpressure generators
hbm              the HBM memory model behind every AXI master port: latency, pauses, error
                 injection, the AXI burst rules
cache_decisions  the KV cache's decision port, watched and checked against golden.cache_sim
scoreboard       exact comparison against the golden model, first mismatch with its coordinates
watchdog         cycle watchdog: a hang becomes a test failure
tb               the ``TB`` base class that ties them together
bits             packing of element vectors into wide bus integers
host_sim         the host driver's simulator transport (``CocotbTransport``) over hbm

The simulator-side modules (clock, stream, hbm, cache_decisions, watchdog, tb, host_sim) import
cocotb; the runner and scoreboard do not need a simulator.
"""
