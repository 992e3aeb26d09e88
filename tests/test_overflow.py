"""No overflow at L = 131072: worst-case values through the model's own width formulas, a worst-case
row accumulated over 131072 keys with the model's own merge, a full worst-case run at a preset's
maximum length, and the model raising (never wrapping) when a value exceeds its declared width."""

import pytest
import torch

from golden import fixed_attention as fa
from golden.fixed_attention import FixedAttentionInputs, fixed_sparse_attention
from golden.fixedpoint import WidthError, check_width
from golden.quant import QuantTensor
from hdl.config import PRESETS, AcceleratorConfig, num_blocks, preset

LONG = preset("u280")                      # max_seq_len = 131072, D = 128
CONFIGS = [LONG, LONG.replace(p_bits=16), LONG.replace(p_bits=8, acc_frac_bits=16),
           *PRESETS.values()]


def test_u280_reaches_128k():
    assert LONG.max_seq_len == 131072


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.name}-p{c.p_bits}-E{c.acc_frac_bits}")
def test_worst_case_values_fit_declared_widths(cfg: AcceleratorConfig):
    """Extreme values, computed here from first principles, fit every declared register."""
    D, B, L, E = cfg.head_dim, cfg.block, cfg.max_seq_len, cfg.acc_frac_bits
    pmax = (1 << cfg.p_bits) - 1
    t = lambda *v: torch.tensor(v, dtype=torch.int64)  # noqa: E731
    check_width(t(D * 128 * 128, D * -128 * 127), cfg.score_bits, True, "S")
    mult_max = (1 << cfg.logit_mult_bits) - 1
    check_width(t(D * 128 * 128 * mult_max, -D * 128 * 127 * mult_max), cfg.logit_prod_bits, True, "S*mult")
    check_width(t(B * pmax * -128, B * pmax * 127), cfg.tile_o_bits, True, "T")
    check_width(t(B * pmax), cfg.tile_l_bits, False, "row sum")
    check_width(t((L * pmax * -128) << E, (L * pmax * 127) << E), cfg.acc_o_bits, True, "O")
    check_width(t((L * pmax) << E), cfg.acc_l_bits, False, "l")
    lim = 1 << (cfg.logit_bits - 1 - cfg.score_frac_bits)
    check_width(t(-lim, lim), cfg.max_bits, True, "m")
    # the golden model's int64 arithmetic keeps 2 bits of headroom everywhere
    assert max(cfg.acc_o_bits, cfg.logit_prod_bits, cfg.norm_o_bits + cfg.recip_bits + 1) <= 61
    # and one bit of any declared register is really needed (the widths are not padded)
    with pytest.raises(WidthError):
        check_width(t(D * 128 * 128), cfg.score_bits - 1, True, "S")


@pytest.mark.parametrize("cfg", [LONG, LONG.replace(p_bits=16)], ids=["p10", "p16"])
def test_worst_case_row_over_128k_keys(cfg: AcceleratorConfig):
    """One query block attending to all 131072 keys (2048 tiles) with all-equal logits (every
    P = p_max, the largest sums) and V = -128 (the largest |T|), through the model's own tile
    softmax, merge and normaliser with their width checks; then a row whose max rises at every
    tile.  Nothing may overflow, and the output must still be V."""
    B, D = cfg.block, cfg.head_dim
    nb = cfg.max_seq_len // B
    x = torch.zeros(B, B, dtype=torch.int64)                       # integer logits: x - m_t = 0
    valid = torch.ones(B, B, dtype=torch.bool)
    m_t, p = fa._tile_softmax(x, valid, cfg)
    assert bool((p == cfg.p_max).all())
    v = torch.full((B, D), -128, dtype=torch.int64)
    t, s = fa._int_matmul(p, v), p.sum(-1)
    check_width(t, cfg.tile_o_bits, True, "T")
    m = torch.zeros(B, dtype=torch.int64)
    o = torch.zeros(B, D, dtype=torch.int64)
    l = torch.zeros(B, dtype=torch.int64)
    started = torch.zeros(B, dtype=torch.bool)
    for _ in range(nb):
        m, o, l = fa._merge(m, o, l, started, m_t, t, s, cfg)
        started[:] = True
    assert int(l[0]) == (cfg.max_seq_len * cfg.p_max) << cfg.acc_frac_bits
    assert int(o.min()) == -((cfg.max_seq_len * cfg.p_max * 128) << cfg.acc_frac_bits)
    out = fa._normalise(o, l, cfg)[0]
    assert int((out + (128 << cfg.o_frac_bits)).abs().max()) <= 2

    # max rising by one at every tile: O is halved before each new tile is added
    started[:] = False
    for j in range(nb):
        m, o, l = fa._merge(m, o, l, started, m_t + j, t, s, cfg)
        started[:] = True
    assert int(m[0]) == nb - 1
    out = fa._normalise(o, l, cfg)[0]
    assert int((out + (128 << cfg.o_frac_bits)).abs().max()) <= 2


def _extreme_inputs(cfg: AcceleratorConfig, L: int, qval: int, kval: int, vval: int,
                    code=(2**15, -30)) -> FixedAttentionInputs:
    H, Hkv, D = cfg.max_group, 1, cfg.head_dim
    nb = num_blocks(L, cfg.block)

    def qt(val, heads):
        return QuantTensor(values=torch.full((heads, L, D), val, dtype=torch.int8),
                           scale_mant=torch.full((heads, nb), code[0]),
                           scale_exp=torch.full((heads, nb), code[1]), block=cfg.block)

    return FixedAttentionInputs(q=qt(qval, H), k=qt(kval, Hkv),
                                v=torch.full((Hkv, L, D), vval, dtype=torch.int8),
                                v_scale=torch.ones(Hkv, D, dtype=torch.float64), cfg=cfg)


@pytest.mark.parametrize("qval, kval, vval", [(-128, -128, -128), (127, -128, 127)])
def test_full_run_at_max_length_with_extreme_codes(qval, kval, vval):
    """The whole vectorised model at the ci preset's max_seq_len, dense, all +127 / -128 codes
    (largest positive and most negative scores, all-equal logits)."""
    cfg = preset("ci")
    L = cfg.max_seq_len
    inp = _extreme_inputs(cfg, L, qval, kval, vval)
    nb = L // cfg.block
    res = fixed_sparse_attention(inp, torch.tril(torch.ones(cfg.max_group, nb, nb, dtype=torch.bool)))
    assert int((res.o_int - (vval << cfg.o_frac_bits)).abs().max()) <= 2


class _NarrowAccumulator(AcceleratorConfig):
    """A config that under-declares the O accumulator (what a wrong width formula would do)."""

    @property
    def acc_o_bits(self) -> int:
        return 24


class _NarrowTile(AcceleratorConfig):
    @property
    def tile_o_bits(self) -> int:
        return 12


@pytest.mark.parametrize("cls, what", [(_NarrowAccumulator, "accumulator O"), (_NarrowTile, "tile result T")])
def test_model_raises_instead_of_wrapping(cls, what):
    base = preset("ci")
    cfg = cls(**{f: getattr(base, f) for f in base.__dataclass_fields__})
    inp = _extreme_inputs(cfg, 256, 0, 0, -128)
    nb = 256 // cfg.block
    with pytest.raises(WidthError, match=what):
        fixed_sparse_attention(inp, torch.tril(torch.ones(cfg.max_group, nb, nb, dtype=torch.bool)))
    with pytest.raises(WidthError, match=what):
        fa.fixed_attention_tile_reference(inp, torch.tril(torch.ones(cfg.max_group, nb, nb, dtype=torch.bool)),
                                          0, nb - 1)
