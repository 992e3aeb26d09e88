"""The simulator backend of the host driver: cocotbext-axi models around ``fast_prefill_top``.

``CocotbTransport(dut, cfg, lat=HBM_LATENCY, size=...)``
    s_axi_control: an ``AxiLiteMaster``; every m_axi bundle: an AXI RAM (``AxiRamRead`` for q,
    idx, kv; ``AxiRamWrite`` for o) over ONE shared memory (all bundles see the same HBM
    address space, as the U280 platform binds them).

HBM pseudo-channel model per bundle (numbers from the U280 data sheet, ARCHITECTURE.md 6/7):
    latency    ``lat`` kernel cycles from a burst's AR to its first beat (pipelined: bursts in
               flight overlap); default 30 cycles = 100 ns at 300 MHz.
    bandwidth  one pseudo-channel moves 14.375 GB/s; a beat of 32 bytes per cycle is 9.6 GB/s
               at 300 MHz, so a bundle runs at one beat per cycle up to 449 MHz; above that the
               R channel pauses to the channel's rate (``beat_rate``).
Error injection (``inject``): the n-th R beat (read bundles) or B response (o) of a bundle
answers SLVERR or DECERR once.
"""

from __future__ import annotations

import itertools
import logging

import cocotb
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotbext.axi import (AxiLiteBus, AxiLiteMaster, AxiRamRead, AxiRamWrite, AxiReadBus,
                           AxiWriteBus)

from host.transport import Transport
from hdl.config import AcceleratorConfig

HBM_LATENCY = 30
READ_BUNDLES = ("q", "idx", "kv")


def beat_rate(cfg: AcceleratorConfig) -> float:
    """Beats per kernel cycle one pseudo-channel sustains (capped at 1); the layer model
    (golden.perf) uses the same figure."""
    from golden.perf import hbm_read_beat_rate
    return hbm_read_beat_rate(cfg)


def _rate_pauses(rate: float):
    """A deterministic pause pattern with the given fraction of active cycles."""
    acc = 0.0
    for _ in itertools.count():
        acc += rate
        if acc >= 1.0:
            acc -= 1.0
            yield False
        else:
            yield True


class CocotbTransport(Transport):
    has_interrupt = True

    def __init__(self, dut, cfg: AcceleratorConfig, lat: int = HBM_LATENCY, size: int = 1 << 26):
        self.dut, self.cfg, self.lat = dut, cfg, lat
        self.clk = dut.ap_clk
        self.cycle = 0
        self.ctrl = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi_control"), dut.ap_clk, dut.ap_rst_n,
                                  reset_active_level=False)
        for part in (self.ctrl.write_if, self.ctrl.read_if):
            part.log.setLevel(logging.WARNING)
        first = None
        self.rams: dict = {}
        for name in READ_BUNDLES:
            ram = AxiRamRead(AxiReadBus.from_prefix(dut, f"m_axi_{name}"), dut.ap_clk, dut.ap_rst_n,
                             reset_active_level=False, size=size, mem=None if first is None else first.mem)
            first = first or ram
            self.rams[name] = ram
        self.rams["o"] = AxiRamWrite(AxiWriteBus.from_prefix(dut, "m_axi_o"), dut.ap_clk, dut.ap_rst_n,
                                     reset_active_level=False, size=size, mem=first.mem)
        rate = beat_rate(cfg)
        self.injected: dict = {}        # bundle -> [beat number, resp] (one shot)
        self.beats: dict = {n: 0 for n in self.rams}
        self.ar_times: dict = {n: [] for n in READ_BUNDLES}
        for name in READ_BUNDLES:
            ram = self.rams[name]
            ram.log.setLevel(logging.WARNING)
            if rate < 1.0:
                ram.r_channel.set_pause_generator(_rate_pauses(rate))
            self._wrap_read(name, ram)
        self.rams["o"].log.setLevel(logging.WARNING)
        self._wrap_write(self.rams["o"])
        cocotb.start_soon(self._count())

    # ---------------------------------------------------------------- HBM model
    def _wrap_read(self, name: str, ram) -> None:
        orig_recv, orig_send = ram.ar_channel.recv, ram.r_channel.send
        tp = self

        async def recv():
            ar = await orig_recv()
            # pipelined latency: the burst's data may start lat cycles after its AR handshake
            t0 = tp.ar_times[name].pop(0) if tp.ar_times[name] else tp.cycle
            while tp.cycle < t0 + tp.lat:
                await RisingEdge(tp.clk)
            return ar

        async def send(r):
            inj = tp.injected.get(name)
            if inj is not None and tp.beats[name] == inj[0]:
                r.rresp = inj[1]
                del tp.injected[name]
            tp.beats[name] += 1
            await orig_send(r)
        ram.ar_channel.recv = recv
        ram.r_channel.send = send

    def _wrap_write(self, ram) -> None:
        orig_send = ram.b_channel.send
        tp = self

        async def send(b):
            inj = tp.injected.get("o")
            if inj is not None and tp.beats["o"] == inj[0]:
                b.bresp = inj[1]
                del tp.injected["o"]
            tp.beats["o"] += 1
            await orig_send(b)
        ram.b_channel.send = send

    async def _count(self):
        d = self.dut
        while True:
            await RisingEdge(self.clk)
            await ReadOnly()
            self.cycle += 1
            for name in READ_BUNDLES:
                if getattr(d, f"m_axi_{name}_arvalid").value and getattr(d, f"m_axi_{name}_arready").value:
                    self.ar_times[name].append(self.cycle)

    def inject(self, bundle: str, resp: int, beat: int = 0) -> None:
        """Answer the ``beat``-th R beat (B response for o) of ``bundle`` from now with ``resp``."""
        self.check_bundle(bundle)
        self.beats[bundle] = 0
        self.injected[bundle] = [beat, resp]

    # ---------------------------------------------------------------- Transport
    async def write_reg(self, offset: int, value: int) -> None:
        await self.ctrl.write_dword(offset, value)

    async def read_reg(self, offset: int) -> int:
        return await self.ctrl.read_dword(offset)

    async def write_mem(self, bundle: str, addr: int, data: bytes) -> None:
        self.check_bundle(bundle)
        self.rams[bundle].write(addr, data)

    async def read_mem(self, bundle: str, addr: int, length: int) -> bytes:
        self.check_bundle(bundle)
        return bytes(self.rams[bundle].read(addr, length))

    async def wait_interrupt(self, max_cycles: int) -> bool:
        for _ in range(max_cycles):
            await RisingEdge(self.clk)
            if self.dut.interrupt.value:
                return True
        return False

    async def idle(self, cycles: int) -> None:
        await ClockCycles(self.clk, cycles)
