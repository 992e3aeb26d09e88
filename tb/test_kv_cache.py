"""cocotb bench of the KV cache (hdl/cache/kv_cache.py), exact against golden/cache_sim.py.

Run through tests/test_kv_cache.py (tb.kit.runner.run); the config arrives in
FAST_PREFILL_CFG.  Environment knobs:
    KV_CASES        torch file: {"cases": [case, ...]} (see tb/benchmarks/cache.py::make_case)
    KV_IDLE, KV_BP  pause rates of the index stream and of the K/V output stream
    KV_LAT          HBM latency in cycles, one burst at a time (tb.kit.hbm, pipelined=False)
    KV_AXI_BP       pause rate of AR and R
    KV_BENCH_OUT    JSON file where test_cases writes per-case counts and cycles
    KV_MAX_CYCLES   watchdog budget of one cocotb test

Every run is checked against the golden simulator (policy "liveness", the
config's tier sizes): hits per tier, misses, HBM bytes, and the per-access
event log (hit/miss, tier, slot, victim, freed); the fetched blocks in order
(from the AXI read addresses) equal the golden misses; every delivered K and V
row equals the HBM contents; every AXI burst follows the HBM port's rules (tb.kit.hbm).
"""

from __future__ import annotations

import os
import random

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge
from cocotbext.axi import AxiReadBus, AxiResp

from golden import cache_sim
from hdl.cache.kv_cache import ERR_AXI, ERR_INDEX, ERR_PARAM, params
from tb.kit.cache_decisions import DecisionMonitor, check_decisions
from tb.kit.hbm import Hbm
from tb.kit.runner import config_from_env, inputs_from_env, write_output
from tb.kit.scoreboard import Scoreboard
from tb.kit.stream import StreamDriver, StreamMonitor, never, random_pauses
from tb.kit.tb import TB

HBM_SIZE = 1 << 22


class KvTB(TB):
    def __init__(self, dut, seed: int = 1, idle=None, bp=None, lat=None, axi_bp=None):
        super().__init__(dut, max_cycles=int(os.environ.get("KV_MAX_CYCLES", "3000000")))
        self.cfg = config_from_env()
        self.p = params(self.cfg)
        env = os.environ.get
        idle = float(env("KV_IDLE", "0.2")) if idle is None else idle
        bp = float(env("KV_BP", "0.3")) if bp is None else bp
        self.lat = int(env("KV_LAT", "20")) if lat is None else lat
        axi_bp = float(env("KV_AXI_BP", "0.2")) if axi_bp is None else axi_bp
        self.rng = random.Random(seed)
        d = dut
        d.start.value = 0
        d.resident.value = 0
        d.group_end.value = 1
        d.in_valid.value = 0
        self.src = StreamDriver(d.clk, d.in_valid, d.in_ready,
                                {"row": d.in_row, "block": d.in_block, "vert": d.in_vert,
                                 "last": d.in_last},
                                idle=random_pauses(idle, seed, burst=3) if idle else never())
        self.out = StreamMonitor(d.clk, d.o_valid, d.o_ready,
                                 {"data": d.o_data, "kv": d.o_kv, "row": d.o_row,
                                  "block": d.o_block, "last": d.o_last},
                                 backpressure=random_pauses(bp, seed + 1, burst=4) if bp else never())
        self.hbm = Hbm(d.clk, size=HBM_SIZE, latency=self.lat, pipelined=False)
        self.axi = self.hbm.read_port("m_axi", AxiReadBus.from_prefix(d, "m_axi"), d.rst)
        self.hbm.random_pauses(axi_bp, seed + 2)
        self.decisions = DecisionMonitor(d, d.clk)
        self.sb = Scoreboard("kv_cache")

    @property
    def cycle(self) -> int:
        return self.hbm.cycle

    # ---- one run ----------------------------------------------------------
    async def start_run(self, seq_len: int, k_base: int, v_base: int, resident: bool = False,
                        group_end: bool = True) -> None:
        d = self.dut
        await RisingEdge(self.clk)
        d.seq_len.value = seq_len
        d.k_base.value = k_base
        d.v_base.value = v_base
        d.resident.value = int(resident)
        d.group_end.value = int(group_end)
        d.start.value = 1
        await RisingEdge(self.clk)
        d.start.value = 0

    def send_trace(self, rows, blocks, vflags) -> None:
        n = len(rows)
        for i, (r, c) in enumerate(zip(rows, blocks)):
            self.src.send({"row": int(r), "block": int(c), "vert": int(vflags[c]),
                           "last": int(i == n - 1)})

    async def wait_done(self, what: str) -> int:
        n = 0
        while True:
            await RisingEdge(self.clk)
            await ReadOnly()
            if self.dut.done.value:
                return n
            n += 1

    def counters(self) -> dict:
        d = self.dut
        return {"bytes": int(d.cnt_bytes.value), "hit1": int(d.cnt_hit1.value),
                "hit2": int(d.cnt_hit2.value), "miss": int(d.cnt_miss.value),
                "stall": int(d.cnt_stall.value), "cycles": int(d.cnt_cycles.value),
                "status": int(d.status.value)}

    def fill_hbm(self, k_base: int, v_base: int, k: np.ndarray, v: np.ndarray) -> None:
        self.hbm.write(k_base, k.astype(np.uint8).tobytes())
        self.hbm.write(v_base, v.astype(np.uint8).tobytes())


