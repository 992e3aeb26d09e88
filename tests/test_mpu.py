"""MPU bench runner: builds hdl/mpu/mpu.py per config with Verilator and runs tb/test_mpu.py.

Each parameter set gets its own build folder (build/sim/mpu-<config-hash>/,
cached).  Real SmolLM2 tiles are prepared here (torch) and handed to the
bench as a file.  The golden-model unit tests run without a simulator.
"""

from __future__ import annotations

import math

import pytest
import torch

from golden import mpu as gold
from hdl.config import preset
from tb.kit.runner import BenchFailure, run, save_inputs
from tb.kit.scoreboard import Mismatch, check_exact

CONFIGS = {
    # name: (config, slow?); ci has p_bits = 10: DSP row pairs share packed multipliers
    "ci-lut0": (preset("ci", lut_rows=0), False),            # all DSP: 8 packed pairs
    "ci-lutall": (preset("ci", lut_rows=16), False),         # all LUT
    "d32-odd": (preset("ci", head_dim=32, lut_rows=5), False),  # D = 2B; 11 DSP rows: 5 pairs + 1 single
    "d8": (preset("ci", head_dim=8, lut_rows=4), False),     # D = B / 2: a tile column from 2 rows
    "ci-p8": (preset("ci", p_bits=8, lut_rows=5), False),    # 5 pairs + 1 single
    "ci-mixed": (preset("ci"), True),                        # 10 DSP rows (5 pairs) + 6 LUT
    "ci-p12": (preset("ci", p_bits=12), True),               # p_bits > 10: unpacked DSP rows
    "smollm2": (preset("smollm2"), True),                    # 64 x 64, 26 LUT rows
}

REAL_LAYER, REAL_TOKENS = 3, 256


