"""cocotb bench of the sparse attention engine (hdl/attention/engine.py), bit-exact against
golden.fixed_attention.fixed_attention_tile_reference.

Run through tests/test_attention_engine.py (tb.kit.runner.run); jobs (input streams and
expected results, built by tb.benchmarks.attention.build_jobs) arrive as a torch file.
Environment knobs:
    ATTN_JOBS       path of the jobs file (required)
    ATTN_IDLE       pause rate of every input stream (default 0.2)
    ATTN_BP         backpressure rate of the output stream (default 0.3)
    ATTN_BENCH_OUT  test_throughput writes {"cycles": ...} here (torch file)
"""

from __future__ import annotations

import os

import cocotb
import torch
from cocotb.triggers import ReadOnly, RisingEdge

from hdl.attention.engine import widths
from tb.kit.bits import pack, unpack
from tb.kit.runner import config_from_env, inputs_from_env
from tb.kit.scoreboard import Scoreboard
from tb.kit.stream import StreamDriver, StreamMonitor, never, random_pauses
from tb.kit.tb import TB


def _u(v: int, bits: int) -> int:
    return int(v) & ((1 << bits) - 1)


class AttnTB(TB):
    def __init__(self, dut, idle: float | None = None, bp: float | None = None, seed: int = 1,
                 max_cycles: int = 2_000_000):
        super().__init__(dut, max_cycles=max_cycles)
        self.cfg = config_from_env()
        self.w = widths(self.cfg)
        self.B, self.D = self.w["B"], self.w["D"]
        idle = float(os.environ.get("ATTN_IDLE", "0.2")) if idle is None else idle
        bp = float(os.environ.get("ATTN_BP", "0.3")) if bp is None else bp
        pauses = (lambda s: random_pauses(idle, seed + s, burst=3)) if idle else (lambda s: never())
        d = dut
        self.tiles = StreamDriver(d.clk, d.tile_valid, d.tile_ready,
                                  {"diag": d.tile_diag, "nk": d.tile_nk, "last": d.tile_last,
                                   "mant": d.tile_mant, "exp": d.tile_exp}, idle=pauses(1))
        self.q = StreamDriver(d.clk, d.q_valid, d.q_ready,
                              {"data": d.q_data, "mant": d.q_mant, "exp": d.q_exp}, idle=pauses(2))
        self.k = StreamDriver(d.clk, d.k_valid, d.k_ready, {"data": d.k_data}, idle=pauses(3))
        self.v = StreamDriver(d.clk, d.v_valid, d.v_ready, {"data": d.v_data}, idle=pauses(4))
        self.out = StreamMonitor(d.clk, d.o_valid, d.o_ready,
                                 {"data": d.o_data, "row": d.o_row, "last": d.o_last,
                                  "m": d.o_m, "l": d.o_l},
                                 backpressure=random_pauses(bp, seed + 5, burst=4) if bp else never())
        self.p_rows: list[int] = []
        self.sb = Scoreboard("attn_engine")
        cocotb.start_soon(self._watch_p())

    async def _watch_p(self) -> None:
        while True:
            await RisingEdge(self.clk)
            await ReadOnly()
            if self.dut.dbg_p_valid.value:
                self.p_rows.append(int(self.dut.dbg_p.value))

    def send_job(self, job: dict) -> None:
        for i in range(self.B):
            self.q.send({"data": pack(job["q"][i].tolist(), 8), "mant": job["q_mant"],
                         "exp": _u(job["q_exp"], 8)})
        for t in job["tiles"]:
            self.tiles.send({"diag": t["diag"], "nk": t["nk"], "last": t["last"],
                             "mant": t["k_mant"], "exp": _u(t["k_exp"], 8)})
            for j in range(self.B):
                self.k.send({"data": pack(t["k"][j].tolist(), 8)})
                self.v.send({"data": pack(t["v"][j].tolist(), 8)})

    async def check_jobs(self, jobs: list[dict], what: str) -> None:
        """Send every job back to back and check outputs, row stats and P columns."""
        start_out, start_p = len(self.out.beats), len(self.p_rows)
        for job in jobs:
            self.send_job(job)
        await self.out.wait_for(start_out + len(jobs) * self.B)
        self.verify(jobs, what, start_out, start_p)

    def verify(self, jobs: list[dict], what: str, start_out: int = 0, start_p: int = 0) -> None:
        beats = self.out.beats[start_out:start_out + len(jobs) * self.B]
        B, D, w = self.B, self.D, self.w
        pi = start_p
        for n, job in enumerate(jobs):
            tag = f"{what} job {n} (head {job['head']}, row {job['row']})"
            rows = beats[n * B:(n + 1) * B]
            self.sb.check(f"{tag}: o_row", list(range(B)), [b["row"] for b in rows], ["beat"])
            self.sb.check(f"{tag}: o_last", [0] * (B - 1) + [1], [b["last"] for b in rows], ["beat"])
            o = torch.tensor([unpack(b["data"], D, w["OB"]) for b in rows])
            nq = job["nq"]
            for t_i, t in enumerate(job["tiles"]):
                p_rows = self.p_rows[pi:pi + B]
                pi += B
                got = torch.tensor([unpack(r, B, w["PB"], signed=False) for r in p_rows])
                self.sb.check(f"{tag}: tile {t_i} (key block {t['col']}) P", t["P"], got,
                              ["row", "key"])
            self.sb.check(f"{tag}: m", job["m"], [unpack(b["m"], 1, w["MX"])[0] for b in rows], ["row"])
            self.sb.check(f"{tag}: l", job["l"], [b["l"] for b in rows], ["row"])
            self.sb.check(f"{tag}: o", job["o"], o[:nq], ["row", "d"])


