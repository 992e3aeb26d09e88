"""KV cache RTL bench runner (hdl/cache/kv_cache.py + tb/test_kv_cache.py) and its unit checks.

Cases are built here (torch, with the builders of tb/benchmarks/cache.py, which
the ``fast-prefill bench cache`` table shares), saved to a file and handed to the
cocotb bench, which compares every run exactly with golden/cache_sim.py.  Patterns:

* real: SmolLM2-135M layer 3 on the shipped prompt, post-RoPE Q/K from
  ``golden.smollm2.load_qkv``, block pattern from ``golden.pattern.build_pattern``
  with the config's sparsity settings; one KV group (3 query heads);
* random: ``golden.cache_sim.synthetic_vertical_slash`` plus random extra tiles
  (like guardrail tiles, which no vertical/slash list describes).

HBM holds random int8 blocks, or the real quantised K/V of the group
(``golden.quant.quantize_blocks``) where the config's head_dim is SmolLM2's 64.

Configs: ``ci`` (B=16, D=16: two rows per bus word; 32+8 slots) and ``tiny-d64``
(B=16, D=64: one row is two bus words; 4+2 slots, so real patterns thrash), and
``ci-window64``: ci with a 64-entry index memory, so every stream but the smallest runs in
several liveness windows (the real group's 527 accesses in 9).
"""

from __future__ import annotations

import pytest
import torch

from golden import cache_sim
from hdl.config import ConfigError, preset
from tb.benchmarks.cache import make_case, random_group, real_group  # shared with the bench
from tb.kit.runner import run, save_inputs

CONFIGS = {
    "ci": preset("ci"),
    "tiny-d64": preset("ci", head_dim=64, tier1_blocks=4, tier2_blocks=2, max_seq_len=1024),
    # an index memory of 64 entries: the real 512-token group (527 accesses) runs in 9 windows
    "ci-window64": preset("ci", cache_index_entries=64),
}
#: the configs whose benches run only test_cases (the error and prefetch tests assume one window)
CASES_ONLY = {"ci-window64"}


def cases_for(name: str, cfg) -> list[dict]:
    cases = []
    if name in ("ci", "ci-window64"):
        m, vert, kq, vq = real_group(cfg, 512)
        cases.append(make_case("real-512", cfg, m, vert, 1, (kq, vq)))
        m, vert = random_group(56, 3, 8, 6, 0.03, seed=2)        # 56 blocks > 40 slots
        cases.append(make_case("random-56", cfg, m, vert, 2))
        m, vert = random_group(12, 2, 3, 3, 0.3, seed=3)         # holds everything
        cases.append(make_case("random-12", cfg, m, vert, 3))
        cases.append(make_case("one-block", cfg, torch.ones(1, 1, 1, dtype=torch.bool), [0], 4))
    elif name == "tiny-d64":
        m, vert, kq, vq = real_group(cfg, 256)
        cases.append(make_case("real-256", cfg, m, vert, 5, (kq, vq)))
        m, vert = random_group(20, 3, 4, 4, 0.05, seed=6)
        cases.append(make_case("random-20", cfg, m, vert, 6))
        m, vert = random_group(5, 1, 2, 2, 0.0, seed=7)          # fits 6 slots
        cases.append(make_case("random-5", cfg, m, vert, 7))
    return cases


def run_rtl_bench(name: str, tag: str | None = None) -> None:
    """Build the cases of config ``name`` and run every cocotb test of tb/test_kv_cache.py."""
    cfg = CONFIGS[name]
    path = save_inputs("kv_cache", cfg, "cases.pt", {"cases": cases_for(name, cfg)})
    run("kv_cache", cfg, "tb.test_kv_cache", extra_env={"KV_CASES": str(path)}, tag=tag or name,
        testcase="test_cases" if name in CASES_ONLY else None)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_kv_cache_rtl(name, have_smollm2):
    """Every cocotb test of tb/test_kv_cache.py on the config's cases."""
    run_rtl_bench(name)


@pytest.mark.slow
def test_kv_cache_rtl_real_2k(have_smollm2):
    """All three KV groups of SmolLM2 layer 3 at 2048 tokens (nb = 128) on the ci config."""
    cfg = CONFIGS["ci"]
    cases = []
    for kvh in range(3):
        m, vert, kq, vq = real_group(cfg, 2048, kv_head=kvh)
        cases.append(make_case(f"real-2048-kv{kvh}", cfg, m, vert, 10 + kvh, (kq, vq)))
    path = save_inputs("kv_cache", cfg, "cases-2k.pt", {"cases": cases})
    run("kv_cache", cfg, "tb.test_kv_cache", testcase="test_cases",
        extra_env={"KV_CASES": str(path), "KV_MAX_CYCLES": "20000000"}, tag="real-2k")


# ---- checks without a simulator ---------------------------------------------

