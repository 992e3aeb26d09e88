"""The HBM memory model behind every AXI master port of a bench and of the host simulation.

``hbm = Hbm(clk, size=..., latency=..., pipelined=...)`` is one byte-addressed memory (the U280
binds every m_axi bundle to HBM in one address space); ``hbm.read_port(name, bus, rst)`` and
``hbm.write_port(name, bus, rst)`` put a cocotbext-axi ``AxiRamRead`` / ``AxiRamWrite`` (one HBM
pseudo-channel each) on it.  Ports are named by the bench ("m_axi", "q", "kv", "o", ...).

Timing (kernel clock cycles).  ``latency`` is the HBM's access time: the cycles between a
burst's address handshake (AR; AW for a write port) and the port starting to answer it (R beats;
taking W beats), on an idle port, plus the RAM model's own cycle or two.  How bursts that queue up
behind each other wait is ``pipelined``:
    True   bursts in flight overlap: each starts no earlier than ``latency`` cycles after its own
           address handshake, so a stream of bursts runs at the bus rate after the first one.
           The HBM that golden.perf's layer model assumes (HBM_LATENCY = 30 cycles = 100 ns at
           300 MHz); used by the host simulation transport (tb.kit.host_sim), tb/test_sig.py
           and tb/test_sig_pool.py.
    False  one burst at a time: the port waits ``latency`` cycles from taking a burst (the cycle
           after its handshake on an idle port, else once the previous burst's data is handed
           over), so every burst costs ``latency`` plus its beats.  tb/test_kv_cache.py and
           tb/test_grp_attn.py (latency 20; 40 and 2 in single tests) use it to keep the
           cache's prefetch and the stall paths busy.
Both keep the cocotbext-axi RAM's service: at most two addresses in its queue and one burst
answered at a time, so at most three bursts of a port are in flight.  Pauses slow any channel
further: ``random_pauses`` (the address and data channel of every port, one seed each, in port
order) and ``rate_limit`` (the R channels paced to a fraction of a beat per cycle: one
pseudo-channel's bandwidth on a wide or fast port, ``tb.kit.host_sim.beat_rate``).

Checks: every address handshake is recorded (``port.bursts``: cycle, address, beats, size, burst
type) and must follow the AXI rules a U280 HBM port needs: INCR, the full bus width, at most 256
beats, aligned to the bus width, inside one 4 KiB page; a violation fails the test at once
(:class:`AxiBurstError`, raised in the monitor task).

Errors: ``hbm.inject(port, resp, beat)`` answers the ``beat``-th R beat (a write port: B
response) of ``port`` from now with ``resp`` (SLVERR, DECERR), once.

``hbm.cycle`` counts rising edges since the model was built; benches time their runs with it.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import NamedTuple

from cocotb import start_soon
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotbext.axi import AxiRamRead, AxiRamWrite

from tb.kit.stream import random_pauses, rate_pauses

#: the HBM access time of the host simulation: 100 ns at 300 MHz
HBM_LATENCY = 30
PAGE_BYTES = 4096
MAX_BURST_BEATS = 256
INCR = 1


class AxiBurstError(AssertionError):
    """A master issued a burst that breaks the AXI rules of an HBM port."""


class Burst(NamedTuple):
    """One address handshake: the cycle it happened in and the AR/AW fields."""
    cycle: int
    addr: int
    beats: int
    size: int
    kind: int


def burst_violation(b: Burst, bus_bytes: int) -> str | None:
    """What ``b`` breaks of the HBM port's burst rules, or None."""
    if b.kind != INCR:
        return f"burst type {b.kind}, not INCR"
    if b.size != (bus_bytes - 1).bit_length():
        return f"size {b.size}, not the {bus_bytes}-byte bus width"
    if b.beats > MAX_BURST_BEATS:
        return f"{b.beats} beats, more than {MAX_BURST_BEATS}"
    if b.addr % bus_bytes:
        return f"address not aligned to {bus_bytes} bytes"
    if (b.addr % PAGE_BYTES) + b.beats * bus_bytes > PAGE_BYTES:
        return f"{b.beats} beats cross a {PAGE_BYTES}-byte page"
    return None


