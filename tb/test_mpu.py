"""cocotb bench of the MPU (hdl/mpu/mpu.py), bit-exact against golden/mpu.py.

Run through tests/test_mpu.py (tb.kit.runner.run); the config arrives in
FAST_PREFILL_CFG.  Other environment knobs:
    MPU_IDLE, MPU_BP     pause rates of the input stream and of both output streams
    MPU_REAL             path of a torch file with real SmolLM2 tiles (see tests/test_mpu.py)
    MPU_BENCH_OUT        path where test_throughput writes its measurement (JSON)
    MPU_BENCH_BEATS      beats per mode in test_throughput
"""

from __future__ import annotations

import os
import random

import cocotb
import torch
from cocotb.triggers import ReadOnly, RisingEdge

from golden import mpu as gold
from hdl.mpu.mpu import widths
from tb.kit.bits import pack, unpack
from tb.kit.runner import config_from_env, inputs_from_env, write_output
from tb.kit.scoreboard import Scoreboard
from tb.kit.stream import StreamDriver, StreamMonitor, never, random_pauses
from tb.kit.tb import TB

QK, PV = 0, 1


class MpuTB(TB):
    def __init__(self, dut, idle: float | None = None, bp: float | None = None, seed: int = 1):
        super().__init__(dut, max_cycles=int(os.environ.get("MPU_MAX_CYCLES", "400000")))
        self.cfg = config_from_env()
        self.w = widths(self.cfg)
        self.R, self.D, self.PB = self.w["R"], self.w["D"], self.w["p_bits"]
        idle = float(os.environ.get("MPU_IDLE", "0.2")) if idle is None else idle
        bp = float(os.environ.get("MPU_BP", "0.3")) if bp is None else bp
        self.rng = random.Random(seed)
        d = dut
        d.ld_valid.value = 0
        d.ld_bank.value = 0
        d.vl_valid.value = 0
        d.in_valid.value = 0
        self.src = StreamDriver(d.clk, d.in_valid, d.in_ready,
                                {"mode": d.in_mode, "last": d.in_last, "x": d.in_x, "p": d.in_p,
                                 "bank": d.in_bank},
                                idle=random_pauses(idle, seed, burst=3) if idle else never())
        self.scores = StreamMonitor(d.clk, d.s_valid, d.s_ready, {"data": d.s_data, "last": d.s_last},
                                    backpressure=random_pauses(bp, seed + 1, burst=4) if bp else never())
        self.tiles = StreamMonitor(d.clk, d.t_valid, d.t_ready,
                                   {"data": d.t_data, "row": d.t_row, "last": d.t_last},
                                   backpressure=random_pauses(bp, seed + 2, burst=4) if bp else never())
        self.sb = Scoreboard("mpu")
        self.tiles_sent = 0
        self.queued = 0
        self.bank_end = [0, 0]      # beats queued up to the last beat of each V bank's last tile

    def queue(self, beat: dict) -> None:
        self.queued += 1
        self.src.send(beat)

    # ---- stimulus --------------------------------------------------------
    async def load_q(self, q: torch.Tensor, bank: int = 0) -> None:
        """Write the resident Q [R, D] of ``bank`` one row per cycle (waits for idle first)."""
        await self.wait_until(lambda: self.dut.idle.value and not self.src.busy, 10_000, "idle before load")
        await RisingEdge(self.clk)
        await self.write_q(q, bank)

    async def write_q(self, q: torch.Tensor, bank: int) -> None:
        """Write Q bank ``bank`` now, one row per cycle, whatever the other bank's beats do."""
        for r in range(self.R):
            self.dut.ld_valid.value = 1
            self.dut.ld_bank.value = bank
            self.dut.ld_row.value = r
            self.dut.ld_data.value = pack(q[r].tolist(), 8)
            await RisingEdge(self.clk)
        self.dut.ld_valid.value = 0

    def send_keys(self, k: torch.Tensor, last_every: int | None = None) -> None:
        n = k.shape[0]
        for j in range(n):
            last = (j == n - 1) if last_every is None else ((j + 1) % last_every == 0)
            self.queue({"mode": QK, "last": int(last), "x": pack(k[j].tolist(), 8), "p": 0,
                        "bank": 0})

    def bank_free(self, bank: int) -> bool:
        return self.src.sent >= self.bank_end[bank] and not (int(self.dut.v_busy.value) >> bank) & 1

    async def load_v(self, v: torch.Tensor, bank: int) -> None:
        """Write the n <= B rows of a V tile into ``bank``, one row per cycle, once the last
        beat of the bank's previous tile has been accepted and has left stage 0 (v_busy)."""
        await self.wait_until(lambda: self.bank_free(bank), 20_000 + 40 * self.R * self.R,
                              f"V bank {bank} free")
        for j in range(v.shape[0]):
            self.dut.vl_valid.value = 1
            self.dut.vl_bank.value = bank
            self.dut.vl_row.value = j
            self.dut.vl_data.value = pack(v[j].tolist(), 8)
            await RisingEdge(self.clk)
        self.dut.vl_valid.value = 0

    def pv_beats(self, p: torch.Tensor, bank: int) -> list[dict]:
        """The R P-row beats of a tile (keys past the tile's n are 0)."""
        n = p.shape[1]
        return [{"mode": PV, "last": int(i == self.R - 1), "x": 0, "bank": bank,
                 "p": pack(p[i].tolist() + [0] * (self.cfg.block - n), self.PB)} for i in range(self.R)]

    async def send_tile(self, p: torch.Tensor, v: torch.Tensor) -> None:
        """One PV tile: p [R, n] unsigned, v [n, D] int8: V loaded into the next bank, R beats."""
        bank = self.tiles_sent % 2
        await self.load_v(v, bank)
        self.tiles_sent += 1
        for beat in self.pv_beats(p, bank):
            self.queue(beat)
        self.bank_end[bank] = self.queued

    # ---- checks ----------------------------------------------------------
    async def collect_scores(self, n: int, start: int = 0) -> tuple[torch.Tensor, list[int]]:
        beats = await self.scores.wait_for(start + n)
        cols = [unpack(b["data"], self.R, self.w["SW"]) for b in beats[start:start + n]]
        return torch.tensor(cols, dtype=torch.int64).T, [b["last"] for b in beats[start:start + n]]

    async def collect_tiles(self, n_tiles: int, start: int = 0) -> list[torch.Tensor]:
        beats = await self.tiles.wait_for((start + n_tiles) * self.R)
        out = []
        for t in range(start, start + n_tiles):
            rows = beats[t * self.R:(t + 1) * self.R]
            got_rows = [b["row"] for b in rows]
            got_last = [b["last"] for b in rows]
            self.sb.check(f"tile {t} row order", list(range(self.R)), got_rows, ["beat"])
            self.sb.check(f"tile {t} t_last", [0] * (self.R - 1) + [1], got_last, ["beat"])
            out.append(torch.tensor([unpack(b["data"], self.D, self.w["TW"]) for b in rows]))
        return out

    # ---- random operands with corners -----------------------------------
    def rand_int8(self, *shape) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.rng.randrange(2 ** 31))
        x = torch.randint(-128, 128, shape, generator=g)
        corners = torch.tensor([-128, 127, 0, -1, 1])
        mask = torch.rand(shape, generator=g) < 0.2
        pick = corners[torch.randint(0, len(corners), shape, generator=g)]
        return torch.where(mask, pick, x)

    def rand_p(self, *shape) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.rng.randrange(2 ** 31))
        pmax = (1 << self.PB) - 1
        x = torch.randint(0, pmax + 1, shape, generator=g)
        mask = torch.rand(shape, generator=g) < 0.2
        pick = torch.tensor([0, pmax, 1])[torch.randint(0, 3, shape, generator=g)]
        return torch.where(mask, pick, x)