def test_params_reject_blocks_smaller_than_a_bus_word():
    from hdl.cache.kv_cache import params
    with pytest.raises(ConfigError, match="block"):
        params(preset("ci", block=4, head_dim=4, mpu_rows=4, lut_rows=0))
    with pytest.raises(ConfigError, match="cfg"):
        params("ci")


def test_index_depth_covers_the_dense_stream_when_small():
    from hdl.cache.kv_cache import index_depth
    for name in ("ci", "smollm2", "u280"):
        cfg = preset(name)
        nb = cfg.max_blocks
        d = index_depth(cfg)
        assert d & (d - 1) == 0
        assert d >= min(nb * (nb + 1) // 2, 64 * nb)
    # ci: a dense 2K stream (8256 tiles) does not fit, a dense 1K stream does
    assert index_depth(preset("ci")) < 128 * 129 // 2
    assert index_depth(preset("ci", max_seq_len=1024)) >= 64 * 65 // 2


def test_cases_exercise_thrash_and_hold_all(have_smollm2):
    """The bench's cases span evicting runs and runs that hold every block (checked on golden)."""
    for name, cfg in CONFIGS.items():
        evict = hold = 0
        for case in cases_for(name, cfg):
            s = cache_sim.simulate(case["mask"], case["vertical"], cfg.tier1_blocks,
                                   cfg.tier2_blocks, cfg.kv_block_bytes)
            evict += s.evictions > 0
            hold += s.hbm_bytes == s.compulsory_bytes
        assert evict and hold, (name, evict, hold)


def test_bench_tables_match_cache_sim(have_smollm2):
    """The golden tables of ``fast-prefill bench cache`` are cache_sim's numbers, row by row:
    real SmolLM2 layers (256 tokens, small tiers so the policies differ) and synthetic groups."""
    from golden.pattern import build_pattern
    from golden.smollm2 import load_qkv
    from tb.benchmarks.cache import POLICIES, llama_variants, smollm2_rows, synthetic_rows

    cfg = preset("ci", tier1_blocks=4, tier2_blocks=2)
    layers = [3, 10]
    rows = smollm2_rows(cfg, 256, layers)
    assert [r["layer"] for r in rows] == layers
    for r in rows:
        cap = load_qkv(r["layer"], 256, "default")
        pat = build_pattern(cap.q, cap.k, cfg.block, cfg.sparsity, layer=r["layer"],
                            max_seq_len=cfg.max_seq_len)
        tab = cache_sim.layer_traffic_table(pat.mask, pat.vertical, 3, cfg)
        assert r["compulsory"] == tab["compulsory"]
        for p in POLICIES:
            assert r[p] == tab[p] and r[f"{p}_ratio"] == pytest.approx(tab[f"{p}_ratio"])
            s = cache_sim.simulate_layer(pat.mask, pat.vertical, 3, cfg, p)
            assert (r[f"{p}_hits1"], r[f"{p}_hits2"], r[f"{p}_misses"]) == \
                (s.hits_tier1, s.hits_tier2, s.misses)
        groups = cache_sim.simulate_groups(pat.mask, pat.vertical, 3, cfg)
        assert r["fits"] == all(s.distinct_blocks <= 6 for s in groups)
        assert r["nb"] == 16 and r["mean_vertical"] == sum(map(len, pat.vertical)) / 9
    assert any(r["lru"] > r["liveness"] for r in rows)      # the tiny tiers really evict

    variants = [("a", 3, 2), ("b", lambda L: L // 128, 2)]
    syn = synthetic_rows(cfg, 2, [256, 512], variants, seeds=[0, 1])
    assert [(r["tokens"], r["variant"], r["seed"]) for r in syn] == \
        [(L, v, s) for L in (256, 512) for v in "ab" for s in (0, 1)]
    for r in syn:
        nb = r["tokens"] // cfg.block
        nv = 3 if r["variant"] == "a" else r["tokens"] // 128
        assert (r["n_vertical"], r["n_slash"]) == (nv, 2)
        mask, verts = cache_sim.synthetic_vertical_slash(nb, 2, nv, 2, r["seed"])
        tab = cache_sim.traffic_table(mask, sorted({c for v in verts for c in v}), cfg)
        for p in POLICIES:
            assert r[p] == tab[p]
        assert r["lru_over_liveness"] == pytest.approx(tab["lru"] / tab["liveness"])

    # the set-size variants: a growth n ~ L**a fitted on the two measured lengths
    measured = {2048: [{"layer": 0, "mean_vertical": 10.0, "mean_slash": 5.0}],
                8192: [{"layer": 0, "mean_vertical": 20.0, "mean_slash": 5.0}]}
    var, _, gated = llama_variants(measured)
    by = {v[0]: v for v in var}
    assert set(by) == {"8K-mean", "grown", "sparser"} and gated == {"8K-mean", "grown"}
    assert by["8K-mean"][1:] == (20, 5) and by["sparser"][1:] == (10, 2)
    assert by["grown"][1](32768) == 40 and by["grown"][2](32768) == 5    # 4x L: 2x, 1x