def _jobs() -> list[dict]:
    return inputs_from_env("ATTN_JOBS")


@cocotb.test()
async def test_jobs(dut):
    """Every job of ATTN_JOBS, back to back, with random idle on the inputs and backpressure."""
    tb = AttnTB(dut, seed=int(os.environ.get("ATTN_SEED", "3")))
    await tb.start()
    jobs = _jobs()
    await tb.check_jobs(jobs, "jobs")
    await tb.wait_until(lambda: bool(dut.idle.value), 10_000, "idle after the last row")
    dut._log.info(tb.sb.summary())


@cocotb.test()
async def test_reset_midstream(dut):
    """A reset in the middle of a row drops everything; the next rows are bit-exact again."""
    tb = AttnTB(dut, seed=9)
    await tb.start()
    jobs = _jobs()
    tb.send_job(jobs[-1])
    await tb.cycles(3 * tb.B)
    for s in (tb.q, tb.k, tb.v, tb.tiles):
        s.flush()
    await tb.reset(3)
    await RisingEdge(tb.clk)
    await ReadOnly()
    assert dut.idle.value, "idle must be high right after reset"
    assert not dut.o_valid.value, "no output right after reset"
    await RisingEdge(tb.clk)
    tb.out.clear()
    tb.p_rows.clear()
    await tb.check_jobs(jobs[:2], "after reset")
    dut._log.info(tb.sb.summary())


@cocotb.test()
async def test_throughput(dut):
    """No idle, no backpressure: cycles from the first input beat to the last output beat."""
    tb = AttnTB(dut, idle=0.0, bp=0.0, seed=5)
    await tb.start()
    jobs = _jobs()
    for job in jobs:
        tb.send_job(job)
    total = len(jobs) * tb.B
    cycles = 0
    while len(tb.out.beats) < total:
        await RisingEdge(tb.clk)
        cycles += 1
    tb.verify(jobs, "throughput")
    tiles = sum(len(j["tiles"]) for j in jobs)
    dut._log.info("%d tiles in %d cycles: %.3f x ideal", tiles, cycles, cycles / (2 * tb.B * tiles))
    out = os.environ.get("ATTN_BENCH_OUT")
    if out:
        torch.save({"cycles": cycles, "tiles": tiles}, out)
