"""The simulator backend of the host driver: cocotbext-axi models around ``fast_prefill_top``.

``CocotbTransport(dut, cfg, lat=HBM_LATENCY, size=...)``
    s_axi_control: an ``AxiLiteMaster``; the m_axi bundles: ports of ONE :class:`tb.kit.hbm.Hbm`
    (read ports q, idx, kv; write port o), so every bundle sees the same HBM address space, as
    the U280 platform binds them.

HBM pseudo-channel per bundle (numbers from the U280 data sheet):
    latency    ``lat`` kernel cycles from a burst's AR to its first beat, pipelined (bursts in
               flight overlap; tb.kit.hbm); default 30 cycles = 100 ns at 300 MHz.  Writes are
               not delayed.
    bandwidth  one pseudo-channel moves 14.375 GB/s; a beat of 32 bytes per cycle is 9.6 GB/s
               at 300 MHz, so a bundle runs at one beat per cycle up to 449 MHz; above that the
               R channel pauses to the channel's rate (``beat_rate``).
Error injection (``inject``): the n-th R beat (read bundles) or B response (o) of a bundle
answers SLVERR or DECERR once.  Every burst is checked against the HBM port's AXI rules.
"""

from __future__ import annotations

import logging

from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiReadBus, AxiWriteBus

from host.transport import Transport
from hdl.config import AcceleratorConfig
from tb.kit.hbm import HBM_LATENCY, Hbm

__all__ = ["HBM_LATENCY", "READ_BUNDLES", "CocotbTransport", "beat_rate"]

READ_BUNDLES = ("q", "idx", "kv")


def beat_rate(cfg: AcceleratorConfig) -> float:
    """Beats per kernel cycle one pseudo-channel sustains (capped at 1); the layer model
    (golden.perf) uses the same figure."""
    from golden.perf import hbm_read_beat_rate
    return hbm_read_beat_rate(cfg)


class CocotbTransport(Transport):
    has_interrupt = True

    def __init__(self, dut, cfg: AcceleratorConfig, lat: int = HBM_LATENCY, size: int = 1 << 26):
        self.dut, self.cfg = dut, cfg
        self.clk = dut.ap_clk
        self.ctrl = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi_control"), dut.ap_clk, dut.ap_rst_n,
                                  reset_active_level=False)
        for part in (self.ctrl.write_if, self.ctrl.read_if):
            part.log.setLevel(logging.WARNING)
        self.hbm = Hbm(dut.ap_clk, size=size, latency=lat, pipelined=True)
        for name in READ_BUNDLES:
            self.hbm.read_port(name, AxiReadBus.from_prefix(dut, f"m_axi_{name}"), dut.ap_rst_n,
                               reset_active_level=False)
        self.hbm.write_port("o", AxiWriteBus.from_prefix(dut, "m_axi_o"), dut.ap_rst_n,
                            reset_active_level=False, latency=0)
        self.hbm.rate_limit(beat_rate(cfg))

    @property
    def cycle(self) -> int:
        """Kernel cycles since the transport was built."""
        return self.hbm.cycle

    def inject(self, bundle: str, resp: int, beat: int = 0) -> None:
        """Answer the ``beat``-th R beat (B response for o) of ``bundle`` from now with ``resp``."""
        self.check_bundle(bundle)
        self.hbm.inject(bundle, resp, beat)

    # ---------------------------------------------------------------- Transport
    async def write_reg(self, offset: int, value: int) -> None:
        await self.ctrl.write_dword(offset, value)

    async def read_reg(self, offset: int) -> int:
        return await self.ctrl.read_dword(offset)

    async def write_mem(self, bundle: str, addr: int, data: bytes) -> None:
        self.check_bundle(bundle)
        self.hbm.write(addr, data)

    async def read_mem(self, bundle: str, addr: int, length: int) -> bytes:
        self.check_bundle(bundle)
        return self.hbm.read(addr, length)

    async def wait_interrupt(self, max_cycles: int) -> bool:
        for _ in range(max_cycles):
            await RisingEdge(self.clk)
            if self.dut.interrupt.value:
                return True
        return False

    async def idle(self, cycles: int) -> None:
        await ClockCycles(self.clk, cycles)
