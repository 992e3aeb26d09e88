"""Sparse Index Generator (scorer layer) bench runner: builds hdl/sig.py for the ci preset and
runs tb/test_sig.py on cases prepared here (HBM images + golden.estimator_fixed results).

Cases: real SmolLM2 Q/K (quantised as the attention engine does it), random tensors, edge cases
(L not a multiple of B, L < 2B, L < B, all mass on the sink, uniform scores, tied keys, g < max)
and bad programming (L = 0, L over the index memory, g = 0 / g > max_group, unaligned address),
which must end with an error status and no AXI traffic hang.
"""

from __future__ import annotations

import pytest
import torch

from hdl.config import preset
from hdl.sig_params import ERR_ALIGN, ERR_GROUP, ERR_L_BIG, ERR_L_ZERO, sig_widths
from tb.benchmarks.sig import K_ADDR, make_case, quant, real_qk
from tb.kit.runner import build_dir_for, run

CFG = preset("ci")


def rand_qk(L: int, seed: int, g: int = 3, scale: float = 1.0) -> tuple[QuantTensor, QuantTensor]:
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(g, L, CFG.head_dim, generator=gen) * scale
    k = torch.randn(1, L, CFG.head_dim, generator=gen) * scale
    return quant(q, k)


def edge_cases() -> list[dict]:
    D = CFG.head_dim
    out = [make_case("rand-L77", *rand_qk(77, 1, scale=2.0)),
           make_case("rand-L20-lt2B", *rand_qk(20, 2, scale=3.0)),
           make_case("rand-L5-ltB", *rand_qk(5, 3)),
           make_case("rand-L48-g2", *rand_qk(48, 4), g=2)]
    gen = torch.Generator().manual_seed(9)
    # all mass on the sink: key 0 aligned with every query, the rest orthogonal-ish and small
    L = 64
    q = torch.randn(3, L, D, generator=gen).abs() + 1.0
    k = torch.randn(1, L, D, generator=gen) * 0.01
    k[0, 0] = 8.0
    out.append(make_case("sink", *quant(q, k)))
    # uniform: all keys equal -> every logit of a row equal
    k = torch.ones(1, 50, D)
    out.append(make_case("uniform", *quant(torch.randn(3, 50, D, generator=gen), k)))
    # ties: repeated key blocks
    kb = torch.randn(1, 16, D, generator=gen)
    out.append(make_case("ties", *quant(torch.randn(3, 64, D, generator=gen), kb.repeat(1, 4, 1))))
    return out


def bad_cases() -> list[dict]:
    qq, kq = rand_qk(40, 7)
    base = make_case("good-after-bad", qq, kq)
    bad = []
    for name, change, err in (("L0", {"L": 0}, ERR_L_ZERO),
                              ("Lbig", {"L": CFG.max_seq_len + 16}, ERR_L_BIG),
                              ("g0", {"g": 0}, ERR_GROUP),
                              ("g4", {"g": CFG.max_group + 1}, ERR_GROUP),
                              ("unaligned", {"k_addr": K_ADDR + 8}, ERR_ALIGN)):
        c = {k: v for k, v in base.items() if k not in ("m", "l", "v", "d")}
        c.update(change, name=f"bad-{name}", err=err, qcodes=[], kcodes=[], mem=[], max_cycles=100)
        bad.append(c)
    return bad + [base]


def _run(tag: str, cases: list[dict], env: dict | None = None):
    bdir = build_dir_for("sig", CFG)
    bdir.mkdir(parents=True, exist_ok=True)
    path = bdir / f"cases-{tag}.pt"
    torch.save({"cases": cases}, path)
    return run("sig", CFG, "tb.test_sig", extra_env={"SIG_CASES": str(path), **(env or {})}, tag=tag)


def test_sig_edge_and_bad():
    """Random, edge and bad-programming cases, HBM latency 30 and 20% backpressure."""
    _run("edge", bad_cases() + edge_cases())


def test_sig_real_smollm2():
    """Real SmolLM2 Q/K at 1024 tokens: layer 3 (sink-heavy heads) and layer 20, one KV group
    each, plus a 2048-token group of layer 0; latency 30, backpressure 10%."""
    cases = [make_case("L3-kv0-1024", *real_qk(3, 1024), kv=0),
             make_case("L20-kv2-1024", *real_qk(20, 1024), kv=2),
             make_case("L0-kv1-2048", *real_qk(0, 2048), kv=1)]
    _run("real", cases, {"SIG_AXI_BP": "0.1"})


@pytest.mark.slow
def test_sig_real_more_layers():
    cases = [make_case(f"L{layer}-kv{kv}-2048", *real_qk(layer, 2048), kv=kv)
             for layer, kv in ((10, 0), (18, 1), (29, 2))]
    _run("real-slow", cases)


def test_widths_reject_wide_rows():
    from hdl.config import ConfigError
    with pytest.raises(ConfigError, match="head_dim"):
        sig_widths(preset("ci", head_dim=64, axi_data_bits=256))
