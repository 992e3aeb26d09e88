"""Wiring of ``fast_prefill_top`` (hdl/top/fast_prefill_top.py): plain wires, 2:1 multiplexers of
an AXI bundle between two masters, and the tie-off of the channels a bundle never uses.

The blocks take their signals as dicts or lists (names of the AXI channel signals without the
``m_axi_<bundle>_`` prefix, as ``hdl.top.shell.m_axi_signals``) and build one small process per
signal, so one block serves every bundle and direction.

``top_wires(src, dst)``
    ``dst[i]`` follows ``src[i]`` (lists of equal length).
``top_axi_mux(sel, port, a, b, forward, backward)``
    The bundle ``port`` belongs to master ``a`` while ``sel`` is 0, to ``b`` while 1: the names
    in ``forward`` (the master's outputs: addresses, valids of requests, readies of responses)
    come from the selected master, the names in ``backward`` (the port's readies of requests,
    valids of responses) go to the selected master and are 0 at the other.  Payloads the port
    returns (``rdata``, ``rresp`` ...) are wired to both masters by the caller.
``top_axi_tie_off(port, cfg)``
    Every name of ``port`` driven idle: no request (valids, addresses, ids, lengths, data 0),
    ``*size`` the full bus width, ``*burst`` INCR, every response accepted (``*ready`` 1).
"""

from __future__ import annotations

from myhdl import Signal, block, intbv

from hdl.common.wires import pick as _pick
from hdl.common.wires import wire as _wire


@block
def top_wires(src, dst):
    return [_wire(s, d) for s, d in zip(src, dst, strict=True)]


@block
def top_axi_mux(sel, port, a, b, forward, backward):
    zero = Signal(bool(0))      # undriven: a constant
    insts = [_pick(sel, a[n], b[n], port[n]) for n in forward]
    for n in backward:
        insts.append(_pick(sel, port[n], zero, a[n]))
        insts.append(_pick(sel, zero, port[n], b[n]))
    return insts


@block
def top_axi_tie_off(port, cfg):
    # undriven signals convert to constants (an always_comb needs an input to be sensitive to)
    zero, one = Signal(bool(0)), Signal(bool(1))
    full_size = Signal(intbv((cfg.axi_bytes).bit_length() - 1)[3:])
    insts = []
    for name, sig in port.items():
        if name.endswith("size"):
            value = full_size
        elif name.endswith("burst") or name.endswith("ready"):
            value = one
        else:
            value = zero
        insts.append(_wire(value, sig))
    return insts
