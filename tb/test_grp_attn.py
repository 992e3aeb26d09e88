"""cocotb bench of the attention group datapath (hdl/group/grp_attn.py), exact against the golden models.

Run through tests/test_grp_attn.py (tb.kit.runner.run); the config arrives in FAST_PREFILL_CFG.
Environment knobs:
    GRP_CASES        torch file {"cases": [...]} (tests/test_grp_attn.py::make_case)
    GRP_LAT          HBM latency in cycles, one burst at a time (tb.kit.hbm, pipelined=False;
                     default 20; also on the O writes); GRP_AXI_BP pause rate of every channel
    GRP_BENCH_OUT    JSON file for the measured cycles
    GRP_MAX_CYCLES   watchdog budget of one cocotb test

Memory: one tb.kit.hbm.Hbm with read ports m_axi_q (Q) and m_axi_kv (K, V) and the write port
m_axi_o (O).  The index generator's readback (rd_head, rd_blk -> rd_nv, rd_ns, rd_vi, rd_si)
is emulated from the case's Python sets, registered (one cycle); so is ``sig_pool``'s row
interface (its two-stage row pipeline: pr_start/pr_row -> pr_busy, pr_done/pr_err after the
unit's documented row latency ``2 (r + 1) + kept + 14``, publishing held by pr_hold,
pr_rd_head -> pr_word registered), serving the case's pooled rows
(``golden.estimator_fixed.pooled_row_mask_fixed``) when the case runs with ``row_guard`` = 1 and
all-ones rows otherwise (which would break O if the unit used them).  Scale codes are written
through the kc_* / qc_* ports.  Every run checks: status; every O row < L of every head
against golden.fixed_attention.fixed_sparse_attention (bit-exact), and that every padding row
was written; the cache's hits per tier, misses, bytes and every decision against
golden.cache_sim (liveness, the build's tiers); tiles, accesses, Q and O bytes; every AXI
burst of every port follows the HBM port's rules (tb.kit.hbm, checked as it is issued).
"""

from __future__ import annotations

import os
import random

import cocotb
import numpy as np
from cocotb.triggers import ReadOnly, RisingEdge
from cocotbext.axi import AxiReadBus, AxiResp, AxiWriteBus

from golden import cache_sim
from hdl.group.grp_attn import ERR_INDEX, ERR_KV, ERR_O, ERR_PARAM, ERR_POOL, ERR_Q
from tb.kit.cache_decisions import DecisionMonitor, check_decisions
from tb.kit.hbm import Hbm
from tb.kit.runner import config_from_env, inputs_from_env, write_output
from tb.kit.scoreboard import Scoreboard
from tb.kit.tb import TB

RAM_SIZE = 1 << 23
FILL = 0xEE


def _code(mant: int, exp: int) -> int:
    return (int(mant) & 0xFFFF) | ((int(exp) & 0xFFFF) << 16)


