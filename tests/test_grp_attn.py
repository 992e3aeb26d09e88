"""Attention group datapath (hdl/group/grp_attn.py): case builders, RTL bench runner, host checks.

Cases are built here (torch, golden models), saved to a file and handed to the cocotb bench
tb/test_grp_attn.py, which runs them through one Verilator build and checks every O row of
every head bit-exact against ``golden.fixed_attention.fixed_sparse_attention`` on the
pattern of the sets, and the cache's counters and every decision against
``golden.cache_sim`` (policy "liveness") on the group's merged stream.

Cases (ci preset: B = D = 16, max_group 3):
* real: SmolLM2-135M layer 3, KV head 1 (query heads 3..5, g = 3) at 512 tokens; sets from
  ``golden.estimator_fixed.estimate_pattern_fixed`` with the preset's sparsity but
  ``row_gamma = 0`` (``row_guard`` = 0);
* the same group with the preset's own sparsity (row_gamma 0.99, ``row_guard`` = 1): the mask is
  ``estimate_pattern_fixed``'s, i.e. the sets or'ed with ``pooled_row_mask_fixed``, whose rows
  the bench's sig_pool emulation serves; random sets with random pooled rows at g = max_group
  (``row_guard`` = 1);
* partial last block (L = 200, g = 2, real tensors); L < 2B (L = 20, g = 3, dense);
  a dense pattern (L = 128); g = 1 (random sets); random sets at g = max_group.
"""

from __future__ import annotations

import math

import pytest
import torch

from hdl.config import ConfigError, num_blocks, preset
from tb.kit.runner import run, save_inputs

CI = preset("ci")
Q_ADDR, K_ADDR, V_ADDR, O_ADDR = 0x10_0060, 0x4_0020, 0x8_0fe0, 0x20_0040


def _sets_to_mask(vertical, slash, nb):
    from golden.pattern import pattern_from_sets
    return pattern_from_sets(vertical, slash, nb)


def _codes(qt) -> tuple[list, list]:
    return qt.scale_mant.long(), qt.scale_exp.long()


def make_case(name: str, cfg, inputs, vertical, slash, seed: int = 0, extra: int = 0x60,
              pool=None) -> dict:
    """A bench case from FixedAttentionInputs of ONE KV group (q [g, L, D], k/v [1, L, D]) and
    its per-head sets: HBM images, codes, the golden O [g, L, D], the mask and the layout.
    ``pool`` (bool [g, nb, nb], c <= r): pooled rows, run with ``row_guard`` = 1 (the mask is
    the sets' or'ed with it)."""
    from golden.fixed_attention import fixed_sparse_attention

    B, D = cfg.block, cfg.head_dim
    g, L, _ = inputs.q.values.shape
    nb = num_blocks(L, B)
    if len(vertical) != g or len(slash) != g:
        raise ValueError(f"{name}: need {g} vertical and slash sets")
    mask = _sets_to_mask(vertical, slash, nb)
    if pool is not None:
        if tuple(pool.shape) != (g, nb, nb) or bool((pool & ~torch.ones(nb, nb).bool().tril()).any()):
            raise ValueError(f"{name}: pooled rows must be bool [{g}, {nb}, {nb}] with c <= r")
        mask = mask | pool
    gold = fixed_sparse_attention(inputs, mask)
    for what, e in (("q", inputs.q.scale_exp), ("k", inputs.k.scale_exp)):
        if e.min() < -128 or e.max() > 127:
            raise ValueError(f"{name}: {what} scale exponent outside the engine's 8-bit range")
    gen = torch.Generator().manual_seed(seed)
    q = torch.zeros(g, nb * B, D, dtype=torch.int8)
    q[:, :L] = inputs.q.values
    # K/V rows past L are don't-care for the engines: garbage shows they are ignored
    k = torch.randint(-128, 128, (nb * B, D), generator=gen).to(torch.int8)
    v = torch.randint(-128, 128, (nb * B, D), generator=gen).to(torch.int8)
    k[:L] = inputs.k.values[0]
    v[:L] = inputs.v[0]
    head_bytes = nb * B * D
    qm, qe = _codes(inputs.q)
    km, ke = _codes(inputs.k)
    return dict(name=name, L=L, g=g, nb=nb, q=q, k=k, v=v, qm=qm, qe=qe, km=km[0], ke=ke[0],
                vertical=[list(map(int, s)) for s in vertical],
                slash=[list(map(int, s)) for s in slash], mask=mask, o=gold.o_int,
                tiles=int(mask.sum()), q_addr=Q_ADDR, q_stride=head_bytes + extra,
                k_addr=K_ADDR, v_addr=V_ADDR, o_addr=O_ADDR, o_stride=4 * head_bytes + extra,
                row_guard=int(pool is not None), pool=pool)


