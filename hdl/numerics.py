"""Widths, constants and tables of the fixed-point contract, without torch.

The RTL generator (``hdl/``) sizes its registers from these; the golden models (``golden/``)
import the same definitions, so a width has one source.

Public API
    INT8_MIN, INT8_MAX, QMAX, SCALE_MANT_BITS     operand range, scale-code mantissa width
    signed_bits(lo, hi)                           fewest two's-complement bits for [lo, hi]
    operand_bits(p_bits), product_bits(p_bits)    MPU operand / product widths
    score_bits(head_dim), tile_bits(block, p_bits)  QK score and PV tile widths
    exp2_table(lut_bits, out_bits)                the exp2 fraction ROM, a list of ints
    EstimatorParams, EstimatorWidths              the index generator's numeric parameters and
                                                  the register widths derived from them
"""

from __future__ import annotations

from dataclasses import dataclass

from hdl.config import AcceleratorConfig, ConfigError

#: significant bits of a per-block scale code's mantissa (golden.quant.encode_scale)
SCALE_MANT_BITS = 16
#: the symmetric int8 range of the quantiser
QMAX = 127

INT8_MIN, INT8_MAX = -128, 127


def signed_bits(lo: int, hi: int) -> int:
    """Fewest two's-complement bits that hold every integer in [lo, hi]."""
    if lo > hi:
        raise ValueError(f"signed_bits: empty range [{lo}, {hi}]")
    n = 1
    while not (-(1 << (n - 1)) <= lo and hi <= (1 << (n - 1)) - 1):
        n += 1
    return n


def check_p_bits(p_bits: int) -> None:
    if not isinstance(p_bits, int) or not 1 <= p_bits <= 16:
        raise ValueError(f"p_bits: must be an integer in [1, 16], got {p_bits!r}")


def operand_bits(p_bits: int) -> int:
    """Signed width of the PE's resident/broadcast operand: int8 Q or zero-extended P."""
    check_p_bits(p_bits)
    return max(8, p_bits + 1)


def product_range(p_bits: int) -> tuple[int, int]:
    pmax = (1 << p_bits) - 1
    qk = (INT8_MIN * INT8_MAX, INT8_MIN * INT8_MIN)
    pv = (pmax * INT8_MIN, pmax * INT8_MAX)
    return min(qk[0], pv[0]), max(qk[1], pv[1])


def product_bits(p_bits: int) -> int:
    """Signed width of one PE product, covering int8*int8 and P*int8."""
    return signed_bits(*product_range(p_bits))


def score_bits(head_dim: int) -> int:
    """Signed width of a QK score: a sum of ``head_dim`` int8*int8 products."""
    if head_dim < 1:
        raise ValueError(f"head_dim: must be >= 1, got {head_dim}")
    return signed_bits(head_dim * INT8_MIN * INT8_MAX, head_dim * INT8_MIN * INT8_MIN)


def tile_bits(block: int, p_bits: int) -> int:
    """Signed width of a PV tile element: a sum of ``block`` P*int8 products."""
    check_p_bits(p_bits)
    if block < 1:
        raise ValueError(f"block: must be >= 1, got {block}")
    pmax = (1 << p_bits) - 1
    return signed_bits(block * pmax * INT8_MIN, block * pmax * INT8_MAX)


def exp2_table(lut_bits: int, out_bits: int) -> list[int]:
    """The exp2 fraction ROM: entry i = round(2**(-i / 2**lut_bits) * 2**out_bits).

    Entry 0 (exactly 2**out_bits) is clamped to 2**out_bits - 1 so every entry fits an
    ``out_bits``-wide unsigned word.  Non-increasing; ``golden.fixedpoint.exp2_table`` is the
    same table as a tensor.
    """
    if not (1 <= lut_bits <= 16):
        raise ValueError(f"exp2_table: lut_bits must lie in [1, 16], got {lut_bits}")
    if not (2 <= out_bits <= 30):
        raise ValueError(f"exp2_table: out_bits must lie in [2, 30], got {out_bits}")
    n, top = 1 << lut_bits, (1 << out_bits) - 1
    return [min(round(2.0 ** (-i / n) * (1 << out_bits)), top) for i in range(n)]