def real_tiles(cfg, n_qk: int = 2, n_pv: int = 2) -> dict:
    """Real Q.K^T and P.V operand tiles of SmolLM2 for ``cfg`` (int64 tensors).

    Q, K, V of one layer are quantised per block with golden.quant; head
    dimension 64 is cut into head_dim-wide chunks when the MPU is narrower
    (a narrower MPU computes a head in several passes).  P comes from the
    float scores of the dequantised tiles: round(2**(s - rowmax) * pmax)
    with s in the log2 domain.
    """
    from golden.quant import quantize_blocks
    from golden.smollm2 import load_qkv

    cap = load_qkv(REAL_LAYER, REAL_TOKENS, "default")
    B, D = cfg.block, cfg.head_dim
    H, L, HD = cap.q.shape
    g = H // cap.k.shape[0]
    qq, kq, vq = (quantize_blocks(t, B) for t in (cap.q, cap.k, cap.v))
    if HD % D and D % HD:
        raise ValueError(f"head_dim {D} does not divide SmolLM2's {HD}")
    chunks = max(1, HD // D)
    nb = L // B
    qk, pv = [], []
    for i in range(max(n_qk, n_pv)):
        h = (2 * i + 1) % H
        r = nb - 1 - i % nb        # a late query block: every key block is causal-visible
        c = (r * (i + 1)) % (r + 1)
        qt, kt, vt = (x.values[hh, blk * B:(blk + 1) * B].long()
                      for x, hh, blk in ((qq, h, r), (kq, h // g, c), (vq, h // g, c)))
        if i < n_qk:
            ch = i % chunks
            qk.append((qt[:, ch * D:(ch + 1) * D], kt[:, ch * D:(ch + 1) * D]))
        if i < n_pv:
            qf = qq.dequantize()[h, r * B:(r + 1) * B].double()
            kf = kq.dequantize()[h // g, c * B:(c + 1) * B].double()
            s = qf @ kf.T / math.sqrt(HD) * math.log2(math.e)
            p = gold.probabilities(s, cfg.p_bits)
            ch = (i + 1) % chunks
            pv.append((p, vt[:, ch * D:(ch + 1) * D]))
    return {"qk": qk, "pv": pv}


def _params():
    out = []
    for name, (cfg, slow) in CONFIGS.items():
        marks = [pytest.mark.slow] if slow else []
        out.append(pytest.param(name, cfg, id=name, marks=marks))
    return out


@pytest.mark.parametrize("name,cfg", _params())
def test_mpu(name, cfg, have_smollm2):
    data = real_tiles(cfg)
    path = save_inputs("mpu", cfg, f"real-{REAL_LAYER}-{REAL_TOKENS}.pt", data)
    res = run("mpu", cfg, "tb.test_mpu", extra_env={"MPU_REAL": str(path)}, tag=name)
    assert res.skipped == [], f"cocotb tests skipped: {res.skipped}"


# ---- golden model and kit checks (no simulator) ----------------------------

def test_golden_widths_are_tight():
    for D in (16, 32, 64, 128):
        sw = gold.score_bits(D)
        worst = D * 128 * 128
        assert worst <= 2 ** (sw - 1) - 1 < 2 * worst  # holds the worst case, not a bit more
    tw = gold.tile_bits(64, 8)
    assert 64 * 255 * 128 <= 2 ** (tw - 1) < 2 * 64 * 255 * 128
    assert gold.score_bits(128) <= 32


def test_golden_matches_float_matmul():
    g = torch.Generator().manual_seed(0)
    q = torch.randint(-128, 128, (16, 16), generator=g)
    k = torch.randint(-128, 128, (40, 16), generator=g)
    assert torch.equal(gold.qk(q, k), (q.double() @ k.double().T).long())
    p = torch.randint(0, 256, (16, 16), generator=g)
    assert torch.equal(gold.pv(p, k[:16], 8, 16), (p.double() @ k[:16].double()).long())


@pytest.mark.parametrize("bad", [
    lambda: gold.qk(torch.full((2, 4), 128), torch.zeros(3, 4, dtype=torch.long)),
    lambda: gold.qk(torch.zeros(2, 4, dtype=torch.long), torch.zeros(3, 5, dtype=torch.long)),
    lambda: gold.qk(torch.zeros(2, 4), torch.zeros(3, 4)),
    lambda: gold.pv(torch.full((2, 3), 256), torch.zeros(3, 4, dtype=torch.long), 8),
    lambda: gold.pv(torch.zeros(2, 5, dtype=torch.long), torch.zeros(5, 4, dtype=torch.long), 8, block=4),
    lambda: gold.pv(torch.zeros(2, 3, dtype=torch.long), torch.zeros(3, 4, dtype=torch.long), 0),
])
def test_golden_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        bad()


def test_scoreboard_reports_first_mismatch():
    e = torch.arange(12).view(3, 4)
    g = e.clone()
    g[1, 2] += 1
    g[2, 0] -= 5
    with pytest.raises(Mismatch, match=r"row=1, col=2: expected 6, got 7 \(2 of 12"):
        check_exact("t", e, g, ["row", "col"])
    check_exact("t", e, e.clone(), ["row", "col"])


def test_hbm_burst_rules():
    """tb.kit.hbm's AXI rules of an HBM port (32-byte bus): each one named when broken."""
    from tb.kit.hbm import Burst, burst_violation
    assert burst_violation(Burst(0, 4096 - 64, 2, 5, 1), 32) is None
    for burst, needle in ((Burst(0, 0, 1, 5, 2), "not INCR"), (Burst(0, 0, 1, 4, 1), "bus width"),
                          (Burst(0, 0, 257, 5, 1), "more than 256"), (Burst(0, 16, 1, 5, 1), "aligned"),
                          (Burst(0, 4096 - 64, 3, 5, 1), "page"), (Burst(0, 0, 256, 5, 1), "page")):
        assert needle in (burst_violation(burst, 32) or ""), burst


def test_rate_pauses_keep_the_rate():
    import itertools

    from tb.kit.stream import rate_pauses
    assert list(itertools.islice(rate_pauses(0.75), 8)) == [True, False, False, False] * 2
    assert not any(itertools.islice(rate_pauses(1.0), 100))
    with pytest.raises(ValueError):
        next(rate_pauses(0.0))


def test_runner_fails_on_failing_bench(tmp_path):
    """A bench whose tests fail must fail the pytest test (the runner does not raise by itself)."""
    cfg = CONFIGS["ci-lut0"][0]  # shares the build of test_mpu[ci-lut0]
    with pytest.raises(BenchFailure, match="2 of 2 cocotb tests failed") as info:
        run("mpu", cfg, "tb.selftest_fail", tag="selftest-fail")
    assert "test_must_fail" in str(info.value) and "test_watchdog_fires" in str(info.value)
