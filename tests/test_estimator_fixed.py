"""Fixed-point index estimator (golden.estimator_fixed): self-consistency, bounds, float agreement
on real SmolLM2 tensors, no overflow at L = 131072, bad inputs."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import golden.estimator_fixed as ef
from golden.estimator_fixed import (EstimatorParams, EstimatorWidths, RowStats, WidthError, estimate_pattern_fixed,
                                    gamma_code, pass1_row_stats, pass2_scores, pooled_row_mask_fixed,
                                    quantize_estimator_inputs, select_fixed, select_topk_fixed)
from golden.fixedpoint import ceil_int
from golden.pattern import build_pattern, vertical_slash_scores
from golden.quant import QuantTensor
from hdl.config import ConfigError, SparsityConfig, num_blocks, preset

CI = preset("ci")            # B = 16, D = 16, g <= 3, L <= 2048
P = EstimatorParams()
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def rand_inputs(seed, H=6, Hkv=2, L=200, D=16, B=16, temp=2.0):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(H, L, D, generator=gen) * temp
    k = torch.randn(Hkv, L, D, generator=gen)
    return q, k, quantize_estimator_inputs(q, k, B)


# ---------------------------------------------------------------- pass 1 / pass 2 consistency
@SETTINGS
@given(st.integers(0, 10_000), st.integers(1, 300), st.sampled_from([0.0, 1.0, 4.0, 12.0]))
def test_pass_consistency_bounds(seed, L, temp):
    """The rounding bounds derived in docs/pattern.md, on random tensors."""
    q, k, (qq, kq) = rand_inputs(seed, L=L, temp=temp)
    B = CI.block
    nb = num_blocks(L, B)
    stats = pass1_row_stats(qq, kq, CI)
    v, d, rows = pass2_scores(qq, kq, CI, stats, return_rows=True)
    # v and d partition the same normalised mass: exact
    assert torch.equal(v.sum(1), d.sum(1))
    assert torch.equal(v.sum(1), rows["norm_sum"].sum(1))
    # the online max equals the plain max of all logits (independent, non-online computation)
    x, valid = ef._tile_logits(qq, kq, CI, P, EstimatorWidths.derive(CI, P), 0, nb)
    m_ref = ceil_int(torch.where(valid, x, -(1 << 40)).flatten(2).amax(-1), P.frac_bits)
    assert torch.equal(stats.m, m_ref)
    # l and the pass-2 sum l2 differ by rounding only: at most one unit per key and two per tile
    keys = valid[0].flatten(1).sum(-1)                                    # [Bq]
    assert ((rows["p_sum"] - stats.l).abs() <= keys + 2 * nb).all()
    # each row's normalised mass is 2**PB * l2 / l up to nb half-units and the reciprocal's floor
    expect = (rows["p_sum"].double() * 2 ** P.prob_bits) / stats.l.double()
    assert ((rows["norm_sum"].double() - expect).abs() <= nb + 2).all()
    assert (stats.l >= 1 << (P.exp_bits - 1)).all()


def test_chunking_does_not_change_results(monkeypatch):
    q, k, (qq, kq) = rand_inputs(4, L=333)
    s1 = pass1_row_stats(qq, kq, CI)
    r1 = pass2_scores(qq, kq, CI, s1)
    monkeypatch.setattr(ef, "CHUNK_TILES", 1)
    s2 = pass1_row_stats(qq, kq, CI)
    r2 = pass2_scores(qq, kq, CI, s2)
    assert torch.equal(s1.m, s2.m) and torch.equal(s1.l, s2.l)
    assert torch.equal(r1[0], r2[0]) and torch.equal(r1[1], r2[1])


def test_slash_split_on_diagonal_of_each_tile():
    # one key block carries all the mass: its tile feeds exactly offsets nb-1-c and nb-2-c
    B, L, D = 16, 100, 16
    nb = num_blocks(L, B)
    for c in range(nb):
        k = torch.zeros(1, L, D)
        k[0, c * B:(c + 1) * B] = 3.0
        q = torch.ones(1, L, D) * 3.0
        qq, kq = quantize_estimator_inputs(q, k, B)
        v, d = pass2_scores(qq, kq, CI, pass1_row_stats(qq, kq, CI))
        assert set(torch.nonzero(d[0]).flatten().tolist()) <= {nb - 1 - c, nb - 2 - c}
        assert int(v[0, c]) > 0.99 * int(v[0].sum())


# ---------------------------------------------------------------- selection
@SETTINGS
@given(st.lists(st.integers(0, 1 << 22), min_size=1, max_size=40), st.integers(1, 1 << 16),
       st.integers(1, 4), st.sampled_from([0, 4, 9]))
def test_select_fixed_rule(scores, code, min_b, max_b):
    if max_b and max_b < min_b:
        max_b = min_b
    s = torch.tensor(scores)
    sel = select_fixed(s, code, min_b, max_b)
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    total = sum(scores)
    count = next(n for n in range(1, len(scores) + 1)
                 if sum(scores[i] for i in order[:n]) * 2**16 >= code * total)
    count = max(count, min_b)
    count = min(count, max_b) if max_b else count
    assert sel == sorted(order[:min(count, len(scores))])
    if not max_b:
        assert sum(scores[i] for i in sel) * 2**16 >= code * total


def test_select_fixed_ties_and_full_code():
    assert select_fixed(torch.tensor([5, 5, 5, 5]), gamma_code(0.5)) == [0, 1]
    assert select_fixed(torch.tensor([1, 0, 0, 7]), 1 << 16) == [0, 3]
    assert select_fixed(torch.zeros(5, dtype=torch.long), 1 << 16) == [0]
    assert select_topk_fixed(torch.tensor([3, 9, 9, 3]), 1) == [1]
    assert gamma_code(1.0) == 1 << 16 and gamma_code(1e-9) == 1


def test_pooled_row_mask_matches_float_structure():
    q, k, (qq, kq) = rand_inputs(11, L=160, temp=3.0)
    m = pooled_row_mask_fixed(qq, kq, CI, gamma_code(0.8))
    nb = m.shape[-1]
    r = torch.arange(nb)
    assert not (m & ~torch.ones(nb, nb, dtype=torch.bool).tril()).any()
    assert m.any(-1).all()
    full = pooled_row_mask_fixed(qq, kq, CI, 1 << 16)
    assert full[:, r, 0].all()


# ---------------------------------------------------------------- real SmolLM2 tensors
def _near_tie(scores, sel_float, x, gamma, tol):
    """x is a near-tie of the float selection: its score is within tol of the float threshold
    score, or the float coverage reached just before or after it lies within tol of gamma."""
    s = scores.double()
    total = float(s.sum())
    order = sorted(range(len(s)), key=lambda i: (-float(s[i]), i))
    thr = float(s[sel_float].min())
    pos = order.index(x)
    before = float(s[order[:pos]].sum()) / total
    after = float(s[order[:pos + 1]].sum()) / total
    return (abs(float(s[x]) - thr) <= tol * total or abs(before - gamma) <= tol
            or abs(after - gamma) <= tol)


@pytest.mark.parametrize("layer", [0, 3, 20])
def test_agrees_with_float_on_smollm2(layer):
    smollm2 = pytest.importorskip("golden.smollm2")
    cap = smollm2.load_qkv(layer, 1024)
    cfg = preset("smollm2")
    sp = SparsityConfig(gamma=0.9, row_gamma=0.95, local_window=2)
    pf = build_pattern(cap.q, cap.k, cfg.block, sp)
    qq, kq = quantize_estimator_inputs(cap.q, cap.k, cfg.block)
    px = estimate_pattern_fixed(qq, kq, cfg, sp)
    nb = pf.num_blocks
    causal = torch.ones(nb, nb, dtype=torch.bool).tril()
    agree = float(((pf.mask == px.mask) & causal).sum()) / (float(causal.sum()) * pf.mask.shape[0])
    assert agree >= 0.97, f"tile agreement {agree:.4f}"
    # scores: fixed v/d over 2**PB per row against the float scores (mass of B rows)
    v, d = vertical_slash_scores(cap.q[:, (nb - 1) * cfg.block:], cap.k, cfg.block)
    vi, di = pass2_scores(qq, kq, cfg, pass1_row_stats(qq, kq, cfg))
    assert float((vi / 2**P.prob_bits - v).abs().max()) <= 0.02 * cfg.block
    assert float((di / 2**P.prob_bits - d).abs().max()) <= 0.02 * cfg.block
    # every set difference is a documented near-tie of the float selection
    for h in range(pf.mask.shape[0]):
        for sel_f, sel_x, sc, forced in ((pf.vertical[h], px.vertical[h], v[h], {0}),
                                         (pf.slash[h], px.slash[h], d[h], {0, 1})):
            core = [c for c in sel_f if c not in forced] or sel_f
            for x in set(sel_f) ^ set(sel_x):
                assert _near_tie(sc, core, x, sp.gamma, 0.02), f"head {h}: {x} is no near-tie"


# ---------------------------------------------------------------- widths and overflow
def test_widths_at_131072_fit_int64_and_hardware():
    w = EstimatorWidths.derive(preset("u280"), P)
    assert w.score == 22 and w.row_sum == 33
    assert max(vars(w).values()) <= 48


def _const_quant(H, L, D, B, value, mant, exp):
    nb = num_blocks(L, B)
    return QuantTensor(values=torch.full((H, L, D), value, dtype=torch.int8),
                       scale_mant=torch.full((H, nb), mant, dtype=torch.long),
                       scale_exp=torch.full((H, nb), exp, dtype=torch.long), block=B)


def test_no_overflow_at_131072_worst_case():
    """At the u280 preset's maximum length, through the model's own width checks:
    K = 0 makes every logit 0 (uniform attention: every exponential is the table's top entry
    2**E - 1 and every shift 0, so the row sum l reaches its maximum, count * (2**E - 1));
    K = Q = +127 gives the largest dot products."""
    cfg = preset("u280")
    L, D, B = cfg.max_seq_len, cfg.head_dim, cfg.block
    emax = (1 << P.exp_bits) - 1
    qq = _const_quant(1, L, D, B, 127, 1 << 15, -20)
    kq = _const_quant(1, L, D, B, 0, 1 << 15, -20)
    stats = pass1_row_stats(qq, kq, cfg)
    keys = torch.arange(L - B, L) + 1                       # causal key count of each Q_last row
    assert torch.equal(stats.l[0], keys * emax)
    assert int(stats.l.max()) == L * emax
    assert (L * emax).bit_length() <= EstimatorWidths.derive(cfg, P).row_sum
    v, d, rows = pass2_scores(qq, kq, cfg, stats, return_rows=True)
    assert torch.equal(v.sum(1), d.sum(1))
    assert torch.equal(rows["p_sum"], stats.l)


@pytest.mark.slow
def test_no_overflow_at_131072_largest_scores():
    cfg = preset("u280")
    L, D, B = cfg.max_seq_len, cfg.head_dim, cfg.block
    qq = _const_quant(1, L, D, B, 127, 1 << 15, -20)
    kq = _const_quant(1, L, D, B, 127, (1 << 16) - 1, -20)
    pat = estimate_pattern_fixed(qq, kq, cfg, SparsityConfig(gamma=0.9, row_gamma=0.9))
    assert pat.mask.shape == (1, L // B, L // B)


def test_large_logits_saturate_not_wrap():
    cfg = preset("u280", max_seq_len=4096)
    L, D, B = 4096, cfg.head_dim, cfg.block
    qq = _const_quant(1, L, D, B, 127, (1 << 16) - 1, 0)            # logits far beyond the register
    kv = torch.full((1, L, D), -127, dtype=torch.int8)
    kv[0, ::3] = 127
    kq = QuantTensor(values=kv, scale_mant=qq.scale_mant.clone(), scale_exp=qq.scale_exp.clone(), block=B)
    stats = pass1_row_stats(qq, kq, cfg)
    v, d = pass2_scores(qq, kq, cfg, stats)
    assert torch.equal(v.sum(1), d.sum(1)) and int(v.sum()) > 0


def test_declared_widths_are_enforced(monkeypatch):
    q, k, (qq, kq) = rand_inputs(2, L=128)
    real = EstimatorWidths.derive

    def narrow(cfg, p):
        return real(cfg, p).__class__(**{**vars(real(cfg, p)), "row_sum": 10})

    monkeypatch.setattr(EstimatorWidths, "derive", staticmethod(narrow))
    with pytest.raises(WidthError, match="row_sum"):
        pass1_row_stats(qq, kq, CI)


# ---------------------------------------------------------------- bad inputs
def test_bad_inputs_raise_clear_errors():
    q, k, (qq, kq) = rand_inputs(1, L=64)
    sp = SparsityConfig()
    _, _, (qq3, _) = rand_inputs(1, H=3, L=64)
    with pytest.raises(ConfigError, match="not a multiple"):
        estimate_pattern_fixed(qq3, kq, CI, sp)
    _, kq_short = quantize_estimator_inputs(q[:, :48], k[:, :48], 16)
    with pytest.raises(ValueError, match="shape mismatch"):
        estimate_pattern_fixed(qq, kq_short, CI, sp)
    empty = QuantTensor(values=torch.zeros(6, 0, 16, dtype=torch.int8), scale_mant=torch.zeros(6, 0, dtype=torch.long),
                        scale_exp=torch.zeros(6, 0, dtype=torch.long), block=16)
    with pytest.raises(ValueError, match="L = 0"):
        estimate_pattern_fixed(empty, kq, CI, sp)
    with pytest.raises(ConfigError, match="max_seq_len"):
        estimate_pattern_fixed(qq, kq, preset("ci", max_seq_len=32), sp)
    with pytest.raises(ConfigError, match="head_dim"):
        estimate_pattern_fixed(qq, kq, preset("smollm2"), sp)
    with pytest.raises(ConfigError, match="max_group"):
        estimate_pattern_fixed(qq, kq, preset("ci", max_group=2), sp)
    for bad in (0.0, 1.01, -1.0):
        with pytest.raises(ValueError, match="gamma"):
            gamma_code(bad)
    with pytest.raises(ValueError, match="gamma code"):
        select_fixed(torch.tensor([1, 2]), 0)
    with pytest.raises(ValueError, match="positive"):
        pass2_scores(qq, kq, CI, RowStats(m=torch.zeros(6, 16, dtype=torch.long),
                                          l=torch.zeros(6, 16, dtype=torch.long)))