class GrpTB(TB):
    def __init__(self, dut, seed: int = 1, lat=None, axi_bp=None):
        super().__init__(dut, max_cycles=int(os.environ.get("GRP_MAX_CYCLES", "3000000")))
        self.cfg = config_from_env()
        env = os.environ.get
        self.lat = int(env("GRP_LAT", "20")) if lat is None else lat
        axi_bp = float(env("GRP_AXI_BP", "0.2")) if axi_bp is None else axi_bp
        self.rng = random.Random(seed)
        d = dut
        for s in (d.start, d.kc_we, d.qc_we, d.dbg_head, d.row_guard, d.pr_done, d.pr_err, d.pr_busy):
            s.value = 0
        self.hbm = Hbm(d.clk, size=RAM_SIZE, latency=self.lat, pipelined=False)
        self.hbm.read_port("q", AxiReadBus.from_prefix(d, "m_axi_q"), d.rst)
        self.hbm.read_port("kv", AxiReadBus.from_prefix(d, "m_axi_kv"), d.rst)
        self.hbm.write_port("o", AxiWriteBus.from_prefix(d, "m_axi_o"), d.rst)
        self.hbm.random_pauses(axi_bp, seed + 10)
        self.sets: tuple[list, list] = ([], [])
        self.decisions = DecisionMonitor(d, d.clk)
        cocotb.start_soon(self._sig_emulator())
        # sig_pool emulation: rows[r][h] = int (bit c = block c kept) or None (all ones)
        self.pool_rows: list | None = None
        self.pool_fail: int | None = None        # refuse this row (pr_err)
        self.pool_reqs: list[int] = []
        self.pool_proto: list[str] = []
        cocotb.start_soon(self._pool_emulator())
        self.sb = Scoreboard("grp_attn")

    @property
    def cycle(self) -> int:
        return self.hbm.cycle

    async def _sig_emulator(self):
        """sig's set readback, registered: the address seen in a cycle answers in the next."""
        d = self.dut
        nxt = None
        while True:
            await RisingEdge(self.clk)
            if nxt is not None:
                d.rd_nv.value, d.rd_ns.value, d.rd_vi.value, d.rd_si.value = nxt
            await ReadOnly()
            h, i = int(d.rd_head.value), int(d.rd_blk.value)
            vert, slash = self.sets
            if h < len(vert):
                v, s = vert[h], slash[h]
                nxt = (len(v), len(s), v[i] if i < len(v) else 0, s[i] if i < len(s) else 0)
            else:
                nxt = (0, 0, 0, 0)

    async def _pool_emulator(self):
        """sig_pool's row interface as its two-stage row pipeline (hdl/index/pool_rows.py): the
        front (``pr_busy``) runs a row's score sweep (r + 6 cycles), waits for the back to be
        empty, runs the exp sweep (r + 7) and hands the row to the back, which pops (kept + 1)
        and publishes once ``pr_hold`` is low: the output rows change and pr_done pulses (row
        latency about ``2 (r + 1) + kept + 14`` alone).  A refused row answers pr_err with
        pr_done once the back is empty.  pr_rd_head -> pr_word registered.  A pr_start while
        the front is busy is a protocol error."""
        d = self.dut
        NB = self.cfg.max_blocks
        ones = (1 << NB) - 1
        out: list[int] | None = None
        front = None        # [row, refuse, kept, phase, cycles left]
        back = None         # [row, cycles left]
        done = err = False
        word = ones
        while True:
            await RisingEdge(self.clk)
            d.pr_done.value = int(done)
            d.pr_err.value = int(err)
            d.pr_busy.value = int(front is not None)
            d.pr_word.value = word
            await ReadOnly()
            done = False
            if back is not None:
                if back[1] > 0:
                    back[1] -= 1
                elif not d.pr_hold.value:
                    out = None if self.pool_rows is None else self.pool_rows[back[0]]
                    done, err, back = True, False, None
            if front is not None:
                row, refuse, kept, phase, left = front
                if left > 0:
                    front[4] -= 1
                elif refuse:
                    if back is None and not done:
                        done, err, front = True, True, None
                elif phase == "score":
                    if back is None:
                        front[3], front[4] = "exp", row + 7
                elif back is None:
                    back, front = [row, kept + 1], None
            if d.pr_start.value:
                r = int(d.pr_row.value)
                if front is not None:
                    self.pool_proto.append(f"pr_start for row {r} while the front runs row {front[0]}")
                else:
                    self.pool_reqs.append(r)
                    rows = self.pool_rows
                    refuse = rows is None or r >= len(rows) or r == self.pool_fail
                    kept = 0 if refuse else max(bin(x).count("1") for x in rows[r])
                    front = [r, refuse, kept, "score", r + 6]
            h = int(d.pr_rd_head.value)
            word = ones if out is None else (out[h] if h < len(out) else 0)

    # ---- programming ------------------------------------------------------------
    async def write_codes(self, case: dict) -> None:
        d = self.dut
        nb = case["nb"]
        await RisingEdge(self.clk)
        await self.write_entries(d.kc_we, (d.kc_addr, d.kc_data),
                                 ((c, _code(case["km"][c], case["ke"][c])) for c in range(nb)))
        await self.write_entries(d.qc_we, (d.qc_head, d.qc_addr, d.qc_data),
                                 ((h, c, _code(case["qm"][h, c], case["qe"][h, c]))
                                  for h in range(case["g"]) for c in range(nb)))

    def load_memory(self, case: dict) -> None:
        B, D = self.cfg.block, self.cfg.head_dim
        nb, g = case["nb"], case["g"]
        for h in range(g):
            self.hbm.write(case["q_addr"] + h * case["q_stride"],
                           case["q"][h].numpy().astype(np.uint8).tobytes())
            self.hbm.write(case["o_addr"] + h * case["o_stride"], bytes([FILL]) * (nb * B * D * 4))
        self.hbm.write(case["k_addr"], case["k"].numpy().astype(np.uint8).tobytes())
        self.hbm.write(case["v_addr"], case["v"].numpy().astype(np.uint8).tobytes())

    async def start_run(self, case: dict, **over) -> None:
        d = self.dut
        s = dict(seq_len=case["L"], group=case["g"], q_addr=case["q_addr"],
                 q_stride=case["q_stride"], k_addr=case["k_addr"], v_addr=case["v_addr"],
                 o_addr=case["o_addr"], o_stride=case["o_stride"])
        s.update(over)
        await RisingEdge(self.clk)
        for k, v in s.items():
            getattr(d, k).value = v
        d.row_guard.value = int(case.get("row_guard", 0))
        d.start.value = 1
        await RisingEdge(self.clk)
        d.start.value = 0

    async def wait_done(self) -> int:
        n = 0
        while True:
            await RisingEdge(self.clk)
            await ReadOnly()
            if self.dut.done.value and not self.dut.busy.value:
                return n
            n += 1

    def counters(self) -> dict:
        d = self.dut
        names = ("cycles", "tiles", "kv_bytes", "q_bytes", "o_bytes", "hit1", "hit2", "miss",
                 "kv_stall", "access")
        out = {n: int(getattr(d, f"cnt_{n}").value) for n in names}
        out["status"] = int(d.status.value)
        return out

    def read_o(self, case: dict) -> np.ndarray:
        B, D = self.cfg.block, self.cfg.head_dim
        nb, g = case["nb"], case["g"]
        out = []
        for h in range(g):
            raw = self.hbm.read(case["o_addr"] + h * case["o_stride"], nb * B * D * 4)
            out.append(np.frombuffer(raw, dtype="<i4").reshape(nb * B, D))
        return np.stack(out).astype(np.int64)


