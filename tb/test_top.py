"""cocotb bench of the accelerator top (hdl/top/fast_prefill_top.py) through the host driver.

Run through tests/test_top.py (tb.kit.runner.run).  The cases come prepared (host side: the
driver's ``Accelerator.plan`` and the golden results of tb/benchmarks/top.py) in a torch file
named by ``TOP_CASES``; ``TOP_LAT`` sets the HBM latency (pipelined, tb.kit.host_sim), ``TOP_OUT`` names a JSON file for the
counters and timings of every case (the benchmark and the demo read it), ``TOP_PROGRESS`` a file
that gets the simulated cycle count every 2000 cycles; a case with ``dump`` saves the decoded O and
index sets there (torch file).

Each case is one run of the driver (``Accelerator.execute``): memory images and arguments written,
ap_start, wait for the interrupt (or polling ap_done), status and counters read back.  A case
may override argument registers (bad programming), inject an AXI error response on a bundle, or
write ap_start again while the run is busy.  Checks per case: the status code; for a good run
every head's index sets and O bit-exact against the golden model and the cache counters against
golden.cache_sim; for a refused run no HBM byte moved.  A watchdog bounds the whole test and
every wait.
"""

from __future__ import annotations

import os

import cocotb
import torch
from cocotb.triggers import ClockCycles, RisingEdge

from hdl.top import shell
from host.driver import Accelerator
from tb.kit.host_sim import CocotbTransport
from tb.kit.runner import config_from_env, inputs_from_env, write_output
from tb.kit.scoreboard import Scoreboard
from tb.kit.tb import TB


class TopTB(TB):
    clk_name = "ap_clk"
    rst_name = "ap_rst_n"

    def __init__(self, dut, lat: int):
        super().__init__(dut, max_cycles=int(os.environ.get("TOP_MAX_CYCLES", "20000000")))
        self.cfg = config_from_env()
        self.tp = CocotbTransport(dut, self.cfg, lat=lat)
        self.acc = Accelerator(self.cfg, self.tp)
        self.sb = Scoreboard("top")

    async def reset(self, cycles: int = 3) -> None:
        self.rst.value = 0          # ap_rst_n: active low
        await ClockCycles(self.clk, cycles)
        self.rst.value = 1
        await ClockCycles(self.clk, 2)


async def _poke_start(tb: TopTB, after: int) -> None:
    """Write ap_start again ``after`` cycles into a run (must be ignored and flagged)."""
    await ClockCycles(tb.clk, after)
    assert not (await tb.tp.read_reg(0)) & shell.AP_IDLE, "poke: the run already ended"
    await tb.tp.write_reg(0, shell.AP_START)


async def _progress(tb: TopTB, path: str, every: int = 2000) -> None:
    """Write the cycle count to ``path`` every ``every`` cycles (the demo's progress bar)."""
    while True:
        await ClockCycles(tb.clk, every)
        with open(path, "w") as f:
            f.write(str(tb.tp.cycle))


async def run_case(tb: TopTB, case: dict) -> dict:
    name = case["name"]
    job = case["job"]
    if case.get("regs"):
        job.regs = {**job.regs, **case["regs"]}
    if case.get("inject"):
        tb.tp.inject(*case["inject"])
    poke = cocotb.start_soon(_poke_start(tb, case["poke"])) if case.get("poke") else None
    c0 = tb.tp.cycle
    raw = await tb.acc.execute(job, max_cycles=case.get("max_cycles"), use_interrupt=case.get("irq", True))
    cycles = tb.tp.cycle - c0
    if poke is not None:
        await poke
    tb.sb.check(f"{name}: status ({shell.STATUS_CODES.get(raw.status, '?')})", [case["status"]],
                [raw.status], ["code"])
    want_flags = shell.STATUS_START_WHILE_BUSY if case.get("poke") else 0
    tb.sb.check(f"{name}: status flags", [want_flags], [raw.flags], ["flags"])
    cnt = raw.counters
    if 1 <= case["status"] <= 6:
        tb.sb.check(f"{name}: no HBM traffic on a refused run", [0, 0],
                    [cnt["cnt_rd_bytes"], cnt["cnt_wr_bytes"]], ["read/write"])
    gold = case.get("gold")
    if case["status"] == 0 and (gold is not None or case.get("dump")):
        res = tb.acc.decode(job, raw)
        if case.get("dump"):
            torch.save({"o_int": res.o_int, "vertical": res.vertical, "slash": res.slash}, case["dump"])
    if case["status"] == 0 and gold is not None:
        H = len(res.vertical)
        for h in range(H):
            for kind, want, got in (("vertical", gold["vertical"][h], res.vertical[h]),
                                    ("slash", gold["slash"][h], res.slash[h])):
                tb.sb.check(f"{name}: head {h} {kind} set size", [len(want)], [len(got)], ["size"])
                tb.sb.check(f"{name}: head {h} {kind} set", want, got, ["entry"])
        tb.sb.check(f"{name}: O", gold["o_int"], res.o_int, ["head", "row", "d"])
        groups = gold["groups"]
        want = [sum(gr["stats"].hits_tier1 for gr in groups), sum(gr["stats"].hits_tier2 for gr in groups),
                sum(gr["stats"].misses for gr in groups), sum(gr["stats"].hbm_bytes for gr in groups),
                sum(gr["tiles"] for gr in groups)]
        tb.sb.check(f"{name}: counters [hit1, hit2, miss, kv bytes, tiles]", want,
                    [cnt["cnt_hit1"], cnt["cnt_hit2"], cnt["cnt_miss"], cnt["cnt_kv_bytes"], cnt["cnt_tiles"]],
                    ["counter"])
    tb.dut._log.info("%s: status %d, %d cycles (cnt_cycles %d, sig %d, attn %d), %.1f s",
                     name, raw.status, cycles, cnt["cnt_cycles"], cnt["cnt_sig_cycles"],
                     cnt["cnt_attn_cycles"], raw.wall_s)
    return {"name": name, "status": raw.status, "cycles": cycles, "wall_s": raw.wall_s,
            "counters": cnt}


