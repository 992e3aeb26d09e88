"""cocotb bench of the Sparse Index Generator scorer (hdl/index/sig.py), bit-exact against
golden.estimator_fixed (pass1_row_stats, pass2_scores).

Run through tests/test_sig.py (tb.kit.runner.run).  The cases (HBM images, scale codes and the
golden results) come prepared in a torch file named by ``SIG_CASES``; other knobs:
    SIG_LAT       HBM latency in cycles (tb.kit.hbm, pipelined: each burst answers LAT cycles
                  after its AR)
    SIG_AXI_BP    pause rate of the AR and R channels (random backpressure)
    SIG_OUT       path of a JSON file with the cycles of every case (the benchmark reads it)
Each case: program codes and registers, pulse start, wait for done (a watchdog bounds it),
check err, then read back m, l of every Q_last row and v, d of every block of every head.
"""

from __future__ import annotations

import os

import cocotb
import torch
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, Timer
from cocotbext.axi import AxiReadBus

from hdl.index.params import ERR_NAMES, sig_widths
from tb.kit.hbm import Hbm
from tb.kit.runner import config_from_env, inputs_from_env, write_output
from tb.kit.scoreboard import Scoreboard
from tb.kit.tb import TB

HBM_SIZE = 1 << 22


class IndexTB(TB):
    """What hdl/index/sig.py and hdl/index/pool.py share: the load registers (seq_len, group,
    k_addr, q_addr, q_stride, start / done / err) and the HBM on m_axi (pipelined latency
    ``lat``, random AR and R pauses at the rate ``bp``).  Subclasses name their inputs to
    clear (``inputs``), write their scale codes (``write_codes``) and their own registers
    (``unit_registers``)."""

    inputs: tuple[str, ...] = ()

    def __init__(self, dut, lat: int, bp: float, name: str, seed: int = 1):
        super().__init__(dut, max_cycles=int(os.environ.get("SIG_MAX_CYCLES", "2000000")))
        self.cfg = config_from_env()
        self.lat = lat
        for sig in ("start",) + self.inputs:
            getattr(dut, sig).value = 0
        self.hbm = Hbm(dut.clk, size=HBM_SIZE, latency=lat, pipelined=True)
        self.hbm.read_port("m_axi", AxiReadBus.from_prefix(dut, "m_axi"), dut.rst)
        self.hbm.random_pauses(bp, seed + 2)
        self.sb = Scoreboard(name)

    @property
    def cycle(self) -> int:
        return self.hbm.cycle

    async def write_codes(self, case: dict) -> None:
        raise NotImplementedError

    def unit_registers(self, case: dict) -> dict:
        return {}

    async def launch(self, case: dict) -> None:
        """The case's HBM image, codes and registers, then one start pulse."""
        d = self.dut
        for addr, blob in case["mem"]:
            self.hbm.write(addr, blob)
        await RisingEdge(self.clk)
        await self.write_codes(case)
        regs = {"seq_len": case["L"], "group": case["g"], "k_addr": case["k_addr"],
                "q_addr": case["q_addr"], "q_stride": case["q_stride"], **self.unit_registers(case)}
        for reg, value in regs.items():
            getattr(d, reg).value = value
        d.start.value = 1
        await RisingEdge(self.clk)
        d.start.value = 0

    async def wait_for(self, sig, limit: int, what: str, since: int | None = None) -> int:
        """Wait (checking in ReadOnly) until ``sig`` is high; returns the cycles since ``since``
        (default: now).  More than ``limit`` of them fail the test."""
        t0 = self.cycle if since is None else since
        while True:
            await ReadOnly()
            if sig.value:
                return self.cycle - t0
            if self.cycle - t0 > limit:
                raise AssertionError(f"{what}: no answer within {limit} cycles")
            await RisingEdge(self.clk)

    async def run_case(self, case: dict) -> dict:
        raise NotImplementedError

    @classmethod
    async def run_all(cls, dut, cases_var: str, out_var: str, describe) -> None:
        """Every case of the file ``cases_var`` names, in order after one reset, with the HBM
        latency SIG_LAT and the pause rate SIG_AXI_BP; logs ``describe(result)`` per case and
        writes the results to the JSON file ``out_var`` names."""
        data = inputs_from_env(cases_var)
        tb = cls(dut, lat=int(os.environ.get("SIG_LAT", "30")), bp=float(os.environ.get("SIG_AXI_BP", "0.2")))
        await tb.start()
        results = []
        for case in data["cases"]:
            r = await tb.run_case(case)
            dut._log.info("%s: L=%d g=%d err=%d: %s", r["name"], r["L"], r["g"], case["err"], describe(r))
            results.append(r)
            await ClockCycles(dut.clk, 2)
        write_output(out_var, results)
        dut._log.info(tb.sb.summary())

    def check_err(self, case: dict) -> int:
        err = int(self.dut.err.value)
        self.sb.check(f"{case['name']}: err ({ERR_NAMES.get(err, err)})", [case["err"]], [err], ["i"])
        return err


class SigTB(IndexTB):
    inputs = ("qc_we", "kc_we", "rd_head", "rd_row", "rd_blk", "sel_mode", "sel_code", "sel_min",
              "sel_max", "sel_topk_v", "sel_topk_s", "sel_win")

    def __init__(self, dut, lat: int, bp: float, seed: int = 1):
        super().__init__(dut, lat, bp, "sig", seed)
        self.w = sig_widths(self.cfg)

    async def write_codes(self, case: dict) -> None:
        d = self.dut
        await self.write_entries(d.qc_we, (d.qc_head, d.qc_data), enumerate(case["qcodes"]))
        await self.write_entries(d.kc_we, (d.kc_addr, d.kc_data), enumerate(case["kcodes"]))

    def unit_registers(self, case: dict) -> dict:
        return {reg: case[reg] for reg in ("sel_mode", "sel_code", "sel_min", "sel_max",
                                           "sel_topk_v", "sel_topk_s", "sel_win")}

    async def run_case(self, case: dict) -> dict:
        d = self.dut
        await self.launch(case)
        t0 = self.cycle
        await RisingEdge(self.clk)
        cycles = await self.wait_for(d.done, case.get("max_cycles", 50 * case["L"] + 5000),
                                     f"{case['name']}: done", since=t0)
        assert not d.pv_fault.value, f"{case['name']}: pv_fault"
        self.check_err(case)
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
    await SigTB.run_all(dut, "SIG_CASES", "SIG_OUT", lambda r: f"{r['cycles']} cycles")