def set_pool(tb: GrpTB, case: dict) -> None:
    """Hand the case's pooled rows to the sig_pool emulator (all-ones rows when row_guard 0)."""
    tb.pool_reqs.clear()
    tb.pool_proto.clear()
    tb.pool_fail = None
    pool = case.get("pool")
    if not case.get("row_guard") or pool is None:
        tb.pool_rows = None
        return
    g, nb = pool.shape[0], pool.shape[1]
    tb.pool_rows = [[sum(1 << c for c in range(nb) if pool[h, r, c]) for h in range(g)]
                    for r in range(nb)]


async def run_case(tb: GrpTB, case: dict, name: str | None = None) -> dict:
    """One full run of ``case`` with every check; returns counters and timing."""
    cfg = tb.cfg
    B = cfg.block
    name = name or case["name"]
    g, nb, L = case["g"], case["nb"], case["L"]
    mask = case["mask"]
    vunion = sorted({c for v in case["vertical"] for c in v})
    lv = cache_sim.liveness(mask, vunion, cache_sim.index_window(cfg))
    gold = cache_sim.simulate_liveness(lv, cfg.tier1_blocks, cfg.tier2_blocks,
                                       cfg.kv_block_bytes, "liveness", record=True)
    tb.load_memory(case)
    await tb.write_codes(case)
    tb.sets = (case["vertical"], case["slash"])
    set_pool(tb, case)
    tb.decisions.clear()
    t0 = tb.cycle
    await tb.start_run(case)
    await tb.wait_done()
    t1 = tb.cycle
    got = tb.counters()
    sb = tb.sb
    sb.check(f"{name}: status", [0], [got["status"]], ["status"])
    guard = int(case.get("row_guard", 0))
    # row_guard 1: every row computed at least once and at most twice (once per builder; a
    # row still in sig_pool's output is copied, not recomputed); 0: no request
    exp_rows = list(range(nb)) if guard else []
    sb.check(f"{name}: pooled rows requested", exp_rows, sorted(set(tb.pool_reqs)), ["row"])
    assert len(tb.pool_reqs) <= 2 * nb, f"{name}: {len(tb.pool_reqs)} pooled-row requests"
    assert not tb.pool_proto, f"{name}: sig_pool protocol: {tb.pool_proto[:3]}"
    o = tb.read_o(case)
    exp = case["o"].numpy().astype(np.int64)
    sb.check(f"{name}: O", exp, o[:, :L], ["head", "row", "d"])
    pad = o[:, L:]
    fill = np.int64(np.frombuffer(bytes([FILL]) * 4, dtype="<i4")[0])
    assert not np.any(np.all(pad == fill, axis=-1)), f"{name}: a padding row of O was not written"
    sb.check(f"{name}: cache [hit1, hit2, miss, bytes, accesses]",
             [gold.hits_tier1, gold.hits_tier2, gold.misses, gold.hbm_bytes, lv.accesses],
             [got["hit1"], got["hit2"], got["miss"], got["kv_bytes"], got["access"]], ["counter"])
    check_decisions(sb, f"{name}: cache", gold, tb.decisions.log, cfg.tier1_blocks)
    head_bytes = nb * B * cfg.head_dim
    sb.check(f"{name}: [tiles, q bytes, o bytes]",
             [case["tiles"], g * head_bytes, 4 * g * head_bytes],
             [got["tiles"], got["q_bytes"], got["o_bytes"]], ["counter"])
    ideal = lv.accesses * 2 * B
    res = {"name": name, "L": L, "g": g, "nb": nb, "accesses": lv.accesses, **got,
           "pool_requests": len(tb.pool_reqs),
           "run_cycles": t1 - t0, "ideal": ideal, "ratio": got["cycles"] / ideal}
    tb.dut._log.info("%s: L=%d g=%d accesses=%d tiles=%d cycles=%d (ideal %d: %.3fx) "
                     "hits %d/%d miss %d kv stall %d", name, L, g, lv.accesses, got["tiles"],
                     got["cycles"], ideal, res["ratio"], got["hit1"], got["hit2"], got["miss"],
                     got["kv_stall"])
    return res


