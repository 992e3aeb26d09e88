"""Integer primitives of golden.fixedpoint against exact rational arithmetic (Python ints)."""

import math
from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from golden.fixedpoint import (WidthError, bit_length, ceil_int, check_width, exp2_neg, exp2_table,
                               logit_multiplier, recip, rshift_round, saturate, scale_logits)

FAST = settings(max_examples=200, deadline=None)


def _round_half_up(fr: Fraction) -> int:
    return math.floor(fr + Fraction(1, 2))


@FAST
@given(st.lists(st.integers(-(2**60), 2**60), min_size=1, max_size=8), st.integers(-12, 80))
def test_rshift_round_matches_exact_rounding(xs, s):
    x = torch.tensor(xs, dtype=torch.int64)
    if s < 0 and max(abs(v) for v in xs) >= 2 ** (61 + s):
        with pytest.raises(WidthError):
            rshift_round(x, s)
        return
    got = rshift_round(x, s).tolist()
    assert got == [_round_half_up(Fraction(v, 2**s)) if s >= 0 else v * 2**-s for v in xs]


def test_rshift_round_ties_and_tensor_shift():
    x = torch.tensor([-3, -2, -1, 1, 2, 3])
    # ties go up: -1.5 -> -1, -0.5 -> 0, 0.5 -> 1, 1.5 -> 2
    assert rshift_round(x, 1).tolist() == [-1, -1, 0, 1, 1, 2]
    s = torch.tensor([0, 1, 2, -1, 3, 100])
    assert rshift_round(x, s).tolist() == [-3, -1, 0, 2, 0, 0]
    with pytest.raises(WidthError):
        rshift_round(torch.tensor([2**61]), 1)
    with pytest.raises(TypeError):
        rshift_round(torch.tensor([1.5]), 1)


@pytest.mark.parametrize("lut_bits, out_bits", [(1, 8), (4, 8), (6, 8), (6, 12), (8, 16)])
def test_exp2_table(lut_bits, out_bits):
    t = exp2_table(lut_bits, out_bits)
    n = 1 << lut_bits
    assert t.shape == (n,) and t.dtype == torch.int64
    expect = [min(round(2 ** (-i / n) * 2**out_bits), 2**out_bits - 1) for i in range(n)]
    assert t.tolist() == expect
    assert int(t[0]) == 2**out_bits - 1                       # the one clamped entry
    assert bool((t[1:] <= t[:-1]).all()) and int(t.min()) >= 2 ** (out_bits - 1)


def test_exp2_table_bad_args():
    with pytest.raises(ValueError, match="lut_bits"):
        exp2_table(0, 8)
    with pytest.raises(ValueError, match="out_bits"):
        exp2_table(4, 40)


@FAST
@given(st.lists(st.integers(-(2**20), 0), min_size=1, max_size=16),
       st.sampled_from([(8, 6, 8), (8, 4, 8), (6, 8, 10), (10, 5, 12), (0, 3, 8)]))
def test_exp2_neg_close_to_exact(xs, params):
    frac_bits, lut_bits, out_bits = params
    got = exp2_neg(torch.tensor(xs), frac_bits, lut_bits, out_bits).tolist()
    # index rounding moves x by <= 2**-(lut_bits+1) (0 when lut_bits >= frac_bits); the table
    # and the final shift each round by <= 1/2 LSB; the clamped entry 0 loses one more LSB.
    step = 2.0 ** -(lut_bits + 1) if lut_bits < frac_bits else 0.0
    for x, p in zip(xs, got):
        exact = 2.0 ** (x / 2**frac_bits) * 2**out_bits
        assert 0 <= p <= 2**out_bits - 1
        assert abs(p - exact) <= exact * (2.0**step - 1) + 1.0 + 1e-9
    # huge negative arguments flush to zero
    assert exp2_neg(torch.tensor([-(2**40)]), frac_bits, lut_bits, out_bits).item() == 0


def test_exp2_neg_rejects_positive():
    with pytest.raises(ValueError, match="<= 0"):
        exp2_neg(torch.tensor([0, 1]), 8, 6, 8)