def extreme_q(R: int, D: int, rng: torch.Generator) -> torch.Tensor:
    q = torch.randint(-128, 128, (R, D), generator=rng)
    q[0] = -128
    q[1 % R] = 127
    q[R - 1] = -128  # the last row is a LUT row whenever lut_rows > 0
    return q


async def qk_check(tb: MpuTB, q: torch.Tensor, k: torch.Tensor, what: str, start: int = 0) -> int:
    await tb.load_q(q)
    tb.send_keys(k, last_every=tb.R)
    got, lasts = await tb.collect_scores(k.shape[0], start)
    tb.sb.check(f"{what}: scores", gold.qk(q, k), got, ["row", "key"])
    tb.sb.check(f"{what}: s_last", [int((j + 1) % tb.R == 0) for j in range(k.shape[0])], lasts, ["key"])
    return start + k.shape[0]


@cocotb.test()
async def test_qk_random(dut):
    """QK mode: random int8 with -128/+127 corners and the extreme rows, idle + backpressure."""
    tb = MpuTB(dut, seed=11)
    await tb.start()
    g = torch.Generator().manual_seed(5)
    n = 0
    for rep in range(2):
        q = extreme_q(tb.R, tb.D, g) if rep == 0 else tb.rand_int8(tb.R, tb.D)
        k = tb.rand_int8(3 * tb.R, tb.D)
        k[0] = -128  # with q rows of -128: the largest score D * 2**14
        k[1] = 127   # the most negative: D * -128 * 127
        n = await qk_check(tb, q, k, f"qk rep {rep}", n)
    dut._log.info(tb.sb.summary())


