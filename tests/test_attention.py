"""Float attention models: dense, block-sparse, token masks, errors and input checks."""

import math

import pytest
import torch

from golden.attention import (block_mask_to_token_mask, check_qkv, dense_attention,
                              relative_error, sparse_attention)
from hdl.config import ConfigError, num_blocks


def _rand(H=6, Hkv=2, L=150, D=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(H, L, D, generator=g) * 2, torch.randn(Hkv, L, D, generator=g) * 2,
            torch.randn(Hkv, L, D, generator=g))


def _random_mask(H, nb, p=0.4, seed=1):
    g = torch.Generator().manual_seed(seed)
    m = torch.tril(torch.rand(H, nb, nb, generator=g) < p)
    return m | torch.eye(nb, dtype=torch.bool)


def _naive(q, k, v, allowed):
    """softmax over an explicit [H, L, L] mask, float64, keys expanded per query head."""
    H, L, D = q.shape
    g = H // k.shape[0]
    ke, ve = k.double().repeat_interleave(g, 0), v.double().repeat_interleave(g, 0)
    s = q.double() @ ke.transpose(1, 2) / math.sqrt(D)
    return torch.softmax(s.masked_fill(~allowed, -math.inf), -1) @ ve


def test_dense_matches_torch_sdpa():
    q, k, v = _rand(L=700)  # > one 512-row chunk
    g = q.shape[0] // k.shape[0]
    ref = torch.nn.functional.scaled_dot_product_attention(
        q.double(), k.double().repeat_interleave(g, 0), v.double().repeat_interleave(g, 0),
        is_causal=True)
    assert float(relative_error(dense_attention(q, k, v), ref).max()) < 1e-12


@pytest.mark.parametrize("L, block", [(150, 16), (64, 16), (10, 16), (1, 4)])
def test_full_mask_equals_dense(L, block):
    q, k, v = _rand(L=L)
    nb = num_blocks(L, block)
    full = torch.tril(torch.ones(q.shape[0], nb, nb, dtype=torch.bool))
    assert float(relative_error(sparse_attention(q, k, v, full, block), dense_attention(q, k, v)).max()) < 1e-13


def test_sparse_matches_naive_token_mask():
    q, k, v = _rand(L=150)
    mask = _random_mask(6, 10)
    tok = block_mask_to_token_mask(mask, 150, 16)
    ref = _naive(q, k, v, tok)
    assert float(relative_error(sparse_attention(q, k, v, mask, 16), ref).max()) < 1e-12
    # the sparse result differs from dense (the mask really removes keys)
    assert float(relative_error(sparse_attention(q, k, v, mask, 16), dense_attention(q, k, v)).min()) > 1e-3


def test_token_mask_semantics():
    mask = _random_mask(3, 4, seed=5)
    L, B = 13, 4
    tok = block_mask_to_token_mask(mask, L, B)
    assert tok.shape == (3, L, L)
    for h in range(3):
        for i in range(L):
            for j in range(L):
                assert bool(tok[h, i, j]) == (j <= i and bool(mask[h, i // B, j // B]))


def test_relative_error():
    ref = torch.randn(2, 5, 4, dtype=torch.float64)
    assert relative_error(ref, ref).tolist() == [0.0, 0.0]
    e = relative_error(ref * 1.1, ref)
    assert torch.allclose(e, torch.full((2,), 0.1, dtype=torch.float64))
    with pytest.raises(ValueError, match="shapes"):
        relative_error(ref, ref[:1])


def test_bad_inputs():
    q, k, v = _rand(H=6, Hkv=2, L=32)
    mask = _random_mask(6, 2)
    with pytest.raises(ValueError, match="shape mismatch"):
        dense_attention(q, k[:, :31], v[:, :31])
    with pytest.raises(ValueError, match="shape mismatch"):
        dense_attention(q, k, v[..., :8])
    with pytest.raises(ValueError, match="not a multiple of Hkv"):
        dense_attention(q[:5], k, v)
    with pytest.raises(ValueError, match="L = 0"):
        dense_attention(q[:, :0], k[:, :0], v[:, :0])
    with pytest.raises(ValueError, match="3-D"):
        dense_attention(q[0], k, v)
    with pytest.raises(ConfigError, match="max_seq_len"):
        check_qkv(q, k, v, max_seq_len=16)
    bad = mask.clone()
    bad[0, 0, 1] = True
    with pytest.raises(ValueError, match="not causal"):
        sparse_attention(q, k, v, bad, 16)
    bad = mask.clone()
    bad[2, 1, 1] = False
    with pytest.raises(ValueError, match="diagonal"):
        sparse_attention(q, k, v, bad, 16)
    with pytest.raises(ValueError, match="mask shape"):
        sparse_attention(q, k, v, mask[:, :1, :1], 16)
    with pytest.raises(ValueError, match="bool"):
        sparse_attention(q, k, v, mask.int(), 16)
    with pytest.raises(ValueError, match="block"):
        sparse_attention(q, k, v, mask, 0)


def test_dense_reproduces_smollm2_attention():
    """Real tensors: the float model recomputes the model's own attention output."""
    from golden.smollm2 import load_qkv

    cap = load_qkv(5, 512)
    o = dense_attention(cap.q, cap.k, cap.v)
    assert float(relative_error(o, cap.o).max()) < 1e-3
