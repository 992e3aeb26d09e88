"""The units' synchronous reset, and a reset made of two.

Every ``rst`` port is a ``ResetSignal`` (active high, synchronous), so that a clocked block written
``@always_seq(clk.posedge, reset=rst)`` puts every register it drives back to its initial value
while ``rst`` is high (``always @(posedge clk) if (rst == 1) ... else ...``).  A block that also
clears on a unit's own condition (a ``clr`` input, a start) is reset by ``either_reset``'s output.

``sync_reset()``                  a fresh reset signal (a port's ``rst``, or a unit's own reset)
``either_reset(a, b, out)``       ``out`` (a ``sync_reset()``) is high while ``a`` or ``b`` is;
                                  combinational, so no cycle changes
"""

from __future__ import annotations

from myhdl import ResetSignal, always_comb, block


def sync_reset() -> ResetSignal:
    """A fresh active-high synchronous reset signal, low at start."""
    return ResetSignal(0, active=1, isasync=False)


@block
def either_reset(a, b, out):
    @always_comb
    def join():
        out.next = a or b
    return join
