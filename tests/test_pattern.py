"""Float pattern model (golden.pattern): properties, independent references, edge cases, bad inputs."""

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golden.pattern import (block_token_mask, build_pattern, dense_pattern, pooled_row_mask, recall, row_stream,
                            select_coverage, select_topk, vertical_slash_scores)
from hdl.config import ConfigError, SparsityConfig, num_blocks

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- independent references
def ref_scores(q_last, k, block):
    """Explicit loops in float64: softmax per row, then v by key block, d by distance band."""
    H, Bq, D = q_last.shape
    Hkv, L, _ = k.shape
    g = H // Hkv
    nb = num_blocks(L, block)
    v = torch.zeros(H, nb, dtype=torch.float64)
    d = torch.zeros(H, nb, dtype=torch.float64)
    for h in range(H):
        for i in range(Bq):
            pos = L - Bq + i
            s = torch.tensor([float(q_last[h, i].double() @ k[h // g, j].double()) / math.sqrt(D)
                              for j in range(pos + 1)], dtype=torch.float64)
            p = torch.softmax(s, 0)
            for j in range(pos + 1):
                v[h, j // block] += p[j]
                d[h, (pos - j) // block] += p[j]
    return v, d


def ref_coverage(scores, gamma, min_budget, max_budget):
    """The documented rule, written from the spec: order (-score, index), fewest prefix >= gamma."""
    s = [float(x) for x in scores]
    order = sorted(range(len(s)), key=lambda i: (-s[i], i))
    total = sum(s)
    if gamma >= 1.0:
        count = max(1, sum(1 for x in s if x > 0))
    else:
        acc, count = 0.0, 0
        for i in order:
            acc += s[i]
            count += 1
            if acc >= gamma * total:
                break
    count = max(count, min_budget)
    if max_budget:
        count = min(count, max_budget)
    return sorted(order[:min(count, len(s))])


@st.composite
def qk_case(draw, max_len=160):
    Hkv = draw(st.integers(1, 2))
    g = draw(st.integers(1, 3))
    block = draw(st.sampled_from([4, 8, 16]))
    L = draw(st.integers(1, max_len))
    D = 8
    temp = draw(st.sampled_from([0.0, 0.5, 2.0, 6.0]))
    seed = draw(st.integers(0, 2**16))
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(Hkv * g, L, D, generator=gen) * temp
    k = torch.randn(Hkv, L, D, generator=gen)
    return q, k, block


@st.composite
def sparsity_case(draw):
    min_b = draw(st.integers(1, 3))
    max_b = draw(st.sampled_from([0, min_b, min_b + 2]))
    return SparsityConfig(mode=draw(st.sampled_from(["coverage", "topk"])),
                          gamma=draw(st.sampled_from([0.5, 0.8, 0.9, 0.95, 1.0])),
                          min_budget=min_b, max_budget=max_b,
                          topk_vertical=draw(st.integers(1, 4)), topk_slash=draw(st.integers(1, 4)),
                          row_gamma=draw(st.sampled_from([0.0, 0.5, 0.9])),
                          local_window=draw(st.integers(1, 3)))


def last_block(q, block: int) -> torch.Tensor:
    """Q_last: the queries of the last block of q [H, L, D] (the estimate's input)."""
    nb = num_blocks(q.shape[1], block)
    return q[:, (nb - 1) * block:]


# ---------------------------------------------------------------- scores
@SETTINGS
@given(qk_case(max_len=70))
def test_scores_match_explicit_reference(case):
    q, k, block = case
    q_last = last_block(q, block)
    v, d = vertical_slash_scores(q_last, k, block)
    rv, rd = ref_scores(q_last, k, block)
    torch.testing.assert_close(v, rv, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(d, rd, rtol=1e-9, atol=1e-9)


def test_aligned_tile_splits_mass_between_two_offsets():
    # every key of block c seen from Q_last lands in bands nb-1-c or nb-2-c only
    torch.manual_seed(1)
    B, L = 8, 45
    nb = num_blocks(L, B)
    for c in range(nb):
        k = torch.zeros(1, L, 4)
        k[0, c * B:(c + 1) * B] = 30.0        # all mass on key block c
        q = torch.ones(1, L, 4)
        v, d = vertical_slash_scores(q[:, (nb - 1) * B:], k, B)
        assert float(v[0, c]) == pytest.approx(L - (nb - 1) * B, rel=1e-6)
        nz = set(torch.nonzero(d[0] > 1e-9).flatten().tolist())
        assert nz <= {nb - 1 - c, nb - 2 - c}


# ---------------------------------------------------------------- selection
@SETTINGS
@given(st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=30),
       st.sampled_from([0.3, 0.5, 0.9, 0.99, 1.0]), st.integers(1, 4), st.sampled_from([0, 4, 8]))
def test_select_coverage_rule(scores, gamma, min_b, max_b):
    if max_b and max_b < min_b:
        max_b = min_b
    s = torch.tensor(scores, dtype=torch.float64)
    sel = select_coverage(s, gamma, min_b, max_b)
    assert sel == ref_coverage(scores, gamma, min_b, max_b)
    assert sel == sorted(set(sel))
    assert len(sel) >= min(min_b, len(scores))
    if max_b:
        assert len(sel) <= max_b
    else:
        assert float(s[sel].sum()) >= gamma * float(s.sum()) * (1 - 1e-12)


def test_select_ties_toward_lower_index():
    assert select_coverage(torch.ones(10), 0.5) == [0, 1, 2, 3, 4]
    assert select_topk(torch.tensor([1.0, 3.0, 3.0, 1.0]), 1) == [1]
    assert select_topk(torch.tensor([2.0, 1.0, 2.0, 2.0]), 2) == [0, 2]
    assert select_coverage(torch.tensor([0.0, 5.0, 5.0]), 0.4) == [1]


def test_full_coverage_keeps_every_nonzero_entry():
    s = torch.tensor([1.0, 1e-30, 0.0, 3.0])    # 1e-30 vanishes in a float cumsum
    assert select_coverage(s, 1.0) == [0, 1, 3]
    assert select_coverage(torch.zeros(4), 1.0) == [0]


@SETTINGS
@given(st.integers(1, 40), st.integers(1, 50))
def test_topk_counts(n, k):
    s = torch.rand(n, dtype=torch.float64)
    sel = select_topk(s, k)
    assert len(sel) == min(n, k)
    if k < n:
        assert float(s[sel].min()) >= float(s[[i for i in range(n) if i not in sel]].max())


# ---------------------------------------------------------------- pattern properties
@SETTINGS
@given(qk_case(), sparsity_case())
def test_pattern_properties(case, sp):
    q, k, block = case
    H, L, _ = q.shape
    nb = num_blocks(L, block)
    pat = build_pattern(q, k, block, sp)
    m = pat.mask
    assert m.shape == (H, nb, nb) and pat.seq_len == L and pat.block == block
    assert not (m & ~torch.ones(nb, nb, dtype=torch.bool).tril()).any(), "not causal"
    r = torch.arange(nb)
    assert m[:, r, 0].all() and m[:, r, r].all(), "sink or diagonal missing"
    for w in range(min(sp.local_window, nb)):
        assert m[:, r[w:], r[w:] - w].all(), f"local window offset {w} missing"
    v, d = vertical_slash_scores(last_block(q, block), k, block)
    for h in range(H):
        assert 0 in pat.vertical[h] and 0 in pat.slash[h]
        assert pat.vertical[h] == sorted(set(pat.vertical[h]))
        # the mask holds every vertical and slash tile
        for c in pat.vertical[h]:
            assert m[h, c:, c].all()
        for off in pat.slash[h]:
            assert m[h, r[off:], r[off:] - off].all()
        if sp.mode == "coverage":
            window = set(range(min(sp.local_window, nb)))
            for sel, sc, forced in ((pat.vertical[h], v[h], {0}), (pat.slash[h], d[h], window)):
                if not sp.max_budget:
                    assert float(sc[sel].sum()) >= sp.gamma * float(sc.sum()) * (1 - 1e-12)
                assert len(set(sel) - forced) <= (sp.max_budget or nb)
                assert len(sel) >= min(sp.min_budget, nb)
        else:
            assert len(pat.vertical[h]) in (min(sp.topk_vertical, nb), min(sp.topk_vertical, nb) + 1)
    assert ((pat.density() > 0) & (pat.density() <= 1)).all()


@SETTINGS
@given(qk_case(max_len=100))
def test_full_budget_covers_every_block_with_mass(case):
    q, k, block = case
    pat = build_pattern(q, k, block, SparsityConfig(gamma=1.0))
    v, d = vertical_slash_scores(last_block(q, block), k, block)
    for h in range(q.shape[0]):
        assert set(pat.vertical[h]) == set(torch.nonzero(v[h] > 0).flatten().tolist()) | {0}
        assert set(pat.slash[h]) == set(torch.nonzero(d[h] > 0).flatten().tolist()) | {0}


def test_full_budget_equals_dense_on_random_tensors():
    torch.manual_seed(3)
    q, k = torch.randn(4, 130, 8), torch.randn(2, 130, 8)
    pat = build_pattern(q, k, 16, SparsityConfig(gamma=1.0))
    assert torch.equal(pat.mask, dense_pattern(4, 130, 16).mask)
    torch.testing.assert_close(recall(pat, q, k), torch.ones(4, dtype=torch.float64))


@pytest.mark.parametrize("L", [1, 5, 16, 17, 31, 33, 100])
def test_partial_blocks_and_short_sequences(L):
    torch.manual_seed(L)
    q, k = torch.randn(2, L, 8) * 3, torch.randn(1, L, 8)
    pat = build_pattern(q, k, 16, SparsityConfig(gamma=0.5))
    nb = num_blocks(L, 16)
    assert pat.mask.shape == (2, nb, nb)
    if nb <= 2:   # every causal tile is the sink or the diagonal
        assert torch.equal(pat.mask, dense_pattern(2, L, 16).mask)


def test_all_mass_on_the_sink():
    B, L, D = 16, 160, 8
    nb = L // B
    q = torch.zeros(3, L, D)
    q[..., 0] = 10.0
    k = torch.zeros(1, L, D)
    k[0, 0, 0] = 10.0                                  # logit 100/sqrt(8) on key 0, 0 elsewhere
    pat = build_pattern(q, k, B, SparsityConfig(gamma=0.9, row_gamma=0.0, local_window=1))
    v, d = vertical_slash_scores(q[:, (nb - 1) * B:], k, B)
    assert float(v[0, 0]) > 0.99 * B
    for h in range(3):
        assert pat.vertical[h] == [0]
        assert pat.slash[h] == [0, nb - 1]             # the band of distance (nb-1)*B + i
    assert pat.mean_density() < 0.35


def test_uniform_attention_scores():
    # q = 0: each row spreads 1/(pos+1) over its keys; written out in closed form
    B, L = 8, 44
    nb = num_blocks(L, B)
    q, k = torch.zeros(1, L, 4), torch.randn(1, L, 4)
    v, d = vertical_slash_scores(q[:, (nb - 1) * B:], k, B)
    ev = torch.zeros(nb, dtype=torch.float64)
    ed = torch.zeros(nb, dtype=torch.float64)
    for pos in range((nb - 1) * B, L):
        for j in range(pos + 1):
            ev[j // B] += 1 / (pos + 1)
            ed[(pos - j) // B] += 1 / (pos + 1)
    torch.testing.assert_close(v[0], ev)
    torch.testing.assert_close(d[0], ed)
    # coverage 1 keeps everything; coverage 0.5 keeps the fewest heaviest vertical blocks
    assert build_pattern(q, k, B, SparsityConfig(gamma=1.0)).mean_density() == 1.0
    assert build_pattern(q, k, B, SparsityConfig(gamma=0.5)).vertical[0] == ref_coverage(ev.tolist(), 0.5, 1, 0)


def test_gqa_head_uses_its_kv_head():
    torch.manual_seed(5)
    B, L, D = 8, 64, 8
    q = torch.randn(4, L, D)
    k = torch.randn(2, L, D)
    v, d = vertical_slash_scores(q[:, -B:], k, B)
    v1, _ = vertical_slash_scores(q[2:, -B:], k[1:], B)
    torch.testing.assert_close(v[2:], v1)


def test_pooled_row_mask_reference():
    torch.manual_seed(7)
    B, L, D = 8, 60, 8
    q, k = torch.randn(2, L, D) * 3, torch.randn(1, L, D)
    nb = num_blocks(L, B)
    got = pooled_row_mask(q, k, B, 0.8)
    for h in range(2):
        for r in range(nb):
            qm = q[h, r * B:(r + 1) * B].double().sum(0) / B
            s = torch.tensor([float(qm @ (k[0, c * B:(c + 1) * B].double().sum(0) / B)) / math.sqrt(D)
                              for c in range(r + 1)])
            keep = ref_coverage(torch.softmax(s, 0).tolist(), 0.8, 1, 0)
            assert torch.nonzero(got[h, r]).flatten().tolist() == keep


def test_dense_layers_and_dense_below():
    torch.manual_seed(8)
    q, k = torch.randn(2, 96, 8) * 4, torch.randn(1, 96, 8)
    sp = SparsityConfig(gamma=0.3, row_gamma=0.0, local_window=1, dense_layers=(0, 2), dense_below=0)
    assert build_pattern(q, k, 8, sp, layer=0).mean_density() == 1.0
    assert build_pattern(q, k, 8, sp, layer=1).mean_density() < 1.0
    assert build_pattern(q, k, 8, sp.replace(dense_below=97), layer=1).mean_density() == 1.0


# ---------------------------------------------------------------- consumers
def test_recall_matches_explicit_softmax():
    torch.manual_seed(9)
    B, L, D = 4, 22, 8
    q, k = torch.randn(2, L, D) * 2, torch.randn(1, L, D)
    pat = build_pattern(q, k, B, SparsityConfig(gamma=0.5))
    tok = block_token_mask(pat.mask, L, B)
    exp = torch.zeros(2, dtype=torch.float64)
    for h in range(2):
        for i in range(L):
            p = torch.softmax(k[0, :i + 1].double() @ q[h, i].double() / math.sqrt(D), 0)
            exp[h] += float(p[tok[h, i, :i + 1]].sum()) / L
    torch.testing.assert_close(recall(pat, q, k, chunk=5), exp)
    assert (exp < 1).all()


def test_row_stream_is_the_merged_group_stream():
    torch.manual_seed(10)
    q, k = torch.randn(6, 80, 8) * 3, torch.randn(2, 80, 8)
    pat = build_pattern(q, k, 8, SparsityConfig(gamma=0.5))
    nb = pat.num_blocks
    for kv in range(2):
        expect = []
        for r in range(nb):
            for c in range(nb):
                bits = sum(1 << i for i in range(3) if pat.mask[kv * 3 + i, r, c])
                if bits:
                    expect.append((r, c, bits))
        assert row_stream(pat, kv, 3) == expect
    with pytest.raises(ValueError, match="kv_head"):
        row_stream(pat, 2, 3)
    with pytest.raises(ValueError, match="group"):
        row_stream(pat, 0, 4)


# ---------------------------------------------------------------- bad inputs
def test_bad_inputs_raise_clear_errors():
    q, k = torch.randn(4, 32, 8), torch.randn(2, 32, 8)
    sp = SparsityConfig()
    with pytest.raises(ValueError, match="shape mismatch"):
        build_pattern(q, torch.randn(2, 31, 8), 8, sp)
    with pytest.raises(ValueError, match="shape mismatch"):
        build_pattern(q, torch.randn(2, 32, 4), 8, sp)
    with pytest.raises(ValueError, match="not a multiple"):
        build_pattern(torch.randn(3, 32, 8), k, 8, sp)
    with pytest.raises(ValueError, match="L = 0"):
        build_pattern(torch.randn(4, 0, 8), torch.randn(2, 0, 8), 8, sp)
    with pytest.raises(ConfigError, match="max_seq_len"):
        build_pattern(q, k, 8, sp, max_seq_len=16)
    with pytest.raises(ValueError, match=r"\[H, L, D\]"):
        build_pattern(q[0], k, 8, sp)
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="gamma"):
            select_coverage(torch.ones(4), bad)
        with pytest.raises(ConfigError, match="gamma"):
            SparsityConfig(gamma=bad)
    with pytest.raises(ValueError, match="block"):
        build_pattern(q, k, 0, sp)
