"""Sparse Index Generator (scorer layer) bench runner: builds hdl/index/sig.py for the ci preset and
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
from hdl.index.params import ERR_ALIGN, ERR_GROUP, ERR_L_BIG, ERR_L_ZERO, ERR_SEL, sig_widths
from tb.benchmarks.sig import K_ADDR, cfg_d64, make_case, quant, random_qk, real_qk
from tb.kit.runner import run, save_inputs

CFG = preset("ci")


def edge_cases() -> list[dict]:
    D = CFG.head_dim
    out = [make_case("rand-L77", *random_qk(77, 1, scale=2.0)),
           make_case("rand-L20-lt2B", *random_qk(20, 2, scale=3.0)),
           make_case("rand-L5-ltB", *random_qk(5, 3)),
           make_case("rand-L48-g2", *random_qk(48, 4), g=2)]
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


def selection_cases() -> list[dict]:
    """The selection settings on tensors whose scores tie, sit on the sink or spread evenly:
    budgets, gamma = 1, the smallest gamma code, top-k (below and above nb), local windows
    wider than nb.  Every case checks the sets against golden.estimator_fixed."""
    D = CFG.head_dim
    sp = CFG.sparsity
    gen = torch.Generator().manual_seed(21)
    rnd = random_qk(150, 11, scale=2.0)
    uni = quant(torch.randn(3, 50, D, generator=gen), torch.ones(1, 50, D))
    kb = torch.randn(1, 16, D, generator=gen)
    ties = quant(torch.randn(3, 96, D, generator=gen), kb.repeat(1, 6, 1))
    q = torch.randn(3, 80, D, generator=gen).abs() + 1.0
    k = torch.randn(1, 80, D, generator=gen) * 0.01
    k[0, 0] = 8.0
    sink = quant(q, k)
    # two equal strong key blocks far apart (2 and 5) on a weak background: tied scores that the
    # forced entries do not cover
    kd = torch.randn(1, 112, D, generator=gen) * 0.05
    strong = torch.randn(1, 16, D, generator=gen)
    kd[:, 32:48] = strong
    kd[:, 80:96] = strong
    qd = strong[0, :1].repeat(3, 112, 1) + torch.randn(3, 112, D, generator=gen) * 0.05
    dist = quant(qd, kd)
    return [
        make_case("sel-budgets", *rnd, sp=sp.replace(gamma=0.9, min_budget=3, max_budget=5)),
        make_case("sel-min-over-nb", *rnd, sp=sp.replace(gamma=0.5, min_budget=40, max_budget=0)),
        make_case("sel-gamma1", *rnd, sp=sp.replace(gamma=1.0, local_window=1)),
        make_case("sel-code1", *ties, sp=sp.replace(gamma=1.0 / 65536, local_window=2)),
        make_case("sel-topk", *rnd, sp=sp.replace(mode="topk", topk_vertical=3, topk_slash=5)),
        make_case("sel-topk-ties", *ties, sp=sp.replace(mode="topk", topk_vertical=2, topk_slash=3,
                                                       local_window=1)),
        make_case("sel-far-ties-topk", *dist, sp=sp.replace(mode="topk", topk_vertical=1, topk_slash=1,
                                                           local_window=1)),
        make_case("sel-far-ties-cov", *dist, sp=sp.replace(gamma=0.3, local_window=1)),
        make_case("sel-topk-over-nb", *uni, sp=sp.replace(mode="topk", topk_vertical=9, topk_slash=1,
                                                           local_window=7)),
        make_case("sel-uniform-cov", *uni, sp=sp.replace(gamma=0.7, local_window=9)),
        make_case("sel-ties-cov", *ties, sp=sp.replace(gamma=0.6, max_budget=4, local_window=1)),
        make_case("sel-sink", *sink, sp=sp.replace(gamma=0.5)),
        make_case("sel-sink-max1", *sink, sp=sp.replace(gamma=0.99, max_budget=1)),
    ]


def bad_cases() -> list[dict]:
    qq, kq = random_qk(40, 7)
    base = make_case("good-after-bad", qq, kq)
    bad = []
    for name, change, err in (("L0", {"L": 0}, ERR_L_ZERO),
                              ("Lbig", {"L": CFG.max_seq_len + 16}, ERR_L_BIG),
                              ("g0", {"g": 0}, ERR_GROUP),
                              ("g4", {"g": CFG.max_group + 1}, ERR_GROUP),
                              ("unaligned", {"k_addr": K_ADDR + 8}, ERR_ALIGN),
                              ("code0", {"sel_code": 0}, ERR_SEL),
                              ("code-over", {"sel_code": (1 << 16) + 1}, ERR_SEL),
                              ("min0", {"sel_min": 0}, ERR_SEL),
                              ("max-below-min", {"sel_min": 4, "sel_max": 3}, ERR_SEL),
                              ("topk0", {"sel_mode": 1, "sel_topk_s": 0}, ERR_SEL),
                              ("win0", {"sel_win": 0}, ERR_SEL)):
        c = {k: v for k, v in base.items() if k not in ("m", "l", "v", "d", "vsets", "ssets")}
        c.update(change, name=f"bad-{name}", err=err, qcodes=[], kcodes=[], mem=[], max_cycles=100)
        bad.append(c)
    return bad + [base]


def _run(tag: str, cases: list[dict], env: dict | None = None, cfg=CFG):
    path = save_inputs("sig", cfg, f"cases-{tag}.pt", {"cases": cases})
    return run("sig", cfg, "tb.test_sig", extra_env={"SIG_CASES": str(path), **(env or {})}, tag=tag)


def test_sig_edge_and_bad():
    """Random, edge, selection-setting and bad-programming cases, HBM latency 30 and 20%
    backpressure: row stats, v, d and the selected sets bit-exact."""
    _run("edge", bad_cases() + edge_cases() + selection_cases())


def test_sig_real_smollm2():
    """Real SmolLM2 Q/K at 1024 tokens: layer 3 (sink-heavy heads, default coverage settings) and
    layer 20 (top-k mode, 8 vertical / 12 slash), one KV group each, plus a 2048-token group of
    layer 0 (coverage 0.9, budgets 2..24); latency 30, backpressure 10%."""
    sp = CFG.sparsity
    cases = [make_case("L3-kv0-1024", *real_qk(3, 1024), kv=0),
             make_case("L20-kv2-1024", *real_qk(20, 1024), kv=2,
                       sp=sp.replace(mode="topk", topk_vertical=8, topk_slash=12)),
             make_case("L0-kv1-2048", *real_qk(0, 2048), kv=1,
                       sp=sp.replace(gamma=0.9, min_budget=2, max_budget=24))]
    _run("real", cases, {"SIG_AXI_BP": "0.1"})


@pytest.mark.slow
def test_sig_real_more_layers():
    """Three more SmolLM2 layers at 2048 tokens, each with other selection settings."""
    sp = CFG.sparsity
    cases = [make_case(f"L{layer}-kv{kv}-2048", *real_qk(layer, 2048), kv=kv, sp=s)
             for layer, kv, s in ((10, 0, sp.replace(mode="topk", topk_vertical=16, topk_slash=16)),
                                  (18, 1, sp.replace(gamma=0.99, local_window=2)),
                                  (29, 2, sp))]
    _run("real-slow", cases)


#: D = 64 (SmolLM2's head size) at the small block: a key row is 512 bits, two 256-bit beats
CFG64 = cfg_d64(256)


def _rand64(L: int, seed: int, g: int = 3, scale: float = 1.0):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(g, L, 64, generator=gen) * scale
    k = torch.randn(1, L, 64, generator=gen) * scale
    return quant(q, k, CFG64)


def test_sig_d64_multibeat_rows():
    """Key and Q_last rows of two AXI beats (B=16, D=64, 256-bit bus): real SmolLM2 layer 3 at
    1024 tokens (every one of the 64 channels), plus L not a multiple of B, L < 2B and g < max
    on random tensors; latency 30, backpressure 20%: row stats, v, d and the sets bit-exact."""
    cases = [make_case("d64-L3-kv0-1024", *real_qk(3, 1024, CFG64), cfg=CFG64, kv=0),
             make_case("d64-rand-L77", *_rand64(77, 1, scale=2.0), cfg=CFG64),
             make_case("d64-rand-L20", *_rand64(20, 2, scale=3.0), cfg=CFG64),
             make_case("d64-rand-L40-g2", *_rand64(40, 3), cfg=CFG64, g=2)]
    _run("d64", cases, cfg=CFG64)


@pytest.mark.slow
def test_sig_smollm2_preset():
    """The smollm2 preset (B=64, D=64, 3 heads per group): real SmolLM2 layer 3 and layer 20 at
    2048 tokens, and a random 200-token sequence (L not a multiple of B, nb = 4), bit-exact."""
    cfg = preset("smollm2")
    gen = torch.Generator().manual_seed(4)
    cases = [make_case("sm-L3-kv0-2048", *real_qk(3, 2048, cfg), cfg=cfg, kv=0),
             make_case("sm-L20-kv1-2048", *real_qk(20, 2048, cfg), cfg=cfg, kv=1),
             make_case("sm-rand-L200", *quant(torch.randn(3, 200, 64, generator=gen) * 2,
                                              torch.randn(1, 200, 64, generator=gen) * 2, cfg), cfg=cfg)]
    _run("smollm2", cases, {"SIG_AXI_BP": "0.1"}, cfg=cfg)


def test_widths_wide_rows():
    """Rows of several beats are assembled (beats per row), narrow rows packed (rows per beat)."""
    w = sig_widths(preset("smollm2", axi_data_bits=256))
    assert (w["RPB"], w["BPR"]) == (1, 2)
    w = sig_widths(preset("u280", axi_data_bits=256))
    assert (w["RPB"], w["BPR"]) == (1, 4)
    w = sig_widths(preset("u280"))
    assert (w["RPB"], w["BPR"]) == (1, 2)
    w = sig_widths(preset("ci"))
    assert (w["RPB"], w["BPR"]) == (2, 1)
    w = sig_widths(preset("smollm2", axi_data_bits=512))
    assert (w["RPB"], w["BPR"]) == (1, 1)


def _select_sim(cases: list[dict], cfg) -> list[list[int]]:
    """MyHDL simulation of hdl/index/select.py alone: per case insert the scores (v order: rising
    index, d order: falling), pulse go, wait for idle, read the index memory."""
    from myhdl import Signal, StopSimulation, always, block, delay, instance, intbv

    from hdl.index.select import sig_select
    w = sig_widths(cfg)
    outs: list[list[int]] = []

    def s(bits):
        return Signal(intbv(0)[bits:])
    clk, rst, clr, ins, go, idle = (Signal(bool(0)) for _ in range(6))
    ins_val, ins_idx, code = s(w["ACC"]), s(w["IW"]), s(32)
    minb, maxb, forced_n, nb, cnt = s(16), s(16), s(16), s(w["NBW"]), s(w["NBW"])
    rd_addr, rd_idx = s(w["IW"]), s(w["IW"])
    res = {}

    @block
    def bench(nf):
        dut = sig_select(clk, rst, clr, ins, ins_val, ins_idx, go, code, minb, maxb, forced_n, nb,
                         idle, cnt, rd_addr, rd_idx, new_first=nf, cfg=cfg)

        @always(delay(5))
        def clkgen():
            clk.next = not clk

        @instance
        def drive():
            for c in cases:
                if c["new_first"] != nf:
                    continue
                yield clk.negedge          # the readback below leaves the clock phase anywhere
                clr.next = 1
                yield clk.negedge
                clr.next = 0
                n = len(c["scores"])
                order = range(n) if nf == 0 else range(n - 1, -1, -1)
                for i in order:
                    ins.next, ins_val.next, ins_idx.next = 1, c["scores"][i], i
                    yield clk.negedge
                ins.next = 0
                code.next, minb.next, maxb.next = c["code"], c["minb"], c["maxb"]
                forced_n.next, nb.next = c["forced"], n
                go.next = 1
                yield clk.negedge
                go.next = 0
                for _ in range(4 * n + 10):
                    if idle:
                        break
                    yield clk.negedge
                assert idle, "sig_select: no idle"
                got = []
                for a in range(int(cnt)):
                    rd_addr.next = a
                    yield delay(1)
                    got.append(int(rd_idx))
                res[c["id"]] = got
            raise StopSimulation
        return dut, clkgen, drive

    for nf in (0, 1):
        b = bench(nf)
        b.run_sim(quiet=1)
        b.quit_sim()
    for c in cases:
        outs.append(res[c["id"]])
    return outs


def test_select_unit_random_ties():
    """hdl/index/select.py alone (MyHDL simulation, nb_max = 16) on 120 random score vectors with
    heavy ties (values from a 4-value alphabet, zeros, one huge entry), random gamma codes
    (incl. 1 and 2**16), budgets, top-k counts and forced windows, both tie orders (v / d):
    the set equals golden select_fixed / select_topk_fixed plus the forced entries."""
    from golden.estimator_fixed import select_fixed, select_topk_fixed
    cfg = preset("ci", max_seq_len=256)
    # the hardware's totals are bounded by the estimator's score_acc (a row's mass sums to ~2**PB)
    top = 1 << sig_widths(cfg)["ACC"]
    gen = torch.Generator().manual_seed(5)
    cases, want = [], []
    for i in range(120):
        n = int(torch.randint(1, 17, (1,), generator=gen))
        kind = i % 4
        if kind == 0:
            sc = torch.randint(0, 4, (n,), generator=gen) * 1000
        elif kind == 1:
            sc = torch.randint(0, top // 16, (n,), generator=gen)
        elif kind == 2:
            sc = torch.zeros(n, dtype=torch.int64)
            sc[int(torch.randint(0, n, (1,), generator=gen))] = top - 1
        else:
            sc = torch.full((n,), 7, dtype=torch.int64)
        codes = (1, 1 << 16, int(torch.randint(1, 1 << 16, (1,), generator=gen)))
        code = codes[int(torch.randint(0, 3, (1,), generator=gen))]
        topk = i % 3 == 0
        minb = int(torch.randint(1, 20, (1,), generator=gen))
        maxb = 0 if i % 2 else minb + int(torch.randint(0, 5, (1,), generator=gen))
        forced = int(torch.randint(1, 20, (1,), generator=gen)) if i % 5 else 1
        if topk:
            sel = select_topk_fixed(sc, minb)
            maxb = minb
        else:
            sel = select_fixed(sc, code, minb, maxb, 16)
        want.append(sorted(set(sel) | set(range(min(forced, n)))))
        cases.append({"id": i, "scores": sc.tolist(), "code": code, "minb": minb, "maxb": maxb,
                      "forced": forced, "new_first": i % 2})
    got = _select_sim(cases, cfg)
    for c, e, g in zip(cases, want, got):
        assert g == e, f"case {c}: expected {e}, got {g}"