@FAST
@given(st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=8), st.integers(0, 16))
def test_ceil_int(xs, f):
    assert ceil_int(torch.tensor(xs), f).tolist() == [math.ceil(Fraction(v, 2**f)) for v in xs]


@FAST
@given(st.lists(st.integers(0, 2**62), min_size=1, max_size=8))
def test_bit_length(xs):
    assert bit_length(torch.tensor(xs)).tolist() == [v.bit_length() for v in xs]


def test_bit_length_rejects_negative():
    with pytest.raises(ValueError):
        bit_length(torch.tensor([-1]))


@FAST
@given(st.lists(st.integers(1, 2**40), min_size=1, max_size=8), st.integers(1, 62))
def test_recip_is_floor(ls, bits):
    assert recip(torch.tensor(ls), bits).tolist() == [2**bits // v for v in ls]


def test_recip_bad():
    with pytest.raises(ValueError, match="positive"):
        recip(torch.tensor([0, 3]), 10)
    with pytest.raises(ValueError, match="bits"):
        recip(torch.tensor([3]), 63)


@FAST
@given(st.integers(2**15, 2**16 - 1), st.integers(-60, 10), st.integers(2**15, 2**16 - 1),
       st.integers(-60, 10), st.integers(0, 12), st.integers(-(2**21), 2**21))
def test_logit_multiplier(qm, qe, km, ke, f, s):
    mult, shift = logit_multiplier(torch.tensor(qm), torch.tensor(qe), torch.tensor(km),
                                   torch.tensor(ke), f)
    assert 2**14 <= int(mult) < 2**16
    exact = Fraction(s * qm * km) * Fraction(2) ** (qe + ke + f)
    approx = Fraction(s * int(mult)) * Fraction(2) ** (-int(shift))
    # mult is the product rounded to 16 bits: relative error <= 2**-15
    assert abs(approx - exact) <= abs(exact) * Fraction(1, 2**15)
    x = scale_logits(torch.tensor(s), mult, shift, 40)
    if abs(approx) < 2**38:
        assert abs(int(x) - approx) <= Fraction(1, 2)


def test_logit_multiplier_rejects_unnormalised_mantissa():
    with pytest.raises(ValueError, match="q_mant"):
        logit_multiplier(torch.tensor(100), torch.tensor(0), torch.tensor(2**15),
                         torch.tensor(0), 8)


def test_scale_logits_saturates_on_left_shift():
    s = torch.tensor([-(2**21), -1, 0, 1, 5, 2**21])
    x = scale_logits(s, torch.tensor(2**15), torch.tensor(-30), 24)
    lim = 2**23
    assert x.tolist() == [max(-lim, min(lim - 1, v * 2**15 * 2**30)) for v in s.tolist()]


def test_check_width_and_saturate():
    x = torch.tensor([-128, 127])
    assert check_width(x, 8, True, "x") is not None
    with pytest.raises(WidthError, match="y: .*8-bit signed"):
        check_width(torch.tensor([128]), 8, True, "y")
    with pytest.raises(WidthError, match="unsigned"):
        check_width(torch.tensor([-1]), 8, False, "z")
    check_width(torch.tensor([255]), 8, False, "z")
    assert saturate(torch.tensor([-1000, 5, 1000]), 8).tolist() == [-128, 5, 127]


def test_exp2_table_torch_free_matches_torch():
    """hdl.numerics builds the ROM without torch; it equals torch's float64 pow and round
    (round half to even in both) at every table size the checks admit."""
    from hdl.numerics import exp2_table as rom
    for lut_bits in range(1, 13):
        for out_bits in (2, 8, 15, 16, 24, 30):
            i = torch.arange(1 << lut_bits, dtype=torch.float64)
            ref = torch.round(torch.pow(2.0, -i / (1 << lut_bits)) * (1 << out_bits)).to(torch.int64)
            assert rom(lut_bits, out_bits) == ref.clamp(max=(1 << out_bits) - 1).tolist()
