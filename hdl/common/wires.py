"""Plain combinational wiring: a wire, and a 2:1 pick (for the top's bundles and the shared MPU).

``wire(src, dst)``        dst follows src
``pick(sel, a, b, out)``  out follows a while sel is low, b while it is high
"""

from __future__ import annotations

from myhdl import always_comb, block


@block
def wire(src, dst):
    @always_comb
    def follow():
        dst.next = src
    return follow


@block
def pick(sel, a, b, out):
    @always_comb
    def choose():
        if sel:
            out.next = b
        else:
            out.next = a
    return choose
