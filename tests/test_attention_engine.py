"""Attention engine (hdl/attention/engine.py): RTL bench runner and host-side checks.

The cocotb bench (tb/test_attention.py) checks every output row, the row stats (m, l) and
every P column bit-exact against golden.fixed_attention.fixed_attention_tile_reference.
The jobs are built here: real SmolLM2 rows (2048 tokens, two layers, sink-heavy heads
included), random rows, and adversarial rows; all of them stream back to back through one
simulator run with random idle on every input stream and backpressure on the output.
"""

from __future__ import annotations

import pytest
import torch

from golden.fixed_attention import FixedAttentionInputs, fixed_attention_tile_reference
from golden.quant import QuantTensor
from hdl.attention.engine import widths
from hdl.config import ConfigError, num_blocks, preset
from tb.benchmarks.attention import build_jobs, pick_rows, real_inputs, sink_heavy_heads
from tb.kit.runner import run, save_inputs

CI = preset("ci")
REAL_LAYERS = (3, 18)          # 18: sink-heavy heads


def _inputs(cfg, qv, kv, vv, qcode, kcode) -> FixedAttentionInputs:
    """FixedAttentionInputs from explicit int8 values and (mant, exp) codes per block."""
    B = cfg.block
    H, L, D = qv.shape
    nb = num_blocks(L, B)

    def codes(code, heads):
        m, e = code
        mt = torch.as_tensor(m, dtype=torch.int64).expand(heads, nb).clone()
        et = torch.as_tensor(e, dtype=torch.int64).expand(heads, nb).clone()
        return mt, et

    qm, qe = codes(qcode, H)
    km, ke = codes(kcode, kv.shape[0])
    return FixedAttentionInputs(q=QuantTensor(qv.to(torch.int8), qm, qe, B),
                                k=QuantTensor(kv.to(torch.int8), km, ke, B),
                                v=vv.to(torch.int8), v_scale=torch.ones(kv.shape[0], D,
                                                                        dtype=torch.float64),
                                cfg=cfg)