async def pv_check(tb: MpuTB, tiles: list[tuple[torch.Tensor, torch.Tensor]], what: str,
                   start: int = 0) -> int:
    for p, v in tiles:
        await tb.send_tile(p, v)
    got = await tb.collect_tiles(len(tiles), start)
    for t, ((p, v), g) in enumerate(zip(tiles, got)):
        tb.sb.check(f"{what}: tile {t}", gold.pv(p, v, tb.PB, tb.cfg.block), g, ["row", "col"])
    return start + len(tiles)


@cocotb.test()
async def test_pv_random(dut):
    """PV mode: back-to-back tiles of 1..block beats, extreme tiles, idle + backpressure."""
    tb = MpuTB(dut, seed=23)
    await tb.start()
    B, R, D = tb.cfg.block, tb.R, tb.D
    pmax = (1 << tb.PB) - 1
    tiles = [(torch.full((R, B), pmax), torch.full((B, D), -128)),   # most negative tile
             (torch.full((R, B), pmax), torch.full((B, D), 127))]    # most positive tile
    for n in [B, 1, 2, B, B - 1, 3, B]:
        tiles.append((tb.rand_p(R, n), tb.rand_int8(n, D)))
    await pv_check(tb, tiles, "pv")
    dut._log.info(tb.sb.summary())


@cocotb.test()
async def test_mixed_modes(dut):
    """QK beats interleaved with PV beats of an open tile: neither disturbs the other."""
    tb = MpuTB(dut, seed=37)
    await tb.start()
    R, D, B = tb.R, tb.D, tb.cfg.block
    q = tb.rand_int8(R, D)
    await tb.load_q(q)
    keys = tb.rand_int8(2 * B, D)
    tiles = [(tb.rand_p(R, B), tb.rand_int8(B, D)) for _ in range(2)]
    ki = 0
    for t, (p, v) in enumerate(tiles):
        await tb.load_v(v, t % 2)
        tb.tiles_sent += 1
        for beat in tb.pv_beats(p, t % 2):
            tb.queue(beat)
            tb.queue({"mode": QK, "last": 0, "x": pack(keys[ki].tolist(), 8), "p": 0, "bank": 0})
            ki += 1
        tb.bank_end[t % 2] = tb.queued
    got_s, _ = await tb.collect_scores(2 * B)
    tb.sb.check("mixed: scores", gold.qk(q, keys), got_s, ["row", "key"])
    got_t = await tb.collect_tiles(2)
    for t, ((p, v), g) in enumerate(zip(tiles, got_t)):
        tb.sb.check(f"mixed: tile {t}", gold.pv(p, v, tb.PB, B), g, ["row", "col"])
    dut._log.info(tb.sb.summary())


