"""Integer primitives shared by the fixed-point golden models (attention, index estimator).

Every function here takes and returns int64 tensors and does only what hardware does
cheaply: adds, shifts, a small lookup table, one small multiply, a sequential divider.
The RTL implements the same operations with the same rounding, so the bit-exact
contract holds.  Rounding conventions (also in docs/numerics.md):

* ``rshift_round``  round half up (toward +inf) on an arithmetic right shift:
  ``(x + 2**(s-1)) >> s``; this is one adder before the shifter in hardware.
* ``exp2_neg``      index = fraction rounded to ``lut_bits`` (half up), integer part
  as a right shift with ``rshift_round``.
* ``recip``         floor (a restoring divider produces the floor quotient).

Values must stay below 2**61 in magnitude (int64 headroom for the rounding add);
``rshift_round`` raises ``WidthError`` otherwise rather than wrapping.
"""

from __future__ import annotations

import torch

from hdl import numerics
from hdl.numerics import SCALE_MANT_BITS

#: shifts at or beyond this produce 0 (or -1 never: rounding keeps |x| < 2**61 -> 0)
_MAX_SHIFT = 62
_LIMIT = 1 << 61


class WidthError(ValueError):
    """A value does not fit the width the model declares for it (the hardware would wrap)."""


def _as_long(x, name: str) -> torch.Tensor:
    t = torch.as_tensor(x)
    if t.dtype.is_floating_point or t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"{name}: expected an integer tensor, got dtype {t.dtype}")
    return t.to(torch.int64)


def check_width(x: torch.Tensor, bits: int, signed: bool, name: str) -> torch.Tensor:
    """Raise :class:`WidthError` if any element of ``x`` lies outside a ``bits``-wide register.

    signed:   range [-2**(bits-1), 2**(bits-1) - 1]; unsigned: [0, 2**bits - 1].
    Returns ``x`` unchanged so it can be used inline.
    """
    x = _as_long(x, name)
    if x.numel() == 0:
        return x
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    xmin, xmax = int(x.min()), int(x.max())
    if xmin < lo or xmax > hi:
        kind = "signed" if signed else "unsigned"
        raise WidthError(f"{name}: value range [{xmin}, {xmax}] exceeds its declared "
                         f"{bits}-bit {kind} width [{lo}, {hi}]")
    return x


