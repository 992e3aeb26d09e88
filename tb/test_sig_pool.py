"""cocotb bench of the pooled per-row estimate (hdl/index/pool.py), bit-exact against
golden.estimator_fixed.pooled_row_mask_fixed.

Run through tests/test_sig_pool.py (tb.kit.runner.run).  The cases (HBM images, scale codes,
the row_gamma code and the golden masks) come prepared in a torch file named by ``POOL_CASES``;
other knobs: ``SIG_LAT`` (HBM latency, pipelined as in tb/test_sig.py), ``SIG_AXI_BP`` (random AR/R pauses), ``POOL_OUT``
(JSON file with the load cycles and every row's cycles, for the benchmark), ``POOL_LONG_HOLD``
(0: no long holds, so that the benchmark's back-to-back figure is the unit's own).
Each case: program the codes and registers, pulse start, wait for done and check err; then the
rows in the case's order, back to back: row r+1 is started as soon as the unit's front is free
(pr_busy low, before row r's pr_done), and row r is read back (every head, all nb_max bits) after
its pr_done while r+1 runs (the output rows are the second buffer), with pr_hold high from that
pr_done until the copy is done plus a few rows' worth of extra cycles on every third row: row
r+1 must not answer while it is held.  A refused row (r >= nb) must answer pr_err with pr_done.
"""

from __future__ import annotations

import os

import cocotb
import torch
from cocotb.triggers import ReadOnly, RisingEdge, Timer

from tb.test_sig import IndexTB


