"""Pooled per-row estimate (hdl/index/pool.py) bench runner: builds the unit and runs
tb/test_sig_pool.py on cases prepared here (HBM images + golden pooled_row_mask_fixed).

Cases: real SmolLM2 Q/K (ci preset, 512 tokens, several layers and KV groups), random tensors,
edge cases (L not a multiple of B, L < 2B, L < B, ties: repeated key and query blocks, uniform
keys, g < max, row_gamma 1 and the smallest code, rows out of order) and bad programming (L = 0,
L too big, g, unaligned address, row_gamma code 0 / over 2**16), which must end with an error
status, and a row request past nb, which must be refused (pr_err with pr_done), never a hang.
"""

from __future__ import annotations

import torch

from hdl.config import preset
from hdl.index.params import ERR_ALIGN, ERR_GROUP, ERR_L_BIG, ERR_L_ZERO, ERR_SEL
from tb.benchmarks.sig import K_ADDR, make_pool_case, quant, random_qk, real_qk
from tb.kit.runner import run, save_inputs

CFG = preset("ci")


def _run(tag: str, cases: list[dict], env: dict | None = None, cfg=CFG):
    path = save_inputs("sig_pool", cfg, f"cases-{tag}.pt", {"cases": cases})
    return run("sig_pool", cfg, "tb.test_sig_pool", extra_env={"POOL_CASES": str(path), **(env or {})}, tag=tag)


def edge_cases() -> list[dict]:
    D = CFG.head_dim
    gen = torch.Generator().manual_seed(3)
    out = [make_pool_case("rand-L77-g0.7", *random_qk(77, 1, scale=4.0), row_gamma=0.7),
           make_pool_case("rand-L77", *random_qk(77, 1, scale=2.0)),
           make_pool_case("rand-L20-lt2B", *random_qk(20, 2, scale=3.0)),
           make_pool_case("rand-L5-ltB", *random_qk(5, 3)),
           make_pool_case("rand-L48-g2", *random_qk(48, 4), g=2),
           make_pool_case("rand-L130-gamma1", *random_qk(130, 5, scale=2.0), row_gamma=1.0),
           make_pool_case("rand-L100-code1", *random_qk(100, 6), row_gamma=1.0 / 65536),
           make_pool_case("rand-L160-order", *random_qk(160, 7, scale=4.0), row_gamma=0.8,
                          rows=[9, 0, 3, 3, 7, 1])]
    # ties: repeated key blocks and repeated query blocks give equal pooled logits
    kb = torch.randn(1, 16, D, generator=gen)
    qb = torch.randn(3, 16, D, generator=gen)
    out.append(make_pool_case("ties", *quant(qb.repeat(1, 6, 1), kb.repeat(1, 6, 1)), row_gamma=0.5))
    # two distinct key blocks alternating (A B A B ...): ties inside each half of a row
    kab = torch.cat([torch.randn(1, 16, D, generator=gen), torch.randn(1, 16, D, generator=gen) * 2], 1)
    out.append(make_pool_case("ties-ab", *quant(torch.randn(3, 128, D, generator=gen) * 3, kab.repeat(1, 4, 1)),
                              row_gamma=0.6))
    # uniform keys: every pooled logit of a row equal (all p equal: coverage by count only)
    out.append(make_pool_case("uniform", *quant(torch.randn(3, 90, D, generator=gen), torch.ones(1, 90, D)),
                              row_gamma=0.5))
    return out


def bad_cases() -> list[dict]:
    base = make_pool_case("good-after-bad", *random_qk(40, 8))
    bad = []
    for name, change, err in (("L0", {"L": 0}, ERR_L_ZERO),
                              ("Lbig", {"L": CFG.max_seq_len + 16}, ERR_L_BIG),
                              ("g0", {"g": 0}, ERR_GROUP),
                              ("g4", {"g": CFG.max_group + 1}, ERR_GROUP),
                              ("unaligned", {"q_addr": base["q_addr"] + 8}, ERR_ALIGN),
                              ("code0", {"pr_code": 0}, ERR_SEL),
                              ("code-over", {"pr_code": (1 << 16) + 1}, ERR_SEL)):
        c = {k: v for k, v in base.items() if k != "mask"}
        c.update(change, name=f"bad-{name}", err=err, qcodes=[], kcodes=[], mem=[], max_cycles=100)
        bad.append(c)
    assert base["k_addr"] == K_ADDR
    return bad + [base]


def test_sig_pool_edge_and_bad():
    """Random, edge (partial blocks, L < 2B, L < B, g < max, ties, uniform, gamma 1, the
    smallest code, rows out of order and repeated) and bad-programming cases; HBM latency 30,
    20% backpressure; every row read back while the next one runs, bit-exact."""
    _run("edge", bad_cases() + edge_cases())


def test_sig_pool_real_smollm2():
    """Real SmolLM2 Q/K, ci preset, 512 tokens (nb = 32, every row): layers 3, 12 and 25, one KV
    group each, at the preset's row_gamma, and layer 12 again at row_gamma 0.8 (fewer blocks
    kept, so the order matters more); latency 30, backpressure 10%."""
    cases = [make_pool_case(f"L{layer}-kv{kv}-512", *real_qk(layer, 512), kv=kv)
             for layer, kv in ((3, 0), (12, 1), (25, 2))]
    cases.append(make_pool_case("L12-kv0-512-g0.8", *real_qk(12, 512), kv=0, row_gamma=0.8))
    _run("real", cases, {"SIG_AXI_BP": "0.1"})