def _tril(H, nb, p=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    m = torch.tril(torch.rand(H, nb, nb, generator=g) < p)
    return m | torch.eye(nb, dtype=torch.bool)


def adversarial_jobs(cfg) -> list[dict]:
    B, D = cfg.block, cfg.head_dim
    g = torch.Generator().manual_seed(7)
    big, mid = (60000, -10), (40000, -22)     # -10: a negative logit shift (left shift, saturating)
    jobs = []
    # large logits of both signs (saturation at +-2**(logit_bits-1)) over 5 blocks
    L = 5 * B
    qv = torch.randint(-128, 128, (1, L, D), generator=g)
    kv = torch.randint(-128, 128, (1, L, D), generator=g)
    vv = torch.randint(-128, 128, (1, L, D), generator=g)
    inp = _inputs(cfg, qv, kv, vv, big, big)
    jobs += build_jobs(inp, _tril(1, 5), [(0, 4), (0, 2)])
    # all-equal logits (K = 0): P is flat, every tile merges at the same max
    inp = _inputs(cfg, qv, torch.zeros_like(kv), vv, mid, mid)
    jobs += build_jobs(inp, _tril(1, 5), [(0, 4)])
    # the most negative scores: q = -128, k = +127, with a block of large positive scores in
    # the middle so the max jumps up and then the rest underflows (rescale shifts saturate)
    qn = torch.full((1, L, D), -128)
    kn = torch.full((1, L, D), 127)
    kn[0, 2 * B:3 * B] = -128
    inp = _inputs(cfg, qn, kn, vv, big, mid)
    jobs += build_jobs(inp, _tril(1, 5), [(0, 4), (0, 1)])
    # a row whose max rises at every block (O and l rescaled at every merge)
    L8 = 8 * B
    qr = torch.full((1, L8, D), 64)
    kr = torch.arange(L8).div(B, rounding_mode="floor").mul(12).sub(48).clamp(-128, 127)
    kr = kr[None, :, None].expand(1, L8, D).clone()
    vr = torch.randint(-128, 128, (1, L8, D), generator=g)
    inp = _inputs(cfg, qr, kr, vr, mid, (50000, -20))
    jobs += build_jobs(inp, _tril(1, 8), [(0, 7)])
    # a single key: L = 1 (one query, one key)
    inp = _inputs(cfg, qv[:, :1], kv[:, :1], vv[:, :1], mid, mid)
    jobs += build_jobs(inp, _tril(1, 1), [(0, 0)])
    # partial last block (nk = 3): garbage K/V past L must not matter
    Lp = 4 * B + 3
    inp = _inputs(cfg, qv[:, :Lp], kv[:, :Lp], vv[:, :Lp], mid, mid)
    jobs += build_jobs(inp, _tril(1, 5), [(0, 4), (0, 3)], garbage_seed=3)
    return jobs


def random_jobs(cfg, count=6, seed=11) -> list[dict]:
    B, D = cfg.block, cfg.head_dim
    g = torch.Generator().manual_seed(seed)
    H, Hkv, L = 4, 2, 7 * B + 5
    qv = torch.randint(-128, 128, (H, L, D), generator=g)
    kv = torch.randint(-128, 128, (Hkv, L, D), generator=g)
    vv = torch.randint(-128, 128, (Hkv, L, D), generator=g)
    nb = num_blocks(L, B)
    qm = torch.randint(1 << 15, 1 << 16, (H, nb), generator=g)
    qe = torch.randint(-30, -18, (H, nb), generator=g)
    km = torch.randint(1 << 15, 1 << 16, (Hkv, nb), generator=g)
    ke = torch.randint(-24, -14, (Hkv, nb), generator=g)
    inp = FixedAttentionInputs(q=QuantTensor(qv.to(torch.int8), qm, qe, B),
                               k=QuantTensor(kv.to(torch.int8), km, ke, B), v=vv.to(torch.int8),
                               v_scale=torch.ones(Hkv, D, dtype=torch.float64), cfg=cfg)
    mask = _tril(H, nb, p=0.5, seed=seed)
    return build_jobs(inp, mask, pick_rows(mask, count, seed=seed), garbage_seed=seed)


def real_jobs(cfg, per_layer=5) -> list[dict]:
    jobs = []
    for layer in REAL_LAYERS:
        inp, mask = real_inputs(cfg, layer, 2048)
        nb = mask.shape[1]
        heads = sink_heavy_heads(inp, mask, top=2)
        rows = [(heads[0], nb - 1), (heads[1], nb - 2), (heads[0], 1)]
        rows += pick_rows(mask, per_layer - len(rows), seed=layer, min_row=nb // 2)
        jobs += build_jobs(inp, mask, rows)
    return jobs


def _run(cfg, jobs, tag, **env):
    path = save_inputs("attn_engine", cfg, f"jobs-{tag}.pt", jobs)
    run("attn_engine", cfg, "tb.test_attention", tag=tag,
        extra_env={"ATTN_JOBS": str(path), **{k: str(v) for k, v in env.items()}})


def test_engine_ci(have_smollm2):
    """ci preset: real SmolLM2 rows, adversarial and random rows; idle + backpressure; reset."""
    jobs = real_jobs(CI) + adversarial_jobs(CI) + random_jobs(CI)
    _run(CI, jobs, "ci")


@pytest.mark.slow
@pytest.mark.parametrize("name,cfg", [
    ("b8-p8", preset("ci", block=8, mpu_rows=8, lut_rows=3, p_bits=8, exp_lut_bits=8)),
    ("ci-e0", preset("ci", acc_frac_bits=0, score_frac_bits=4, exp_lut_bits=6)),
])
def test_engine_variants(name, cfg):
    """Other widths (block 8 where the pipeline is longer than a tile, p_bits 8, E = 0)."""
    _run(cfg, adversarial_jobs(cfg) + random_jobs(cfg, count=8), name, ATTN_IDLE=0.3, ATTN_BP=0.5)


# ---- host-side checks (no simulator) -----------------------------------------

def test_jobs_match_golden_and_cover_the_corners():
    """The adversarial jobs really hit the corners they claim (so the bench can fail there)."""
    jobs = adversarial_jobs(CI)
    lo, hi = -(1 << (CI.logit_bits - 1)), (1 << (CI.logit_bits - 1)) - 1
    mts = torch.cat([t["m_t"] for j in jobs for t in j["tiles"]])
    assert int(mts.max()) >= (hi >> CI.score_frac_bits)          # saturated large logits
    assert int(mts.min()) <= (lo >> CI.score_frac_bits) + 1      # most negative logits
    assert any(j["nq"] == 1 and len(j["tiles"]) == 1 and j["tiles"][0]["nk"] == 1 for j in jobs)
    assert any(t["nk"] == 3 for j in jobs for t in j["tiles"])
    rising = [j for j in jobs if len(j["tiles"]) == 8][0]
    maxes = [int(t["m_t"][0]) for t in rising["tiles"]]
    assert all(b > a for a, b in zip(maxes, maxes[1:])), maxes
    flat = jobs[2]
    assert all(bool((t["P"][t["P"] > 0] == t["P"].max()).all()) for t in flat["tiles"][:-1])


def test_build_jobs_rejects_wide_exponents():
    B, D = CI.block, CI.head_dim
    z = torch.zeros(1, B, D, dtype=torch.int64)
    inp = _inputs(CI, z, z, z, (40000, -200), (40000, -20))
    with pytest.raises(ValueError, match="exponent -200"):
        build_jobs(inp, _tril(1, 1), [(0, 0)])


def test_widths_and_errors():
    w = widths(CI)
    assert w["TW"] == CI.tile_o_bits and w["SW"] == CI.score_bits
    with pytest.raises(ConfigError, match="cfg"):
        widths("ci")
    # the reference the bench uses agrees with itself on the final state
    inp = _inputs(CI, *(torch.randint(-128, 128, (1, 2 * CI.block, CI.head_dim),
                                      generator=torch.Generator().manual_seed(1)) for _ in range(3)),
                  (40000, -22), (40000, -22))
    ref = fixed_attention_tile_reference(inp, _tril(1, 2), 0, 1)
    assert torch.equal(ref["tiles"][-1]["O"], ref["O"])