def _group_inputs(cfg, q, k, v):
    from golden.fixed_attention import quantize_attention_inputs
    return quantize_attention_inputs(q, k, v, cfg)


def _cut(cfg, t):
    HD, D = t.shape[-1], cfg.head_dim
    if D < HD:
        ch = torch.cat([torch.arange(D // 2), HD // 2 + torch.arange(D // 2)])
        t = t[..., ch]
    return t


def real_case(name: str, cfg, layer: int, n_tokens: int, kv_head: int, g: int, seed: int,
              L: int | None = None, pooled: bool = False) -> dict:
    """A real SmolLM2 KV group: the first ``g`` query heads of ``kv_head``, sets from the
    fixed-point estimator: row_gamma = 0, or with ``pooled`` the preset's own sparsity
    (row_gamma on: the pooled rows go to the bench's sig_pool emulation, row_guard = 1)."""
    from golden.estimator_fixed import estimate_pattern_fixed, gamma_code, pooled_row_mask_fixed
    from golden.smollm2 import load_qkv

    cap = load_qkv(layer, n_tokens, "default")
    gg = cap.q.shape[0] // cap.k.shape[0]
    L = n_tokens if L is None else L
    heads = list(range(kv_head * gg, kv_head * gg + g))
    q = _cut(cfg, cap.q[heads, :L])
    k = _cut(cfg, cap.k[kv_head:kv_head + 1, :L])
    v = _cut(cfg, cap.v[kv_head:kv_head + 1, :L])
    inputs = _group_inputs(cfg, q, k, v)
    if not pooled:
        sp = cfg.sparsity.replace(row_gamma=0.0)
        pat = estimate_pattern_fixed(inputs.q, inputs.k, cfg, sparsity=sp, layer=layer)
        return make_case(name, cfg, inputs, pat.vertical, pat.slash, seed)
    sp = cfg.sparsity
    if sp.row_gamma <= 0:
        raise ValueError(f"{name}: the preset's row_gamma is 0")
    pat = estimate_pattern_fixed(inputs.q, inputs.k, cfg, sparsity=sp, layer=layer)
    pool = pooled_row_mask_fixed(inputs.q, inputs.k, cfg, gamma_code(sp.row_gamma))
    case = make_case(name, cfg, inputs, pat.vertical, pat.slash, seed, pool=pool)
    if not torch.equal(case["mask"], pat.mask):
        raise ValueError(f"{name}: sets | pooled rows differ from the estimator's pattern")
    return case


def random_case(name: str, cfg, L: int, g: int, seed: int, n_vertical: int | None = 3,
                n_slash: int | None = 3, window: int = 2, pool_rate: float | None = None) -> dict:
    """Random tensors and random sets (forced entries included); None counts = dense;
    ``pool_rate``: random pooled rows (each causal block with that probability), row_guard 1."""
    gen = torch.Generator().manual_seed(seed)
    D = cfg.head_dim
    nb = num_blocks(L, cfg.block)
    q = torch.randn(g, L, D, generator=gen) * 2.0
    k = torch.randn(1, L, D, generator=gen) * 2.0
    v = torch.randn(1, L, D, generator=gen)
    inputs = _group_inputs(cfg, q, k, v)
    vertical, slash = [], []
    for _ in range(g):
        if n_vertical is None:
            vertical.append(list(range(nb)))
        else:
            pick = torch.randperm(nb, generator=gen)[:n_vertical].tolist()
            vertical.append(sorted(set(pick) | {0}))
        if n_slash is None:
            slash.append(list(range(nb)))
        else:
            pick = torch.randperm(nb, generator=gen)[:n_slash].tolist()
            slash.append(sorted(set(pick) | set(range(min(window, nb)))))
    pool = None
    if pool_rate is not None:
        pool = (torch.rand(g, nb, nb, generator=gen) < pool_rate) & torch.ones(nb, nb).bool().tril()
    return make_case(name, cfg, inputs, vertical, slash, seed, pool=pool)


_CASES: dict = {}


def default_cases(cfg) -> list[dict]:
    """The default bench cases (built once per process: the real ones cost seconds)."""
    key = cfg.name
    if key not in _CASES:
        _CASES[key] = _default_cases(cfg)
    return _CASES[key]


def _default_cases(cfg) -> list[dict]:
    return [
        real_case("real-l3-kv1-512", cfg, 3, 512, kv_head=1, g=3, seed=1),
        real_case("real-l3-kv1-512-pool", cfg, 3, 512, kv_head=1, g=3, seed=1, pooled=True),
        random_case(f"pool-gmax-{cfg.max_group}-192", cfg, 192, cfg.max_group, seed=8,
                    n_vertical=2, n_slash=2, pool_rate=0.15),
        real_case("partial-200-g2", cfg, 3, 512, kv_head=0, g=2, seed=2, L=200),
        random_case("short-20-dense", cfg, 20, 3, seed=3, n_vertical=None, n_slash=None),
        random_case("dense-128", cfg, 128, 3, seed=4, n_vertical=None, n_slash=None),
        random_case("g1-160", cfg, 160, 1, seed=5, n_vertical=3, n_slash=2),
        random_case(f"gmax-{cfg.max_group}-256", cfg, 256, cfg.max_group, seed=6,
                    n_vertical=4, n_slash=3),
    ]


def run_rtl_bench(cfg, cases, tag: str, testcase=None, extra_env: dict | None = None,
                  out=None):
    path = save_inputs("grp_attn", cfg, f"cases-{tag}.pt", {"cases": cases})
    env = {"GRP_CASES": str(path)}
    if out is not None:
        env["GRP_BENCH_OUT"] = str(out)
    env.update(extra_env or {})
    return run("grp_attn", cfg, "tb.test_grp_attn", testcase=testcase, extra_env=env, tag=tag)


def test_grp_attn_rtl(have_smollm2, tmp_path):
    """Every cocotb test of tb/test_grp_attn.py on the default cases (ci preset)."""
    run_rtl_bench(CI, default_cases(CI), "ci", out=tmp_path / "bench.json")
    import json
    res = json.loads((tmp_path / "bench.json").read_text())
    full = res["full_rate"]
    print(f"\ngrp_attn full rate: {full['name']}: {full['cycles']} cycles, "
          f"{full['accesses']} accesses, ratio {full['ratio']:.3f} x (accesses * 2B)")
    pool = res["full_rate_pool"]
    print(f"grp_attn full rate, row_guard: {pool['name']}: {pool['cycles']} cycles, "
          f"{pool['accesses']} accesses, ratio {pool['ratio']:.3f} x (accesses * 2B)")
    assert full["ratio"] <= 1.2, full


def test_grp_attn_rtl_windows(have_smollm2):
    """An index memory of 32 entries, half or less of the streams: the cache takes them in
    liveness windows, with the pooled rows (builder A pauses at every window while builder B
    feeds the engines) and without; O, cache decisions and counters exact, with AXI pauses."""
    cfg = preset("ci", cache_index_entries=32)
    cases = [real_case("win-real-l3-kv1-512-pool", cfg, 3, 512, kv_head=1, g=3, seed=1, pooled=True),
             real_case("win-real-l3-kv1-512", cfg, 3, 512, kv_head=1, g=3, seed=1),
             random_case(f"win-pool-gmax-{cfg.max_group}-192", cfg, 192, cfg.max_group, seed=8,
                         n_vertical=2, n_slash=2, pool_rate=0.15)]
    for c in cases:   # the union of the heads' tiles: the cache's accesses
        assert int(c["mask"].any(dim=0).sum()) >= 2 * 32, c["name"]
    run_rtl_bench(cfg, cases, "windows", testcase="test_cases")


@pytest.mark.slow
def test_grp_attn_rtl_2k(have_smollm2, tmp_path):
    """Real KV groups at 2048 tokens (nb = 128, the ci maximum), O and cache exact."""
    # KV head 0: at D = 16 the estimator keeps 7702 of the 8256 causal tiles of the group;
    # head 1: 8250, more than the ci cache's 8192-entry index memory (two liveness windows)
    cases = [real_case("real-l3-kv0-2048", CI, 3, 2048, kv_head=0, g=3, seed=11),
             real_case("real-l3-kv1-2048", CI, 3, 2048, kv_head=1, g=3, seed=12)]
    out = tmp_path / "bench-2k.json"
    run_rtl_bench(CI, cases, "real-2k", testcase="test_cases",
                  extra_env={"GRP_MAX_CYCLES": "20000000"}, out=out)
    import json
    for r in json.loads(out.read_text())["cases"]:
        print(f"\ngrp_attn {r['name']}: {r['cycles']} cycles, {r['accesses']} accesses, "
              f"ratio {r['ratio']:.3f} x (accesses * 2B), with AXI pauses")


# ---- checks without a simulator ---------------------------------------------

def test_params_and_unsupported():
    from hdl.group.grp_attn import params, unsupported
    p = params(CI)
    assert p["G"] == CI.max_group and p["NB"] == CI.max_blocks
    assert unsupported(CI) is None
    with pytest.raises(ConfigError, match="cfg"):
        params("ci")


@pytest.mark.parametrize("name", ["ci", "mid", "smollm2", "u280"])
def test_lane_o_fifo_holds_a_block_row(name):
    """The lane's O FIFO holds a whole block row of O in whole engine rows (a power of two of
    them), and its bursts fit AXI4: <= 256 beats, <= 4 KiB, <= half the FIFO."""
    from hdl.config import preset
    from hdl.group import lane
    cfg = preset(name)
    depth, burst = lane.o_fifo_depth(cfg), lane.o_max_burst(cfg)
    row_words = cfg.head_dim * 32 // cfg.axi_data_bits
    rows = depth // row_words
    assert depth % row_words == 0 and rows & (rows - 1) == 0
    assert rows >= cfg.block and depth >= lane.O_FIFO_MIN_DEPTH
    assert 1 <= burst <= min(256, 4096 // cfg.axi_bytes, depth // 2)
    assert lane.lane_params(cfg)["od"] == depth and lane.lane_params(cfg)["omb"] == burst


def test_cases_match_the_golden_stream(have_smollm2):
    """The sets of each case give the mask the golden models use; the real case's mask is
    the estimator's pattern, and row_stream (what the builders emit) covers every tile."""
    from golden.pattern import Pattern, row_stream
    cases = default_cases(CI)
    for c in cases:
        pat = Pattern(mask=c["mask"], vertical=c["vertical"], slash=c["slash"], block=CI.block,
                      seq_len=c["L"])
        stream = row_stream(pat, 0, c["g"])
        assert sum(bin(h).count("1") for _, _, h in stream) == c["tiles"]
        # every head keeps a block in every row (block 0 vertical or offset 0 slash)
        assert all(0 in v or 0 in s for v, s in zip(c["vertical"], c["slash"]))
    dense = [c for c in cases if c["name"].startswith("dense")][0]
    nb = dense["nb"]
    assert dense["tiles"] == dense["g"] * nb * (nb + 1) // 2
    assert math.isclose(cases[0]["L"], 512) and cases[0]["g"] == 3
    # the pooled real case is the same group with row_gamma on: its pooled rows add tiles
    # (else the row_guard path would go untested) and keep every tile of the sets
    pooled = [c for c in cases if c["name"] == "real-l3-kv1-512-pool"][0]
    assert pooled["row_guard"] == 1 and cases[0]["row_guard"] == 0
    assert pooled["tiles"] > cases[0]["tiles"]
    assert bool((pooled["mask"] | cases[0]["mask"]).eq(pooled["mask"]).all())