@cocotb.test()
async def test_q_banks(dut):
    """Two resident Q blocks: each key beat uses its bank's Q, and one bank is rewritten while key
    beats of the other run (the engine's preload of the next query block)."""
    tb = MpuTB(dut, seed=43)
    await tb.start()
    R, D = tb.R, tb.D
    q_banks = [tb.rand_int8(R, D), tb.rand_int8(R, D)]
    await tb.load_q(q_banks[0], bank=0)
    await tb.load_q(q_banks[1], bank=1)
    keys = tb.rand_int8(5 * R, D)
    expect = []

    def send(j: int, bank: int) -> None:
        tb.queue({"mode": QK, "last": 0, "x": pack(keys[j].tolist(), 8), "p": 0, "bank": bank})
        expect.append(gold.qk(q_banks[bank], keys[j:j + 1]))

    for j in range(2 * R):                      # the banks interleaved beat by beat
        send(j, j % 2)
    await tb.wait_until(lambda: tb.src.sent >= 2 * R, 20_000, "bank 0's beats accepted")
    for _ in range(3):                          # ... and past stages 0 and 1
        await RisingEdge(tb.clk)
    for j in range(2 * R, 4 * R):               # bank 1 runs while bank 0 is rewritten
        send(j, 1)
    new_q = tb.rand_int8(R, D)
    await tb.write_q(new_q, 0)
    q_banks[0] = new_q
    for j in range(4 * R, 5 * R):
        send(j, 0)
    got, _ = await tb.collect_scores(5 * R)
    tb.sb.check("Q banks: scores", torch.cat(expect, dim=1), got, ["row", "key"])
    dut._log.info(tb.sb.summary())


