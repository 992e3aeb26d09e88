"""Host quantiser: float Q/K/V to int8 with per-block scales in a hardware code.

Each (head, block of B tokens) gets a symmetric int8 scale ``s = amax / 127``.
The hardware never sees a float: a scale travels as a *scale code*
``(mant, exp)`` meaning ``mant * 2**exp`` with ``mant`` a normalised unsigned
16-bit integer in ``[2**15, 2**16)``.  Values are quantised with the scale
that the code represents, so the code is exact for the stored values.

``extra`` multiplies the code only (not the values): the host folds
``log2(e) / sqrt(D)`` into Q's codes so that the attention engine's per-tile
logit multiplier is just ``mant_q * mant_k`` and a shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from hdl.config import num_blocks
from hdl.numerics import QMAX, SCALE_MANT_BITS  # noqa: F401


@dataclass(frozen=True)
class QuantTensor:
    """int8 values [H, L, D] and per-(head, block) scale codes [H, nb].

    ``scale_mant`` (int64, in [2**15, 2**16)) and ``scale_exp`` (int64): the
    code's value is ``scale_mant * 2**scale_exp``.  ``block`` is B.
    """

    values: torch.Tensor
    scale_mant: torch.Tensor
    scale_exp: torch.Tensor
    block: int

    @property
    def scale(self) -> torch.Tensor:
        """The float64 value of each code, [H, nb]."""
        return self.scale_mant.double() * torch.pow(2.0, self.scale_exp.double())

    def dequantize(self, extra: float = 1.0) -> torch.Tensor:
        """Float values (the code's scale divided by ``extra``), [H, L, D] float32."""
        H, L, D = self.values.shape
        per_token = (self.scale / extra).repeat_interleave(self.block, dim=1)[:, :L]
        return (self.values.double() * per_token[..., None]).float()


def encode_scale(scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Round positive float scales to codes (mant in [2**15, 2**16), exp)."""
    scale = scale.double()
    if not torch.all(scale > 0) or not torch.all(torch.isfinite(scale)):
        raise ValueError("encode_scale: scales must be positive and finite")
    exp = torch.floor(torch.log2(scale)).long() - (SCALE_MANT_BITS - 1)
    mant = torch.round(scale / torch.pow(2.0, exp.double())).long()
    carry = mant >= (1 << SCALE_MANT_BITS)
    mant = torch.where(carry, mant >> 1, mant)
    exp = torch.where(carry, exp + 1, exp)
    return mant, exp


def quantize_blocks(x: torch.Tensor, block: int, extra: float = 1.0) -> QuantTensor:
    """Quantise ``x`` [H, L, D] to int8 with one scale per (head, block).

    An all-zero block gets scale 1.0 (its values are zero whatever the scale).
    """
    if x.dim() != 3:
        raise ValueError(f"quantize_blocks: expected [H, L, D], got shape {tuple(x.shape)}")
    if not torch.all(torch.isfinite(x)):
        raise ValueError("quantize_blocks: input contains NaN or Inf")
    if block <= 0:
        raise ValueError(f"quantize_blocks: block must be positive, got {block}")
    if not (extra > 0 and math.isfinite(extra)):
        raise ValueError(f"quantize_blocks: extra must be positive and finite, got {extra}")
    H, L, D = x.shape
    nb = num_blocks(L, block)
    pad = nb * block - L
    xd = x.double()
    xp = torch.nn.functional.pad(xd, (0, 0, 0, pad)).view(H, nb, block, D)
    amax = xp.abs().amax(dim=(2, 3))
    scale = torch.where(amax > 0, amax / QMAX, torch.ones_like(amax))
    mant, exp = encode_scale(scale)
    code = mant.double() * torch.pow(2.0, exp.double())
    q = torch.clamp(torch.round(xp / code[..., None, None]), -QMAX, QMAX)
    values = q.view(H, nb * block, D)[:, :L].to(torch.int8).contiguous()
    if extra != 1.0:
        mant, exp = encode_scale(code * extra)
    return QuantTensor(values=values, scale_mant=mant, scale_exp=exp, block=block)