class HbmPort:
    """One AXI bundle on the memory: its cocotbext-axi RAM (``ram``), the bursts it was given
    and its error injection.  Built by :meth:`Hbm.read_port` / :meth:`Hbm.write_port`."""

    def __init__(self, hbm: "Hbm", name: str, ram, write: bool, latency: int):
        self.hbm, self.name, self.ram, self.write = hbm, name, ram, write
        self.latency = latency
        self.bus_bytes = ram.byte_lanes
        self.bursts: list[Burst] = []
        #: R beats (B responses for a write port) handed to the master since the last inject
        self.responses = 0
        self._inject: tuple[int, int] | None = None     # (response number, resp)
        self._handshakes: deque[int] = deque()     # pipelined: cycles of bursts not yet served
        kind = "aw" if write else "ar"
        bus = self.address_channel.bus
        self._valid, self._ready = getattr(bus, kind + "valid"), getattr(bus, kind + "ready")
        self._fields = [getattr(bus, kind + f) for f in ("addr", "len", "size", "burst")]
        ram.log.setLevel(logging.WARNING)      # it logs every burst at INFO: slow
        self._delay_bursts()
        self._answer_errors()

    @property
    def address_channel(self):
        return self.ram.aw_channel if self.write else self.ram.ar_channel

    @property
    def channels(self) -> tuple:
        """The address and data channel of the port: (AR, R) or (AW, W)."""
        return (self.ram.aw_channel, self.ram.w_channel) if self.write else \
            (self.ram.ar_channel, self.ram.r_channel)

    def _delay_bursts(self) -> None:
        # the RAM takes a burst when its address leaves the queue: hold it there for the latency
        ch, hbm, port = self.address_channel, self.hbm, self
        take = ch.recv

        if hbm.pipelined:
            async def recv():
                a = await take()
                t0 = port._handshakes.popleft() if port._handshakes else hbm.cycle
                while hbm.cycle < t0 + port.latency:
                    await RisingEdge(hbm.clk)
                return a
        else:
            async def recv():
                a = await take()
                if port.latency:
                    await ClockCycles(hbm.clk, port.latency)
                return a
        ch.recv = recv

    def _answer_errors(self) -> None:
        ch = self.ram.b_channel if self.write else self.ram.r_channel
        field = "bresp" if self.write else "rresp"
        send, port = ch.send, self

        async def answer(x):
            if port._inject is not None and port.responses == port._inject[0]:
                setattr(x, field, port._inject[1])
                port._inject = None
            port.responses += 1
            await send(x)
        ch.send = answer

    def _sample(self, cycle: int) -> None:
        if not (self._valid.value and self._ready.value):
            return
        addr, alen, size, kind = (int(s.value) for s in self._fields)
        b = Burst(cycle, addr, alen + 1, size, kind)
        bad = burst_violation(b, self.bus_bytes)
        if bad:
            raise AxiBurstError(f"{self.name}: burst at {addr:#x} (cycle {cycle}): {bad}")
        self.bursts.append(b)
        if self.hbm.pipelined:
            self._handshakes.append(cycle)


class Hbm:
    """One memory with AXI ports, the cycle counter and the burst monitor (see the module)."""

    def __init__(self, clk, *, size: int, latency: int = HBM_LATENCY, pipelined: bool = True):
        self.clk, self.size, self.latency, self.pipelined = clk, size, latency, pipelined
        self.cycle = 0
        self.ports: dict[str, HbmPort] = {}
        self._mem = None
        self._task = start_soon(self._monitor())

    def _add(self, name: str, ram, write: bool, latency: int | None) -> HbmPort:
        if name in self.ports:
            raise ValueError(f"Hbm: port {name!r} exists")
        self._mem = ram.mem
        port = HbmPort(self, name, ram, write, self.latency if latency is None else latency)
        self.ports[name] = port
        return port

    def read_port(self, name: str, bus, rst, reset_active_level: bool = True) -> HbmPort:
        """An ``AxiRamRead`` on ``bus`` (an ``AxiReadBus``)."""
        ram = AxiRamRead(bus, self.clk, rst, reset_active_level=reset_active_level, size=self.size,
                         mem=self._mem)
        return self._add(name, ram, False, None)

    def write_port(self, name: str, bus, rst, reset_active_level: bool = True,
                   latency: int | None = None) -> HbmPort:
        """An ``AxiRamWrite`` on ``bus`` (an ``AxiWriteBus``); ``latency`` defaults to the
        memory's."""
        ram = AxiRamWrite(bus, self.clk, rst, reset_active_level=reset_active_level, size=self.size,
                          mem=self._mem)
        return self._add(name, ram, True, latency)

    def random_pauses(self, rate: float, seed: int, burst: int = 3) -> None:
        """Random pauses (``tb.kit.stream.random_pauses``) on the address and data channel of
        every port, in the order the ports were built: seeds ``seed``, ``seed + 1``, ...
        (``rate`` 0: none)."""
        if not rate:
            return
        channels = [ch for port in self.ports.values() for ch in port.channels]
        for i, ch in enumerate(channels):
            ch.set_pause_generator(random_pauses(rate, seed + i, burst=burst))

    def rate_limit(self, rate: float) -> None:
        """Pace the R channel of every read port to ``rate`` beats per cycle (no-op at 1)."""
        if rate >= 1.0:
            return
        for port in self.ports.values():
            if not port.write:
                port.ram.r_channel.set_pause_generator(rate_pauses(rate))

    def inject(self, name: str, resp: int, beat: int = 0) -> None:
        """Answer the ``beat``-th R beat (B response of a write port) of port ``name`` from now
        with ``resp``, once."""
        port = self.ports[name]
        port.responses = 0
        port._inject = (beat, resp)

    def write(self, addr: int, data: bytes) -> None:
        self._mem[addr:addr + len(data)] = data

    def read(self, addr: int, length: int) -> bytes:
        return bytes(self._mem[addr:addr + length])

    async def _monitor(self) -> None:
        while True:
            await RisingEdge(self.clk)
            await ReadOnly()
            self.cycle += 1
            for port in self.ports.values():
                port._sample(self.cycle)