class PoolTB(IndexTB):
    """The index generator's load registers and HBM (tb.test_sig.IndexTB), with the pool unit's
    codes, row requests and row readback."""

    inputs = ("pq_we", "pk_we", "pr_start", "pr_row", "pr_rd_head", "pr_rd_blk", "pr_code", "pr_hold")

    def __init__(self, dut, lat: int, bp: float, seed: int = 1):
        super().__init__(dut, lat, bp, "sig_pool", seed)
        self.dones = 0
        self.done_log: list[tuple[int, int, int]] = []
        self.long_holds = os.environ.get("POOL_LONG_HOLD", "1") == "1"
        cocotb.start_soon(self._watch_done())

    async def write_codes(self, case: dict) -> None:
        d = self.dut
        q_entries = ((h, c, code) for h, codes in enumerate(case["qcodes"]) for c, code in enumerate(codes))
        await self.write_entries(d.pq_we, (d.pq_head, d.pq_blk, d.pq_data), q_entries)
        await self.write_entries(d.pk_we, (d.pk_blk, d.pk_data), enumerate(case["kcodes"]))

    def unit_registers(self, case: dict) -> dict:
        return {"pr_code": case["pr_code"]}

    async def _watch_done(self):
        # every pr_done pulse, in order: (cycle, pr_err, pr_cycles)
        d = self.dut
        while True:
            await RisingEdge(self.clk)
            await ReadOnly()
            if d.pr_done.value:
                self.done_log.append((self.cycle, int(d.pr_err.value), int(d.pr_cycles.value)))
                self.dones += 1

    async def issue(self, r: int) -> None:
        """Pulse pr_start for row r (from any phase: a wait may end in ReadOnly, so the write goes
        1 ns later, still before the next edge); returns once the unit has seen it."""
        d = self.dut
        await Timer(1, "ns")
        d.pr_row.value, d.pr_start.value = r, 1
        await RisingEdge(self.clk)
        d.pr_start.value = 0
        await RisingEdge(self.clk)

    async def wait_for_low(self, sig, limit: int, what: str) -> None:
        t0 = self.cycle
        while True:
            await ReadOnly()
            if not sig.value:
                return
            if self.cycle - t0 > limit:
                raise AssertionError(f"{what}: still busy after {limit} cycles")
            await RisingEdge(self.clk)

    async def read_row(self, g: int, nb: int) -> torch.Tensor:
        d = self.dut
        got = torch.zeros(g, self.cfg.max_blocks, dtype=torch.bool)
        for h in range(g):
            d.pr_rd_head.value = h
            await Timer(1, "ns")
            word = int(d.pr_word.value)
            for c in range(self.cfg.max_blocks):
                got[h, c] = bool((word >> c) & 1)
        # the bit port too (a few entries: the same buffer through the 1-bit read path)
        for h in range(g):
            d.pr_rd_head.value = h
            for c in (0, nb - 1):
                d.pr_rd_blk.value = c
                await Timer(1, "ns")
                assert int(d.pr_bit.value) == int(got[h, c]), f"pr_bit head {h} block {c} != pr_word"
        return got

    async def run_case(self, case: dict) -> dict:
        d = self.dut
        await self.launch(case)
        await RisingEdge(self.clk)
        load = await self.wait_for(d.done, case.get("max_cycles", 20 * case["L"] * (case["g"] + 1) + 5000),
                                   f"{case['name']}: means load")
        name = case["name"]
        self.check_err(case)
        if case["err"]:
            # a refused load leaves no means: a row request must be refused too, never hang
            await RisingEdge(self.clk)
            d.pr_row.value, d.pr_start.value = 0, 1
            await RisingEdge(self.clk)
            d.pr_start.value = 0
            await self.wait_for(d.pr_done, 10, f"{name}: refused row")
            assert d.pr_err.value, f"{name}: a row after a failed load was not refused"
            await RisingEdge(self.clk)
            self.dones = 0
            self.done_log.clear()
            return {"name": name, "L": case["L"], "g": case["g"], "load": load, "rows": []}
        g, nb = case["g"], case["nb"]
        rows = case["rows"]
        mask = case["mask"]
        got = torch.zeros(g, nb, self.cfg.max_blocks, dtype=torch.bool)
        cyc = []
        await RisingEdge(self.clk)
        t_first = self.cycle
        await self.issue(rows[0])
        for i, r in enumerate(rows):
            if i + 1 < len(rows):
                # the front takes the next row as soon as it is free, before row r answers
                await self.wait_for_low(d.pr_busy, 40 * (nb + 1) + 100, f"{name}: front of row {r}")
                await self.issue(rows[i + 1])
            t0 = self.cycle
            while self.dones <= i:
                if self.cycle - t0 > 40 * (r + 1) + 100:
                    raise AssertionError(f"{name}: row {r}: no pr_done")
                await RisingEdge(self.clk)
            assert not self.done_log[i][1], f"{name}: row {r} refused"
            cyc.append(self.done_log[i][2])
            d.pr_hold.value = 1                 # the pr_done cycle is over: hold from here
            got[:, r] = await self.read_row(g, nb)
            if self.long_holds and i % 3 == 2:
                # a long hold: the next row is done but must wait
                for _ in range(2 * (nb + 16)):
                    await RisingEdge(self.clk)
            await ReadOnly()
            # row r must still be there: the next row has not answered while held
            assert self.dones == i + 1, f"{name}: row {rows[i + 1]} answered before row {r} was read"
            await Timer(1, "ns")
            d.pr_hold.value = 0
        total = self.done_log[len(rows) - 1][0] - t_first
        self.dones = 0
        self.done_log.clear()
        want = torch.zeros(g, nb, self.cfg.max_blocks, dtype=torch.bool)
        want[:, :, :nb] = mask
        for r in rows:
            self.sb.check(f"{name}: row {r} mask", want[:, r].long(), got[:, r].long(), ["head", "block"])
        # a row past nb is refused, with pr_done, and leaves the output rows alone
        await RisingEdge(self.clk)
        d.pr_row.value, d.pr_start.value = nb, 1
        await RisingEdge(self.clk)
        d.pr_start.value = 0
        await self.wait_for(d.pr_done, 10, f"{name}: out-of-range row")
        assert d.pr_err.value, f"{name}: row {nb} >= nb was not refused"
        await RisingEdge(self.clk)          # the pr_done monitor has logged the pulse by now
        self.dones = 0
        self.done_log.clear()
        return {"name": name, "L": case["L"], "g": g, "load": load, "rows": rows, "row_cycles": cyc,
                "rows_total": total}


@cocotb.test()
async def test_cases(dut):
    """Every prepared case in order (one reset), bit-exact, with HBM latency and backpressure."""
    await PoolTB.run_all(dut, "POOL_CASES", "POOL_OUT",
                         lambda r: f"load {r['load']} cycles, row latencies {r.get('row_cycles', [])[:8]}, "
                                   f"all rows {r.get('rows_total')} cycles")