async def run_case(tb: KvTB, case: dict, name: str, residency=None, group_end: bool = True,
                   ask_resident: bool | None = None) -> dict:
    """One full run of ``case`` with every check; returns the counters and timing.
    ``residency``: a golden.cache_sim.Residency the previous run of the group left (the run
    starts with the cache's blocks resident); ``group_end``: the run is its group's last;
    ``ask_resident``: drive ``resident`` so regardless (the golden side follows
    ``residency``)."""
    cfg, p = tb.cfg, tb.p
    B, D, BD = cfg.block, cfg.head_dim, p["bd"]
    mask, vertical = case["mask"], case["vertical"]
    lv = cache_sim.liveness(mask, vertical, cache_sim.index_window(cfg), final=group_end)
    resident = residency is not None and residency.nb is not None
    if ask_resident is not None:
        resident = ask_resident
    gold = cache_sim.simulate_liveness(lv, cfg.tier1_blocks, cfg.tier2_blocks, BD, "liveness",
                                       record=True, residency=residency)
    nb = lv.nb
    k_base, v_base = case["k_base"], case["v_base"]
    k, v = case["k"].numpy(), case["v"].numpy()           # int8 [nb, B, D]
    tb.fill_hbm(k_base, v_base, k, v)
    tb.decisions.clear()
    tb.out.clear()
    ar0 = len(tb.axi.bursts)
    await tb.start_run(case["seq_len"], k_base, v_base, resident, group_end)
    t0 = tb.cycle
    tb.send_trace(lv.rows, lv.blocks, lv.vertical)
    await tb.wait_done(name)
    t1 = tb.cycle
    got = tb.counters()
    sb = tb.sb
    sb.check(f"{name}: status", [0], [got["status"]], ["status"])
    sb.check(f"{name}: counts [hit1, hit2, miss, bytes]",
             [gold.hits_tier1, gold.hits_tier2, gold.misses, gold.hbm_bytes],
             [got["hit1"], got["hit2"], got["miss"], got["bytes"]], ["counter"])
    check_decisions(sb, name, gold, tb.decisions.log, cfg.tier1_blocks)
    # the fetched blocks, in order, are the golden misses (tb.kit.hbm checks the burst rules):
    # the first K burst of each block fetch, with its cycle for the prefetch check
    k_fetches = [b for b in tb.axi.bursts[ar0:]
                 if k_base <= b.addr < k_base + nb * BD and (b.addr - k_base) % BD == 0]
    misses = [c for row in gold.row_misses for c in row]
    sb.check(f"{name}: fetched K blocks in order", misses,
             [(b.addr - k_base) // BD for b in k_fetches], ["fetch"])
    # delivered rows: per access B K rows then B V rows of the right block
    beats = tb.out.beats
    n_acc = lv.accesses
    sb.check(f"{name}: output beats", [2 * B * n_acc], [len(beats)], ["n"])
    data = np.array([[b["data"] >> (8 * j) & 0xFF for j in range(D)] for b in beats],
                    dtype=np.int64).reshape(n_acc, 2, B, D)
    data = np.where(data > 127, data - 256, data)
    exp_data = np.stack([np.stack([k[c], v[c]]) for c in lv.blocks.tolist()]).astype(np.int64)
    sb.check(f"{name}: K/V rows", exp_data, data, ["access", "kv", "token", "d"])
    tags = np.array([[b["row"], b["block"], b["kv"], b["last"]] for b in beats],
                    dtype=np.int64).reshape(n_acc, 2 * B, 4)
    exp_tags = np.zeros((n_acc, 2 * B, 4), dtype=np.int64)
    exp_tags[:, :, 0] = lv.rows[:, None]
    exp_tags[:, :, 1] = lv.blocks[:, None]
    exp_tags[:, B:, 2] = 1
    exp_tags[:, -1, 3] = 1
    sb.check(f"{name}: row/block/kv/last tags", exp_tags, tags, ["access", "beat", "tag"])
    return {"name": name, "nb": nb, "accesses": n_acc, "distinct": gold.distinct_blocks,
            "gold_misses": gold.misses, "gold_bytes": gold.hbm_bytes,
            "compulsory": gold.compulsory_bytes, **got, "run_cycles": t1 - t0,
            "fetch_cycles": [b.cycle for b in k_fetches], "t0": t0}


def load_cases() -> list[dict]:
    return inputs_from_env("KV_CASES")["cases"]


@cocotb.test()
async def test_cases(dut):
    """Every case of KV_CASES: counts, decisions, fetch order, bursts and K/V rows exact."""
    tb = KvTB(dut, seed=7)
    await tb.start()
    results = []
    for case in load_cases():
        results.append(await run_case(tb, case, case["name"]))
        r = results[-1]
        dut._log.info("%s: nb=%d accesses=%d misses=%d (compulsory %d) bytes=%d stall=%d "
                      "cycles=%d", r["name"], r["nb"], r["accesses"], r["miss"], r["distinct"],
                      r["bytes"], r["stall"], r["run_cycles"])
    write_output("KV_BENCH_OUT", results)
    dut._log.info(tb.sb.summary())


@cocotb.test()
async def test_passes(dut):
    """Each case's heads one pass after the other, as the top runs a KV group with fewer lanes
    than heads: the blocks stay resident from one pass to the next (``resident``), only the last
    pass frees them (``group_end``); every pass exact against golden.cache_sim.simulate_passes
    (decisions, counts, fetches, rows).  Then a cold run of the first case is exact again."""
    tb = KvTB(dut, seed=17)
    await tb.start()
    cfg = tb.cfg
    for case in load_cases():
        heads = case["mask"].shape[0]
        if heads < 2:
            continue
        res = cache_sim.new_residency(cfg.tier1_blocks, cfg.tier2_blocks)
        cold = fetched = 0
        for h in range(heads):
            one = dict(case, mask=case["mask"][h:h + 1])
            r = await run_case(tb, one, f"{case['name']}-pass{h}", residency=res,
                               group_end=h == heads - 1)
            fetched += r["miss"]
            cold += cache_sim.simulate(one["mask"], one["vertical"], cfg.tier1_blocks,
                                       cfg.tier2_blocks, tb.p["bd"],
                                       window=cache_sim.index_window(cfg)).misses
        dut._log.info("%s in %d passes: %d blocks fetched with the blocks kept between passes, "
                      "%d with every pass starting empty", case["name"], heads, fetched, cold)
    await run_case(tb, load_cases()[0], "cold after passes")
    dut._log.info(tb.sb.summary())


@cocotb.test()
async def test_prefetch(dut):
    """No backpressure anywhere, HBM latency 40: the DMA fetches the next row's misses while
    the current row is still being delivered (some miss is requested before the previous
    row's last beat leaves), and the run stays exact."""
    tb = KvTB(dut, seed=11, idle=0.0, bp=0.0, lat=40, axi_bp=0.0)
    await tb.start()
    case = load_cases()[0]
    lv = cache_sim.liveness(case["mask"], case["vertical"], cache_sim.index_window(tb.cfg))
    row_last = {}
    d = dut

    async def watch_rows():
        while True:
            await RisingEdge(tb.clk)
            await ReadOnly()
            if d.o_valid.value and d.o_ready.value and d.o_last.value:
                row_last[int(d.o_row.value)] = tb.cycle
    cocotb.start_soon(watch_rows())
    r = await run_case(tb, case, "prefetch")
    gold = cache_sim.simulate_liveness(lv, tb.cfg.tier1_blocks, tb.cfg.tier2_blocks,
                                       tb.p["bd"], "liveness")
    # fetch i belongs to the row of the i-th golden miss
    miss_rows = [row for row, blocks in enumerate(gold.row_misses) for _ in blocks]
    early = 0
    for fc, row in zip(r["fetch_cycles"], miss_rows):
        if row > 0 and row - 1 in row_last and fc < row_last[row - 1]:
            early += 1
    dut._log.info("prefetch: %d of %d fetches issued before the previous row finished; "
                  "stall %d of %d cycles", early, len(miss_rows), r["stall"], r["run_cycles"])
    assert early > 0, "no fetch of row r+1 started while row r was being delivered"


@cocotb.test()
async def test_axi_errors(dut):
    """SLVERR and DECERR on a beat: the run ends with status bit 0 (no hang), and the next
    run is exact again, starting empty even when it asks for the previous run's blocks."""
    tb = KvTB(dut, seed=13)
    await tb.start()
    case = load_cases()[0]
    lv = cache_sim.liveness(case["mask"], case["vertical"], cache_sim.index_window(tb.cfg))
    for resp, beat in ((AxiResp.SLVERR, 3), (AxiResp.DECERR, 17)):
        tb.fill_hbm(case["k_base"], case["v_base"], case["k"].numpy(), case["v"].numpy())
        tb.hbm.inject("m_axi", resp, beat)
        await tb.start_run(case["seq_len"], case["k_base"], case["v_base"])
        tb.send_trace(lv.rows, lv.blocks, lv.vertical)
        await tb.wait_done(f"error {resp}")
        st = int(dut.status.value)
        assert st == ERR_AXI, f"{resp.name}: status {st}, expected {ERR_AXI}"
        await RisingEdge(tb.clk)
        await ReadOnly()
        assert not dut.m_axi_arvalid.value and not dut.o_valid.value, "activity after done"
        await tb.src.wait_done()
    # a run that ended with an error leaves no blocks to keep: resident is ignored, the run
    # starts empty (golden: no residency)
    await run_case(tb, case, "after errors, resident asked", ask_resident=True)
    await run_case(tb, case, "after errors")
    dut._log.info(tb.sb.summary())


@cocotb.test()
async def test_bad_settings(dut):
    """L = 0, L > max_seq_len, a misaligned base, an out-of-order entry, a block > row and a
    row >= nb end with an error status (never a hang); a good run follows."""
    tb = KvTB(dut, seed=17, lat=2)
    await tb.start()
    cfg = tb.cfg
    case = load_cases()[0]
    L, kb, vb = case["seq_len"], case["k_base"], case["v_base"]
    for what, args in (("L=0", (0, kb, vb)), ("L>max", (cfg.max_seq_len + 1, kb, vb)),
                       ("misaligned k_base", (L, kb + 4, vb)), ("misaligned v_base", (L, kb, vb + 1))):
        await tb.start_run(*args)
        await tb.wait_done(what)
        assert int(dut.status.value) == ERR_PARAM, f"{what}: status {int(dut.status.value)}"
    nb = -(-L // cfg.block)
    bad_traces = {
        "out of order": ([0, 1, 1, 1], [0, 1, 0, 1]),
        "block > row": ([0, 1, 1], [0, 0, 2]),
        "row >= nb": ([0, nb - 1, nb], [0, 0, 0]),
        "repeated entry": ([0, 1, 1], [0, 1, 1]),
    }
    for what, (rows, blocks) in bad_traces.items():
        await tb.start_run(L, kb, vb)
        tb.send_trace(rows, blocks, [0] * (nb + 1))
        await tb.wait_done(what)
        assert int(dut.status.value) == ERR_INDEX, f"{what}: status {int(dut.status.value)}"
        assert not tb.src.busy, f"{what}: the index stream was not drained"
    await run_case(tb, case, "after bad settings")
    dut._log.info(tb.sb.summary())