@cocotb.test()
async def test_registers(dut):
    """Argument registers read back, hw_* constants, unmapped addresses read 0 and ignore
    writes, read-only registers ignore writes, ap_idle after reset, ISR toggle-on-write."""
    tb = TopTB(dut, lat=int(os.environ.get("TOP_LAT", "30")))
    await tb.start()
    cfg, t = tb.cfg, tb.tp
    sb = tb.sb
    regs = shell.registers()
    end = max(r.offset + r.bits // 8 for r in regs)
    for i, r in enumerate(r for r in regs if r.access == "rw"):
        for w in range(r.bits // 32):
            await t.write_reg(r.offset + 4 * w, (0x9E3779B1 * (i + 1) + w) & 0xFFFFFFFF)
    for i, r in enumerate(r for r in regs if r.access == "rw"):
        for w in range(r.bits // 32):
            sb.check(f"readback {r.name}[{w}]", [(0x9E3779B1 * (i + 1) + w) & 0xFFFFFFFF],
                     [await t.read_reg(r.offset + 4 * w)], ["word"])
    for name, want in (("hw_block", cfg.block), ("hw_head_dim", cfg.head_dim),
                       ("hw_max_group", cfg.max_group), ("hw_max_seq_len", cfg.max_seq_len)):
        off = shell.register(name).offset
        await t.write_reg(off, 0x1234)
        sb.check(name, [want], [await t.read_reg(off)], ["value"])
    if end < (1 << shell.CTRL_ADDR_BITS):
        await t.write_reg(end, 0xFFFFFFFF)
        sb.check("unmapped address", [0], [await t.read_reg(end)], ["value"])
    sb.check("ap_ctrl after reset (idle)", [shell.AP_IDLE], [await t.read_reg(0)], ["value"])
    await t.write_reg(shell.register("isr").offset, 3)
    sb.check("isr toggled on", [3], [await t.read_reg(shell.register("isr").offset)], ["value"])
    await t.write_reg(shell.register("isr").offset, 1)
    sb.check("isr bit 0 toggled off", [2], [await t.read_reg(shell.register("isr").offset)], ["value"])
    sb.check("interrupt low while GIE = 0", [0], [int(dut.interrupt.value)], ["value"])
    await t.write_reg(shell.register("ier").offset, 2)
    await t.write_reg(shell.register("gie").offset, 1)
    await RisingEdge(tb.clk)
    sb.check("interrupt = GIE & IER & ISR", [1], [int(dut.interrupt.value)], ["value"])
    await t.write_reg(shell.register("isr").offset, 2)
    await RisingEdge(tb.clk)
    sb.check("interrupt cleared", [0], [int(dut.interrupt.value)], ["value"])
    dut._log.info(sb.summary())


@cocotb.test()
async def test_cases(dut):
    """Every prepared case in order (one reset): status, sets, O and counters."""
    data = inputs_from_env("TOP_CASES")
    tb = TopTB(dut, lat=int(os.environ.get("TOP_LAT", "30")))
    await tb.start()
    if os.environ.get("TOP_PROGRESS"):
        cocotb.start_soon(_progress(tb, os.environ["TOP_PROGRESS"]))
    results = []
    for case in data["cases"]:
        results.append(await run_case(tb, case))
        await ClockCycles(dut.ap_clk, 4)
    write_output("TOP_OUT", results)
    dut._log.info(tb.sb.summary())
