"""cocotb bench of the Sparse Index Generator scorer (hdl/index/sig.py), bit-exact against
golden.estimator_fixed (pass1_row_stats, pass2_scores).

Run through tests/test_sig.py (tb.kit.runner.run).  The cases (HBM images, scale codes and the
golden results) come prepared in a torch file named by ``SIG_CASES``; other knobs:
    SIG_LAT       HBM latency in cycles (pipelined: each burst answers LAT cycles after its AR)
    SIG_AXI_BP    pause rate of the AR and R channels (random backpressure)
    SIG_OUT       path of a JSON file with the cycles of every case (the benchmark reads it)
Each case: program codes and registers, pulse start, wait for done (a watchdog bounds it),
check err, then read back m, l of every Q_last row and v, d of every block of every head.
"""

from __future__ import annotations

import json
import logging
import os
from collections import deque

import cocotb
import torch
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, Timer
from cocotbext.axi import AxiRamRead, AxiReadBus

from hdl.index.params import ERR_NAMES, sig_widths
from tb.kit.runner import config_from_env
from tb.kit.scoreboard import Scoreboard
from tb.kit.stream import random_pauses
from tb.kit.tb import TB

HBM_SIZE = 1 << 22


class SigTB(TB):
    def __init__(self, dut, lat: int, bp: float, seed: int = 1):
        super().__init__(dut, max_cycles=int(os.environ.get("SIG_MAX_CYCLES", "2000000")))
        self.cfg = config_from_env()
        self.w = sig_widths(self.cfg)
        self.lat = lat
        d = dut
        for name in ("start", "qc_we", "kc_we", "rd_head", "rd_row", "rd_blk", "sel_mode", "sel_code",
                     "sel_min", "sel_max", "sel_topk_v", "sel_topk_s", "sel_win"):
            getattr(d, name).value = 0
        self.ram = AxiRamRead(AxiReadBus.from_prefix(d, "m_axi"), d.clk, d.rst, size=HBM_SIZE)
        self.ram.log.setLevel(logging.WARNING)
        if bp:
            self.ram.ar_channel.set_pause_generator(random_pauses(bp, seed + 2, burst=3))
            self.ram.r_channel.set_pause_generator(random_pauses(bp, seed + 3, burst=3))
        self.cycle = 0
        self.ar_times: deque[int] = deque()
        self.sb = Scoreboard("sig")
        self._wrap_latency()
        cocotb.start_soon(self._watch())

    def _wrap_latency(self):
        # Pipelined latency: a burst's data may start LAT cycles after its AR handshake.
        orig = self.ram.ar_channel.recv
        tb = self

        async def recv():
            ar = await orig()
            t0 = tb.ar_times.popleft() if tb.ar_times else tb.cycle
            while tb.cycle < t0 + tb.lat:
                await RisingEdge(tb.clk)
            return ar
        self.ram.ar_channel.recv = recv

    async def _watch(self):
        d = self.dut
        while True:
            await RisingEdge(self.clk)
            await ReadOnly()
            self.cycle += 1
            if d.m_axi_arvalid.value and d.m_axi_arready.value:
                self.ars_check(int(d.m_axi_araddr.value), int(d.m_axi_arlen.value))
                self.ar_times.append(self.cycle)

    def ars_check(self, addr: int, alen: int) -> None:
        nbytes = (alen + 1) * self.cfg.axi_bytes
        assert addr % self.cfg.axi_bytes == 0, f"unaligned burst at {addr:#x}"
        assert addr // 4096 == (addr + nbytes - 1) // 4096, f"burst {addr:#x}+{nbytes} crosses 4 KiB"
        assert int(self.dut.m_axi_arburst.value) == 1, "burst type must be INCR"

    async def run_case(self, case: dict) -> dict:
        d = self.dut
        for addr, blob in case["mem"]:
            self.ram.write(addr, blob)
        await RisingEdge(self.clk)
        for h, code in enumerate(case["qcodes"]):
            d.qc_we.value, d.qc_head.value, d.qc_data.value = 1, h, code
            await RisingEdge(self.clk)
        d.qc_we.value = 0
        for c, code in enumerate(case["kcodes"]):
            d.kc_we.value, d.kc_addr.value, d.kc_data.value = 1, c, code
            await RisingEdge(self.clk)
        d.kc_we.value = 0
        d.seq_len.value = case["L"]
        d.group.value = case["g"]
        d.k_addr.value = case["k_addr"]
        d.q_addr.value = case["q_addr"]
        d.q_stride.value = case["q_stride"]
        for reg in ("sel_mode", "sel_code", "sel_min", "sel_max", "sel_topk_v", "sel_topk_s", "sel_win"):
            getattr(d, reg).value = case[reg]
        d.start.value = 1
        await RisingEdge(self.clk)
        d.start.value = 0
        t0 = self.cycle
        limit = case.get("max_cycles", 50 * case["L"] + 5000)
        await RisingEdge(self.clk)
        while True:
            await ReadOnly()
            if d.done.value:
                break
            if self.cycle - t0 > limit:
                raise AssertionError(f"{case['name']}: no done within {limit} cycles")
            await RisingEdge(self.clk)
        cycles = self.cycle - t0
        err = int(d.err.value)
        assert not d.pv_fault.value, f"{case['name']}: pv_fault"
        self.sb.check(f"{case['name']}: err ({ERR_NAMES.get(err, err)})", [case["err"]], [err], ["i"])
        if case["err"] == 0:
            await self.readback(case)
        return {"name": case["name"], "L": case["L"], "g": case["g"], "cycles": cycles,
                "sel_cycles": int(d.sel_cycles.value)}

    async def readback(self, case: dict) -> None:
        d = self.dut
        await RisingEdge(self.clk)
        g, bq, nb = case["g"], case["bq"], case["nb"]
        MX = self.w["MX"]
        got_m = torch.zeros(g, bq, dtype=torch.int64)
        got_l = torch.zeros(g, bq, dtype=torch.int64)
        got_v = torch.zeros(g, nb, dtype=torch.int64)
        got_d = torch.zeros(g, nb, dtype=torch.int64)
        for h in range(g):
            d.rd_head.value = h
            for i in range(bq):
                d.rd_row.value = i
                await Timer(1, "ns")
                mv = int(d.rd_m.value)
                got_m[h, i] = mv - (1 << MX) if mv >> (MX - 1) else mv
                got_l[h, i] = int(d.rd_l.value)
            for c in range(nb):
                d.rd_blk.value = c
                await Timer(1, "ns")
                got_v[h, c] = int(d.rd_v.value)
                got_d[h, c] = int(d.rd_d.value)
        got_vs, got_ss = [], []
        for h in range(g):
            d.rd_head.value = h
            await Timer(1, "ns")
            nv, ns = int(d.rd_nv.value), int(d.rd_ns.value)
            vs, ss = [], []
            for c in range(max(nv, ns)):
                d.rd_blk.value = c
                await Timer(1, "ns")
                if c < nv:
                    vs.append(int(d.rd_vi.value))
                if c < ns:
                    ss.append(int(d.rd_si.value))
            got_vs.append(vs)
            got_ss.append(ss)
        name = case["name"]
        self.sb.check(f"{name}: row max m", case["m"], got_m, ["head", "row"])
        self.sb.check(f"{name}: row sum l", case["l"], got_l, ["head", "row"])
        self.sb.check(f"{name}: vertical v", case["v"], got_v, ["head", "block"])
        self.sb.check(f"{name}: slash d", case["d"], got_d, ["head", "offset"])
        for h in range(g):
            self.sb.check(f"{name}: head {h} vertical set size", [len(case["vsets"][h])], [len(got_vs[h])], ["i"])
            self.sb.check(f"{name}: head {h} vertical set", case["vsets"][h], got_vs[h], ["entry"])
            self.sb.check(f"{name}: head {h} slash set size", [len(case["ssets"][h])], [len(got_ss[h])], ["i"])
            self.sb.check(f"{name}: head {h} slash set", case["ssets"][h], got_ss[h], ["entry"])


@cocotb.test()
async def test_cases(dut):
    """Every prepared case in order (one reset), bit-exact, with HBM latency and backpressure."""
    data = torch.load(os.environ["SIG_CASES"], weights_only=False)
    tb = SigTB(dut, lat=int(os.environ.get("SIG_LAT", "30")), bp=float(os.environ.get("SIG_AXI_BP", "0.2")))
    await tb.start()
    results = []
    for case in data["cases"]:
        r = await tb.run_case(case)
        dut._log.info("%s: L=%d g=%d err=%d: %d cycles", r["name"], r["L"], r["g"], case["err"], r["cycles"])
        results.append(r)
        await ClockCycles(dut.clk, 2)
    out = os.environ.get("SIG_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(results, f)
    dut._log.info(tb.sb.summary())