@cocotb.test()
async def test_reset_midstream(dut):
    """A reset in the middle of a PV tile, tile rows waiting and a QK stream recovers cleanly."""
    tb = MpuTB(dut, seed=41, bp=0.6)
    await tb.start()
    R, D, B = tb.R, tb.D, tb.cfg.block
    q = tb.rand_int8(R, D)
    await tb.load_q(q)
    # A full tile, the first half of a second and some keys.
    await tb.send_tile(tb.rand_p(R, B), tb.rand_int8(B, D))
    await tb.load_v(tb.rand_int8(B, D), 1)
    for beat in tb.pv_beats(tb.rand_p(R, B), 1)[: R // 2]:
        tb.queue(beat)
    tb.send_keys(tb.rand_int8(B, D))
    await tb.wait_until(lambda: len(tb.tiles.beats) >= 2, 20 * B * R, "first tile rows")
    tb.src.flush()
    await tb.reset(4)
    tb.tiles_sent, tb.queued, tb.bank_end = 0, tb.src.sent, [0, 0]
    await RisingEdge(tb.clk)
    await ReadOnly()
    assert dut.idle.value, "idle must be high right after reset"
    assert not dut.t_valid.value and not dut.s_valid.value, "outputs must be empty after reset"
    await RisingEdge(tb.clk)
    tb.scores.clear()
    tb.tiles.clear()
    # Everything starts from scratch: the row counter and V hold nothing of the old tiles.
    await pv_check(tb, [(tb.rand_p(R, B), tb.rand_int8(B, D)) for _ in range(2)], "after reset")
    q2 = tb.rand_int8(R, D)
    await qk_check(tb, q2, tb.rand_int8(R, D), "after reset")
    dut._log.info(tb.sb.summary())


async def _accept_span(tb: MpuTB, spans: list) -> None:
    """Record the cycle numbers of accepted input beats (for the throughput measurement)."""
    cycle = 0
    while True:
        await RisingEdge(tb.clk)
        await ReadOnly()
        cycle += 1
        if tb.dut.in_valid.value and tb.dut.in_ready.value:
            spans.append(cycle)


@cocotb.test()
async def test_throughput(dut):
    """No idle, no backpressure: beats per cycle, from the first accepted beat to the last.

    qk: key beats back to back; qkpv: per tile B key beats then its R P-row beats (the engine's
    mix), the V tiles loaded as their banks free up: both one beat per cycle.  pv: P-row beats of
    back-to-back tiles, where a bank's reload waits for its previous tile's last beat: a few
    cycles per tile (measured, bounded).
    """
    tb = MpuTB(dut, idle=0.0, bp=0.0, seed=53)
    await tb.start()
    R, D, B = tb.R, tb.D, tb.cfg.block
    n = int(os.environ.get("MPU_BENCH_BEATS", str(8 * B)))
    n -= n % B
    q = tb.rand_int8(R, D)
    await tb.load_q(q)
    spans: list[int] = []
    cocotb.start_soon(_accept_span(tb, spans))
    await RisingEdge(tb.clk)
    keys, tiles = [], []
    result = {}
    for mode in ("qk", "qkpv", "pv"):
        await tb.wait_until(lambda: dut.idle.value and not tb.src.busy, 10_000, "idle")
        spans.clear()
        sent0 = tb.src.sent
        if mode == "qk":
            keys.append(tb.rand_int8(n, D))
            tb.send_keys(keys[-1])
        for t in range(n // B if mode != "qk" else 0):
            if mode == "qkpv":
                keys.append(tb.rand_int8(B, D))
                tb.send_keys(keys[-1])
            tiles.append((tb.rand_p(R, B), tb.rand_int8(B, D)))
            await tb.send_tile(*tiles[-1])
        await tb.src.wait_done()
        beats, cycles = tb.src.sent - sent0, spans[-1] - spans[0] + 1
        result[mode] = {"beats": beats, "cycles": cycles, "macs": beats * R * D,
                        "peak_macs": cycles * R * D, "efficiency": beats / cycles}
    k = torch.cat(keys)
    got_s, _ = await tb.collect_scores(k.shape[0])
    tb.sb.check("throughput: scores", gold.qk(q, k), got_s, ["row", "key"])
    got_t = await tb.collect_tiles(len(tiles))
    for t, ((p, v), g) in enumerate(zip(tiles, got_t)):
        tb.sb.check(f"throughput: tile {t}", gold.pv(p, v, tb.PB, B), g, ["row", "col"])
    write_output("MPU_BENCH_OUT", result)
    for mode, r in result.items():
        dut._log.info("%s: %d beats in %d cycles (%.3f)", mode, r["beats"], r["cycles"], r["efficiency"])
    for mode in ("qk", "qkpv"):
        r = result[mode]
        assert r["beats"] == r["cycles"], f"{mode}: {r['beats']} beats took {r['cycles']} cycles"
    gaps = result["pv"]["cycles"] - result["pv"]["beats"]
    assert gaps <= 3 * (n // B), f"pv: {gaps} idle cycles in {n // B} tiles"


@cocotb.test(skip=not os.environ.get("MPU_REAL"))
async def test_real_tiles(dut):
    """Real SmolLM2 Q.K^T and P.V tiles (prepared by tests/test_mpu.py), idle + backpressure."""
    tb = MpuTB(dut, seed=61)
    await tb.start()
    data = inputs_from_env("MPU_REAL")
    n = 0
    for i, (q, k) in enumerate(data["qk"]):
        n = await qk_check(tb, q, k, f"real qk {i}", n)
    await pv_check(tb, [tuple(t) for t in data["pv"]], "real pv")
    dut._log.info(tb.sb.summary())