def load_cases() -> list[dict]:
    return inputs_from_env("GRP_CASES")["cases"]


def _bench_out(key: str, value) -> None:
    write_output("GRP_BENCH_OUT", value, key=key)


@cocotb.test()
async def test_cases(dut):
    """Every case, back to back (random AXI pauses, latency 20): O, cache, counters exact."""
    tb = GrpTB(dut, seed=7)
    await tb.start()
    results = [await run_case(tb, case) for case in load_cases()]
    _bench_out("cases", results)
    dut._log.info(tb.sb.summary())


@cocotb.test()
async def test_full_rate(dut):
    """The first case with no AXI pauses (latency 20): cycles vs the ideal accesses * 2B;
    then the first row_guard case the same way (the cost of the pooled rows)."""
    tb = GrpTB(dut, seed=3, axi_bp=0.0)
    await tb.start()
    cases = load_cases()
    r = await run_case(tb, cases[0], "full rate")
    r["name"] = cases[0]["name"]
    _bench_out("full_rate", r)
    pooled = [c for c in cases if c.get("row_guard")]
    if pooled:
        r = await run_case(tb, pooled[0], "full rate, row_guard")
        r["name"] = pooled[0]["name"]
        _bench_out("full_rate_pool", r)


@cocotb.test()
async def test_pool_refused(dut):
    """sig_pool refuses a row (pr_err): status bit 6, no hang, nothing in flight after done;
    the next run is exact."""
    tb = GrpTB(dut, seed=19)
    await tb.start()
    pooled = [c for c in load_cases() if c.get("row_guard")]
    assert pooled, "no row_guard case"
    case = pooled[-1]
    for fail in (0, case["nb"] // 2, case["nb"] - 1):
        tb.load_memory(case)
        await tb.write_codes(case)
        tb.sets = (case["vertical"], case["slash"])
        set_pool(tb, case)
        tb.pool_fail = fail
        await _expect_error(tb, case, f"row {fail} refused", ERR_POOL)
        assert fail in tb.pool_reqs and not tb.pool_proto, (tb.pool_reqs, tb.pool_proto)
        await run_case(tb, case, f"after row {fail} refused")
    dut._log.info(tb.sb.summary())


async def _expect_error(tb: GrpTB, case: dict, what: str, code: int, **over) -> None:
    d = tb.dut
    await tb.start_run(case, **over)
    await tb.wait_done()
    st = int(d.status.value)
    assert st & code, f"{what}: status {st:#x}, expected bit {code:#x}"
    assert not st & ~(code | ERR_INDEX | ERR_KV), f"{what}: unexpected status bits {st:#x}"
    # nothing may be left in flight on any port after done
    for _ in range(30):
        await RisingEdge(tb.clk)
        await ReadOnly()
        assert not d.m_axi_q_arvalid.value and not d.m_axi_kv_arvalid.value \
            and not d.m_axi_o_awvalid.value and not d.m_axi_o_wvalid.value, \
            f"{what}: AXI activity after done"


@cocotb.test()
async def test_axi_errors(dut):
    """SLVERR on a Q beat, a K/V beat and an O write response: the run ends with the port's
    status bit (no hang, no AXI activity after done) and the next run is exact."""
    tb = GrpTB(dut, seed=13)
    await tb.start()
    case = load_cases()[-1]
    for port, n, code in (("q", 5, ERR_Q), ("kv", 9, ERR_KV), ("o", 3, ERR_O)):
        tb.load_memory(case)
        await tb.write_codes(case)
        tb.sets = (case["vertical"], case["slash"])
        tb.hbm.inject(port, AxiResp.SLVERR, n)
        await _expect_error(tb, case, f"SLVERR on {port}", code)
        await run_case(tb, case, f"after SLVERR on {port}")
    dut._log.info(tb.sb.summary())


@cocotb.test()
async def test_bad_settings(dut):
    """L = 0, L > max_seq_len, g = 0, g > max_group, unaligned addresses and strides, a scale
    exponent outside the engines' range: status bit 3 at once; a set entry >= nb and a head
    without block 0 / offset 0: status bit 4.  A good run follows each group of checks."""
    tb = GrpTB(dut, seed=17, lat=2)
    await tb.start()
    cfg = tb.cfg
    case = load_cases()[-1]
    bad = {"L=0": dict(seq_len=0), "L>max": dict(seq_len=cfg.max_seq_len + 1),
           "g=0": dict(group=0), "g>max": dict(group=cfg.max_group + 1),
           "q_addr": dict(q_addr=case["q_addr"] + 8), "k_addr": dict(k_addr=case["k_addr"] + 1),
           "v_addr": dict(v_addr=case["v_addr"] + 16), "o_addr": dict(o_addr=case["o_addr"] + 4),
           "q_stride": dict(q_stride=case["q_stride"] + 2),
           "o_stride": dict(o_stride=case["o_stride"] + 1)}
    for what, over in bad.items():
        await tb.start_run(case, **over)
        n = await tb.wait_done()
        st = int(dut.status.value)
        assert st == ERR_PARAM, f"{what}: status {st:#x}"
        assert n < 10, f"{what}: took {n} cycles"
    # a Q code with exponent 200 (does not fit the engines' 8-bit port)
    d = dut
    await RisingEdge(tb.clk)
    d.qc_we.value, d.qc_head.value, d.qc_addr.value = 1, 0, 0
    d.qc_data.value = _code(40000, 200)
    await RisingEdge(tb.clk)
    d.qc_we.value = 0
    await tb.start_run(case)
    await tb.wait_done()
    assert int(dut.status.value) == ERR_PARAM, f"exponent 200: status {int(dut.status.value)}"
    await run_case(tb, case, "after bad settings")
    # index errors: an entry >= nb; a head with neither vertical 0 nor slash 0
    nb, g = case["nb"], case["g"]
    vert = [list(v) for v in case["vertical"]]
    slash = [list(s) for s in case["slash"]]
    tb.sets = ([v + [nb] for v in vert], slash)
    await _expect_error(tb, case, "vertical entry = nb", ERR_INDEX)
    tb.sets = ([[c for c in v if c] for v in vert[:1]] + vert[1:],
               [[o for o in s if o] for s in slash[:1]] + slash[1:])
    await _expect_error(tb, case, "head 0 without block 0 / offset 0", ERR_INDEX)
    assert g >= 1
    await run_case(tb, case, "after index errors")
    dut._log.info(tb.sb.summary())