@dataclass(frozen=True)
class EstimatorParams:
    """Numeric parameters of the estimator datapath (fixed at synthesis).

    frac_bits    F, fractional bits of a log2-domain logit.
    logit_bits   signed width of the logit register (saturating).
    lut_bits     exp2 table index width (2**lut_bits entries).
    exp_bits     E, width of an unnormalised probability 2**(x - m) (unsigned, < 2**E).
    mult_bits    width of the per-tile logit multiplier (rounded mant_q * mant_k).
    recip_bits   R, significant bits of the row reciprocal (r in (2**R, 2**(R+1)]).
    prob_bits    PB, fraction bits of a normalised probability (a row sums to ~2**PB).
    gamma_bits   GB, fraction bits of the gamma code (gamma = code / 2**GB).
    pool_bits    extra fraction bits kept in the block means of the pooled estimate.
    """

    frac_bits: int = 8
    logit_bits: int = 24
    lut_bits: int = 6
    exp_bits: int = 16
    mult_bits: int = 16
    recip_bits: int = 16
    prob_bits: int = 16
    gamma_bits: int = 16
    pool_bits: int = 4

    def __post_init__(self) -> None:
        checks = [
            (1 <= self.frac_bits <= 16, "frac_bits", "must lie in [1, 16]"),
            (self.frac_bits + 8 <= self.logit_bits <= 32, "logit_bits", "must lie in [frac_bits+8, 32]"),
            (1 <= self.lut_bits <= 12, "lut_bits", "must lie in [1, 12]"),
            (4 <= self.exp_bits <= 24, "exp_bits", "must lie in [4, 24]"),
            (8 <= self.mult_bits <= 32, "mult_bits", "must lie in [8, 32]"),
            (4 <= self.recip_bits <= 24, "recip_bits", "must lie in [4, 24]"),
            (4 <= self.prob_bits <= 24, "prob_bits", "must lie in [4, 24]"),
            (4 <= self.gamma_bits <= 20, "gamma_bits", "must lie in [4, 20]"),
            (0 <= self.pool_bits <= 8, "pool_bits", "must lie in [0, 8]"),
        ]
        for ok, name, msg in checks:
            if not ok:
                raise ConfigError(f"{name}: {msg}, got {getattr(self, name)}")


@dataclass(frozen=True)
class EstimatorWidths:
    """Register widths (bits) derived from the config and the params; see docs/pattern.md.

    score      signed dot product of int8 rows: |S| <= D * 127**2.
    logit      signed logit register (params.logit_bits).
    exp        unsigned 2**(x - m) (params.exp_bits).
    tile_sum   unsigned sum of one tile row: <= B * (2**E - 1).
    row_sum    unsigned running sum l: <= max_seq_len * (2**E - 1) (a rescale never grows l).
    recip      unsigned reciprocal: <= 2**(R+1).
    product    unsigned tile_sum * recip.
    part       unsigned normalised partial sum (hi / lo): < B * 2**(PB+1) + 1.
    score_acc  unsigned v / d accumulator (see docs/pattern.md for the bound).
    pool_mean  signed block mean with pool_bits fraction: |.| <= 127 * 2**pool_bits.
    pool_score signed pooled dot product: |.| <= D * (127 * 2**pool_bits)**2.
    cover      unsigned coverage products (cum << GB and code * total).
    """

    score: int
    logit: int
    exp: int
    tile_sum: int
    row_sum: int
    recip: int
    product: int
    part: int
    score_acc: int
    pool_mean: int
    pool_score: int
    cover: int

    @classmethod
    def derive(cls, cfg: AcceleratorConfig, p: EstimatorParams) -> "EstimatorWidths":
        B, D, Lmax = cfg.block, cfg.head_dim, cfg.max_seq_len
        nbmax = Lmax // B
        emax = (1 << p.exp_bits) - 1
        tile = B * emax
        # l' = l2 (pass-2 sum) may exceed l by at most (keys + 2 nb) roundings (docs/pattern.md),
        # and l >= 2**(E-1): a row's normalised total is < 2**PB * (1 + ratio) + 2 nb + 2.
        ratio = -(-(Lmax + 2 * nbmax) // (1 << (p.exp_bits - 1)))
        row_total = (1 << p.prob_bits) * (1 + ratio) + 2 * nbmax + 2
        acc = B * row_total
        pmean = QMAX << p.pool_bits
        return cls(
            score=(D * QMAX * QMAX).bit_length() + 1,
            logit=p.logit_bits,
            exp=p.exp_bits,
            tile_sum=tile.bit_length(),
            row_sum=(Lmax * emax).bit_length(),
            recip=p.recip_bits + 2,
            product=(tile << (p.recip_bits + 1)).bit_length(),
            part=(B << (p.prob_bits + 1)).bit_length(),
            score_acc=acc.bit_length(),
            pool_mean=pmean.bit_length() + 1,
            pool_score=(D * pmean * pmean).bit_length() + 1,
            cover=max(acc, 1 << p.exp_bits, Lmax // B * emax).bit_length() + p.gamma_bits + 1,
        )
