"""One MPU for two units that never run at the same time (the index generator and the attention
engine of a lane, hdl/top/fast_prefill_top.py): a bus per unit, an MPU, a 2:1 pick.

A unit built with an MPU bus (``mpu_bus(cfg)``: one signal per MPU port, as ``hdl.mpu.mpu.ports``)
instantiates ``mpu_socket`` where it would instantiate ``mpu``: the socket has the MPU's ports
and wires them to the bus.  ``mpu_shared`` connects one MPU to two buses: the unit on bus ``a``
while ``sel`` is low, on bus ``b`` while high.  The selected unit drives the MPU's inputs; the
MPU's valids and readies reach only the selected unit (the other sees 0), its data and ``idle``
both.  The MPU is reset when either unit resets its socket, so each unit starts its phase on a
clean pipeline as it did with its own MPU.  The pick is combinational: no cycle changes.

Ports
    mpu_socket(bus, rst, in_valid, in_ready, in_mode, in_last, in_x, in_p, in_bank, ld_valid,
               ld_bank, ld_row, ld_data, vl_valid, vl_bank, vl_row, vl_data, s_valid, s_ready, s_data,
               s_last, t_valid, t_ready, t_data, t_row, t_last, v_busy, idle)   the MPU's ports
               (hdl/mpu/mpu.py) of the unit, on ``bus``
    mpu_shared(clk, sel, bus_a, bus_b, cfg)   the MPU and the pick; bus_a is QK only (the index
               generator): its socket passes None for the PV results, which it never sees
"""

from __future__ import annotations

from myhdl import Signal, block

from hdl.common.reset import either_reset
from hdl.common.wires import pick, wire
from hdl.config import AcceleratorConfig
from hdl.mpu.mpu import mpu, ports

#: what a unit drives into the MPU (its inputs and the readies of its outputs)
TO_MPU = ("rst", "in_valid", "in_mode", "in_last", "in_x", "in_p", "in_bank", "ld_valid",
          "ld_bank", "ld_row", "ld_data", "vl_valid", "vl_bank", "vl_row", "vl_data", "s_ready", "t_ready")
#: the MPU's handshakes back to the unit: 0 at the unit not selected
HANDSHAKES = ("in_ready", "s_valid", "t_valid")
#: the MPU's data back to the unit, to both
FROM_MPU = ("s_data", "s_last", "t_data", "t_row", "t_last", "v_busy", "idle")
#: the PV results: only for bus_b of ``mpu_shared`` (bus_a is a QK-only unit)
PV_RESULTS = ("t_data", "t_row", "t_last", "v_busy")


def mpu_bus(cfg: AcceleratorConfig) -> dict:
    """Fresh signals for one unit's side of a shared MPU."""
    bus = ports(cfg)
    bus.pop("clk")
    return bus


@block
def mpu_socket(bus, rst, in_valid, in_ready, in_mode, in_last, in_x, in_p, in_bank, ld_valid,
               ld_bank, ld_row, ld_data, vl_valid, vl_bank, vl_row, vl_data, s_valid, s_ready, s_data,
               s_last, t_valid, t_ready, t_data, t_row, t_last, v_busy, idle):
    mine = dict(rst=rst, in_valid=in_valid, in_ready=in_ready, in_mode=in_mode, in_last=in_last,
                in_x=in_x, in_p=in_p, in_bank=in_bank, ld_valid=ld_valid, ld_bank=ld_bank,
                ld_row=ld_row, ld_data=ld_data, vl_valid=vl_valid, vl_bank=vl_bank, vl_row=vl_row,
                vl_data=vl_data, s_valid=s_valid, s_ready=s_ready, s_data=s_data, s_last=s_last,
                t_valid=t_valid, t_ready=t_ready, t_data=t_data, t_row=t_row, t_last=t_last,
                v_busy=v_busy, idle=idle)
    insts = [wire(mine[n], bus[n]) for n in TO_MPU]
    # an output the unit has no use for may be None (the index generator's PV data)
    insts += [wire(bus[n], mine[n]) for n in HANDSHAKES + FROM_MPU if mine[n] is not None]
    return insts


@block
def mpu_shared(clk, sel, bus_a, bus_b, cfg):
    m = mpu_bus(cfg)
    zero = Signal(bool(0))      # undriven: a constant
    insts = [mpu(clk=clk, **m, cfg=cfg)]
    insts.append(either_reset(bus_a["rst"], bus_b["rst"], m["rst"]))
    insts += [pick(sel, bus_a[n], bus_b[n], m[n]) for n in TO_MPU if n != "rst"]
    for n in HANDSHAKES:
        insts.append(pick(sel, m[n], zero, bus_a[n]))
        insts.append(pick(sel, zero, m[n], bus_b[n]))
    for n in FROM_MPU:
        insts.append(wire(m[n], bus_b[n]))
        if n not in PV_RESULTS:
            insts.append(wire(m[n], bus_a[n]))
    return insts
