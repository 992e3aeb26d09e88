"""KV cache RTL bench runner (hdl/kv_cache.py + tb/test_kv_cache.py) and its unit checks.

Cases are built here (torch), saved to a file and handed to the cocotb bench,
which compares every run exactly with golden/cache_sim.py.  Patterns:

* real: SmolLM2-135M layer 3 on the shipped prompt, post-RoPE Q/K from
  ``golden.smollm2.load_qkv``, block pattern from ``golden.pattern.build_pattern``
  with the config's sparsity settings; one KV group (3 query heads);
* random: ``golden.cache_sim.synthetic_vertical_slash`` plus random extra tiles
  (like guardrail tiles, which no vertical/slash list describes).

HBM holds random int8 blocks, or the real quantised K/V of the group
(``golden.quant.quantize_blocks``) where the config's head_dim is SmolLM2's 64.

Configs: ``ci`` (B=16, D=16: two rows per bus word; 32+8 slots) and ``tiny-d64``
(B=16, D=64: one row is two bus words; 4+2 slots, so real patterns thrash).
"""

from __future__ import annotations

import pytest
import torch

from golden import cache_sim
from hdl.config import ConfigError, preset
from tb.kit.runner import build_dir_for, run

REAL_LAYER = 3
K_BASE = 0x10000 + 3 * 32          # bus aligned, not page aligned: bursts split at 4 KiB
V_BASE = 0x200000 + 5 * 32

CONFIGS = {
    "ci": preset("ci"),
    "tiny-d64": preset("ci", head_dim=64, tier1_blocks=4, tier2_blocks=2, max_seq_len=1024),
}


def real_group(cfg, n_tokens: int, kv_head: int = 1, layer: int = REAL_LAYER):
    """A real KV group: (mask [g, nb, nb], vertical union, quantised K and V [L, 64] int8)."""
    from golden.pattern import build_pattern
    from golden.quant import quantize_blocks
    from golden.smollm2 import load_qkv

    cap = load_qkv(layer, n_tokens, "default")
    pat = build_pattern(cap.q, cap.k, cfg.block, cfg.sparsity, layer=layer,
                        max_seq_len=cfg.max_seq_len)
    g = cap.q.shape[0] // cap.k.shape[0]
    heads = range(kv_head * g, (kv_head + 1) * g)
    mask = pat.mask[kv_head * g:(kv_head + 1) * g].clone()
    vertical = sorted({c for h in heads for c in pat.vertical[h]})
    kq = quantize_blocks(cap.k, cfg.block).values[kv_head]
    vq = quantize_blocks(cap.v, cfg.block).values[kv_head]
    return mask, vertical, kq, vq


def random_group(nb: int, g: int, n_vertical: int, n_slash: int, extra: float, seed: int):
    """A synthetic vertical-slash group plus a share ``extra`` of random causal tiles."""
    mask, verts = cache_sim.synthetic_vertical_slash(nb, g, n_vertical, n_slash, seed)
    gen = torch.Generator().manual_seed(seed)
    noise = (torch.rand(mask.shape, generator=gen) < extra) & torch.ones(nb, nb, dtype=torch.bool).tril()
    vertical = sorted({c for v in verts for c in v})
    return mask | noise, vertical


def make_case(name: str, cfg, mask, vertical, seed: int, kv=None) -> dict:
    """A bench case: the group's pattern, L, bases, and the HBM blocks K/V int8 [nb, B, D]."""
    nb = mask.shape[-1]
    B, D = cfg.block, cfg.head_dim
    if kv is not None and kv[0].shape[-1] == D:
        k = kv[0][:nb * B].reshape(nb, B, D).to(torch.int8)
        v = kv[1][:nb * B].reshape(nb, B, D).to(torch.int8)
    else:
        gen = torch.Generator().manual_seed(seed)
        k = torch.randint(-128, 128, (nb, B, D), generator=gen).to(torch.int8)
        v = torch.randint(-128, 128, (nb, B, D), generator=gen).to(torch.int8)
        k[0, 0], v[0, 0] = -128, 127       # corners
    L = nb * B - (B // 2 if nb > 1 else 0)   # a partial last block
    return {"name": name, "mask": mask, "vertical": vertical, "seq_len": L,
            "k_base": K_BASE, "v_base": V_BASE, "k": k, "v": v}


def cases_for(name: str, cfg) -> list[dict]:
    cases = []
    if name == "ci":
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


@pytest.fixture(scope="module")
def have_smollm2():
    try:
        from golden.smollm2 import model_path
        model_path()
    except Exception as exc:  # noqa: BLE001 - any missing piece means no real data
        pytest.fail(f"SmolLM2 tensors unavailable: {exc}")
    return True


def run_rtl_bench(name: str, tag: str | None = None) -> None:
    """Build the cases of config ``name`` and run every cocotb test of tb/test_kv_cache.py."""
    cfg = CONFIGS[name]
    cases = cases_for(name, cfg)
    bdir = build_dir_for("kv_cache", cfg)
    bdir.mkdir(parents=True, exist_ok=True)
    path = bdir / "cases.pt"
    torch.save({"cases": cases}, path)
    run("kv_cache", cfg, "tb.test_kv_cache", extra_env={"KV_CASES": str(path)}, tag=tag or name)


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
    bdir = build_dir_for("kv_cache", cfg)
    bdir.mkdir(parents=True, exist_ok=True)
    path = bdir / "cases-2k.pt"
    torch.save({"cases": cases}, path)
    run("kv_cache", cfg, "tb.test_kv_cache", testcase="test_cases",
        extra_env={"KV_CASES": str(path), "KV_MAX_CYCLES": "20000000"}, tag="real-2k")


# ---- checks without a simulator ---------------------------------------------

def test_params_reject_blocks_smaller_than_a_bus_word():
    from hdl.kv_cache import params
    with pytest.raises(ConfigError, match="block"):
        params(preset("ci", block=4, head_dim=4, mpu_rows=4, lut_rows=0))
    with pytest.raises(ConfigError, match="cfg"):
        params("ci")


def test_index_depth_covers_the_dense_stream_when_small():
    from hdl.kv_cache import index_depth
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