def saturate(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Clamp to a ``bits``-wide signed register (saturating, never wrapping)."""
    x = _as_long(x, "saturate")
    return x.clamp(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)


def rshift_round(x: torch.Tensor, s) -> torch.Tensor:
    """Arithmetic shift right by ``s`` with round-half-up; ``s < 0`` shifts left (exact).

    x:  int64 tensor, |x| < 2**61.
    s:  int or int64 tensor broadcastable to ``x``; right shifts of 62 or more give 0
        (for |x| < 2**61 the rounded result is 0), as a saturating shifter does.
    Raises WidthError if ``x`` or a left-shifted result would leave the int64 headroom.
    """
    x = _as_long(x, "rshift_round x")
    s = _as_long(s, "rshift_round s")
    if x.numel() and (int(x.max()) >= _LIMIT or int(x.min()) <= -_LIMIT):
        raise WidthError("rshift_round: |x| must stay below 2**61")
    right = s.clamp(0, _MAX_SHIFT)
    left = (-s).clamp(min=0)
    half = torch.where(right > 0, torch.ones_like(right) << (right - 1).clamp(min=0),
                       torch.zeros_like(right))
    out = (x + half) >> right
    if bool((left > 0).any()):
        lim = (torch.ones_like(left) << (61 - left.clamp(max=61)))
        if bool(((out.abs() >= lim) & (left > 0) & (out != 0)).any()):
            raise WidthError("rshift_round: left shift would exceed 2**61")
        out = out << left.clamp(max=61)
    return out


def exp2_table(lut_bits: int, out_bits: int) -> torch.Tensor:
    """The exp2 fraction ROM of ``hdl.numerics.exp2_table`` as int64 [2**lut_bits]."""
    return torch.tensor(numerics.exp2_table(lut_bits, out_bits), dtype=torch.int64)


def exp2_neg(x_fix: torch.Tensor, frac_bits: int, lut_bits: int, out_bits: int) -> torch.Tensor:
    """Approximately ``2**x * 2**out_bits`` for a non-positive fixed-point ``x``.

    x_fix      int64, x = x_fix / 2**frac_bits, must be <= 0.
    frac_bits  fractional bits of x_fix.
    lut_bits   table index width: -x is rounded (half up) to lut_bits fractional bits,
               its fraction indexes ``exp2_table``, its integer part n is a right shift.
    out_bits   result width (unsigned); results lie in [0, 2**out_bits - 1], and
               become 0 once n exceeds out_bits (the shifter saturates).
    """
    x = _as_long(x_fix, "exp2_neg x_fix")
    if x.numel() and int(x.max()) > 0:
        raise ValueError("exp2_neg: x_fix must be <= 0")
    y = -x
    y_r = rshift_round(y, frac_bits - lut_bits)   # lut_bits > frac_bits: exact left shift
    n = y_r >> lut_bits
    idx = y_r & ((1 << lut_bits) - 1)
    table = exp2_table(lut_bits, out_bits)
    return rshift_round(table[idx], n.clamp(max=out_bits + 2))


def ceil_int(x_fix: torch.Tensor, frac_bits: int) -> torch.Tensor:
    """Integer ceiling of x_fix / 2**frac_bits (an add and an arithmetic shift)."""
    x = _as_long(x_fix, "ceil_int x_fix")
    return (x + ((1 << frac_bits) - 1)) >> frac_bits


def bit_length(x: torch.Tensor) -> torch.Tensor:
    """Number of bits of non-negative integers (0 -> 0): a leading-zero counter."""
    x = _as_long(x, "bit_length")
    if x.numel() and int(x.min()) < 0:
        raise ValueError("bit_length: x must be non-negative")
    n = torch.zeros_like(x)
    v = x.clone()
    for step in (32, 16, 8, 4, 2, 1):
        big = v >= (1 << step)
        n = n + big.long() * step
        v = torch.where(big, v >> step, v)
    return n + (v > 0).long()


def recip(l: torch.Tensor, bits: int) -> torch.Tensor:
    """floor(2**bits / l) for positive integers l, exact (a restoring sequential divider)."""
    lt = _as_long(l, "recip l")
    if not (1 <= bits <= 62):
        raise ValueError(f"recip: bits must lie in [1, 62], got {bits}")
    if lt.numel() and int(lt.min()) <= 0:
        raise ValueError("recip: l must be positive")
    return torch.div(torch.full_like(lt, 1 << bits), lt, rounding_mode="floor")


def logit_multiplier(q_mant, q_exp, k_mant, k_exp, frac_bits: int,
                     mult_bits: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-tile constant turning an int32 score S into a log2-domain fixed-point logit.

    q_mant, k_mant   scale-code mantissas in [2**15, 2**16) (see golden.quant); the host has
                     folded log2(e)/sqrt(D) into Q's code.
    q_exp, k_exp     scale-code exponents.
    frac_bits        F, fractional bits of the logit.
    mult_bits        width of the rounded mantissa product (16: mult in [2**14, 2**16)).
    Returns (mult, shift) broadcast over the inputs, such that
    ``rshift_round(S * mult, shift)`` ~= S * q_scale * k_scale * 2**frac_bits.
    """
    qm, km = _as_long(q_mant, "q_mant"), _as_long(k_mant, "k_mant")
    qe, ke = _as_long(q_exp, "q_exp"), _as_long(k_exp, "k_exp")
    lo, hi = 1 << (SCALE_MANT_BITS - 1), 1 << SCALE_MANT_BITS
    for m, nm in ((qm, "q_mant"), (km, "k_mant")):
        if m.numel() and (int(m.min()) < lo or int(m.max()) >= hi):
            raise ValueError(f"logit_multiplier: {nm} must lie in [2**15, 2**16)")
    if not (2 <= mult_bits <= 2 * SCALE_MANT_BITS):
        raise ValueError(f"logit_multiplier: mult_bits must lie in [2, 32], got {mult_bits}")
    drop = 2 * SCALE_MANT_BITS - mult_bits
    mult = rshift_round(qm * km, drop)   # <= (2**16-1)**2 / 2**drop rounds below 2**mult_bits
    shift = -(qe + ke + drop + frac_bits)
    return mult, shift


def scale_logits(s: torch.Tensor, mult: torch.Tensor, shift: torch.Tensor,
                 logit_bits: int) -> torch.Tensor:
    """x_fix = saturate(rshift_round(S * mult, shift), logit_bits).

    A left shift (negative ``shift``, only for absurdly large scales) saturates exactly:
    the product is clamped to the register range before shifting, which cannot change
    whether the final value saturates.
    """
    p = _as_long(s, "scale_logits s") * _as_long(mult, "mult")
    shift = _as_long(shift, "shift")
    left = (-shift).clamp(0, logit_bits)
    # |p| >= 2**(logit_bits + 1 - left) saturates after the shift anyway: clamp it there first
    lim = torch.ones_like(left) << (logit_bits + 1 - left)
    p = torch.where(shift < 0, torch.maximum(torch.minimum(p, lim), -lim), p)
    return saturate(rshift_round(p, shift.clamp(min=-logit_bits)), logit_bits)
